// Budgets: what all sources together may cost, shared out between users.
//
// Every limit of config.json that is per source (max_data_bytes, ...)
// still lets many sources add up. These budgets bound the sum, across all
// sources: the data held (max_held_bytes), the bytes read and parsed in
// one fetch (fetch_max_bytes), the values in one fetch (fetch_max_values)
// and the wall time of one fetch (fetch_max_ms). Each is divided equally
// between the authors that have sources (trusted sources count as one
// author, root), so whatever one user does, the others keep their share.
// What does not fit answers PM_ERR_AGAIN, and the log says which budget.
import type { Config } from '../config';

/** The account a source's costs are charged to. */
export type Payer = number;

interface Spent {
  bytes: number;
  values: number;
  ms: number;
}

export class Budgets {
  private payers = 1;
  private readonly held = new Map<Payer, number>();
  private readonly spent = new Map<Payer, Spent>();

  constructor(private readonly config: Config) {}

  /** The `epoch` the sums of `held` were made at. */
  private epoch = NaN;

  /**
   * At the start of a fetch: who has sources, and how much each holds.
   * With an `epoch` that changes whenever a source's data or the set of
   * sources does, the sums are made again only then (not once a fetch
   * over thousands of sources).
   */
  begin(sources: Iterable<{ payer: Payer; heldBytes: number }>, epoch = NaN): void {
    this.spent.clear();
    this.lastPayer = NaN;
    if (epoch === this.epoch) return;
    this.epoch = epoch;
    this.held.clear();
    for (const s of sources) this.held.set(s.payer, (this.held.get(s.payer) ?? 0) + s.heldBytes);
    this.payers = Math.max(1, this.held.size);
  }

  private share(total: number): number {
    return Math.floor(total / this.payers);
  }

  /** The last payer looked up, and its account: a fetch's records come source by source, mostly of one author. */
  private lastPayer = NaN;
  private last: Spent = { bytes: 0, values: 0, ms: 0 };

  private of(payer: Payer): Spent {
    if (payer === this.lastPayer) return this.last;
    let s = this.spent.get(payer);
    if (!s) {
      s = { bytes: 0, values: 0, ms: 0 };
      this.spent.set(payer, s);
    }
    this.lastPayer = payer;
    this.last = s;
    return s;
  }

  /** May `payer` parse `bytes` more, replacing `heldBefore` held? Why not, if not. */
  admit(payer: Payer, bytes: number, heldBefore: number): string | undefined {
    const spent = this.of(payer);
    const parseShare = this.share(this.config.fetchMaxBytes);
    if (spent.bytes + bytes > parseShare) {
      return `no room in this fetch for ${bytes} bytes of data: its author's sources may read ${parseShare} bytes a fetch (fetch_max_bytes shared by ${this.payers} users); try again`;
    }
    const heldShare = this.share(this.config.maxHeldBytes);
    const held = (this.held.get(payer) ?? 0) - heldBefore + bytes;
    if (held > heldShare) {
      return `${bytes} bytes of data do not fit: its author's sources may hold ${heldShare} bytes (max_held_bytes shared by ${this.payers} users)`;
    }
    spent.bytes += bytes;
    this.held.set(payer, held);
    return undefined;
  }

  /** Data that `payer` no longer holds. */
  release(payer: Payer, bytes: number): void {
    this.held.set(payer, Math.max(0, (this.held.get(payer) ?? 0) - bytes));
  }

  /** Values `payer` may still encode in this fetch. */
  valuesLeft(payer: Payer): number {
    return this.share(this.config.fetchMaxValues) - this.of(payer).values;
  }

  chargeValues(payer: Payer, n: number): void {
    this.of(payer).values += n;
  }

  /** Has `payer` used up its share of this fetch's time? */
  timeUp(payer: Payer, pendingMs = 0): boolean {
    return this.of(payer).ms + pendingMs >= this.share(this.config.fetchMaxMs);
  }

  /** Milliseconds left of `payer`'s share of this fetch's time (a schema check may take no more). */
  msLeft(payer: Payer): number {
    return this.share(this.config.fetchMaxMs) - this.of(payer).ms;
  }

  chargeTime(payer: Payer, ms: number): void {
    this.of(payer).ms += ms;
  }

  /** For the log line of a source that ran out of values or time. */
  why(what: 'values' | 'time'): string {
    return what === 'values'
      ? `no room in this fetch for more values: its author's sources may give ${this.share(this.config.fetchMaxValues)} values a fetch (fetch_max_values shared by ${this.payers} users); try again`
      : `no time left in this fetch: its author's sources may take ${this.share(this.config.fetchMaxMs)} ms a fetch (fetch_max_ms shared by ${this.payers} users); try again`;
  }
}
