// JSON parsing that keeps integers exact over the whole int64 range, and
// writing (stringifyJson, at the end) that keeps bigints exact.
//
// JSON.parse turns every number into an IEEE double, so 9007199254740993
// comes back as 9007199254740992. Every document is parsed with JSON.parse
// first; then its numbers are looked at, and only a document holding an
// integer that a double may not hold exactly (2^53 or more in magnitude)
// is parsed again: its integer literals too long to be exact (16 or more
// digits, outside strings) are rewritten as BigInt marker strings, and
// after parsing the markers become BigInt values. Documents without such
// integers, the common case, cost one JSON.parse and one walk.
//
// The marker starts with a NUL and a per-process random token, so no data
// string can be mistaken for one unless its writer can read our memory.
import * as fs from 'fs';

const TOKEN = 'int64:' + randomHex(6) + ':';
/** The marker as parsed, and as written into JSON text (escaped NUL). */
const MARK = '\u0000' + TOKEN;
const MARK_TEXT = '\\u0000' + TOKEN;

export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object, as parsed. */
export type JsonObject = { [key: string]: JsonValue };

/** Whether `v` is a JSON object (not null, not an array). */
export function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Rewrite long integer literals (outside strings) as marker strings. */
function markLongIntegers(text: string): string {
  let out = '';
  let last = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i += 2;
        else if (d === 34) { i++; break; } else i++;
      }
      continue;
    }
    if (c === 45 /* - */ || isDigit(c)) {
      const start = i;
      if (c === 45) i++;
      const digitsStart = i;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
      const digits = i - digitsStart;
      const next = i < n ? text.charCodeAt(i) : 0;
      const isInteger = next !== 46 /* . */ && next !== 101 /* e */ && next !== 69 /* E */;
      // a JSON integer has no leading zero: "0123..." stays as it is, for JSON.parse to refuse
      if (isInteger && digits >= 16 && text.charCodeAt(digitsStart) !== 48 /* 0 */) {
        out += text.slice(last, start) + '"' + MARK_TEXT + text.slice(start, i) + '"';
        last = i;
      } else {
        // skip the rest of a non-integer number
        while (i < n) {
          const d = text.charCodeAt(i);
          if (isDigit(d) || d === 46 || d === 101 || d === 69 || d === 43 || d === 45) i++;
          else break;
        }
      }
      continue;
    }
    i++;
  }
  return last === 0 ? text : out + text.slice(last);
}

/**
 * Replace the marker strings in a parsed document by BigInts, without
 * recursion (a document may be nested 100,000 deep). A marker can only
 * be a key if the text had a bare number where a key belongs, which is
 * not JSON: that is rejected as JSON.parse would have.
 */
function reviveMarkers(doc: unknown): unknown {
  const isMark = (v: unknown): v is string => typeof v === 'string' && v.startsWith(MARK);
  if (isMark(doc)) return BigInt(doc.slice(MARK.length));
  const stack: unknown[] = [doc];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const e: unknown = v[i];
        if (isMark(e)) v[i] = BigInt(e.slice(MARK.length));
        else if (typeof e === 'object' && e !== null) stack.push(e);
      }
      continue;
    }
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (k.startsWith(MARK)) throw new SyntaxError('Expected a property name in JSON, found a number');
      const e = o[k];
      if (isMark(e)) o[k] = BigInt(e.slice(MARK.length));
      else if (typeof e === 'object' && e !== null) stack.push(e);
    }
  }
  return doc;
}

/**
 * JSON.parse's messages quote a piece of the text ("Unexpected token 'r',
 * "root:$y$j9"... is not valid JSON"). The text may be a file its writer
 * could not read (a symbolic link to a root-only file), and the message
 * goes to a world-readable log: keep the position, drop the quote.
 */
function parseError(e: unknown): Error {
  if (!(e instanceof SyntaxError)) return e as Error;
  if (/^Unexpected token/.test(e.message)) return new SyntaxError('Unexpected character: not valid JSON');
  if (e.message.includes('"')) return new SyntaxError('Not valid JSON');
  return e;
}

/** Parse JSON text; integers beyond 2^53 come back as exact BigInts. */
const EXACT_LIMIT = 2 ** 53;

/** Does `doc` hold an integer JSON.parse may have rounded (|n| >= 2^53)? Iterative: any depth. */
function hasInexactInteger(doc: JsonValue): boolean {
  const stack: JsonValue[] = [doc];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (typeof v === 'number') {
      if (v >= EXACT_LIMIT || v <= -EXACT_LIMIT) return true;
    } else if (v !== null && typeof v === 'object') {
      if (Array.isArray(v)) for (let i = 0; i < v.length; i++) stack.push(v[i]!);
      else for (const k in v) stack.push(v[k]!);
    }
  }
  return false;
}

export function parseJson(text: string): JsonValue {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    // JSON.parse is exact for every integer below 2^53 in magnitude; only a
    // document holding a larger one is parsed again, the exact way
    const doc = JSON.parse(text) as JsonValue;
    if (!hasInexactInteger(doc)) return doc;
    const marked = markLongIntegers(text);
    if (marked === text) return doc;
    return reviveMarkers(JSON.parse(marked)) as JsonValue;
  } catch (e) {
    throw parseError(e);
  }
}

/**
 * A value from a document, shown in a log line: JSON text (a BigInt as
 * its digits), cut to `max` characters; never throws, whatever the
 * value's depth (JSON.stringify alone throws on a BigInt and on 100,000
 * levels of nesting).
 */
export function showJson(v: unknown, max = 100): string {
  let s: string;
  try {
    s = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x)) ?? String(v);
  } catch {
    s = Array.isArray(v) ? '[...]' : '{...}';
  }
  return s.length > max ? `${s.slice(0, max)}...` : s;
}

// ---- writing: JSON text that keeps bigints exact ------------------------------

/** A value `stringifyJson` can write: JSON values plus bigint. */
export type JsonOut = null | boolean | number | bigint | string | readonly JsonOut[] | { readonly [key: string]: JsonOut | undefined };

/**
 * JSON text for `value`, like JSON.stringify but exact for bigints (written
 * as their decimal digits). Object members whose value is undefined are
 * left out. Throws on non-finite numbers, which JSON cannot represent.
 * `indent` > 0 pretty-prints with that many spaces per level.
 */
export function stringifyJson(value: JsonOut, indent = 0): string {
  const out: string[] = [];
  const write = (v: JsonOut, depth: number): void => {
    if (v === null) out.push('null');
    else if (typeof v === 'bigint') out.push(v.toString());
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new TypeError(`${v} cannot be written as JSON`);
      out.push(JSON.stringify(v));
    } else if (typeof v === 'string' || typeof v === 'boolean') out.push(JSON.stringify(v));
    else {
      const open = Array.isArray(v) ? '[' : '{';
      const close = Array.isArray(v) ? ']' : '}';
      const items: Array<[string | undefined, JsonOut]> = Array.isArray(v)
        ? (v as readonly JsonOut[]).map((x) => [undefined, x])
        : Object.entries(v as { [k: string]: JsonOut | undefined }).filter((e): e is [string, JsonOut] => e[1] !== undefined);
      if (items.length === 0) {
        out.push(open + close);
        return;
      }
      const nl = indent > 0 ? '\n' + ' '.repeat(indent * (depth + 1)) : '';
      out.push(open);
      items.forEach(([k, x], i) => {
        out.push(i > 0 ? ',' + nl : nl);
        if (k !== undefined) out.push(JSON.stringify(k) + (indent > 0 ? ': ' : ':'));
        write(x, depth + 1);
      });
      out.push(indent > 0 ? '\n' + ' '.repeat(indent * depth) : '', close);
    }
  };
  write(value, 0);
  return out.join('');
}

/**
 * `n` random bytes from the kernel, in hex. Not the crypto module: loading
 * it costs the PMDA's start 8 ms or more (bench/run.mjs, startup).
 */
function randomHex(n: number): string {
  const bytes = Buffer.alloc(n);
  try {
    const fd = fs.openSync('/dev/urandom', 'r');
    try {
      if (fs.readSync(fd, bytes, 0, n, null) === n) return bytes.toString('hex');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* no /dev/urandom here */
  }
  return (require('crypto') as typeof import('crypto')).randomBytes(n).toString('hex');
}
