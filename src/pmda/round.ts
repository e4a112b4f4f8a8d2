// A fetch round, from start to end: its number, the budgets shared out
// for it, the commands it starts and waits for, the sources it refreshes
// (each at most once), and the records it writes, each isolated from the
// others. The agent's fetch, its instance PDUs and the reading of changed
// files between PDUs (src/pmda/agent.ts), and pmdajson-check
// (src/cli/checker.ts), all go through it: the sequence is written here
// once.
import type { Config } from './config';
import { Source, type Served } from './sources/source';
import type { Commands } from './commands/commands';
import type { Budgets } from './limits/budget';
import type { Records } from './records/records';

/** What a round asks of the registry: the sources, and a new walk when a source's description went stale. */
export interface Sources {
  readonly byCluster: ReadonlyMap<number, Source>;
  force(): void;
}

export class Round {
  /** This round's number: a source is refreshed at most once in each. */
  number = 0;
  /** When it began (time of day): when the unchanged files it looked at were current. */
  private time = 0;

  constructor(
    private readonly sources: Sources,
    private readonly commands: Commands,
    private readonly budgets: Budgets,
    private readonly config: Config,
  ) {}

  /** A new round: a new number, and the budgets shared out between the authors that have sources. */
  begin(): void {
    this.number++;
    this.time = Date.now();
    this.budgets.begin(this.sources.byCluster.values(), Source.epoch);
  }

  /**
   * Start the commands of `sources` that need to run, and wait for them
   * as the scheduler says (exec_wait); with `toEnd` (pmdajson-check),
   * until each has finished.
   */
  runCommands(sources: Iterable<Source>, toEnd = false): void {
    if (toEnd) this.commands.runToEnd([...sources], this.number);
    else this.commands.run(sources, this.number);
  }

  /** Bring `src`'s data up to date, once in this round, within its author's budgets. */
  refresh(src: Source): void {
    if (src.refreshedAt === this.number) return;
    const run = src.commanded ? this.commands.take(src) : undefined;
    src.refresh(this.number, this.config, (bytes, heldBefore) => this.budgets.admit(src.payer, bytes, heldBefore), run, this.budgets.msLeft(src.payer));
    if (src.stale) this.sources.force();
  }

  /**
   * The i-th record of `records`: metric `m` of `src`, its data brought up
   * to date first. Whatever it throws stays with `src` (Records.isolate).
   */
  serve(records: Records, i: number, src: Source, m: Served): void {
    if (src.countedFetch !== this.number) {
      src.countedFetch = this.number;
      src.stats.fetches++;
    }
    records.isolate(i, src, m, this.write);
  }

  /** The work of serve(), inside the boundary: one function for every record, not a closure each. */
  private readonly write = (records: Records, i: number, src: Source, m: Served): void => {
    // a record kept for data this round already looked at is a copy:
    // no clock, no time budget
    if (src.refreshedAt === this.number && records.copyKept(i, src, m)) return;
    if (this.budgets.timeUp(src.payer)) return records.overBudget(i, src, m, 'time');
    // an unchanged file kept open: its kept record, with no clock either
    if (src.refreshKept(this.number, this.time) && records.copyKept(i, src, m)) return;
    const started = performance.now();
    this.refresh(src);
    records.write(i, src, m, started);
    this.budgets.chargeTime(src.payer, performance.now() - started);
  };

  /**
   * Between PDUs: read `src`'s changed data file now, if its author has
   * time left, and write into `records` the records a fetch asked for
   * before. At most once for each fetch that asked for it.
   */
  prefetch(records: Records, src: Source): void {
    // within its author's share of fetch_max_ms here too; the rest is the fetch's
    if (this.budgets.timeUp(src.payer)) return;
    src.prefetched = this.number;
    const started = performance.now();
    if (src.prefetch(this.config, (bytes, heldBefore) => this.budgets.admit(src.payer, bytes, heldBefore))) records.prepare(src, started);
    this.budgets.chargeTime(src.payer, performance.now() - started);
  }
}
