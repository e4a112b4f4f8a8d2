// pmdajson-generate's inference: a metadata.json document from a sample
// data document (metric types from the values, arrays of objects as
// instance domains, their index member guessed) or from a ceph
// perf-counter schema. What cannot be described is left out with a line
// in `problems`. The command around it is generate.ts.
import { isObject } from '../format/json';
import type { JsonValue, JsonObject as Obj } from '../format/json';
import { ArrayJson, MetadataJson, MetricJson, escapeToken, isPcpName } from '../producer/producer';

/** A metadata.json document and what was left out of it, one line each. */
export interface Generated {
  doc: MetadataJson;
  problems: string[];
}

// ---- from a sample data document ----------------------------------------------

/** A PCP name part for a JSON member name: invalid characters become '_', a leading non-letter gets an 'm'. */
export function pcpComponent(key: string): string {
  let c = key.replace(/[^A-Za-z0-9_]/g, '_');
  if (!/^[A-Za-z]/.test(c)) c = 'm' + c;
  return c;
}

type Scalar = 'integer' | 'double' | 'string';

function scalarType(v: JsonValue): Scalar | undefined {
  if (typeof v === 'bigint') return 'integer';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'double';
  if (typeof v === 'string') return 'string';
  return undefined;
}

/** Index members tried first, in this order, before any other unique string member. */
export const PREFERRED_INDEX = ['__id', 'name', 'id'];

interface Leaf {
  name: string;
  pointer: string;
  type: Scalar | 'conflict';
}

class Inference {
  readonly problems: string[] = [];
  private readonly reported = new Set<string>();

  problem(text: string): void {
    if (this.reported.has(text)) return;
    this.reported.add(text);
    this.problems.push(text);
  }

  /**
   * Walk an object, calling `leaf` for scalars and `array` for arrays;
   * `names` and `pointer` are the dotted name and pointer so far.
   */
  walk(o: Obj, names: string, pointer: string, leaf: (l: Leaf) => void, array: ((name: string, pointer: string, a: JsonValue[]) => void) | undefined): void {
    const used = new Map<string, string>();
    for (const [key, v] of Object.entries(o)) {
      const comp = pcpComponent(key);
      const shown = names ? `${names}.${key}` : key;
      if (used.has(comp)) {
        this.problem(`skipping '${shown}': its PCP name '${comp}' is already taken by '${used.get(comp)}'`);
        continue;
      }
      used.set(comp, key);
      if (comp !== key) this.problem(`'${shown}' is named '${comp}' (PCP names are letters, digits and '_', starting with a letter)`);
      const name = names ? `${names}.${comp}` : comp;
      const p = `${pointer}/${escapeToken(key)}`;
      const t = scalarType(v);
      if (t) leaf({ name, pointer: p, type: t });
      else if (isObject(v)) this.walk(v, name, p, leaf, array);
      else if (Array.isArray(v)) {
        if (array) array(name, p, v);
        else this.problem(`skipping '${name}': arrays inside arrays cannot be served`);
      } else this.problem(`skipping '${name}': ${v === null ? 'null says nothing about the type' : `${typeof v} values cannot be served`}`);
    }
  }

  array(name: string, pointer: string, elements: JsonValue[]): ArrayJson | undefined {
    if (elements.length === 0) {
      this.problem(`skipping '${name}': an empty array says nothing about its members`);
      return undefined;
    }
    if (!elements.every(isObject)) {
      this.problem(`skipping '${name}': only arrays of objects can be served (an array of scalars has no instance names)`);
      return undefined;
    }
    const objs = elements;
    const index = guessIndex(objs);
    if (index === undefined) {
      this.problem(`skipping '${name}': no member names every element uniquely (tried ${PREFERRED_INDEX.join(', ')}, then any string member)`);
      return undefined;
    }
    const leaves = new Map<string, Leaf>();
    for (const el of objs) {
      const { [index]: _index, ...rest } = el;
      this.walk(rest, name, '', (l) => {
        const have = leaves.get(l.name);
        if (!have) leaves.set(l.name, l);
        else if (have.type !== l.type && have.type !== 'conflict') {
          const numeric = (t: string): boolean => t === 'integer' || t === 'double';
          have.type = numeric(have.type) && numeric(l.type) ? 'double' : 'conflict';
        }
      }, undefined);
    }
    const metrics: MetricJson[] = [];
    for (const l of leaves.values()) {
      if (l.type === 'conflict') {
        this.problem(`skipping '${l.name}': its elements hold both strings and numbers`);
        continue;
      }
      metrics.push({ name: l.name.slice(name.length + 1), pointer: l.pointer, type: l.type });
    }
    if (metrics.length === 0) {
      this.problem(`skipping '${name}': its elements have no members that can be served`);
      return undefined;
    }
    return { name, pointer, type: 'array', index: '/' + escapeToken(index), metrics };
  }
}

/** The element member that names instances: present in every element, a string (or integer), unique. */
export function guessIndex(elements: readonly Obj[]): string | undefined {
  const qualifies = (key: string, kind: 'string' | 'integer'): boolean => {
    const seen = new Set<string>();
    for (const el of elements) {
      const v = el[key];
      // a string, or an integer: nothing that String() would show as [object Object]
      const s = kind === 'string' ? (typeof v === 'string' && v !== '' ? v : undefined) : typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v)) ? String(v) : undefined;
      if (s === undefined) return false;
      if (seen.has(s)) return false;
      seen.add(s);
    }
    return true;
  };
  const keys = Object.keys(elements[0] ?? {});
  for (const k of PREFERRED_INDEX) if (qualifies(k, 'string')) return k;
  for (const k of keys) if (qualifies(k, 'string')) return k;
  for (const k of PREFERRED_INDEX) if (qualifies(k, 'integer')) return k;
  return undefined;
}

/**
 * Metadata for data shaped like `sample`: integers (and BigInts) are
 * integer metrics, other numbers doubles, strings strings; nested
 * objects give dotted names; arrays of objects give arrays whose index
 * is guessed by {@link guessIndex}. Semantics are left instant and units
 * empty: a sample cannot tell counters from gauges, so edit the result.
 */
export function metadataFromData(sample: JsonValue): Generated {
  const inf = new Inference();
  const doc: MetadataJson = { metrics: [] };
  if (!isObject(sample)) {
    inf.problem('the sample data must be a JSON object');
    return { doc, problems: inf.problems };
  }
  inf.walk(sample, '', '', (l) => doc.metrics.push({ name: l.name, pointer: l.pointer, type: l.type as Scalar }), (name, pointer, a) => {
    const arr = inf.array(name, pointer, a);
    if (arr) doc.metrics.push(arr);
  });
  return { doc, problems: inf.problems };
}

// ---- from a ceph perf-counter schema ----------------------------------------------

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
