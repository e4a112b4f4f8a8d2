// The command scheduler: when the data-exec commands (and data-url
// requests) of sources run, and how long a fetch waits for them.
//
// A fetch starts the commands of the sources it asks for (one at a time
// per source; at most exec_max_running in all, shared out per author,
// those that waited longest first) and waits for them at most exec_wait,
// but only for sources in good standing. A source whose command was still
// running at the end of a wait loses its standing: no fetch waits for it
// again until one of its runs is quick, and its author's new sources
// start without it for ten minutes. Output that arrives between fetches
// is kept for the next one, and a command a fetch asked for while it ran
// is run again as soon as its output is collected: a slow source always
// has a run under way while it is fetched, and its source serves the last
// output meanwhile (src/pmda/sources/source.ts, data_max_age). With
// exec_block, pmdajson's way, every fetch runs the commands it asks for
// and waits for them, up to exec_timeout. Running them is
// src/pmda/commands/exec.ts's.
import * as fs from 'fs';
import * as path from 'path';
import { native } from '../native';
import type { Config } from '../config';
import type { Source } from '../sources/source';
import { startCommand, resultOf, splitCommand, ExecLimits, type ExecResult } from './exec';
import * as log from '../limits/log';

/** What the scheduler knows of one source's command. */
interface Run {
  /** Its id while it runs (src/pmda/commands/exec.ts). */
  id: number | undefined;
  /** When it was last started (Date.now()). */
  started: number;
  /** How long its last run took, ms. */
  tookMs: number;
  /** A fetch waits for it only while it has been quick. */
  standing: boolean;
  /** Its output, when it finished since it was last taken. */
  output: ExecResult | undefined;
  /** A command that timed out is not run again before this time. */
  restUntil: number;
  /** A fetch asked for its source while it ran: it runs again once collected. */
  wanted: boolean;
  /** The start() call that started it. */
  startCall: number;
}

export class Commands {
  /** Commands running, by id. */
  private readonly running = new Map<number, Source>();
  /** Each commanded source's command. */
  private readonly runs = new Map<Source, Run>();
  /** Drains the output of commands that run on between fetches. */
  private collector: NodeJS.Timeout | undefined;
  /** Payers (uids) whose commands were slow lately, until when. */
  private readonly slowPayers = new Map<number, number>();
  /** start() calls so far: runs started by the last one are this fetch's own. */
  private startCalls = 0;

  constructor(
    private readonly config: Config,
    /** Every source: their authors share exec_max_running. */
    private readonly everyone: () => Iterable<Source> = () => [],
  ) {}

  /**
   * A new source: its author's recent slowness carries over, and its
   * command starts now, if there is room (quietly if there is not), so
   * that its first fetch can find its output.
   */
  added(src: Source): void {
    if (!src.commanded) return;
    if ((this.slowPayers.get(src.payer) ?? 0) > Date.now()) this.runOf(src).standing = false;
    if (this.config.execBlock) return;
    this.start([src], undefined, true);
    this.keepCollecting();
  }

  /**
   * A source went away: its running command is not collected for it, but
   * counts in its author's share of exec_max_running until it ends (a
   * user who rewrites metadata.json in a loop runs no more commands than
   * their share).
   */
  removed(src: Source): void {
    this.runs.delete(src);
  }

  private runOf(src: Source): Run {
    let r = this.runs.get(src);
    if (!r) {
      r = { id: undefined, started: 0, tookMs: 0, standing: true, output: undefined, restUntil: 0, wanted: false, startCall: 0 };
      this.runs.set(src, r);
    }
    return r;
  }

  /**
   * The output of the source's last run, once: undefined while it has
   * none, 'resting' while a command that timed out rests (its source
   * keeps what it has).
   */
  take(src: Source): ExecResult | undefined | 'resting' {
    const r = this.runOf(src);
    if (Date.now() < r.restUntil) return 'resting';
    const out = r.output;
    r.output = undefined;
    if (out) r.restUntil = !out.ok && out.timedOut ? Date.now() + Math.max(5000, 5 * this.config.execTimeoutMs) : 0;
    return out;
  }

  /**
   * Should round `round` start this source's command? Not while an output
   * waits to be taken, if it is quick (the fetch waits for its run); if
   * it is slow, the output is served and the new run's replaces it later.
   */
  private needs(src: Source, r: Run, round: number | undefined): boolean {
    return src.commanded && (round === undefined || src.refreshedAt !== round) && r.id === undefined && (r.output === undefined || !r.standing) && Date.now() >= r.restUntil;
  }

  private get execLimits(): ExecLimits {
    const c = this.config;
    return { timeoutMs: c.execTimeoutMs, maxBytes: c.maxDataBytes, maxMemory: c.execMaxMemory, maxFiles: c.execMaxFiles, maxProcesses: c.execMaxProcesses };
  }

  /**
   * Start the commands of `sources` that need to run, and wait for them,
   * at most exec_wait, but only for those of sources in good standing: a
   * source whose command was still running at the end of a wait loses
   * it, and no fetch waits for it again until one of its runs finishes
   * within exec_wait. Its output, when it comes, is served by the next
   * fetch; it never holds up another source. With exec_block, it waits
   * for every one of them, up to exec_timeout.
   */
  run(sources: Iterable<Source>, round: number, waitMs = this.config.execWaitMs): void {
    const block = this.config.execBlock;
    const waitFor: number[] = [];
    for (const src of this.start(sources, round)) {
      const r = this.runOf(src);
      if (r.id === undefined) continue;
      if (block || r.standing) waitFor.push(r.id);
      // still running from before: run again when it is collected
      if (r.startCall !== this.startCalls) r.wanted = true;
    }
    this.collect(waitFor, waitFor.length > 0 ? (block ? this.config.execTimeoutMs + 1000 : waitMs) : 0);
    for (const id of block ? [] : waitFor) {
      const src = this.running.get(id);
      const r = src && this.runs.get(src);
      if (!src || !r?.standing) continue;
      r.standing = false;
      this.slowPayers.set(src.payer, Date.now() + 10 * 60000);
      log.problem(`${src.dir}:slow`, slowMessage(src, this.config.execWaitMs));
    }
    this.keepCollecting();
  }

  /** While commands run, collect them every 100 ms between fetches. */
  private keepCollecting(): void {
    if (this.running.size > 0 && !this.collector) {
      this.collector = setInterval(() => {
        this.collect([], 0);
        // (a shepherd is reaped after its report: execRunning counts it until then)
        if (this.running.size === 0 && native.execRunning() === 0 && this.collector) {
          clearInterval(this.collector);
          this.collector = undefined;
        }
      }, 100);
      this.collector.unref();
    }
  }

  /**
   * For pmdajson-check: run the commands of `sources` to their end (each
   * within exec_timeout), and say of those slower than exec_wait what
   * the PMDA's log would say at its first fetch of them.
   */
  runToEnd(sources: Source[], round: number): void {
    const waitMs = this.config.execTimeoutMs + 2000;
    for (let pass = 0; pass < sources.length + 1; pass++) {
      this.start(sources, round);
      const ids = sources.map((s) => this.runOf(s).id).filter((id): id is number => id !== undefined);
      if (ids.length === 0) break;
      while (ids.some((id) => this.running.has(id))) this.collect(ids.filter((id) => this.running.has(id)), waitMs);
    }
    for (const src of sources) {
      const r = this.runOf(src);
      if (r.output?.ok && r.tookMs > this.config.execWaitMs) log.problem(`${src.dir}:slow`, slowMessage(src, this.config.execWaitMs));
    }
  }

  /**
   * Start the commands of `sources` that need to run: at most
   * exec_max_running at once, each author its share; those that waited
   * longest go first; one that cannot start now is logged, unless
   * `quiet`. Returns the sources in that order.
   */
  private start(sources: Iterable<Source>, round: number | undefined, quiet = false): Source[] {
    const limits = this.execLimits;
    const call = ++this.startCalls;
    const runningOf = new Map<number, number>();
    for (const src of this.running.values()) runningOf.set(src.payer, (runningOf.get(src.payer) ?? 0) + 1);
    const ready = [...sources].filter((s) => s.commanded).sort((a, b) => this.runOf(a).started - this.runOf(b).started);
    const payers = new Set<number>(ready.map((s) => s.payer));
    for (const src of this.everyone()) if (src.commanded) payers.add(src.payer);
    const share = Math.max(1, Math.floor(this.config.execMaxRunning / payers.size));
    for (const src of ready) {
      const r = this.runOf(src);
      if (!this.needs(src, r, round)) continue;
      const mine = runningOf.get(src.payer) ?? 0;
      if (mine >= share || this.running.size >= this.config.execMaxRunning) {
        if (quiet) continue;
        log.problem(`${src.dir}:running`, `${src.metadataFile}: data-exec command not started: its author already runs ${mine} commands, its share of exec_max_running (${this.config.execMaxRunning} shared by ${payers.size} users); try again`);
        continue;
      }
      log.resolved(`${src.dir}:running`);
      runningOf.set(src.payer, mine + 1);
      const argv = commandLineOf(src, this.config);
      const id = typeof argv === 'string' ? { ok: false as const, error: `${argv} (in ${src.dir})` } : startCommand(argv, src.author, src.dir, limits);
      if (typeof id !== 'number') r.output = id;
      else {
        this.running.set(id, src);
        r.id = id;
        r.started = Date.now();
        r.startCall = call;
        r.wanted = false;
      }
    }
    return ready;
  }

  /** Collect finished commands for their sources; run again those a fetch asked for meanwhile. */
  private collect(ids: number[], waitMs: number): void {
    if (this.running.size === 0) return;
    const limits = this.execLimits;
    const again: Source[] = [];
    for (const done of native.execWait(ids, waitMs)) {
      const src = this.running.get(done.id);
      this.running.delete(done.id);
      const r = src && this.runs.get(src);
      if (!src || r?.id !== done.id) continue; // its source went away
      r.id = undefined;
      r.tookMs = Date.now() - r.started;
      const out = resultOf(done, src.commandLabel, src.dir, limits, src.dataUrl !== undefined);
      if (out.ok) out.at = Date.now();
      r.output = out;
      if (!r.standing && r.tookMs <= this.config.execWaitMs && !done.timedOut) {
        r.standing = true;
        log.resolved(`${src.dir}:slow`, `${src.metadataFile}: ${src.commandLabel} is quick again`);
      }
      if (r.wanted && out.ok) again.push(src);
    }
    // (whatever round the sources were refreshed in)
    if (again.length > 0) {
      this.start(again, undefined);
      this.keepCollecting();
    }
  }
}

/**
 * The command line of a source's command, or why it may not run: a
 * data-url is fetched by src/pmda/commands/url.ts, run like a command, as root
 * for trusted sources; untrusted ones only with untrusted_urls set to
 * "loopback", as their author, and only to this host.
 */
export function commandLineOf(src: Source, config: Config): string[] | string {
  if (src.dataExec !== undefined) {
    try {
      return splitCommand(src.dataExec);
    } catch (e) {
      return `cannot parse data-exec command '${src.dataExec}': ${(e as Error).message}`;
    }
  }
  const url = src.dataUrl!;
  const argv = [process.execPath, path.join(__dirname, 'url.js'), url];
  if (!src.trusted) {
    if (config.untrustedUrls !== 'loopback') return `refusing data-url '${url}' of untrusted source ${src.dir}: untrusted sources may fetch URLs only when config.json has "untrusted_urls": "loopback"`;
    argv.push('--loopback');
  }
  const headers = src.md.dataUrlHeaders;
  if (headers !== undefined) {
    if (!src.trusted) return `refusing data-url-headers of untrusted source ${src.dir}: request headers are for trusted sources only`;
    const file = path.resolve(src.dir, headers);
    try {
      const st = fs.statSync(file);
      if (!st.isFile() || st.uid !== 0 || (st.mode & 0o077) !== 0) return `refusing data-url-headers ${file}: it must be a file owned by root and readable by root only (mode 0600 or less)`;
    } catch (e) {
      return `cannot read data-url-headers ${file}: ${(e as Error).message}`;
    }
    argv.push('--headers', file);
  }
  return argv;
}

/** What the log says of a command that lost its standing (the checker says it too). */
export function slowMessage(src: Source, waitMs: number): string {
  return `${src.metadataFile}: ${src.commandLabel} takes longer than ${waitMs} ms (exec_wait): fetches no longer wait for it, and serve its output when it has finished`;
}
