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
// is kept for the next one. Running them is src/pmda/commands/exec.ts's.
import * as fs from 'fs';
import * as path from 'path';
import { native } from '../native';
import type { Config } from '../config';
import type { Source } from '../sources/source';
import { startCommand, resultOf, splitCommand, ExecLimits } from './exec';
import * as log from '../limits/log';

export class Commands {
  /** Commands running, by id. */
  private readonly running = new Map<number, Source>();
  /** Drains the output of commands that run on between fetches. */
  private collector: NodeJS.Timeout | undefined;
  /** Payers (uids) whose commands were slow lately, until when. */
  private readonly slowPayers = new Map<number, number>();

  constructor(private readonly config: Config) {}

  /** A new source: its author's recent slowness carries over. */
  added(src: Source): void {
    if (src.commanded && (this.slowPayers.get(src.payer) ?? 0) > Date.now()) src.execStanding = false;
  }

  /** A source went away: its running command is not collected for it. */
  removed(src: Source): void {
    if (src.execId !== undefined) this.running.delete(src.execId);
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
   * fetch; it never holds up another source.
   */
  run(sources: Iterable<Source>, fetchNo: number, all: Iterable<Source>): void {
    const limits = this.execLimits;
    const waitFor: number[] = [];
    // at most exec_max_running at once, each author its share; those that
    // waited longest go first
    const runningOf = new Map<number, number>();
    for (const src of this.running.values()) runningOf.set(src.payer, (runningOf.get(src.payer) ?? 0) + 1);
    const payers = new Set<number>();
    for (const src of all) if (src.commanded) payers.add(src.payer);
    const share = Math.max(1, Math.floor(this.config.execMaxRunning / Math.max(1, payers.size)));
    const ready = [...sources].sort((a, b) => a.execStarted - b.execStarted);
    for (const src of ready) {
      if (src.needsCommand(fetchNo)) {
        const mine = runningOf.get(src.payer) ?? 0;
        if (mine >= share || this.running.size >= this.config.execMaxRunning) {
          log.problem(`${src.dir}:running`, `${src.metadataFile}: data-exec command not started: its author already runs ${mine} commands, its share of exec_max_running (${this.config.execMaxRunning} shared by ${payers.size} users); try again`);
          continue;
        }
        log.resolved(`${src.dir}:running`);
        runningOf.set(src.payer, mine + 1);
        const argv = commandLineOf(src, this.config);
        const id = typeof argv === 'string' ? { ok: false as const, error: `${argv} (in ${src.dir})` } : startCommand(argv, src.author, src.dir, limits);
        if (typeof id !== 'number') src.pendingRun = id;
        else {
          this.running.set(id, src);
          src.execId = id;
          src.execStarted = Date.now();
        }
      }
      if (src.execId !== undefined && src.execStanding) waitFor.push(src.execId);
    }
    this.collect(waitFor, waitFor.length > 0 ? this.config.execWaitMs : 0);
    for (const id of waitFor) {
      const src = this.running.get(id);
      if (!src || !src.execStanding) continue;
      src.execStanding = false;
      this.slowPayers.set(src.payer, Date.now() + 10 * 60000);
      log.problem(`${src.dir}:slow`, slowMessage(src, this.config.execWaitMs));
    }
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

  /** Collect finished commands for their sources. */
  private collect(ids: number[], waitMs: number): void {
    if (this.running.size === 0) return;
    const limits = this.execLimits;
    for (const done of native.execWait(ids, waitMs)) {
      const src = this.running.get(done.id);
      this.running.delete(done.id);
      if (!src || src.execId !== done.id) continue; // its source went away
      src.execId = undefined;
      const took = Date.now() - src.execStarted;
      src.pendingRun = resultOf(done, src.commandLabel, src.dir, limits, src.dataUrl !== undefined);
      if (!src.execStanding && took <= this.config.execWaitMs && !done.timedOut) {
        src.execStanding = true;
        log.resolved(`${src.dir}:slow`, `${src.metadataFile}: ${src.commandLabel} is quick again`);
      }
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
