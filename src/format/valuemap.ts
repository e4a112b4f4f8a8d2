// The value keys of an integer or double metric: "map" serves a string
// (or true, false, null, by their JSON text) as the number it gives it,
// "numeric-strings" a string holding a JSON number as that number
// (lscpu's "CPU(s)": "2"). Read from metadata.json here (valueKeys), and
// applied to each value read for a record (mapValue, by
// src/pmda/records/records.ts), before it is converted to the metric's type.
import { parseJson, showJson } from './json';
import type { JsonValue, JsonObject } from './json';

/** How a metric's values are mapped before they are converted. */
export interface ValueMapping {
  /** `map`: strings, and "true", "false", "null", to numbers. */
  map?: ReadonlyMap<string, number | bigint>;
  /** `numeric-strings`: a string holding a JSON number is that number. */
  numericStrings: boolean;
}

/** Keys a map may have at most. */
export const MAX_MAP_KEYS = 1024;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The `map` and `numeric-strings` keys of metric `name` of type `type`:
 * undefined when it has neither, 'invalid' (with the problem noted) when
 * the metric must be skipped.
 */
export function valueKeys(item: JsonObject, name: string, type: 'integer' | 'double' | 'string', where: string, problems: string[]): ValueMapping | undefined | 'invalid' {
  const rawMap = item['map'];
  const rawNumeric = item['numeric-strings'];
  if (rawMap === undefined && rawNumeric === undefined) return undefined;
  const skip = (why: string): 'invalid' => {
    problems.push(`${where}: skipping metric '${name}': ${why}`);
    return 'invalid';
  };
  if (type === 'string') return skip(`'${rawMap !== undefined ? 'map' : 'numeric-strings'}' is only for integer and double metrics`);
  if (rawNumeric !== undefined && typeof rawNumeric !== 'boolean') return skip("'numeric-strings' is not true or false");
  const how: ValueMapping = { numericStrings: rawNumeric === true };
  // "numeric-strings": false alone asks nothing
  if (rawMap === undefined) return how.numericStrings ? how : undefined;
  if (rawMap === null || typeof rawMap !== 'object' || Array.isArray(rawMap)) return skip("'map' is not an object");
  const entries = Object.entries(rawMap);
  if (entries.length > MAX_MAP_KEYS) return skip(`'map' has ${entries.length} keys, more than ${MAX_MAP_KEYS}`);
  const map = new Map<string, number | bigint>();
  for (const [k, v] of entries) {
    const bad = type === 'integer' ? !isInt64(v) : typeof v !== 'number' && typeof v !== 'bigint';
    if (bad) return skip(`'map' gives ${JSON.stringify(cut(k))} ${showJson(v, 64)}, not ${type === 'integer' ? 'a 64-bit integer' : 'a number'}`);
    map.set(k, typeof v === 'bigint' && type === 'double' ? Number(v) : (v as number | bigint));
  }
  how.map = map;
  return how;
}

function isInt64(v: JsonValue): boolean {
  if (typeof v === 'bigint') return v >= INT64_MIN && v <= INT64_MAX;
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/** A value from the data in a log line: escaped as JSON, cut to 64 characters. */
function cut(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}...` : s;
}

/** A JSON number, with the whitespace JSON allows around it. */
const NUMBER = /^[ \t\n\r]*-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?[ \t\n\r]*$/;

/**
 * Value `v` as `how` maps it: a number for a string (or true, false,
 * null) that the map or numeric-strings gives one, else `v` as it is.
 * Throws when `v` is a string the metric has no number for, or, with a
 * map, true, false or null not in it.
 */
export function mapValue(v: JsonValue | undefined, how: ValueMapping): JsonValue | undefined {
  if (v === undefined || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'object' && v !== null) return v;
  const map = how.map;
  if (map) {
    const n = map.get(typeof v === 'string' ? v : String(v));
    if (n !== undefined) return n;
  }
  if (typeof v === 'string') {
    // exact over int64: a long integer comes back as a BigInt
    if (how.numericStrings && NUMBER.test(v)) return parseJson(v);
    if (!map && !how.numericStrings) return v;
    const shown = JSON.stringify(cut(v));
    throw new Error(map ? `${shown} is not in its 'map'${how.numericStrings ? ' and not a number' : ''}` : `${shown} is not a number`);
  }
  if (map) throw new Error(`${String(v)} is not in its 'map'`);
  return v;
}
