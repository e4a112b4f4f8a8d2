// pmdajson-generate's inference from a ceph perf-counter schema ("perf
// schema" output), as pmdajson's generate_ceph_metadata maps it. What
// cannot be described is left out with a line in `problems`.
import { isObject } from '../../format/json';
import type { JsonValue } from '../../format/json';
import { MetadataJson, MetricJson, escapeToken, isPcpName } from '../../producer/producer';
import type { Generated } from './common';

// Bits of a ceph perf counter's "type" (ceph's perf_counters.h).
const CEPH = { TIME: 0x1, U64: 0x2, LONGRUNAVG: 0x4, COUNTER: 0x8 } as const;

interface CephPart {
  /** Member of the counter's value object, when the counter is an object. */
  member: string;
  type: 'integer' | 'double';
  units?: string;
}

/** What one ceph counter type stands for in the perf dump; undefined for unknown bits. */
export function cephParts(type: number): CephPart[] | undefined {
  if (!Number.isInteger(type) || type <= 0 || (type & ~0xf) !== 0) return undefined;
  const parts: CephPart[] = [];
  let counterUsed = false;
  if (type & CEPH.TIME) parts.push({ member: 'sum', type: 'double' });
  if (type & CEPH.U64) {
    // a U64 counter's value is one integer, counting something
    counterUsed = (type & CEPH.COUNTER) !== 0;
    parts.push(counterUsed ? { member: 'sum', type: 'integer', units: 'count' } : { member: 'sum', type: 'integer' });
  }
  if (type & CEPH.LONGRUNAVG) parts.push({ member: 'avgcount', type: 'integer' });
  if (type & CEPH.COUNTER && !counterUsed) parts.push({ member: 'count', type: 'integer', units: 'count' });
  return parts;
}

/** Ceph names may hold '-' and ':'; PCP's may not. */
export function cephName(name: string): string {
  return name.replace(/[-:]/g, '_');
}

/**
 * Metadata for a ceph daemon's perf counters, mapped as pmdajson's
 * generate_ceph_metadata does: counter SECTION/KEY becomes
 * SECTION.KEY, or SECTION.KEY.sum and SECTION.KEY.avgcount for averages
 * (LONGRUNAVG), with '-' and ':' in names turned into '_'. A counter's
 * "description", when the schema has one, becomes its help text.
 */
export function metadataFromCeph(schema: JsonValue): Generated {
  const problems: string[] = [];
  const doc: MetadataJson = { metrics: [] };
  if (!isObject(schema)) {
    problems.push('the ceph perf schema must be a JSON object');
    return { doc, problems };
  }
  const names = new Set<string>();
  for (const [section, counters] of Object.entries(schema)) {
    if (!isObject(counters)) {
      problems.push(`skipping '${section}': not an object of counters`);
      continue;
    }
    for (const [key, info] of Object.entries(counters)) {
      const where = `${section}.${key}`;
      const rawType = isObject(info) ? info['type'] : undefined;
      if (typeof rawType !== 'number') {
        problems.push(`skipping '${where}': no numeric "type"`);
        continue;
      }
      const parts = cephParts(rawType);
      if (!parts || parts.length === 0) {
        problems.push(`skipping '${where}': unknown ceph counter type ${rawType}`);
        continue;
      }
      const base = `${cephName(section)}.${cephName(key)}`;
      const pointer = `/${escapeToken(section)}/${escapeToken(key)}`;
      const description = isObject(info) && typeof info['description'] === 'string' && info['description'] !== '' ? info['description'] : undefined;
      for (const part of parts) {
        const single = parts.length === 1;
        const name = single ? base : `${base}.${part.member}`;
        if (!isPcpName(name)) {
          problems.push(`skipping '${where}': '${name}' is not a valid PCP name`);
          break;
        }
        if (names.has(name)) {
          problems.push(`skipping '${where}': '${name}' is already taken`);
          break;
        }
        names.add(name);
        const m: MetricJson = { name, pointer: single ? pointer : `${pointer}/${part.member}`, type: part.type };
        if (description) m.description = description;
        if (part.units) m.units = part.units;
        doc.metrics.push(m);
      }
    }
  }
  return { doc, problems };
}
