// The query of a source: the JSON pointers of its metrics, arrays, index
// names and instance labels, compiled once by the native shim
// (native/query.cc), run on each new document (native/queryrun.cc); and
// the view of the slots it writes (src/pmda/data/view.ts). The document
// never becomes JavaScript objects: a value is read from its slot when a
// record needs it, and an integer's 8 bytes go to the record as they are
// (src/pmda/records/records.ts).
import { native } from '../native';
import type { JsonValue } from '../../format/json';
import { isComposed } from '../../format/metadata';
import type { ArraySpec } from '../../format/metadata';
import { DataView, Found, Placed, AN_ARRAY, AN_OBJECT } from './view';

// slot kinds, as native/queryrun.cc writes them
export const K_MISSING = 0;
const K_NULL = 1;
const K_FALSE = 2;
const K_TRUE = 3;
export const K_INT = 4;
const K_UINT = 5;
const K_DOUBLE = 6;
const K_STRING = 7;
const K_ARRAY = 8;
const K_OBJECT = 9;
const K_NAME = 10;

const TWO32 = 4294967296;
const SAFE_HI = 0x200000; // |v| < 2^53 when -SAFE_HI <= hi < SAFE_HI

/** Spare bytes simdjson reads past the end of a document it parses in place. */
export const PADDING: number = native.QUERY_PADDING;

/** The longest pointer a query is compiled for: simdjson's depth limit. */
const MAX_QUERY_DEPTH = 1024;

/**
 * The query of a source's `served` metrics (array members with `arrayAt`
 * their array's index in `arrays`), setting each metric's slot; undefined
 * when its documents are left to JavaScript: a pointer deeper than
 * simdjson's documents go (it can only find something in such a document
 * anyway), or an array nested or a tree (src/pmda/data/levels.ts).
 */
export function queryFor(served: Placed[], arrays: readonly ArraySpec[]): Query | undefined {
  if (arrays.some(isComposed)) return undefined;
  const pointers = [...served.map((m) => m.spec.pointer), ...arrays.flatMap((a) => [a.pointer, ...(a.index ? [a.index] : []), ...(a.instanceLabels ?? []).map(([, p]) => p)])];
  if (!pointers.every((p) => p.tokens.length <= MAX_QUERY_DEPTH)) return undefined;
  // a metric's slot: its place among the scalars, or among its array's members
  const scalars = served.filter((m) => m.arrayAt === undefined);
  return new Query(scalars, arrays.map((spec, a) => ({ spec, members: served.filter((m) => m.arrayAt === a) })));
}

/** A source's compiled query; free() it when the source goes. */
export class Query {
  private id: number;

  /**
   * `scalars` are the metrics without an array; `arrays` the source's
   * arrays, each with its served `members`. Sets each metric's slot.
   */
  constructor(scalars: Placed[], arrays: ReadonlyArray<{ spec: ArraySpec; members: Placed[] }>) {
    scalars.forEach((m, i) => (m.slot = i));
    this.id = native.queryCompile({
      scalars: scalars.map((m) => [...m.spec.pointer.tokens]),
      arrays: arrays.map(({ spec, members }) => {
        members.forEach((m, j) => (m.slot = j));
        const labels = spec.instanceLabels ?? [];
        return {
          at: [...spec.pointer.tokens],
          index: spec.index ? [...spec.index.tokens] : null,
          members: [...members.map((m) => [...m.spec.pointer.tokens]), ...labels.map(([, p]) => [...p.tokens])],
        };
      }),
    });
    this.scalars = scalars.length;
    this.widths = arrays.map((a) => 2 + a.members.length + (a.spec.instanceLabels?.length ?? 0));
    this.memberCounts = arrays.map((a) => a.members.length);
  }

  readonly scalars: number;
  /** Slots per element of each array: key, index, members, labels. */
  readonly widths: number[];
  readonly memberCounts: number[];

  /**
   * Run on bytes [0, length) of `buf` (with PADDING bytes to spare after
   * them when `padded`): the view, or undefined when the document is left
   * to JavaScript's parser.
   */
  run(buf: Buffer, length: number, padded: boolean): QueryView | undefined {
    const out = native.queryRun(this.id, buf, length, padded);
    return typeof out === 'number' ? undefined : new QueryView(out, this);
  }

  free(): void {
    if (this.id >= 0) native.queryFree(this.id);
    this.id = -1;
  }
}

/** JavaScript puts an object's array-index keys first, ascending: "0" ... "4294967294". */
function isArrayIndex(k: string): boolean {
  if (k.length === 0 || k.length > 10 || (k.length > 1 && k.charCodeAt(0) === 48)) return false;
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return Number(k) < 4294967295;
}

const NO_NAMES = Buffer.alloc(0);
const NO_ORDER: ReadonlyArray<Int32Array | undefined> = [];

export class QueryView implements DataView {
  /** The slots' values, two words each (native/queryrun.cc). */
  readonly i32: Int32Array;
  /** Where the slots' kinds start in `buf`, a byte each. */
  private readonly kindsAt: number;
  /** The kinds as an array of their own, made when asked (for native/gather.cc). */
  private kindView: Uint8Array | undefined;
  /** The slots' values as doubles, made when a double is first read (most views hold none). */
  private f64: Float64Array | undefined;
  private readonly slotCount: number;
  private readonly namesAt: number;
  private readonly stringsAt: number;
  readonly names: Buffer;
  /** Object maps: element order as JSON.parse's object would have it (duplicate keys once). */
  private readonly order: ReadonlyArray<Int32Array | undefined>;

  constructor(
    readonly buf: Buffer,
    readonly query: Query,
  ) {
    // typed arrays need an aligned start: the shim's allocations are
    if (buf.byteOffset % 8 !== 0) {
      const copy = Buffer.alloc(buf.length);
      buf.copy(copy);
      this.buf = buf = copy;
    }
    this.i32 = new Int32Array(buf.buffer, buf.byteOffset, buf.length >> 2);
    this.slotCount = this.i32[0]!;
    const namesLength = this.i32[1]! >>> 0;
    this.kindsAt = this.slotCount * 8;
    this.namesAt = this.slotCount * 8 + ((this.slotCount + 7) & ~7);
    this.stringsAt = this.namesAt + namesLength;
    // a view of no arrays shares one empty names buffer and order list
    this.names = namesLength === 0 ? NO_NAMES : buf.subarray(this.namesAt, this.stringsAt);
    this.order = query.widths.length === 0 ? NO_ORDER : query.widths.map((_, a) => (this.found(a) === 'map' ? this.mapOrder(a) : undefined));
  }

  /** The kind of slot `s`. */
  kind(s: number): number {
    return this.buf[this.kindsAt + s]!;
  }

  /** The slots' kinds, a byte each. */
  get kinds(): Uint8Array {
    return (this.kindView ??= this.buf.subarray(this.kindsAt, this.kindsAt + this.slotCount));
  }

  /** The bytes held: what a source's budget is charged for its view. */
  get bytes(): number {
    return this.buf.length;
  }

  /** The slot of array `a`'s header: kind, count, first row's slot. */
  private header(a: number): number {
    return 1 + this.query.scalars + a;
  }

  /** The first slot of element `e` (in document order) of array `a`. */
  rowSlot(a: number, e: number): number {
    return this.i32[this.header(a) * 2]! + e * this.query.widths[a]!;
  }

  /** The slot of member `j` of element 0 (in document order) of array `a`, and the slots from one element to the next. */
  column(a: number, j: number): [number, number] {
    return [this.rowSlot(a, 0) + 2 + j, this.query.widths[a]!];
  }

  /** The order of an object map's elements, when it is not document order. */
  orderOf(a: number): Int32Array | undefined {
    return this.order[a];
  }

  /** Element `e` as JSON.parse's object would order it. */
  row(a: number, e: number): number {
    const o = this.order[a];
    return o ? o[e]! : e;
  }

  /** The value in slot `s`. */
  value(s: number): JsonValue | undefined {
    const i = s * 2;
    switch (this.buf[this.kindsAt + s]) {
      case K_MISSING: return undefined;
      case K_NULL: return null;
      case K_FALSE: return false;
      case K_TRUE: return true;
      case K_INT: {
        const lo = this.i32[i]! >>> 0;
        const hi = this.i32[i + 1]!;
        if (hi >= -SAFE_HI && hi < SAFE_HI) return hi * TWO32 + lo;
        return this.buf.readBigInt64LE(s * 8);
      }
      case K_UINT: return this.buf.readBigUInt64LE(s * 8);
      case K_DOUBLE: return (this.f64 ??= new Float64Array(this.buf.buffer, this.buf.byteOffset, this.slotCount))[s]!;
      case K_STRING: return this.text(this.stringsAt, i);
      case K_NAME: return this.text(this.namesAt, i);
      case K_ARRAY: return AN_ARRAY;
      case K_OBJECT: return AN_OBJECT;
    }
    throw new Error(`query slot ${s}: unknown kind ${this.kind(s)}`);
  }

  private text(base: number, i: number): string {
    const at = base + (this.i32[i]! >>> 0);
    return this.buf.toString('utf8', at, at + (this.i32[i + 1]! >>> 0));
  }

  scalar(m: Placed): JsonValue | undefined {
    return this.value(1 + m.slot);
  }

  found(a: number): Found {
    const kind = this.kind(this.header(a));
    return kind === K_MISSING ? 'none' : kind === K_ARRAY ? 'array' : kind === K_OBJECT ? 'map' : 'other';
  }

  count(a: number): number {
    const o = this.order[a];
    return o ? o.length : this.i32[this.header(a) * 2 + 1]!;
  }

  key(a: number, e: number): string {
    return this.value(this.rowSlot(a, this.row(a, e))) as string;
  }

  index(a: number, e: number): JsonValue | undefined {
    return this.value(this.rowSlot(a, this.row(a, e)) + 1);
  }

  member(a: number, e: number, m: Placed): JsonValue | undefined {
    return this.value(this.rowSlot(a, this.row(a, e)) + 2 + m.slot);
  }

  label(a: number, e: number, j: number): JsonValue | undefined {
    return this.value(this.rowSlot(a, this.row(a, e)) + 2 + this.query.memberCounts[a]! + j);
  }

  /**
   * The members of an object map in the order JSON.parse's object has
   * them: array-index keys first, ascending, then the others in document
   * order; a key given twice keeps its first place and its last value.
   */
  private mapOrder(a: number): Int32Array | undefined {
    const n = this.i32[this.header(a) * 2 + 1]!;
    const at = new Map<string, number>();
    let plain = true;
    for (let e = 0; e < n; e++) {
      const k = this.value(this.rowSlot(a, e)) as string;
      if (at.has(k) || isArrayIndex(k)) plain = false;
      at.set(k, e);
    }
    if (plain) return undefined;
    const keys = [...at.keys()];
    const indexKeys = keys.filter(isArrayIndex).sort((x, y) => Number(x) - Number(y));
    const others = keys.filter((k) => !isArrayIndex(k));
    return Int32Array.from([...indexKeys, ...others], (k) => at.get(k)!);
  }
}
