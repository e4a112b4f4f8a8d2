// A source: one directory with a metadata.json, the data it points to
// (a file, or a command's output), and the numbering of its metrics and
// instances. Its data is read when a fetch asks for one of its metrics,
// at most once per fetch, and parsed again only when it changed.
import * as fs from 'fs';
import * as path from 'path';
import { parseJson, JsonValue } from '../../format/json';
import { Metadata, MetricSpec, ArraySpec } from '../../format/metadata';
import { InstanceIndex, Rows } from '../data/instances';
import { Query, PADDING, queryFor } from '../data/query';
import { DataView, TreeView, Placed } from '../data/view';
import { InstanceNumbers, MetricItems, metricNumbers, indomCacheSerial, instanceNumbers, NumberingError, DescriptorChangeError } from '../numbering/numbering';
import { ItemDesc, descOf } from '../numbering/descriptors';
import type { ExecResult } from '../commands/exec';
import { Author } from './access';
import { DataFile } from './datafile';
import { readInto } from './read';
import { newStats, SourceStats } from '../control';
import type { Config } from '../config';
import * as log from '../limits/log';
import { METADATA } from './discovery';
import type { SchemaValidator } from '../../format/validate';
import { SchemaGate } from './schemagate';

/** The rows of a source with no data, or no arrays. */
const NO_ROWS: ReadonlyMap<string, Rows> = new Map();

/** A metric as served: its spec, its item and descriptor, its array if it has one, and where its values are in a view. */
export interface Served extends Placed {
  spec: MetricSpec;
  item: number;
  desc: ItemDesc;
  array?: ArraySpec;
  /** Its encoded record (records/encoder.ts) for data version `cachedVersion`: words [cachedAt, cachedEnd) of `cached`, shared by the records kept with it. */
  cached?: Int32Array;
  cachedAt: number;
  cachedEnd: number;
  cachedVersion?: number;
}

export type { Rows } from '../data/instances';

/** Asked before data of `bytes` bytes is parsed (replacing `heldBefore` bytes of this source): undefined if it fits the author's budgets, else why not. */
export type Admit = (bytes: number, heldBefore: number) => string | undefined;

/** What a data-exec or data-url source's refresh is given: its command's output, none yet, or a rest after a timeout. */
export type CommandRun = ExecResult | 'resting';

export class Source {
  /** Bumped whenever any source's data changes, or sources come and go: what the budgets' sums depend on. */
  static epoch = 0;

  readonly metadataFile: string;
  readonly dataPath: string;
  readonly dataExec: string | undefined;
  readonly dataUrl: string | undefined;
  /** Served metrics by item. */
  readonly metrics = new Map<number, Served>();
  readonly arrays: ArraySpec[] = [];
  private metricCache!: MetricItems;
  /** Only a source with arrays has instances (and an instance cache). */
  private indomCache: InstanceNumbers | undefined;
  cluster = -1;

  /** The current data, as its metrics see it. */
  view: DataView | undefined;
  /** The compiled pointers of its metrics (not for schema sources, whose documents are checked whole), once `queried`: see compiled. */
  private query: Query | undefined;
  private queried = false;
  /** Why the data is unavailable, when it is. */
  dataError: string | undefined = 'not read yet';
  /** Its data file, kept open while it is known to be unchanged. */
  readonly file: DataFile;
  /** The fetch number its data was last looked at with. */
  refreshedAt = -1;
  /** When the data was last looked at (Date.now()). */
  refreshedTime = 0;
  /** Its arrays' rows; the instance index's own map, never changed here (a source without arrays shares one empty map). */
  rows: ReadonlyMap<string, Rows> = NO_ROWS;
  private instances: InstanceIndex | undefined;
  /** Bumped whenever `data` or `rows` change. */
  version = 0;
  /** Schema sources' check of each document. */
  private readonly schema: SchemaGate | undefined;
  /** The description must be read again (a schema source's generation changed). */
  stale = false;
  /** The round (src/pmda/round.ts) that last counted it in stats.fetches. */
  countedFetch = -1;
  /** The round its data was last read in between PDUs (src/pmda/round.ts, prefetch). */
  prefetched = -1;
  /** What the control metrics report. */
  stats: SourceStats = newStats();

  constructor(
    readonly dir: string,
    readonly trusted: boolean,
    /** Whose credentials its files are opened, and commands run, with. */
    readonly author: Author,
    readonly name: string,
    readonly md: Metadata,
    readonly metadataStamp: string,
    describedBy = METADATA,
    validate?: SchemaValidator,
  ) {
    this.schema = validate && new SchemaGate(validate, this.key('schema'));
    // joined, not path.join's concatenation: one flat string (dir is already normal)
    this.metadataFile = [dir, describedBy].join('/');
    this.dataPath = md.dataPath ? path.resolve(dir, md.dataPath) : path.join(dir, 'data.json');
    this.file = new DataFile(this.dataPath, author);
    this.dataExec = md.dataExec;
    this.dataUrl = md.dataExec === undefined ? md.dataUrl : undefined;
  }

  /** Whose budgets (src/pmda/limits/budget.ts) its costs are charged to. */
  get payer(): number {
    return this.trusted ? 0 : this.author.uid;
  }

  /** Bytes of data it holds. */
  get heldBytes(): number {
    return this.view !== undefined ? this.stats.dataBytes : 0;
  }

  private key(what: string): string {
    return `${this.dir}:${what}`;
  }

  get indom(): number {
    return indomCacheSerial(this.cluster);
  }

  /** The numbered instance names of this source, by number. */
  instanceNames(): Map<number, string> {
    return new Map(this.indomCache?.entries());
  }

  /** Its cluster, and its metrics numbered in pmdajson's order (entries in file order, an array's members first); a changed descriptor gets a new item, said once. */
  attach(cluster: number, maxMetrics: number): void {
    this.cluster = cluster;
    this.metricCache = metricNumbers(cluster);
    /** Serve `spec` if it can be; false when no more metrics can be (max_metrics, no item left). */
    const serve = (spec: MetricSpec, array?: ArraySpec): boolean => {
      if (this.metrics.size >= maxMetrics) {
        log.problem(this.key('items'), `${this.metadataFile}: serving only the first ${maxMetrics} metrics (max_metrics)`);
        return false;
      }
      try {
        const desc = descOf(spec, array ? this.indom : undefined);
        const { item, changed } = this.metricCache.serve(spec.name, desc);
        if (changed) log.problem(this.key(`renumbered:${spec.name}`), `${this.metadataFile}: metric '${spec.name}' ${changed}`);
        // every field from the start, so that none is added later, out of the object
        this.metrics.set(item, array ? { spec, item, desc, array, arrayAt: this.arrays.length, slot: 0, cached: undefined, cachedAt: 0, cachedEnd: 0, cachedVersion: undefined } : { spec, item, desc, slot: 0, cached: undefined, cachedAt: 0, cachedEnd: 0, cachedVersion: undefined });
        return true;
      } catch (e) {
        log.problem(this.key('items'), `${this.metadataFile}: skipping metric '${spec.name}': ${(e as NumberingError).message}`);
        // one whose descriptor changed, with no item left for it, is skipped alone
        return e instanceof DescriptorChangeError;
      }
    };
    // an array is served with the members that fit, then numbered itself,
    // then the arrays nested in it, each as an array of its own
    const serveArray = (a: ArraySpec): boolean => {
      const before = this.metrics.size;
      const all = a.members.every((m) => serve(m, a));
      if (this.metrics.size > before) this.arrays.push(a);
      if (!all) return false;
      try {
        this.metricCache.number(a.name);
      } catch {
        return false;
      }
      return (a.nested ?? []).every(serveArray);
    };
    for (const entry of this.md.entries) {
      if (!(entry.kind === 'metric' ? serve(entry.metric) : serveArray(entry.array))) break;
    }
    this.metricCache.save();
  }

  /** Its query, compiled at its first read, not at attach: a start with 4,000 sources compiles only those it reads. */
  private get compiled(): Query | undefined {
    if (!this.queried) this.query = this.schema ? undefined : queryFor([...this.metrics.values()], this.arrays);
    this.queried = true;
    return this.query;
  }

  /** Give back what the source holds outside JavaScript (it went away). */
  close(): void {
    this.file.dispose();
    this.query?.free();
    this.query = undefined;
    this.queried = true;
  }

  /**
   * Read the data again if it may have changed; once per fetch at most.
   * For data-exec and data-url sources, `run` is the output of a command
   * that finished (src/pmda/commands/commands.ts collected it), undefined
   * while there is none, or 'resting' (keep what it has). `admit` asks
   * the budgets before data is parsed; a schema's check, and the walk of nested arrays and trees, end within `msLeft` ms (its author's time left in this round).
   */
  refresh(fetchNo: number, config: Config, admit: Admit, run?: CommandRun, msLeft = config.fetchMaxMs): void {
    if (this.refreshedAt === fetchNo) return;
    this.refreshedAt = fetchNo;
    this.refreshedTime = Date.now();
    const started = performance.now();
    try {
      // the instance numbers are read from their file when the source is first used, not when it is found
      if (this.arrays.length > 0 && !this.instances) {
        this.indomCache = instanceNumbers(this.cluster);
        this.instances = new InstanceIndex(this.indomCache, this.dir);
      }
      this.read(config, admit, run, started + msLeft);
      // a file's data is current whenever it is looked at
      if (!this.commanded && this.view) this.stats.dataTime = this.refreshedTime;
      // instance names long gone from the data leave the cache, even while it is unchanged
      if (this.indomCache?.cull(config.instanceCullSeconds, false)) this.indomCache.save();
    } catch (e) {
      // nothing a source contains may escape to other sources
      this.fail(`${this.dir}: cannot use its data: ${(e as Error).message}`);
    } finally {
      this.stats.refreshMs = performance.now() - started;
    }
  }

  /** refresh() of a data file kept open and unchanged (its inode watched: no system call), at the round's `now`; false for other sources. */
  refreshKept(fetchNo: number, now: number): boolean {
    if (this.refreshedAt === fetchNo || this.dataError !== undefined || this.commanded || this.indomCache || !this.view || !this.file.unchanged()) return false;
    this.refreshedAt = fetchNo;
    this.stats.dataTime = this.refreshedTime = now;
    this.stats.refreshMs = 0;
    return true;
  }

  /** Does its data come from a process (data-exec, or data-url through src/pmda/commands/url.ts)? */
  get commanded(): boolean {
    return this.dataExec !== undefined || this.dataUrl !== undefined;
  }

  /** How the log names where its values come from. */
  get where(): string {
    if (this.dataExec !== undefined) return `output of '${this.dataExec}' (${this.metadataFile})`;
    if (this.dataUrl !== undefined) return `response of '${this.dataUrl}' (${this.metadataFile})`;
    return this.dataPath;
  }

  /** How the log names its command. */
  get commandLabel(): string {
    return this.dataExec !== undefined ? `data-exec command '${this.dataExec}'` : `data-url '${this.dataUrl}'`;
  }

  /** Answer "try again" without counting or logging a problem. */
  private unavailable(why: string): void {
    if (this.dataError !== why) this.drop(why);
  }

  /** No data now, for this reason: its metrics answer "try again". */
  private drop(why: string): void {
    this.dataError = why;
    this.view = undefined;
    this.file.forget();
    // not clear(): the map is the instance index's, and a document with
    // the same names later gets it back
    this.rows = NO_ROWS;
    this.stats.dataTime = 0;
    this.version++;
    Source.epoch++;
  }

  /** Read and install the data; a schema's check and the walk of levels end by `by` (performance.now()). */
  private read(config: Config, admit: Admit, r: CommandRun | undefined, by: number): void {
    let bytes: Buffer;
    let length: number;
    let padded = false;
    if (this.commanded) {
      // a command that timed out rests a while before it is run again
      if (r === 'resting') return;
      if (!r) return this.stillRunning(config);
      // how its last request (a trusted data-url) went
      if (r.http) ({ status: this.stats.urlStatus, ms: this.stats.urlMs, wireBytes: this.stats.urlBytes } = r.http);
      if (!r.ok) {
        this.stats.execErrors++;
        return this.fail(r.error, false);
      }
      if (r.notModified) return this.notModified(r.at);
      if (r.warning) {
        this.stats.execErrors++;
        log.problem(this.key('exit'), `${this.metadataFile}: ${r.warning}`);
      } else log.resolved(this.key('exit'));
      bytes = r.output;
      length = bytes.length;
      // the output has room after it for the query's parse (native/exec.cc)
      padded = bytes.buffer.byteLength - bytes.byteOffset >= length + PADDING;
      const refused = admit(length, this.stats.dataBytes);
      if (refused) return this.overBudget(refused);
    } else {
      let fd = -1;
      try {
        fd = this.openIfChanged();
        if (fd < 0) return;
        const size = this.file.size;
        if (size > config.maxDataBytes) return this.fail(`data file ${this.dataPath} is ${size} bytes, more than the limit of ${config.maxDataBytes}`);
        const refused = size > 0 ? admit(size, this.stats.dataBytes) : undefined;
        if (refused) return this.overBudget(refused);
        ({ bytes, length } = readInto(fd, size, config.maxDataBytes, PADDING));
        padded = true;
        if (size === 0) {
          const late = admit(length, this.stats.dataBytes);
          if (late) return this.overBudget(late);
        }
        this.file.adopt(fd);
        fd = -1;
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === 'ENOTREG') return this.fail(`data file ${this.dataPath} is not a regular file`);
        const as = this.trusted ? '' : ` as ${this.author.name}, the owner of ${this.metadataFile}`;
        return this.fail(`cannot read data file ${this.dataPath}${as}: ${err.message}`);
      } finally {
        if (fd >= 0) fs.closeSync(fd);
      }
    }
    const at = this.commanded && r && r !== 'resting' && r.ok ? r.at : undefined;
    const where = this.dataExec !== undefined ? `output of data-exec command '${this.dataExec}' (${this.metadataFile})` : this.dataUrl !== undefined ? `response of data-url '${this.dataUrl}' (${this.metadataFile})` : `data file ${this.dataPath}`;
    this.stats.refreshes++;
    // the query reads the document where it is; what it leaves to
    // JavaScript is parsed as text (docs/PARSING.md)
    let view: DataView | undefined = this.compiled?.run(bytes, length, padded);
    if (view) this.stats.dataBytes = length;
    else {
      const text = bytes.toString('utf8', 0, length);
      this.stats.dataBytes = Buffer.byteLength(text, 'utf8');
      // parse-or-say-why, the shape src/format/metadata.ts uses for pointers
      let doc: JsonValue;
      try {
        doc = parseJson(text);
      } catch (e) {
        return this.fail(`cannot parse ${where}: ${(e as Error).message}`);
      }
      if (this.schema) {
        const passed = this.schema.pass(doc, where, this.metadataFile, () => (this.stale = true), by);
        if (typeof passed === 'string') return this.fail(passed);
        doc = passed.doc;
      }
      view = new TreeView(doc, this.arrays, config.maxInstances, by);
    }
    this.install(view, where, config, at);
  }

  /** A 304 Not Modified: the data held is current, and is neither read nor parsed again. */
  private notModified(at = Date.now()): void {
    if (!this.view || this.dataError !== undefined) return this.fail(`${this.commandLabel} (${this.metadataFile}) answered 304 Not Modified, but no data is held`, false);
    this.stats.notModified++;
    this.stats.dataTime = at;
  }

  /** No new output of its command yet: the last one is served, up to data_max_age old (and data-max-age), unless exec_block. */
  private stillRunning(config: Config): void {
    const maxAge = Math.min(config.dataMaxAgeMs, this.md.dataMaxAgeMs ?? Infinity);
    const age = Date.now() - this.stats.dataTime;
    if (this.view && !config.execBlock && age <= maxAge) return;
    const old = this.view && !config.execBlock ? `; its last output is ${(age / 1000).toFixed(1)} s old, older than ${maxAge / 1000} s (data_max_age)` : '';
    this.unavailable(`${this.commandLabel} (${this.metadataFile}) has not finished${old}`);
    if (old) this.stats.lastError = this.dataError!;
  }

  /** The new data is `view`: its instances, and a new version. */
  private install(view: DataView, where: string, config: Config, at = Date.now()): void {
    if (this.dataError !== undefined && this.dataError !== 'not read yet') {
      log.resolved(this.key('data'), `${where} is readable again`);
    }
    this.dataError = undefined;
    this.stats.lastError = '';
    this.stats.dataTime = at;
    this.view = view;
    if (this.instances) this.rows = this.instances.build(this.arrays, view, where, { maxInstances: config.maxInstances, maxNameBytes: config.maxDataBytes, maxCached: config.maxCachedInstances, cullSeconds: config.instanceCullSeconds });
    this.version++;
    Source.epoch++;
  }

  /**
   * Between PDUs (src/pmda/agent.ts): read the data file now if it
   * changed, and only if all goes well: opened as the author, within the
   * budgets, taken by the query. Anything else (a file being replaced
   * right now, a link, an error, a document for JavaScript's parser) is
   * left to the next fetch, which reads, and logs, as always: what is
   * seen between PDUs never reaches the log. True if it read the file.
   */
  prefetch(config: Config, admit: Admit): boolean {
    const query = this.compiled;
    if (this.commanded || !query || (this.arrays.length > 0 && !this.instances)) return false;
    let fd = -1;
    try {
      fd = this.openIfChanged();
      if (fd < 0) return false;
      const size = this.file.size;
      if (size === 0 || size > config.maxDataBytes) return false;
      if (admit(size, this.stats.dataBytes) !== undefined) return false;
      const { bytes, length } = readInto(fd, size, config.maxDataBytes, PADDING);
      const view = query.run(bytes, length, true);
      if (!view) return false;
      this.file.adopt(fd);
      fd = -1;
      this.stats.refreshes++;
      this.stats.dataBytes = length;
      this.install(view, `data file ${this.dataPath}`, config);
      return true;
    } catch {
      return false;
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
  }

  /** The data file, opened as its author, if it changed since it was read; -1 if not (kept open, or closed). Throws an OpenError. */
  private openIfChanged(): number {
    // kept open, and nothing says it changed; or its name leads to what was read, unchanged
    if (this.dataError === undefined && (this.file.unchanged() || this.file.current())) return -1;
    // opened by the kernel as the author, also to see whether it changed:
    // what they cannot read, or learn of, this cannot either
    const fd = this.file.open();
    // an unchanged regular file is not parsed again; size 0 (procfs) always is
    if (this.file.same && this.dataError === undefined) {
      this.file.adopt(fd);
      return -1;
    }
    return fd;
  }

  /** A budget (src/pmda/limits/budget.ts) has no room for this source's data now. */
  private overBudget(why: string): void {
    this.unavailable(why);
    this.stats.lastError = why;
    log.problem(this.key('budget'), `${this.metadataFile}: ${why}`);
  }

  fail(why: string, parseError = true): void {
    if (parseError) this.stats.parseErrors++;
    this.stats.lastError = why;
    this.drop(why);
    log.problem(this.key('data'), why);
  }

  /** Forget everything logged about this source (it went away). */
  forgetProblems(): void {
    log.forget(this.dir + ':');
  }
}
