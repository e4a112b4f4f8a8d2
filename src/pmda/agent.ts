// The agent: the answers to the PDUs that reach JavaScript. Each handler
// is short and reads downward: find the sources (the registry), then one
// round (src/pmda/round.ts) brings their data up to date and writes the
// records. The descriptor and namespace tables are handed to the native
// shim whole whenever the sources change (tables), so desc, pmid, name
// and children PDUs are answered in C.
import { C } from './native';
import type { Config } from './config';
import { Registry } from './sources/registry';
import { Source } from './sources/source';
import { Round } from './round';
import { Tables } from './tables';
import { Commands } from './commands/commands';
import { Encoder } from './records/encoder';
import { Records } from './records/records';
import { Budgets } from './limits/budget';
import { labelsOf, instanceLabelsOf } from './labels';
import { pmidCluster, pmidItem, clusterOfIndom } from './numbering/numbering';
import * as log from './limits/log';
import { STATIC, RELOAD_ITEM, DEBUG_ITEM } from './control';
import { domainFile } from './numbering/cachefile';
import * as warmstart from './sources/warmstart';

/** A warm start is kept this long after the sources last changed (and when the PMDA stops). */
const KEEP_AFTER_MS = 5000;
/** Sources of a warm start made at a time between PDUs, from this long after the start. */
const WAKE_SLICE = 100;
const WAKE_AFTER_MS = 1000;

export interface AgentOptions {
  root: string;
  config: Config;
}

export class Agent {
  readonly root: string;
  readonly config: Config;
  private readonly registry: Registry;
  private readonly tables = new Tables();
  private readonly commands: Commands;
  private readonly budgets: Budgets;
  private readonly encoder = new Encoder();
  private readonly records: Records;
  /** Records written between PDUs, for the next fetch to copy. */
  private readonly prepared: Records;
  private readonly round: Round;

  constructor(options: AgentOptions) {
    this.root = options.root;
    this.config = options.config;
    this.commands = new Commands(this.config, () => this.registry.byCluster.values());
    this.registry = new Registry(this.root, this.config, (s) => this.commands.added(s), (s) => this.commands.removed(s));
    this.budgets = new Budgets(this.config);
    this.records = new Records(this.encoder, this.budgets, this.config);
    this.prepared = new Records(new Encoder(), this.budgets, this.config);
    this.round = new Round(this.registry, this.commands, this.budgets, this.config);
    this.registry.onData((sources) => this.prefetch(sources));
    log.setLimits(this.config, (key) => this.registry.whose(key));
  }

  get nsources(): number {
    return this.registry.size;
  }

  /**
   * The sources at start: as kept by the last run, if nothing they were
   * made from changed since (src/pmda/sources/warmstart.ts), made again
   * a slice at a time between PDUs; else found by a walk.
   */
  start(): void {
    const file = domainFile('start');
    const k = warmstart.take(file, this.key);
    let why = k === undefined || typeof k === 'string' ? k : undefined;
    if (typeof k === 'object') {
      try {
        // the kept tables go to the shim while the look (begun early, on a
        // thread of the shim's) may still be running: nothing is answered
        // before start() returns, and a start that is not warm takes them
        // back before its walk (below)
        this.tables.restore(k.tables);
        why = this.registry.warm(k);
      } catch (e) {
        why = `${file} could not be used: ${(e as Error).message}`;
        this.registry.cold();
      } finally {
        warmstart.leave();
      }
    }
    if (typeof k === 'object' && why === undefined) {
      log.info(`warm start: ${k.count} sources as kept in ${file}, each made (its metadata read as its author) when first needed`);
      // the rest, once the first PDUs are answered: a slice at a time between PDUs
      const slice = (): void => {
        this.wake(this.registry.dormantClusters(WAKE_SLICE));
        this.syncTables();
        if (this.registry.dormantCount > 0) setImmediate(slice);
      };
      setTimeout(slice, WAKE_AFTER_MS).unref();
      return;
    }
    if (why !== undefined) log.info(`cold start: ${why}`);
    if (typeof k === 'object') this.tables.clear();
    this.discover();
    this.syncTables();
  }

  private get key(): string {
    return warmstart.keyOf(this.root, this.config);
  }

  private keepTimer: NodeJS.Timeout | undefined;

  /** Keep what a warm start needs, if it changed: now, or soon. */
  keep(now = false): void {
    if (!now) {
      this.keepTimer ??= setTimeout(() => this.keep(true), KEEP_AFTER_MS).unref();
      return;
    }
    clearTimeout(this.keepTimer);
    this.keepTimer = undefined;
    const file = domainFile('start');
    try {
      // the tables of the sources as they are (the last made after a warm start changes them)
      if (this.registry.changed) this.tables.sync(this.root, this.registry);
      const k = this.registry.keep(this.key, this.tables.kept());
      if (typeof k === 'object') warmstart.save(file, k);
      else if (typeof k === 'string') {
        warmstart.forget(file);
        log.debug(`no warm start kept: ${k}`);
      }
    } catch (e) {
      // (what was kept before may no longer hold)
      warmstart.forget(file);
      log.warn(`cannot keep ${file}: ${(e as Error).message}`);
    }
  }

  /** Make sources of a warm start (all if no clusters are given); one that changed since is found by a walk, now. */
  private wake(clusters?: Iterable<number>): void {
    if (this.registry.wake(clusters)) this.discover();
  }

  /** Discovery: sources added, changed and gone, if anything changed. */
  discover(): void {
    this.registry.discover();
  }

  /** Hand descriptors and names to the shim if the metrics changed. */
  syncTables(): void {
    if (!this.registry.changed) return;
    this.tables.sync(this.root, this.registry);
    this.keep();
  }

  /**
   * Once per namespace or instance PDU: discovery, so new sources have
   * names before their first fetch; for an instance PDU also the data of
   * the source owning `indom`, unless it was read in the last second (a
   * client may ask for instance names one PDU at a time).
   */
  refresh(indom: number): void {
    if (indom !== C.PM_INDOM_NULL) this.wake();
    this.discover();
    this.syncTables();
    if (indom === C.PM_INDOM_NULL) return;
    const cluster = clusterOfIndom(indom);
    const src = cluster !== undefined ? this.registry.byCluster.get(cluster) : undefined;
    if (src && Date.now() - src.refreshedTime >= 1000) {
      this.round.begin();
      this.round.runCommands([src]);
      this.round.refresh(src);
    }
  }

  /**
   * Between PDUs, when inotify says that data files of these sources
   * were written or replaced: read them now, and write the records that
   * the last fetch asked for, so that the next fetch finds them ready.
   * The fetch still looks at each file (src/pmda/sources/source.ts, read): it
   * sees the data as it is then; and whatever goes wrong here is left for
   * it to find and log (Source.prefetch). Each author's sources take at
   * most their share of fetch_max_ms here, as in a fetch; what is left
   * over is read by the fetch. A source is read here at most once per
   * fetch that asked for it, so a file rewritten without pause costs no
   * more than it would at fetch time.
   */
  private prefetch(sources: Source[]): void {
    const due = sources.filter((s) => !s.commanded && s.countedFetch > s.prefetched);
    if (due.length === 0) return;
    this.round.begin();
    for (const src of due) this.round.prefetch(this.prepared, src);
  }

  /** A fetch PDU: current sources, current data, encoded for pmdaFetch. */
  fetch(pmids: Uint32Array): Buffer {
    this.discover();
    // a source of a warm start is made when first asked for; the control metrics need them all
    if (this.registry.dormantCount > 0) this.wake(pmids.some((p) => pmidCluster(p) === 0) ? undefined : Array.from(pmids, (p) => pmidCluster(p)));
    this.syncTables();
    // the fetch reads what changed of the sources it asks for itself; the
    // others' changes (events this fetch's discovery read) are read after it
    const touched = this.registry.takeTouched();
    const sources = this.registry.byCluster;
    this.round.begin();
    // the commands this fetch needs, started together
    if (this.registry.commanded > 0) {
      const commanded = new Set<Source>();
      for (let i = 0; i < pmids.length; i++) {
        const src = sources.get(pmidCluster(pmids[i]!));
        if (src?.commanded) commanded.add(src);
      }
      if (commanded.size > 0) this.round.runCommands(commanded);
    }
    this.records.begin(pmids.length);
    // a source's metrics mostly come one after the other: it is looked up once for them
    let cluster = -1;
    let src: Source | undefined;
    for (let i = 0; i < pmids.length; i++) {
      const pmid = pmids[i]!;
      const c = pmidCluster(pmid);
      if (c !== cluster) {
        cluster = c;
        src = cluster === 0 ? undefined : sources.get(cluster);
      }
      if (cluster === 0) {
        this.fetchStatic(i, pmidItem(pmid));
        continue;
      }
      const m = src?.metrics.get(pmidItem(pmid));
      if (!src || !m) {
        this.records.error(i, 0, C.PM_ERR_PMID);
        continue;
      }
      this.round.serve(this.records, i, src, m);
    }
    this.records.keep();
    if (touched.length > 0) {
      const others = touched.filter((s) => s.countedFetch !== this.round.number);
      if (others.length > 0) setImmediate(() => this.prefetch(others.filter((s) => this.registry.byCluster.get(s.cluster) === s)));
    }
    return this.encoder.finish();
  }

  /** json.nsources, json.debug and the per-source control metrics. */
  private fetchStatic(i: number, item: number): void {
    const enc = this.encoder;
    const m = STATIC.find((s) => s.item === item);
    if (!m) return this.records.error(i, 0, C.PM_ERR_PMID);
    enc.record(i, m.type);
    if (item === 0) enc.value(C.PM_IN_NULL, this.nsources, m.type);
    else if (item === DEBUG_ITEM) enc.value(C.PM_IN_NULL, log.isDebug() ? 1 : 0, m.type);
    else {
      for (const src of this.registry.sorted()) {
        const v = m.stat!(src.stats);
        if (v !== undefined) enc.value(src.cluster, v, m.type);
      }
    }
    enc.end();
  }

  /**
   * Help text: `description` is the one-line help, `help` the long one.
   * Like pmdajson, a metric or indom without text answers with empty text.
   */
  text(ident: number, type: number): string | null {
    return this.tables.text(ident, type);
  }

  labels(type: number, ident: number): string | null {
    this.wake();
    return labelsOf(this.registry, type, ident);
  }

  instanceLabels(indom: number, inst: number): string | null {
    this.wake();
    return instanceLabelsOf(this.registry, indom, inst);
  }

  /**
   * pmstore: json.debug turns debug logging on or off; json.control.reload
   * reloads the metadata of the sources named (all, for PM_IN_NULL).
   */
  store(pmids: Uint32Array, insts: Int32Array, values: Float64Array): number {
    this.wake();
    for (let k = 0; k < pmids.length; k++) {
      const pmid = pmids[k]!;
      if (pmidCluster(pmid) !== 0) return C.PM_ERR_PERMISSION;
      const item = pmidItem(pmid);
      if (item === DEBUG_ITEM) {
        log.setDebug(values[k] !== 0);
        log.info(`debug logging ${log.isDebug() ? 'on' : 'off'}`);
      } else if (item === RELOAD_ITEM) {
        const inst = insts[k]!;
        const targets = inst === -1 ? this.registry.sorted() : [this.registry.byCluster.get(inst)].filter((s): s is Source => !!s);
        if (targets.length === 0) return C.PM_ERR_INST;
        this.registry.reload(targets);
      } else return C.PM_ERR_PERMISSION;
    }
    this.discover();
    this.syncTables();
    return 0;
  }
}
