// What the inference modules share: the document they build (pmdajson's
// format with issue 23's keys: nested arrays, trees, numeric strings),
// the problems they report, and PCP names made from JSON member names.
import type { ArrayJson, MetadataJson, MetricJson } from '../../producer/producer';

/** What the generator writes: metadata.json's document types (src/format/document.ts), which have issue 23's keys. */
export type GenMetric = MetricJson;
export type GenArray = ArrayJson;
export type GenDoc = MetadataJson;

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
