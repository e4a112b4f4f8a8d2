// The record of one requested metric in a fetch: its values, resolved by
// JSON pointer in the source's current data, converted to the metric's
// type, strings cut to max_string_bytes, charged to the author's budgets
// and written by the Encoder (src/pmda/records/encoder.ts). A record of unchanged
// data is the one encoded last time, copied as it is.
import { C } from '../native';
import type { Config } from '../config';
import type { Source, Served } from '../sources/source';
import type { Budgets } from '../limits/budget';
import { Encoder, convert, typeCode } from './encoder';
import type { JsonValue } from '../../format/json';
import { QueryView, K_INT } from '../data/query';
import { mapValue } from '../../format/valuemap';
import * as log from '../limits/log';

/** What became of a record: kept for later fetches, written again from the slots, or a budget spent. */
type Encoded = typeof KEEP | typeof FROM_SLOTS | typeof SPENT;
const KEEP = 0;
const FROM_SLOTS = 1;
const SPENT = 2;
/** Records written from slots in one fetch (16 bytes a value in a record) are kept up to this size: 65,536 values. */
const KEEP_FROM_SLOTS_BYTES = 1 << 20;

export class Records {
  /** Records written since the last keep(), to be kept: their metric, version, bytes, and whether they came from slots. */
  private fresh: Array<[Served, number, number, number, boolean]> = [];

  constructor(
    private readonly enc: Encoder,
    private readonly budgets: Budgets,
    private readonly config: Config,
  ) {}

  /**
   * A new fetch's records, `numpmid` of them: nothing written for an
   * earlier one is kept with them, even if that one never finished.
   */
  begin(numpmid: number): void {
    this.fresh = [];
    this.enc.begin(numpmid);
  }

  /**
   * Run `work`, which writes the i-th record, for metric `m` of `src`.
   * Whatever it throws stays with `src`: what it wrote is dropped, the
   * record answers "try again", and the source's data is set aside with
   * the reason (so no record of it is kept for later fetches either).
   */
  isolate(i: number, src: Source, m: Served, work: (records: Records, i: number, src: Source, m: Served) => void): void {
    const mark = this.enc.mark;
    const fresh = this.fresh.length;
    try {
      // the work is handed what it needs: no closure made per record
      work(this, i, src, m);
    } catch (e) {
      this.fresh.length = fresh;
      this.enc.rewind(mark, i, typeCode(m.spec.type), C.PM_ERR_AGAIN);
      src.fail(`${src.metadataFile}: cannot serve metric '${m.spec.name}': ${(e as Error).message}`);
    }
  }

  /** The i-th record is this error for the whole metric. */
  error(i: number, type: number, code: number): void {
    this.enc.record(i, type);
    this.enc.error(code);
    this.enc.end();
  }

  /** The i-th record answers "try again": a budget of the author's is spent. */
  overBudget(i: number, src: Source, m: Served, what: 'values' | 'time'): void {
    this.error(i, typeCode(m.spec.type), C.PM_ERR_AGAIN);
    log.problem(`${src.dir}:budget:${what}`, `${src.metadataFile}: ${this.budgets.why(what)}`);
  }

  /**
   * The i-th record: metric `m` of `src`, whose data is fresh. `started`
   * is when this record's work began (for the time budget).
   */
  write(i: number, src: Source, m: Served, started: number): void {
    // the values of an unchanged source are the bytes encoded last time
    if (this.copyKept(i, src, m)) return;
    const done = this.encode(i, src, m, started);
    const [from, to] = this.enc.end();
    // an array's record whose integers all came from the query's slots can
    // be written again from them (src/pmda/records/encoder.ts, int64Column) in a few
    // times the time of a copy: keep() keeps such records only while few
    if (done !== SPENT) this.fresh.push([m, src.version, from, to, done === FROM_SLOTS]);
  }

  /**
   * Keep the records written since the last call, for later fetches to
   * copy: all in one copy of the encoder's bytes, each a range of it.
   */
  keep(): void {
    let fresh = this.fresh;
    if (fresh.length === 0) return;
    this.fresh = [];
    // the records written from slots, when they are many, are not kept:
    // their values would be held twice (a million values: 16 MB more)
    let fromSlots = 0;
    for (const [, , f, t, slots] of fresh) if (slots) fromSlots += t - f;
    if (fromSlots > KEEP_FROM_SLOTS_BYTES) {
      for (const r of fresh) if (r[4]) r[0].cached = r[0].cachedVersion = undefined;
      fresh = fresh.filter((r) => !r[4]);
      if (fresh.length === 0) return;
    }
    let from = Infinity;
    let to = 0;
    for (const [, , f, t] of fresh) {
      from = Math.min(from, f);
      to = Math.max(to, t);
    }
    const words = this.enc.slice(from, to);
    for (const [m, version, f, t] of fresh) {
      m.cached = words;
      m.cachedAt = (f - from) >> 2;
      m.cachedEnd = (t - from) >> 2;
      m.cachedVersion = version;
    }
  }

  /**
   * The i-th record is the one kept for metric `m`, if it was encoded from
   * the source's current data (or "try again", when the author's values
   * budget has no room for it); false if there is none to copy.
   */
  copyKept(i: number, src: Source, m: Served): boolean {
    if (!m.cached || m.cachedVersion !== src.version) return false;
    // a record starts with its count of values (src/pmda/records/encoder.ts)
    const count = m.cached[m.cachedAt]!;
    const payer = src.payer;
    if (count > this.budgets.valuesLeft(payer)) {
      this.overBudget(i, src, m, 'values');
      return true;
    }
    this.budgets.chargeValues(payer, Math.max(0, count));
    this.enc.copy(i, m.cached, m.cachedAt, m.cachedEnd);
    return true;
  }

  /**
   * Write, and keep, the records of every metric of `src` that a fetch
   * asked for before (it has a record kept), for its current data.
   */
  prepare(src: Source, started: number): void {
    const due = [...src.metrics.values()].filter((m) => m.cachedVersion !== undefined && m.cachedVersion !== src.version);
    this.begin(due.length);
    const write = (records: Records, i: number, src: Source, m: Served): void => records.write(i, src, m, started);
    for (let i = 0; i < due.length; i++) this.isolate(i, src, due[i]!, write);
    this.keep();
  }

  /**
   * Encode the values of metric `m`: KEEP, FROM_SLOTS when every value of
   * an array came as 8 bytes from a query's slots, or SPENT if a budget ran out on the
   * way (the record then answers "try again", and is not kept).
   */
  private encode(i: number, src: Source, m: Served, started: number): Encoded {
    const enc = this.enc;
    const type = typeCode(m.spec.type);
    enc.record(i, type);
    if (src.dataError !== undefined) {
      enc.error(C.PM_ERR_AGAIN);
      return KEEP;
    }
    const payer = src.payer;
    const n = m.array ? src.rows.get(m.array.name)?.insts.length ?? 0 : 1;
    if (n > this.budgets.valuesLeft(payer)) {
      enc.error(C.PM_ERR_AGAIN);
      log.problem(`${src.dir}:budget:values`, `${src.metadataFile}: ${this.budgets.why('values')}`);
      return SPENT;
    }
    this.budgets.chargeValues(payer, n);
    const view = src.view!;
    const fast = view instanceof QueryView && type === C.PM_TYPE_64 ? view : undefined;
    if (!m.array) {
      // an integer's 8 bytes go from its slot to the record as they are
      const at = 1 + m.slot;
      if (fast && fast.kind(at) === K_INT) {
        enc.int64(C.PM_IN_NULL, fast.i32[2 * at]!, fast.i32[2 * at + 1]!);
        return KEEP;
      }
      try {
        enc.value(C.PM_IN_NULL, this.value(src, m, view.scalar(m)), type);
      } catch (e) {
        this.valueProblem(src, m, e as Error);
        enc.error(C.PM_ERR_VALUE);
      }
      return KEEP;
    }
    const rows = src.rows.get(m.array.name);
    if (!rows) return KEEP;
    const a = m.arrayAt!;
    const [first, width] = fast ? fast.column(a, m.slot) : [0, 0];
    const order = fast?.orderOf(a);
    const i32 = fast?.i32;
    const kinds = fast?.kinds;
    enc.reserve(n);
    let done: Encoded = i32 ? FROM_SLOTS : KEEP;
    // one log line a record: its values may each fail in their own words
    let failed = false;
    for (let r = 0; r < n; ) {
      // a long record looks at the clock now and then
      if ((r & 4095) === 4095 && this.budgets.timeUp(payer, performance.now() - started)) {
        enc.abort(C.PM_ERR_AGAIN);
        log.problem(`${src.dir}:budget:time`, `${src.metadataFile}: ${this.budgets.why('time')}`);
        return SPENT;
      }
      // integers' 8 bytes go from their slots to the record as they are,
      // up to the next look at the clock or the first value that is not one
      const end = Math.min(n, (r + 1) | 4095);
      if (i32 && kinds) {
        r = enc.int64Column(rows.insts, rows.elements, i32, kinds, first, width, order, K_INT, r, end);
        if (r === end) continue;
      }
      done = KEEP;
      try {
        enc.value(rows.insts[r]!, this.value(src, m, view.member(a, rows.elements[r]!, m)), type);
      } catch (e) {
        if (!failed) this.valueProblem(src, m, e as Error);
        failed = true;
      }
      r++;
    }
    return done;
  }

  /** Value `found` of metric `m`, mapped (its `map`, `numeric-strings`) and converted, strings cut to the limit. */
  private value(src: Source, m: Served, found: JsonValue | undefined): number | bigint | string {
    const mapping = m.spec.mapping;
    const v = convert(mapping ? mapValue(found, mapping) : found, m.spec.type);
    const max = this.config.maxStringBytes;
    if (typeof v !== 'string' || v.length * 3 <= max) return v;
    const bytes = Buffer.from(v, 'utf8');
    if (bytes.length <= max) return v;
    let end = max;
    while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // whole characters only
    log.problem(`${src.dir}:long:${m.spec.name}`, `${src.metadataFile}: metric '${m.spec.name}': string of ${bytes.length} bytes cut to ${end} (max_string_bytes)`);
    return bytes.subarray(0, end).toString('utf8');
  }

  private valueProblem(src: Source, m: Served, e: Error): void {
    log.problem(`${src.dir}:value:${m.spec.name}`, `${src.where}: metric '${m.spec.name}' at pointer '${m.spec.pointer.text}': ${e.message}`);
  }
}
