// What the inference modules share: the document they build (pmdajson's
// format with issue 23's keys: nested arrays, trees, numeric strings),
// the problems they report, and PCP names made from JSON member names.
import type { ArrayJson, MetadataJson, MetricJson } from '../../producer/producer';

/** A metric as generated: pmdajson's, and numbers that data holds in strings. */
export interface GenMetric extends MetricJson {
  'numeric-strings'?: true;
}

/** An array as generated: its metrics may be arrays (nested), its elements a tree. */
export interface GenArray extends Omit<ArrayJson, 'metrics'> {
  /** Pointer, in each element, to its child elements of the same shape. */
  children?: string;
  /** 'leaf': a tree element is named by its own index alone. */
  'instance-names'?: 'leaf';
  metrics: Array<GenMetric | GenArray>;
}

/** A metadata.json document as generated. */
export interface GenDoc extends Omit<MetadataJson, 'metrics'> {
  metrics: Array<GenMetric | GenArray>;
}

/** A metadata.json document and what was left out of it, one line each. */
export interface Generated {
  doc: GenDoc;
  problems: string[];
}

/** Problem lines, each said once. */
export class Problems {
  readonly lines: string[] = [];
  private readonly said = new Set<string>();

  add(text: string): void {
    if (this.said.has(text)) return;
    this.said.add(text);
    this.lines.push(text);
  }
}

/** A PCP name part for a JSON member name: invalid characters become '_', a leading non-letter gets an 'm'. */
export function pcpComponent(key: string): string {
  let c = key.replace(/[^A-Za-z0-9_]/g, '_');
  if (!/^[A-Za-z]/.test(c)) c = 'm' + c;
  return c;
}

/** A value shown in a problem line: JSON text, cut to 40 characters. */
export function shown(v: string): string {
  return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
}
