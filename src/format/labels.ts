// PCP labels in metadata.json: the bounds PCP puts on a label set
// (LABEL_LIMITS), the room the PMDA keeps for its own labels in a source's
// set (SOURCE_LABELS), and a `labels` object read into label JSON text
// that fits them (parseLabels). Bad labels, and those past the bounds,
// are reported and left out.
import { isObject } from './json';
import type { JsonValue } from './json';
import { parsePointer, Pointer } from './pointer';

export const LABEL_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * What PCP takes in one label set (PCP's pmapi.h, and libpcp's labels.c
 * and p_label.c): fewer than PM_MAXLABELS (255) labels, as the label PDU
 * decoder refuses 255 (pmdaAddLabels would take them, clients could not);
 * names shorter than MAXLABELNAMELEN (255 bytes); JSON text shorter than
 * PM_MAXLABELJSONLEN - 1 (65533 bytes at most). A set past these is
 * refused whole by pmdaAddLabels, which logs all of it at every label
 * request: labels are bounded here instead, when metadata is read.
 */
export const LABEL_LIMITS = { count: 254, nameBytes: 254, jsonBytes: 65533 };

/**
 * What the PMDA keeps for itself in a source's label set: the labels
 * `source` and `source_path`, and room for their JSON (a path is at most
 * PATH_MAX, 4096 bytes, before its escapes).
 */
export const SOURCE_LABELS = { names: ['source', 'source_path'], bytes: 8192 };

/** A label name in a problem line: a 100 KB name must not make a 100 KB line. */
export function labelName(k: string): string {
  return k.length > 64 ? `${k.slice(0, 64)}...` : k;
}

/** Bytes of JSON text of `text`. */
function bytesOf(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * A `labels` object as the JSON text of PCP labels: names as PCP requires
 * them, values strings, numbers, booleans or null, within LABEL_LIMITS
 * (less what `reserve` keeps for the PMDA's own labels). Bad labels are
 * dropped with one problem noted each; labels past the count or the size
 * of a set are dropped in document order, with one problem noted for all
 * of them -- never the labels themselves.
 */
export function parseLabels(value: JsonValue, where: string, problems: string[], reserve = { names: [] as string[], bytes: 0 }): string | undefined {
  if (!isObject(value)) {
    problems.push(`${where}: ignoring 'labels' that is not an object`);
    return undefined;
  }
  const maxCount = LABEL_LIMITS.count - reserve.names.length;
  const maxBytes = LABEL_LIMITS.jsonBytes - reserve.bytes;
  const kept: Record<string, JsonValue> = {};
  let count = 0;
  let bytes = 2; // {}
  const over = { count: 0, bytes: 0, first: '' };
  for (const [k, v] of Object.entries(value)) {
    const name = labelName(k);
    if (!LABEL_NAME.test(k)) problems.push(`${where}: ignoring label '${name}': names are letters, digits and '_', starting with a letter`);
    else if (k.length > LABEL_LIMITS.nameBytes) problems.push(`${where}: ignoring label '${name}' of ${k.length} characters: PCP takes names of at most ${LABEL_LIMITS.nameBytes}`);
    else if (reserve.names.includes(k)) problems.push(`${where}: ignoring label '${k}': the PMDA sets it`);
    else if (v !== null && typeof v === 'object') problems.push(`${where}: ignoring label '${name}': its value must be a string, number, boolean or null`);
    else {
      const val = typeof v === 'bigint' ? Number(v) : v;
      const size = bytesOf(`${JSON.stringify(k)}:${JSON.stringify(val)}`) + (count > 0 ? 1 : 0);
      const why = count >= maxCount ? 'count' : bytes + size > maxBytes ? 'bytes' : undefined;
      if (why) {
        if (over.count + over.bytes === 0) over.first = name;
        over[why]++;
        continue;
      }
      kept[k] = val;
      count++;
      bytes += size;
    }
  }
  const dropped = over.count + over.bytes;
  if (dropped > 0) {
    const limit = over.count > 0 ? `PCP takes at most ${maxCount} labels here` : `PCP takes at most ${maxBytes} bytes of labels here as JSON`;
    problems.push(`${where}: ignoring ${dropped} label${dropped > 1 ? 's' : ''} from '${over.first}' on: ${limit}`);
  }
  return count > 0 ? JSON.stringify(kept) : undefined;
}

/**
 * An array's `instance-labels` object: label name -> JSON pointer into
 * each element. Bad entries, and those past PCP's count, are left out
 * with a problem noted; undefined if it is not an object.
 */
export function parseInstanceLabels(value: JsonValue, where: string, problems: string[]): Array<[string, Pointer]> | undefined {
  if (!isObject(value)) {
    problems.push(`${where}: ignoring 'instance-labels' that is not an object`);
    return undefined;
  }
  const labels: Array<[string, Pointer]> = [];
  let over = 0;
  for (const [k, v] of Object.entries(value)) {
    try {
      if (!LABEL_NAME.test(k)) throw new Error(`label names are letters, digits and '_', starting with a letter`);
      if (k.length > LABEL_LIMITS.nameBytes) throw new Error(`PCP takes names of at most ${LABEL_LIMITS.nameBytes} characters`);
      if (typeof v !== 'string') throw new Error('the value must be a JSON pointer');
      if (labels.length >= LABEL_LIMITS.count) over++;
      else labels.push([k, parsePointer(v)]);
    } catch (e) {
      problems.push(`${where}: ignoring instance label '${labelName(k)}': ${(e as Error).message}`);
    }
  }
  if (over > 0) problems.push(`${where}: ignoring ${over} instance labels past the first ${LABEL_LIMITS.count}: PCP takes at most ${LABEL_LIMITS.count} labels in a set`);
  return labels;
}
