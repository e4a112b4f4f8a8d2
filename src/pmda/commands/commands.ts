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
// src/pmda/commands/exec.ts's; a trusted source's data-url is a request
// of src/pmda/commands/http.ts instead, scheduled the same way but for
// exec_max_running, which counts processes.
import * as path from 'path';
import { native } from '../native';
import type { Config } from '../config';
import type { Source } from '../sources/source';
import { startCommand, resultOf, splitCommand, ExecLimits, type ExecResult } from './exec';
import { HttpClient, requestOf, type UrlResult } from './http';
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
  /** The validators of its data-url's last document (ETag, Last-Modified). */
  etag?: string;
  lastModified?: string;
}

/** Is `src`'s data a request made in the PMDA (a trusted source's data-url), not a process? */
const inProcess = (src: Source): boolean => src.dataUrl !== undefined && src.trusted;

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
  /** Trusted sources' data-url requests. */
  private readonly http = new HttpClient();

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
    // a run killed at exec_timeout and not yet taken: its rest begins when its source takes it
    const killed = r.output !== undefined && !r.output.ok && r.output.timedOut === true;
    return src.commanded && (round === undefined || src.refreshedAt !== round) && r.id === undefined && (r.output === undefined || !r.standing) && !killed && Date.now() >= r.restUntil;
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
    let processes = 0;
    for (const src of this.running.values()) {
      if (inProcess(src)) continue;
      runningOf.set(src.payer, (runningOf.get(src.payer) ?? 0) + 1);
      processes++;
    }
    const ready = [...sources].filter((s) => s.commanded).sort((a, b) => this.runOf(a).started - this.runOf(b).started);
    const payers = new Set<number>(ready.filter((s) => !inProcess(s)).map((s) => s.payer));
    for (const src of this.everyone()) if (src.commanded && !inProcess(src)) payers.add(src.payer);
    const share = Math.max(1, Math.floor(this.config.execMaxRunning / Math.max(1, payers.size)));
    for (const src of ready) {
      const r = this.runOf(src);
      if (!this.needs(src, r, round)) continue;
      if (inProcess(src)) {
        this.request(src, r, call);
        continue;
      }
      const mine = runningOf.get(src.payer) ?? 0;
      if (mine >= share || processes >= this.config.execMaxRunning) {
        if (quiet) continue;
        log.problem(`${src.dir}:running`, `${src.metadataFile}: data-exec command not started: its author already runs ${mine} commands, its share of exec_max_running (${this.config.execMaxRunning} shared by ${payers.size} users); try again`);
        continue;
      }
      log.resolved(`${src.dir}:running`);
      runningOf.set(src.payer, mine + 1);
      processes++;
      const argv = commandLineOf(src, this.config);
      const id = typeof argv === 'string' ? { ok: false as const, error: `${argv} (in ${src.dir})` } : startCommand(argv, src.author, src.dir, limits);
      if (typeof id !== 'number') r.output = id;
      else this.started(src, r, id, call);
    }
    return ready;
  }

  private started(src: Source, r: Run, id: number, call: number): void {
    this.running.set(id, src);
    r.id = id;
    r.started = Date.now();
    r.startCall = call;
    r.wanted = false;
  }

  /**
   * Post trusted source `src`'s request: conditional (its validators)
   * while the document they name is the source's, or waits to be.
   */
  private request(src: Source, r: Run, call: number): void {
    const q = requestOf(src, this.config);
    if (typeof q === 'string') {
      r.output = { ok: false, error: `${q} (in ${src.dir})` };
      return;
    }
    const holds = r.output ? r.output.ok : src.view !== undefined && src.dataError === undefined;
    if (holds) {
      q.etag = r.etag;
      q.lastModified = r.lastModified;
    }
    this.started(src, r, this.http.start(q), call);
  }

  /** What a finished request means for its source (as resultOf() for a command). */
  private requested(done: UrlResult, src: Source, r: Run): ExecResult {
    const http = { status: done.status, ms: done.ms, wireBytes: done.wireBytes };
    if (!done.ok) {
      r.etag = r.lastModified = undefined;
      const error = `${src.commandLabel}: ${done.error} (in ${src.dir})`;
      return done.timedOut ? { ok: false, error, timedOut: true, http } : { ok: false, error, cutShort: done.cutShort, http };
    }
    if (done.notModified) {
      // still the document it holds, or the one waiting to be taken
      if (r.output?.ok) return { ...r.output, at: Date.now(), http };
      return { ok: true, output: Buffer.alloc(0), notModified: true, http };
    }
    r.etag = done.etag;
    r.lastModified = done.lastModified;
    return { ok: true, output: Buffer.from(done.body!, 0, done.length), http };
  }

  /** Collect finished commands for their sources; run again those a fetch asked for meanwhile. */
  private collect(ids: number[], waitMs: number): void {
    if (this.running.size === 0) return;
    const limits = this.execLimits;
    const again: Source[] = [];
    // one wait: the requests first, then the commands in the time left
    const deadline = Date.now() + waitMs;
    const requests = this.http.running > 0 ? this.http.wait(ids.filter((id) => id < 0), waitMs) : [];
    const commands = ids.filter((id) => id > 0);
    const processes = this.running.size > this.http.running + requests.length || native.execRunning() > 0;
    const finished = [...requests, ...(processes ? native.execWait(commands, commands.length > 0 ? Math.max(0, deadline - Date.now()) : 0) : [])];
    for (const done of finished) {
      const src = this.running.get(done.id);
      this.running.delete(done.id);
      const r = src && this.runs.get(src);
      if (!src || r?.id !== done.id) continue; // its source went away
      r.id = undefined;
      r.tookMs = Date.now() - r.started;
      const out = 'ms' in done ? this.requested(done, src, r) : resultOf(done, src.commandLabel, src.dir, limits, src.dataUrl !== undefined);
      if (out.ok) out.at = Date.now();
      r.output = out;
      if (!r.standing && r.tookMs <= this.config.execWaitMs && !(out.ok === false && out.timedOut)) {
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
 * The command line of a source's command, or why it may not run: an
 * untrusted source's data-url is fetched by src/pmda/commands/url.ts,
 * run like a command, only with untrusted_urls set to "loopback", as its
 * author, and only to this host.
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
  // (a trusted source's is a request made in the PMDA: src/pmda/commands/http.ts)
  if (config.untrustedUrls !== 'loopback') return `refusing data-url '${url}' of untrusted source ${src.dir}: untrusted sources may fetch URLs only when config.json has "untrusted_urls": "loopback"`;
  if (src.md.dataUrlHeaders !== undefined) return `refusing data-url-headers of untrusted source ${src.dir}: request headers are for trusted sources only`;
  if (src.md.dataUrlTls !== undefined) return `refusing the TLS settings (data-url-ca, -cert, -key, -servername) of untrusted source ${src.dir}: they are for trusted sources only`;
  return [process.execPath, path.join(__dirname, 'url.js'), url, '--loopback'];
}

/** What the log says of a command that lost its standing (the checker says it too). */
export function slowMessage(src: Source, waitMs: number): string {
  return `${src.metadataFile}: ${src.commandLabel} takes longer than ${waitMs} ms (exec_wait): fetches no longer wait for it, and serve its output when it has finished`;
}
