// Fetch: turn the values a fetch PDU asks for into one buffer that the
// native shim hands, value by value, to libpcp_pmda's pmdaFetch. One
// crossing from C into JavaScript per fetch PDU, none per value.
//
// Layout (little endian), read by native/fetch.cc:
//   uint32 offset[numpmid]        where each requested pmid's record starts
//   record: int32 count-or-error, int32 type,
//           count x { int32 inst, int32 0, 8-byte value },
//           the record's strings, NUL-terminated, then padding to 4 bytes
//   value:  int64 | double | uint32 offset, from the record's start, of a string
// Entries are ordered by instance id, the order pmdaFetch walks them in.
import { C, native } from '../native';
import type { JsonValue } from '../../format/json';
import type { ValueType } from '../../format/metadata';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TWO32 = 4294967296;

export class ValueError extends Error {}

export const typeCode = (t: ValueType): number =>
  t === 'integer' ? C.PM_TYPE_64 : t === 'double' ? C.PM_TYPE_DOUBLE : C.PM_TYPE_STRING;

/** A JSON value as a PCP value of `type`; throws ValueError when it is not one. */
export function convert(v: JsonValue | undefined, type: ValueType): number | bigint | string {
  if (v === undefined) throw new ValueError('no value');
  switch (type) {
    case 'integer':
      if (typeof v === 'bigint') {
        if (v < INT64_MIN || v > INT64_MAX) throw new ValueError(`${brief(v)} is outside the 64-bit integer range`);
        return v;
      }
      if (typeof v === 'number') {
        if (!Number.isInteger(v)) throw new ValueError(`${v} is not an integer`);
        if (Number.isSafeInteger(v)) return v;
        const b = BigInt(v);
        if (b < INT64_MIN || b > INT64_MAX) throw new ValueError(`${brief(b)} is outside the 64-bit integer range`);
        return b;
      }
      if (typeof v === 'boolean') return v ? 1 : 0;
      throw new ValueError(`expected an integer, found ${describe(v)}`);
    // Each type takes what PCP can hold of it: the cases are alike in shape
    // on purpose, one rule each.
    case 'double':
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return Number(v);
      if (typeof v === 'boolean') return v ? 1 : 0;
      throw new ValueError(`expected a number, found ${describe(v)}`);
    case 'string':
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
      throw new ValueError(`expected a string, found ${describe(v)}`);
    default:
      // metadata.ts admits only the three types; never let another one through
      throw new ValueError(`unknown metric type ${String(type)}`);
  }
}

/** A number for a log line: a 5,000-digit one shortened. */
function brief(v: bigint): string {
  const s = String(v);
  return s.length <= 40 ? s : `${s.slice(0, 20)}... (${s.replace('-', '').length} digits)`;
}

function describe(v: JsonValue): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return 'a string';
  return typeof v;
}

/**
 * Growable output buffer, reused from fetch to fetch. Each record holds
 * its own strings (after its entries, offsets relative to the record), so
 * a finished record can be cached and copied into a later fetch as is.
 */
export class Encoder {
  private buf = Buffer.alloc(1 << 16);
  /** The buffer as 32-bit words (it is never from Buffer's pool, so aligned). */
  private i32 = new Int32Array(this.buf.buffer, this.buf.byteOffset, this.buf.length >> 2);
  private pos = 0;
  private strings: Array<[number, string]> = [];
  private recordAt = 0;
  private count = 0;

  begin(numpmid: number): void {
    this.pos = numpmid * 4;
    this.ensure(0);
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.i32 = new Int32Array(next.buffer, next.byteOffset, next.length >> 2);
  }

  /** Room for `n` more values. */
  reserve(n: number): void {
    this.ensure(16 * n);
  }

  /**
   * Rows [from, to) of a column of integers, straight from a query's slots
   * (src/pmda/data/query.ts): row r is instance insts[r], whose 8 bytes are the
   * value of slot first + element * width, element being elements[r] (by
   * way of `order`, if given). Stops at the first slot whose kind is not
   * `kind`, and returns the row it stopped at (native/gather.cc).
   */
  int64Column(insts: Int32Array, elements: Int32Array, values: Int32Array, kinds: Uint8Array, first: number, width: number, order: Int32Array | undefined, kind: number, from: number, to: number): number {
    this.ensure(16 * (to - from));
    const r = native.gatherInt64(values, kinds, first, width, order ?? null, elements, insts, from, to, this.i32, this.pos >> 2, kind);
    this.count += r - from;
    this.pos += 16 * (r - from);
    return r;
  }

  /** A PM_TYPE_64 value given as its two 32-bit halves, low first. */
  int64(inst: number, lo: number, hi: number): void {
    this.ensure(16);
    const w = this.pos >> 2;
    const i32 = this.i32;
    i32[w] = inst;
    i32[w + 1] = 0;
    i32[w + 2] = lo;
    i32[w + 3] = hi;
    this.pos += 16;
    this.count++;
  }

  /** Start the record of the i-th requested pmid (records start at multiples of 4). */
  record(i: number, type: number): void {
    this.ensure(8);
    const w = this.pos >> 2;
    this.i32[i] = this.pos;
    this.recordAt = this.pos;
    this.count = 0;
    if (this.strings.length > 0) this.strings = [];
    this.i32[w] = 0;
    this.i32[w + 1] = type;
    this.pos += 8;
  }

  /** The whole record is this error (PM_ERR_*). */
  error(code: number): void {
    this.i32[this.recordAt >> 2] = code;
    this.count = -1;
  }

  /** Where the next record will start: for rewind(). */
  get mark(): number {
    return this.pos;
  }

  /**
   * Drop everything written since `mark` (whatever record it left half
   * done), and make the i-th record this error for the whole metric.
   */
  rewind(mark: number, i: number, type: number, code: number): void {
    this.pos = mark;
    this.strings = [];
    this.record(i, type);
    this.error(code);
    this.end();
  }

  /** Drop the values of the current record: it is this error instead. */
  abort(code: number): void {
    this.pos = this.recordAt + 8;
    this.strings = [];
    this.error(code);
  }

  value(inst: number, v: number | bigint | string, type: number): void {
    this.ensure(16);
    const p = this.pos;
    const b = this.buf;
    b.writeInt32LE(inst | 0, p);
    b.writeInt32LE(0, p + 4);
    if (type === C.PM_TYPE_64) {
      if (typeof v === 'bigint') b.writeBigInt64LE(v, p + 8);
      else {
        const n = v as number;
        const hi = Math.floor(n / TWO32);
        b.writeUInt32LE(n - hi * TWO32, p + 8);
        b.writeInt32LE(hi, p + 12);
      }
    } else if (type === C.PM_TYPE_DOUBLE) {
      b.writeDoubleLE(v as number, p + 8);
    } else {
      this.strings.push([p + 8, v as string]);
      b.writeUInt32LE(0, p + 12);
    }
    this.pos += 16;
    this.count++;
  }

  /** Finish the current record: its count and strings. Returns its bytes' range. */
  end(): [number, number] {
    if (this.count >= 0) this.i32[this.recordAt >> 2] = this.count;
    if (this.strings.length === 0) return [this.recordAt, this.pos];
    for (const [at, s] of this.strings) {
      const n = Buffer.byteLength(s, 'utf8');
      this.ensure(n + 1);
      this.buf.writeUInt32LE(this.pos - this.recordAt, at);
      this.buf.write(s, this.pos, 'utf8');
      this.buf[this.pos + n] = 0;
      this.pos += n + 1;
    }
    this.strings = [];
    const pad = (4 - (this.pos % 4)) % 4; // keep the next record aligned
    this.ensure(pad);
    this.buf.fill(0, this.pos, this.pos + pad);
    this.pos += pad;
    return [this.recordAt, this.pos];
  }

  /** A copy of bytes [from, to) of the current fetch (4-byte aligned), as words, for a cache. */
  slice(from: number, to: number): Int32Array {
    return this.i32.slice(from >> 2, to >> 2);
  }

  /**
   * The i-th requested pmid's record is a cached one: words [at, end) of
   * `words` (kept records share one array, so each needs no view of its own).
   */
  copy(i: number, words: Int32Array, at: number, end: number): void {
    this.ensure((end - at) * 4);
    this.i32[i] = this.pos;
    const i32 = this.i32;
    let w = this.pos >> 2;
    // a few words one by one; more as one copy, by way of a view
    if (end - at <= 32) {
      for (let k = at; k < end; k++) i32[w++] = words[k]!;
    } else {
      i32.set(words.subarray(at, end), w);
    }
    this.pos += (end - at) * 4;
  }

  /** The finished buffer (valid until the next begin). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
