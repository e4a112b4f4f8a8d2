// A sample as the generator reads it. JSON.parse reads 0.00 as 0, an
// integer, yet a program printing 0.00 prints a double (iostat's tps),
// so number literals with a fraction or an exponent are kept apart: each
// becomes a marker string before parsing, read back by scalarOf. Then
// scalarOf says what one value is: integer (exact), double, boolean, or a
// string, and whether that string holds a number.
import { randomBytes } from 'crypto';
import { parseJson } from '../../format/json';
import type { JsonValue } from '../../format/json';

// a NUL and a per-process token: no data string can be taken for one
const MARK = '\u0000double:' + randomBytes(6).toString('hex') + ':';
const MARK_TEXT = '\\u0000' + MARK.slice(1);

/** Parse a sample: json.ts's parseJson, numbers written with '.' or an exponent kept as doubles. */
export function parseSample(text: string): JsonValue {
  let out = '';
  let last = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text[i]!;
    if (c === '"') {
      for (i++; i < n && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      i++;
      continue;
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
      const lit = m ? m[0] : c;
      if (m && (m[1] !== undefined || m[2] !== undefined)) {
        out += text.slice(last, i) + '"' + MARK_TEXT + lit + '"';
        last = i + lit.length;
      }
      i += lit.length;
      continue;
    }
    i++;
  }
  return parseJson(last === 0 ? text : out + text.slice(last));
}

/** One scalar value; `num` says what number a string holds, if it holds one. */
export type Scalar = { k: 'int'; v: bigint } | { k: 'double'; v: number } | { k: 'bool'; v: boolean } | { k: 'str'; v: string; num?: 'int' | 'double'; int?: bigint };

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** What a scalar value is; undefined for null, objects and arrays. */
export function scalarOf(v: JsonValue | undefined): Scalar | undefined {
  switch (typeof v) {
    case 'bigint':
      return { k: 'int', v };
    case 'number':
      return Number.isInteger(v) ? { k: 'int', v: BigInt(v) } : { k: 'double', v };
    case 'boolean':
      return { k: 'bool', v };
    case 'string': {
      if (v.startsWith(MARK)) return { k: 'double', v: Number(v.slice(MARK.length)) };
      // a JSON number in a string, spaces around it allowed (format.md 3)
      const t = v.trim();
      const m = NUMBER.exec(t);
      if (!m) return { k: 'str', v };
      if (m[2] === undefined && m[3] === undefined) {
        const int = BigInt(t);
        if (int >= INT64_MIN && int <= INT64_MAX) return { k: 'str', v, num: 'int', int };
      }
      return { k: 'str', v, num: 'double' };
    }
    default:
      return undefined;
  }
}
