// The agent: the set of sources, their metrics in one namespace, and the
// answers to the PDUs that reach JavaScript (fetch, help text, refresh).
// The descriptor and namespace tables are handed to the native shim whole,
// whenever sources or their metadata change, so desc, pmid, name and
// children PDUs are answered in C.
import * as fs from 'fs';
import * as path from 'path';
import { native, C } from './native';
import { Config } from './config';
import { discover, Found, Watcher, MAX_WATCHES, OVERFLOW_WALK_MS } from './discovery';
import { Source, readMetadata, Served } from './source';
import { nameCache, MAX_CLUSTER, NumberingError, NameCache } from './numbering';
import { validName } from '../format/metadata';
import { Encoder, convert, typeCode } from './fetch';
import { resolve } from '../format/pointer';
import { authorOf, ROOT } from './access';
import { startCommand, resultOf, splitCommand, ExecLimits } from './exec';
import { Budgets } from './budget';
import type { JsonValue } from '../format/json';
import * as log from './log';
import { STATIC, LONG_HELP, RELOAD_ITEM, DEBUG_ITEM } from './control';


const pmidCluster = (pmid: number): number => (pmid >>> 10) & 0xfff;
const pmidItem = (pmid: number): number => pmid & 0x3ff;

export interface AgentOptions {
  root: string;
  config: Config;
}

export class Agent {
  readonly root: string;
  config: Config;
  private readonly clusters: NameCache;
  private readonly byDir = new Map<string, Source>();
  private readonly byName = new Map<string, Source>();
  private readonly byCluster = new Map<number, Source>();
  /** Directories whose metadata could not be used, by metadata stamp. */
  private readonly rejected = new Map<string, string>();
  private readonly oneline = new Map<number, string>();
  private readonly help = new Map<number, string>();
  private readonly pmids = new Set<number>();
  private readonly indoms = new Set<number>();
  private readonly indomText = new Map<number, string>();
  /** Stats of sources being reloaded, carried over to their new Source. */
  private readonly reloads = new Map<string, Source['stats']>();
  private readonly encoder = new Encoder();
  private readonly watcher = new Watcher(native, C);
  private tablesStale = true;
  private fetchNo = 0;
  private readonly budgets: Budgets;
  /** Commands running, by id. */
  private readonly running = new Map<number, Source>();
  /** Drains the output of commands that run on between fetches. */
  private collector: NodeJS.Timeout | undefined;
  /** Payers (uids) whose commands were slow lately, until when. */
  private readonly slowPayers = new Map<number, number>();

  constructor(options: AgentOptions) {
    this.root = options.root;
    this.config = options.config;
    this.clusters = nameCache(0, MAX_CLUSTER);
    this.clusters.save();
    this.budgets = new Budgets(this.config);
    log.setLimits(this.config, (key) => this.whose(key));
  }

  private readonly owners = new Map<string, string>();

  /** Whose a log key is: the author of the source (or directory) it names. */
  private whose(key: string): string | undefined {
    const from = key.indexOf('/');
    if (from < 0) return undefined;
    for (let i = key.indexOf(':', from); i > 0; i = key.indexOf(':', i + 1)) {
      const dir = key.slice(from, i);
      const src = this.byDir.get(dir);
      if (src) return src.trusted ? 'root' : src.author.name;
      const known = this.owners.get(dir);
      if (known !== undefined) return known;
      try {
        const uid = fs.lstatSync(dir).uid;
        const name = uid === 0 ? 'root' : authorOf(uid).name;
        if (this.owners.size > 10000) this.owners.clear();
        this.owners.set(dir, name);
        return name;
      } catch {
        /* not a path: try a longer prefix */
      }
    }
    return undefined;
  }

  get nsources(): number {
    return this.byCluster.size;
  }

  // ---- discovery ----------------------------------------------------------

  /**
   * Walk the configured directories, if anything in them changed since the
   * last walk; add, update and remove sources.
   */
  discover(): void {
    if (!this.watcher.changed()) return;
    this.watcher.begin();
    const found: Found[] = [];
    const visit = (dir: string) => this.watcher.visit(dir);
    discover(this.config.trustedDirectoryList, true, log.problem, found, visit);
    discover(this.config.directoryList, false, log.problem, found, visit);
    this.watcher.end();
    if (this.watcher.overflowed) log.problem('watch:', `more than ${MAX_WATCHES} directories below the configured ones: only ${MAX_WATCHES} are watched, and sources are looked for every ${OVERFLOW_WALK_MS / 1000} s instead of at every change`);
    const seen = new Set<string>();
    for (const f of found) seen.add(f.dir);
    // gone first: a directory renamed keeps its source name for the new one
    for (const s of [...this.byDir.values()]) if (!seen.has(s.dir)) this.remove(s);
    for (const dir of [...this.rejected.keys()]) if (!seen.has(dir)) this.rejected.delete(dir);
    const done = new Set<string>();
    for (const f of found) {
      if (done.has(f.dir)) continue; // listed twice: the trusted listing wins
      done.add(f.dir);
      if (f.trusted) log.resolved(`trust:${f.dir}`); // trustworthy again: log the next lapse
      const have = this.byDir.get(f.dir);
      if (have) {
        if (have.trusted === f.trusted && !have.stale && this.metadataStamp(f.dir, f.describedBy) === have.metadataStamp) continue;
        this.remove(have);
      }
      this.add(f);
    }
  }

  private metadataStamp(dir: string, describedBy: string): string {
    try {
      const st = fs.statSync(path.join(dir, describedBy));
      return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return '';
    }
  }

  private add(f: Found): void {
    if (this.rejected.get(f.dir) === this.metadataStamp(f.dir, f.describedBy)) return;
    // the author: the owner of metadata.json (of the link, if it is one)
    let author = ROOT;
    if (!f.trusted) {
      try {
        author = authorOf(fs.lstatSync(path.join(f.dir, f.describedBy)).uid);
      } catch (e) {
        log.problem(`${f.dir}:metadata`, `cannot read ${path.join(f.dir, f.describedBy)}: ${(e as Error).message}`);
        return;
      }
    }
    const r = readMetadata(f.dir, f.describedBy, this.config.maxDataBytes, author);
    log.forget(`${f.dir}:metadata`);
    if ('error' in r) {
      this.rejected.set(f.dir, r.stamp);
      log.problem(`${f.dir}:metadata`, r.error);
      return;
    }
    for (const p of r.md.problems) log.problem(`${f.dir}:metadata:${p}`, p);
    const name = r.md.prefix ?? path.basename(f.dir);
    const why = !validName(name)
      ? `source name '${name}' is not a valid PCP name (letters, digits and '_', each part starting with a letter)`
      : STATIC.some((s) => s.name === name)
        ? `source name '${name}' is reserved for ${this.root}.${name}`
        : this.byName.has(name)
          ? `a source named '${name}' already exists (${this.byName.get(name)!.dir})`
          : undefined;
    if (why) {
      this.rejected.set(f.dir, r.stamp);
      log.problem(`${f.dir}:name`, `skipping source ${f.dir}: ${why}`);
      return;
    }
    if (this.byCluster.size >= this.config.maxSources) {
      this.rejected.set(f.dir, r.stamp);
      log.problem(`${f.dir}:name`, `skipping source ${f.dir}: already serving ${this.config.maxSources} sources (max_sources)`);
      return;
    }
    let cluster: number;
    try {
      cluster = this.clusters.number(name);
      this.clusters.save();
    } catch (e) {
      this.rejected.set(f.dir, r.stamp);
      log.problem(`${f.dir}:cluster`, `skipping source ${f.dir}: ${(e as NumberingError).message}`);
      return;
    }
    this.rejected.delete(f.dir);
    log.resolved(`${f.dir}:name`);
    const s = new Source(f.dir, f.trusted, author, name, r.md, r.stamp, f.describedBy, r.validate);
    // a user whose commands were slow lately: its new sources start slow too
    if (s.commanded && (this.slowPayers.get(s.payer) ?? 0) > Date.now()) s.execStanding = false;
    const carried = this.reloads.get(f.dir);
    if (carried) {
      s.stats = carried;
      this.reloads.delete(f.dir);
    }
    s.attach(cluster, this.config.maxMetrics);
    this.byDir.set(s.dir, s);
    this.byName.set(s.name, s);
    this.byCluster.set(cluster, s);
    this.tablesStale = true;
    log.info(`added source '${name}' from ${f.dir} (cluster ${cluster}, ${s.metrics.size} metrics${f.trusted ? ', trusted' : `, as ${author.name}`})`, `${f.dir}:`);
  }

  private remove(s: Source): void {
    // logged while it is still known whose it was
    log.info(`removed source '${s.name}' (${s.dir})`, `${s.dir}:`);
    this.byDir.delete(s.dir);
    this.byName.delete(s.name);
    this.byCluster.delete(s.cluster);
    s.forgetProblems();
    this.tablesStale = true;
    if (s.execId !== undefined) this.running.delete(s.execId);
  }

  // ---- tables for the native shim ----------------------------------------

  /** Hand descriptors and names to the shim if the metrics changed. */
  syncTables(): void {
    if (!this.tablesStale) return;
    this.tablesStale = false;
    const descs: number[] = [];
    const names: string[] = [];
    const pmids: number[] = [];
    this.oneline.clear();
    this.help.clear();
    this.pmids.clear();
    this.indoms.clear();
    this.indomText.clear();
    const sourcesIndom = native.indom(0);
    this.indoms.add(sourcesIndom >>> 0);
    this.indomText.set(sourcesIndom >>> 0, 'JSON sources, by source name');
    for (const s of STATIC) {
      const pmid = native.pmid(0, s.item);
      descs.push(pmid, s.type, s.stat ? sourcesIndom : C.PM_INDOM_NULL, s.sem, ...s.units);
      names.push(`${this.root}.${s.name}`);
      pmids.push(pmid);
      this.oneline.set(pmid, s.help);
      if (LONG_HELP[s.name]) this.help.set(pmid, LONG_HELP[s.name]!);
    }
    const sources = this.sorted();
    // the sources indom is the cluster cache: active entries are the sources served
    this.clusters.activate(sources.map((s) => s.name));
    // a name may not be both a metric and a subtree, across sources too
    // (prefixes may be dotted); the first source, by cluster, keeps it
    const leaves = new Set<string>(names);
    const interior = new Set<string>([this.root]);
    for (const src of sources) {
      for (const m of src.metrics.values()) {
        const full = `${this.root}.${src.name}.${m.spec.name}`;
        const parts = full.split('.');
        const ancestors = parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('.'));
        if (leaves.has(full) || interior.has(full) || ancestors.some((a) => leaves.has(a))) {
          log.problem(`${src.dir}:clash:${m.spec.name}`, `${src.metadataFile}: skipping metric '${m.spec.name}': its name clashes with another metric ('${src.name}.${m.spec.name}' would be both a metric and a subtree, or named twice)`);
          continue;
        }
        leaves.add(full);
        for (const a of ancestors) interior.add(a);
        const pmid = native.pmid(src.cluster, m.item);
        const indom = m.array ? native.indom(src.indom) : C.PM_INDOM_NULL;
        if (m.array) {
          this.indoms.add(indom >>> 0);
          const text = src.arrays.map((a) => a.description).filter(Boolean).join('; ');
          this.indomText.set(indom >>> 0, text || `Instances of the arrays of JSON source ${src.name}`);
        }
        descs.push(pmid, typeCode(m.spec.type), indom, m.spec.sem, ...m.spec.units);
        names.push(full);
        pmids.push(pmid);
        if (m.spec.description) this.oneline.set(pmid, m.spec.description);
        if (m.spec.help) this.help.set(pmid, m.spec.help);
      }
    }
    for (const p of pmids) this.pmids.add(p >>> 0);
    native.setDescs(Int32Array.from(descs));
    native.setNames(names, Uint32Array.from(pmids));
  }

  // ---- PDUs ------------------------------------------------------------------

  /**
   * Once per namespace or instance PDU: discovery, so new sources have
   * names before their first fetch; for an instance PDU also the data of
   * the source owning `indom`, unless it was read in the last second (a
   * client may ask for instance names one PDU at a time).
   */
  refresh(indom: number): void {
    this.discover();
    this.syncTables();
    if (indom === C.PM_INDOM_NULL) return;
    const serial = indom & 0x3fffff;
    const src = serial % 2 === 0 ? this.byCluster.get(serial / 2) : undefined;
    if (src && Date.now() - src.refreshedTime >= 1000) {
      this.fetchNo++;
      this.budgets.begin(this.byCluster.values());
      this.runCommands([src]);
      this.refreshSource(src);
    }
  }

  // ---- data-exec commands ---------------------------------------------------

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
  private runCommands(sources: Iterable<Source>): void {
    const limits = this.execLimits;
    const waitFor: number[] = [];
    // at most exec_max_running at once, each author its share; those that
    // waited longest go first
    const runningOf = new Map<number, number>();
    for (const src of this.running.values()) runningOf.set(src.payer, (runningOf.get(src.payer) ?? 0) + 1);
    const payers = new Set<number>();
    for (const src of this.byCluster.values()) if (src.commanded) payers.add(src.payer);
    const share = Math.max(1, Math.floor(this.config.execMaxRunning / Math.max(1, payers.size)));
    const ready = [...sources].sort((a, b) => a.execStarted - b.execStarted);
    for (const src of ready) {
      if (src.needsCommand(this.fetchNo)) {
        const mine = runningOf.get(src.payer) ?? 0;
        if (mine >= share || this.running.size >= this.config.execMaxRunning) {
          log.problem(`${src.dir}:running`, `${src.metadataFile}: data-exec command not started: its author already runs ${mine} commands, its share of exec_max_running (${this.config.execMaxRunning} shared by ${payers.size} users); try again`);
          continue;
        }
        log.resolved(`${src.dir}:running`);
        runningOf.set(src.payer, mine + 1);
        const argv = this.commandOf(src);
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
      log.problem(`${src.dir}:slow`, `${src.metadataFile}: ${src.commandLabel} takes longer than ${this.config.execWaitMs} ms (exec_wait): fetches no longer wait for it, and serve its output when it has finished`);
    }
    if (this.running.size > 0 && !this.collector) {
      this.collector = setInterval(() => {
        this.collect([], 0);
        if (this.running.size === 0 && this.collector) {
          clearInterval(this.collector);
          this.collector = undefined;
        }
      }, 100);
      this.collector.unref();
    }
  }

  /**
   * The command line of a source's command, or why it may not run: a
   * data-url is fetched by src/pmda/url.ts, run like a command, as root
   * for trusted sources; untrusted ones only with untrusted_urls set to
   * "loopback", as their author, and only to this host.
   */
  private commandOf(src: Source): string[] | string {
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
      if (this.config.untrustedUrls !== 'loopback') return `refusing data-url '${url}' of untrusted source ${src.dir}: untrusted sources may fetch URLs only when config.json has "untrusted_urls": "loopback"`;
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

  /** A fetch PDU: current sources, current data, encoded for pmdaFetch. */
  fetch(pmids: Uint32Array): Buffer {
    this.fetchNo++;
    this.discover();
    this.syncTables();
    this.budgets.begin(this.byCluster.values());
    // the data-exec commands this fetch needs, started together
    const commands = new Set<Source>();
    for (let i = 0; i < pmids.length; i++) {
      const src = this.byCluster.get(pmidCluster(pmids[i]!));
      if (src?.commanded) commands.add(src);
    }
    if (commands.size > 0) this.runCommands(commands);
    const enc = this.encoder;
    enc.begin(pmids.length);
    for (let i = 0; i < pmids.length; i++) {
      const pmid = pmids[i]!;
      const cluster = pmidCluster(pmid);
      const item = pmidItem(pmid);
      if (cluster === 0) {
        this.fetchStatic(i, item);
        enc.end();
        continue;
      }
      const src = this.byCluster.get(cluster);
      const m = src?.metrics.get(item);
      if (!src || !m) {
        enc.record(i, 0);
        enc.error(C.PM_ERR_PMID);
        enc.end();
        continue;
      }
      if (src.countedFetch !== this.fetchNo) {
        src.countedFetch = this.fetchNo;
        src.stats.fetches++;
      }
      const payer = src.payer;
      if (this.budgets.timeUp(payer)) {
        this.overBudget(i, src, m, 'time');
        continue;
      }
      const started = performance.now();
      this.refreshSource(src);
      // the values of an unchanged source are the bytes encoded last time
      if (m.cached && m.cachedVersion === src.version) {
        const count = m.cached.readInt32LE(0);
        if (count > this.budgets.valuesLeft(payer)) this.overBudget(i, src, m, 'values');
        else {
          this.budgets.chargeValues(payer, Math.max(0, count));
          enc.copy(i, m.cached);
        }
        this.budgets.chargeTime(payer, performance.now() - started);
        continue;
      }
      const complete = this.encodeMetric(i, src, m, started);
      const [from, to] = enc.end();
      if (complete) {
        m.cached = enc.slice(from, to);
        m.cachedVersion = src.version;
      }
      this.budgets.chargeTime(payer, performance.now() - started);
    }
    return enc.finish();
  }

  /** The i-th record answers "try again": a budget of the author's is spent. */
  private overBudget(i: number, src: Source, m: Served, what: 'values' | 'time'): void {
    const enc = this.encoder;
    enc.record(i, typeCode(m.spec.type));
    enc.error(C.PM_ERR_AGAIN);
    enc.end();
    log.problem(`${src.dir}:budget:${what}`, `${src.metadataFile}: ${this.budgets.why(what)}`);
  }

  /**
   * Encode the values of metric `m` as the i-th record; false if a budget
   * ran out on the way (the record then answers "try again").
   */
  private encodeMetric(i: number, src: Source, m: Served, started: number): boolean {
    const enc = this.encoder;
    const type = typeCode(m.spec.type);
    enc.record(i, type);
    if (src.dataError !== undefined) {
      enc.error(C.PM_ERR_AGAIN);
      return true;
    }
    const payer = src.payer;
    if (!m.array) {
      if (this.budgets.valuesLeft(payer) < 1) {
        enc.error(C.PM_ERR_AGAIN);
        log.problem(`${src.dir}:budget:values`, `${src.metadataFile}: ${this.budgets.why('values')}`);
        return false;
      }
      this.budgets.chargeValues(payer, 1);
      try {
        enc.value(C.PM_IN_NULL, this.value(src, m, src.data), type);
      } catch (e) {
        this.valueProblem(src, m, e as Error);
        enc.error(C.PM_ERR_VALUE);
      }
      return true;
    }
    const rows = src.rows.get(m.array.name);
    if (!rows) return true;
    const n = rows.insts.length;
    if (n > this.budgets.valuesLeft(payer)) {
      enc.error(C.PM_ERR_AGAIN);
      log.problem(`${src.dir}:budget:values`, `${src.metadataFile}: ${this.budgets.why('values')}`);
      return false;
    }
    this.budgets.chargeValues(payer, n);
    for (let r = 0; r < n; r++) {
      try {
        enc.value(rows.insts[r]!, this.value(src, m, rows.elements[r]), type);
      } catch (e) {
        this.valueProblem(src, m, e as Error);
      }
      // a long record looks at the clock now and then
      if ((r & 4095) === 4095 && this.budgets.timeUp(payer, performance.now() - started)) {
        enc.abort(C.PM_ERR_AGAIN);
        log.problem(`${src.dir}:budget:time`, `${src.metadataFile}: ${this.budgets.why('time')}`);
        return false;
      }
    }
    return true;
  }

  private sorted(): Source[] {
    return [...this.byCluster.values()].sort((a, b) => a.cluster - b.cluster);
  }

  /** json.nsources, json.debug and the per-source control metrics. */
  private fetchStatic(i: number, item: number): void {
    const enc = this.encoder;
    const m = STATIC.find((s) => s.item === item);
    if (!m) {
      enc.record(i, 0);
      enc.error(C.PM_ERR_PMID);
      return;
    }
    enc.record(i, m.type);
    if (item === 0) enc.value(C.PM_IN_NULL, this.nsources, m.type);
    else if (item === DEBUG_ITEM) enc.value(C.PM_IN_NULL, log.isDebug() ? 1 : 0, m.type);
    else for (const src of this.sorted()) enc.value(src.cluster, m.stat!(src.stats), m.type);
  }

  /** Refresh one source's data; nothing it contains may escape to other sources. */
  private refreshSource(src: Source): void {
    try {
      src.refresh(this.fetchNo, this.config, (bytes, heldBefore) => this.budgets.admit(src.payer, bytes, heldBefore));
    } catch (e) {
      src.fail(`${src.dir}: cannot use its data: ${(e as Error).message}`);
    }
    if (src.stale) this.watcher.force();
  }

  /** The value of metric `m` in `doc`, converted, strings cut to the limit. */
  private value(src: Source, m: Served, doc: JsonValue | undefined): number | bigint | string {
    const v = convert(resolve(m.spec.pointer, doc), m.spec.type);
    if (typeof v !== 'string' || v.length * 3 <= this.config.maxStringBytes) return v;
    const bytes = Buffer.from(v, 'utf8');
    if (bytes.length <= this.config.maxStringBytes) return v;
    let end = this.config.maxStringBytes;
    while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // whole characters only
    log.problem(`${src.dir}:long:${m.spec.name}`, `${src.metadataFile}: metric '${m.spec.name}': string of ${bytes.length} bytes cut to ${end} (max_string_bytes)`);
    return bytes.subarray(0, end).toString('utf8');
  }

  private valueProblem(src: Source, m: Served, e: Error): void {
    const where = src.dataExec !== undefined ? `output of '${src.dataExec}' (${src.metadataFile})` : src.dataUrl !== undefined ? `response of '${src.dataUrl}' (${src.metadataFile})` : src.dataPath;
    log.problem(`${src.dir}:value:${m.spec.name}`, `${where}: metric '${m.spec.name}' at pointer '${m.spec.pointer.text}': ${e.message}`);
  }

  /**
   * Help text: `description` is the one-line help, `help` the long one.
   * Like pmdajson, a metric or indom without text answers with empty text.
   */
  text(ident: number, type: number): string | null {
    const id = ident >>> 0;
    if (type & C.PM_TEXT_INDOM) return this.indoms.has(id) ? (type & C.PM_TEXT_ONELINE ? this.indomText.get(id) ?? '' : '') : null;
    if (!this.pmids.has(id)) return null;
    const table = type & C.PM_TEXT_ONELINE ? this.oneline : this.help;
    return table.get(id) ?? '';
  }

  // ---- labels and store ------------------------------------------------------

  /**
   * Labels: each source's cluster is labelled with its name and path plus
   * the metadata's `labels`; each metric with its own `labels`. The domain
   * label (agent) is libpcp_pmda's.
   */
  labels(type: number, ident: number): string | null {
    if (type === C.PM_LABEL_CLUSTER) {
      const src = this.byCluster.get(pmidCluster(ident));
      if (!src) return null;
      const base = JSON.stringify({ source: src.name, source_path: src.dir });
      return src.md.labels ? base.slice(0, -1) + ',' + src.md.labels.slice(1) : base;
    }
    if (type === C.PM_LABEL_ITEM) {
      const src = this.byCluster.get(pmidCluster(ident));
      return src?.metrics.get(pmidItem(ident))?.spec.labels ?? null;
    }
    return null;
  }

  /** Instance labels: the control indom names its sources; arrays use `instance-labels`. */
  instanceLabels(indom: number, inst: number): string | null {
    const serial = indom & 0x3fffff;
    if (serial === 0) {
      const src = this.byCluster.get(inst);
      return src ? JSON.stringify({ source: src.name }) : null;
    }
    const src = serial % 2 === 0 ? this.byCluster.get(serial / 2) : undefined;
    if (!src) return null;
    const labels: Record<string, JsonValue> = {};
    for (const a of src.arrays) {
      if (!a.instanceLabels) continue;
      const rows = src.rows.get(a.name);
      const at = rows ? rows.insts.indexOf(inst) : -1;
      if (at < 0) continue;
      for (const [name, pointer] of a.instanceLabels) {
        const v = resolve(pointer, rows!.elements[at]);
        if (v === undefined || (v !== null && typeof v === 'object')) continue;
        labels[name] = typeof v === 'bigint' ? Number(v) : v;
      }
    }
    return Object.keys(labels).length > 0 ? JSON.stringify(labels) : null;
  }

  /**
   * pmstore: json.debug turns debug logging on or off; json.control.reload
   * reloads the metadata of the sources named (all, for PM_IN_NULL).
   */
  store(pmids: Uint32Array, insts: Int32Array, values: Float64Array): number {
    for (let k = 0; k < pmids.length; k++) {
      const pmid = pmids[k]!;
      if (pmidCluster(pmid) !== 0) return C.PM_ERR_PERMISSION;
      const item = pmidItem(pmid);
      if (item === DEBUG_ITEM) {
        log.setDebug(values[k] !== 0);
        log.info(`debug logging ${log.isDebug() ? 'on' : 'off'}`);
      } else if (item === RELOAD_ITEM) {
        const inst = insts[k]!;
        const targets = inst === -1 ? this.sorted() : [this.byCluster.get(inst)].filter((s): s is Source => !!s);
        if (targets.length === 0) return C.PM_ERR_INST;
        for (const src of targets) {
          src.stats.reloads++;
          src.stale = true;
          this.watcher.force();
          this.reloads.set(src.dir, src.stats);
        }
      } else return C.PM_ERR_PERMISSION;
    }
    this.discover();
    this.syncTables();
    return 0;
  }
}
