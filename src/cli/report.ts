// pmdajson-check's report: what it shows of each source and metric, as
// text (pminfo's words) or as a JSON document (--json).
import * as log from '../pmda/limits/log';
import { stringifyJson } from '../format/json';
import type { JsonValue, JsonOut } from '../format/json';
import type { Options } from './check';
import type { Checker } from './checker';

// ---- what is reported ------------------------------------------------------------

export interface ValueOut {
  instance?: string;
  /** The instance's number; undefined when it has none yet. */
  id?: number;
  value: number | bigint | string;
}

export interface MetricOut {
  name: string;
  pmid: string;
  new: boolean;
  type: string;
  pcpType: string;
  semantics: string;
  units: string;
  indom: string | null;
  description: string;
  help?: string;
  labels?: Record<string, JsonValue>;
  /** Values, when the PMDA would answer some. */
  values: ValueOut[];
  /** The error the PMDA would answer instead of values (pmErrStr's words). */
  error?: string;
  instanceLabels?: Record<string, Record<string, JsonValue>>;
}

export interface SourceOut {
  path: string;
  name?: string;
  describedBy?: string;
  data?: { path: string } | { exec: string; run: boolean } | { url: string; run: boolean };
  cluster?: number | '(new)';
  labels?: Record<string, JsonValue>;
  metrics: MetricOut[];
  problems: string[];
}

export const TYPE_NAMES: Record<string, string> = { integer: '64-bit int', double: 'double', string: 'string' };

// the words of pminfo for semantics and units, shared with the PMDA's log
export { semName, unitsText } from '../format/pcp';

export function parseLabelText(text: string | undefined): Record<string, JsonValue> {
  return text ? (JSON.parse(text) as Record<string, JsonValue>) : {};
}

// ---- output ----------------------------------------------------------------------------

function showValue(v: number | bigint | string): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

export function text(c: Checker, notes: string[]): string {
  const lines: string[] = [];
  for (const n of notes) lines.push(`note: ${n}`);
  for (const s of c.sources) {
    if (lines.length > 0) lines.push('');
    const head = s.name !== undefined ? `source '${s.name}' in ${s.path}` : `source in ${s.path}: not served`;
    const cluster = s.cluster !== undefined ? ` (cluster ${s.cluster})` : '';
    lines.push(`${head}${cluster}`);
    if (s.data) {
      const d = s.data;
      const shown = 'path' in d ? d.path : 'exec' in d ? `data-exec '${d.exec}'${d.run ? '' : ' (not run: --no-exec)'}` : `data-url '${d.url}'${d.run ? '' : ' (not fetched: --no-exec)'}`;
      lines.push(`    data: ${shown}`);
    }
    if (s.labels) lines.push(`    labels ${JSON.stringify(s.labels)}`);
    for (const m of s.metrics) {
      lines.push(m.name);
      lines.push(`    PMID: ${m.pmid}  Data Type: ${m.pcpType}  InDom: ${m.indom ?? 'PM_INDOM_NULL'}`);
      lines.push(`    Semantics: ${m.semantics}  Units: ${m.units}`);
      if (m.description) lines.push(`    Help: ${m.description}`);
      if (m.labels) lines.push(`    labels ${JSON.stringify(m.labels)}`);
      if (m.error) lines.push(`    ${m.error}`);
      else if (m.values.length === 0) lines.push('    No value(s) available!');
      for (const v of m.values) {
        if (v.instance === undefined) lines.push(`    value ${showValue(v.value)}`);
        else {
          const labels = m.instanceLabels?.[v.instance];
          lines.push(`    inst [${v.id ?? '(new)'} or ${JSON.stringify(v.instance)}] value ${showValue(v.value)}${labels ? ` labels ${JSON.stringify(labels)}` : ''}`);
        }
      }
    }
    if (s.problems.length > 0) {
      lines.push(`problems with ${s.path}:`);
      for (const p of s.problems) lines.push(`    ${log.oneLine(p)}`);
    }
  }
  if (c.general.length > 0) {
    if (lines.length > 0) lines.push('');
    lines.push('problems:');
    for (const p of c.general) lines.push(`    ${log.oneLine(p)}`);
  }
  const nm = c.sources.reduce((n, s) => n + s.metrics.length, 0);
  const np = c.problems.length;
  const served = c.sources.filter((s) => s.metrics.length > 0).length;
  lines.push('');
  lines.push(`${served} source${served === 1 ? '' : 's'} served, ${nm} metric${nm === 1 ? '' : 's'}, ${np} problem${np === 1 ? '' : 's'}`);
  return lines.join('\n') + '\n';
}

export function document(c: Checker, o: Options, notes: string[]): string {
  const doc: JsonOut = {
    domain: o.domain,
    root: o.root,
    ok: c.problems.length === 0,
    notes,
    problems: c.problems,
    sources: c.sources.map((s) => ({
      path: s.path,
      name: s.name,
      describedBy: s.describedBy,
      cluster: s.cluster,
      data: s.data,
      labels: s.labels as JsonOut,
      problems: s.problems,
      metrics: s.metrics.map((m) => ({
        name: m.name,
        pmid: m.pmid,
        new: m.new,
        type: m.type,
        pcpType: m.pcpType,
        semantics: m.semantics,
        units: m.units,
        indom: m.indom,
        description: m.description,
        help: m.help,
        labels: m.labels as JsonOut,
        error: m.error,
        values: m.values.map((v) => ({ instance: v.instance, id: v.id === undefined && v.instance !== undefined ? '(new)' : v.id, value: v.value })),
        instanceLabels: m.instanceLabels as JsonOut,
      })),
    })),
  };
  return stringifyJson(doc, 2) + '\n';
}
