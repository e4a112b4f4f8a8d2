// Numbering: clusters, items and instance ids, persisted with libpcp_pmda's
// pmdaCache in exactly pmdajson's layout, so a host that switches from the
// python PMDA keeps every PMID and instance id:
//
//   cache serial 0        cluster cache: source name -> cluster
//                         (entry 0 "__internal__": cluster 0 is the static
//                         metrics), at most 0xfff clusters
//   cache serial 2c-1     metric cache of the source in cluster c:
//                         metric name ("array.member" for array members)
//                         -> item, at most 0x3ff items
//   cache serial 2c       instance cache of the source in cluster c: index
//                         value -> instance id; also the source's indom
//
// The files live in $PCP_VAR_DIR/config/pmda/<domain>.<serial>. Beside
// them, <domain>.descriptors records what each item of each source was
// served with (descriptors.ts): an item is never served with another
// descriptor. A metric whose descriptor changed gets a new item; its old
// one stays in the metric cache under "~retired:ITEM:NAME" (no metric
// name has a '~' or a ':', nor a space, which pmdaCache would take as the
// end of the name to match), so that it is never given out again, by
// this PMDA or by pmdajson, which reads it as one more name.
// Unlike pmdajson, lookups consult the loaded cache itself, so numbering
// survives restarts: a name keeps its number whatever order sources,
// metrics and instances are found in.
import { native, C } from '../native';
import { CacheFile, domainFile, metricCacheSerial, indomCacheSerial } from './cachefile';
import { DescFile, ItemDesc, descChange, sameDesc, descStore } from './descriptors';

export const MAX_CLUSTER = 0xfff;
export const MAX_ITEM = 0x3ff;
export const MAX_INST = 0x7fffffff;

export class NumberingError extends Error {}
/** A metric's descriptor changed, and no item is left to serve it under. */
export class DescriptorChangeError extends NumberingError {}

/** A persisted name -> number map. */
export interface Numbers {
  readonly size: number;
  /** The number of `name`, if it has one. */
  lookup(name: string): number | undefined;
  /** The number of `name`, allocating the next free one if it is new. */
  number(name: string): number;
  /** Write the cache file if anything new was numbered. */
  save(): void;
}

/** One persisted name -> number map, backed by a pmdaCache indom: the sources (clusters). */
export class NameCache implements Numbers {
  private readonly known = new Map<string, number>();
  private dirty = false;

  constructor(readonly serial: number, readonly max: number) {
    native.cacheResize(serial, max);
    native.cacheOp(serial, C.PMDA_CACHE_LOAD); // a missing file is a new cache
    const [insts, names] = native.cacheEntries(serial);
    const list = insts.length > 0 ? names.split('\0') : [];
    for (let i = 0; i < list.length; i++) this.known.set(list[i]!, insts[i]!);
  }

  get size(): number {
    return this.known.size;
  }

  /** The number of `name`, if it has one. */
  lookup(name: string): number | undefined {
    return this.known.get(name);
  }

  /** The number of `name`, allocating the next free one if it is new. */
  number(name: string): number {
    return this.known.get(name) ?? this.show(name);
  }

  /**
   * Mark one name active (numbering it if it is new), or inactive: for a
   * cache whose active names change one at a time (the sources). Each is
   * one pmdaCache call, where activate() makes one per name.
   */
  show(name: string): number {
    const inst = native.cacheStore(this.serial, C.PMDA_CACHE_ADD, name);
    if (inst < 0) throw new NumberingError(`cannot number '${name}' in cache ${this.serial}: ${native.errStr(inst)}`);
    // PCP 7's pmdaCache numbers past the maximum pmdaCacheResize set (PCP 6's
    // refuses): a number past it (a cluster past 0xfff) is taken back here
    if (inst > this.max) {
      native.cacheStore(this.serial, C.PMDA_CACHE_CULL, name);
      throw new NumberingError(`cannot number '${name}' in cache ${this.serial}: no number up to ${this.max} is left`);
    }
    if (!this.known.has(name)) {
      this.known.set(name, inst);
      this.dirty = true;
    }
    return inst;
  }

  hide(name: string): void {
    native.cacheStore(this.serial, C.PMDA_CACHE_HIDE, name);
  }

  /** Mark every name inactive. */
  hideAll(): void {
    native.cacheOp(this.serial, C.PMDA_CACHE_INACTIVE);
  }

  /** Write the cache file if anything new was numbered. */
  save(): void {
    if (!this.dirty) return;
    native.cacheOp(this.serial, C.PMDA_CACHE_SAVE);
    this.dirty = false;
  }
}

export { metricCacheSerial, indomCacheSerial } from './cachefile';

/** The cluster cache, with pmdajson's reserved entry 0. */
export class ClusterCache extends NameCache {
  constructor() {
    super(0, MAX_CLUSTER);
    if (this.size === 0) {
      this.number('__internal__');
    }
  }
}

/** Names numbered in their cache file alone (src/pmda/numbering/cachefile.ts), with no pmdaCache indom behind them. */
abstract class FileNumbers {
  protected readonly file: CacheFile;

  /** `text` is the file's, read already (null: there is none). */
  constructor(readonly serial: number, max: number, text?: string | null) {
    this.file = new CacheFile(cachePathOf(serial), max, text);
  }

  get size(): number {
    return this.file.size;
  }

  /** The number of `name`, if it has one. */
  lookup(name: string): number | undefined {
    return this.file.lookup(name);
  }

  /** Write the file if anything new was numbered (or forgotten). */
  save(): void {
    this.file.save();
  }
}

/** A source's metric numbers, and what each item is served with. */
export interface MetricItems extends Numbers {
  /**
   * The item of `name`, served with `desc`: its own, unless that was
   * served with another descriptor; then a new one, and `changed` says
   * what changed, in words (once: the new descriptor is recorded). Throws
   * a NumberingError if no item is left.
   */
  serve(name: string, desc: ItemDesc): { item: number; changed?: string };
}

/** The name a retired item keeps in the metric cache: no metric name can be one. */
const retiredName = (item: number, name: string): string => `~retired:${item}:${name}`;

/**
 * A source's metric numbers: the file alone, as nothing but the numbers
 * is needed, and the descriptor records beside it (descriptors.ts).
 */
class MetricNumbers extends FileNumbers implements MetricItems {
  private readonly descs: DescFile;

  /** `texts` are the cache file's and its records' of version 1 (descriptors.ts), read already (null: there is none). */
  constructor(serial: number, max: number, private readonly cluster: number, texts?: [string | null, (string | null)?]) {
    super(serial, max, texts?.[0]);
    this.descs = new DescFile(descStore(), cluster, `${this.file.file}.desc`, texts?.[1]);
  }

  number(name: string): number {
    const inst = this.file.number(name);
    if (inst === undefined) throw new NumberingError(`cannot number '${name}' in cache ${this.serial}: no number is left`);
    return inst;
  }

  serve(name: string, desc: ItemDesc): { item: number; changed?: string } {
    const had = this.file.lookup(name);
    const was = had === undefined ? undefined : this.descs.get(had);
    // the same as it was served with (every metric at a restart)
    if (was !== undefined && sameDesc(was, desc)) return { item: had! };
    // new, or never served (pmdajson's cache, or an array's own name)
    if (had === undefined || was === undefined) {
      const item = this.number(name);
      this.descs.set(item, desc);
      return { item };
    }
    const change = descChange(was, desc);
    this.file.rename(name, retiredName(had, name));
    const item = this.file.number(name);
    if (item === undefined) {
      this.file.rename(retiredName(had, name), name);
      throw new DescriptorChangeError(`it changed ${change}, and no item is left for a new PMID (its PMID ${pmidText(this.cluster, had)} is not served with another descriptor)`);
    }
    this.descs.set(item, desc);
    return { item, changed: `changed ${change}: served under a new PMID ${pmidText(this.cluster, item)} (the old one, ${pmidText(this.cluster, had)}, is no longer served)` };
  }

  /** Write the cache file and the descriptor records, each if it changed. */
  override save(): void {
    super.save();
    this.descs.save();
  }
}

/** A PMID as PCP writes it: DOMAIN.CLUSTER.ITEM. */
function pmidText(cluster: number, item: number): string {
  return `${(native.indom(0) >>> 22) & 0x1ff}.${cluster}.${item}`;
}

/** The cache file of `serial`, as pmdaCache names it: $PCP_VAR_DIR/config/pmda/DOMAIN.SERIAL. */
const cachePathOf = (serial: number): string => domainFile(serial);

/**
 * A source's instance numbers: names numbered and kept in their cache
 * file (src/pmda/numbering/cachefile.ts), the names of the data served to
 * libpcp_pmda as a table (native/indoms.cc) rather than from a pmdaCache
 * indom, which it would look up along a list of all its caches at every
 * instance of every fetch (docs/BENCHMARKS.md).
 */
export class InstanceNumbers extends FileNumbers {
  /** The names with a space, by their first word (PCP tells instances apart by it). */
  private readonly words = new Map<string, string>();
  /**
   * The names not in the last activate(), with when they were last in
   * the data (names from the file: loadedAt). The other names are in it.
   */
  private readonly idle = new Map<string, number>();
  /** Whether activate() was called: before it, no name is active. */
  private activated = false;
  private readonly loadedAt = Date.now();
  private lastCull = Date.now();

  constructor(serial: number, readonly max: number) {
    super(serial, max);
    for (const name of this.file.names()) this.noteWords(name);
    native.indomSet(serial, new Int32Array(0), []);
  }

  /** [number, name] of every name numbered, by number. */
  entries(): IterableIterator<[number, string]> {
    return this.file.pairs();
  }

  private noteWords(name: string): void {
    const space = name.indexOf(' ');
    if (space >= 0) this.words.set(name.slice(0, space), name);
  }

  /** Why `name` cannot be numbered beside the names known: another is the same up to its first space. */
  private clash(name: string): string | undefined {
    const space = name.indexOf(' ');
    const word = space < 0 ? name : name.slice(0, space);
    const other = space < 0 ? this.words.get(word) : this.file.lookup(word) !== undefined ? word : this.words.get(word);
    return other !== undefined && other !== name ? `'${other}' is the same up to the first space` : undefined;
  }

  /**
   * Make exactly `names` the instances served, numbering new ones; the
   * others keep their numbers, in the file, for when they come back.
   * Returns the names that cannot be numbered, with why.
   */
  activate(names: Iterable<string>, bound: { max: number; cullSeconds: number }): Array<[string, string]> {
    const refused: Array<[string, string]> = [];
    const now = Date.now();
    this.cull(bound.cullSeconds, false);
    const list = [...names];
    const wanted = new Set(list);
    // the names that leave the data now were last in it now
    for (const name of this.file.names()) if (!wanted.has(name) && !this.idle.has(name)) this.idle.set(name, this.activated ? now : this.loadedAt);
    this.activated = true;
    this.makeRoom(list, wanted, bound.max);
    const served: Array<[number, string]> = [];
    for (const name of list) {
      let inst = this.file.lookup(name);
      if (inst === undefined) {
        const why = this.file.size >= bound.max ? `the source already has ${bound.max} instance names (max_cached_instances)` : this.clash(name);
        if (why !== undefined) {
          refused.push([name, why]);
          continue;
        }
        inst = this.file.number(name);
        if (inst === undefined) {
          refused.push([name, 'no instance number is left']);
          continue;
        }
        this.noteWords(name);
      }
      this.idle.delete(name);
      served.push([inst, name]);
    }
    served.sort((a, b) => a[0] - b[0]);
    native.indomSet(this.serial, Int32Array.from(served, (s) => s[0]), served.map((s) => s[1]));
    return refused;
  }

  /** When `name` was last in the data (now, if it is in it). */
  private lastSeen(name: string, now: number): number {
    return this.idle.get(name) ?? (this.activated ? now : this.loadedAt);
  }

  /** Forget `names`. */
  private forget(names: string[]): void {
    this.file.forget(new Set(names));
    for (const name of names) {
      this.idle.delete(name);
      const space = name.indexOf(' ');
      if (space >= 0 && this.words.get(name.slice(0, space)) === name) this.words.delete(name.slice(0, space));
    }
  }

  /**
   * The cache is bounded: when the names of `list` would not fit, the
   * names seen longest ago (and not in `list`) are forgotten to make
   * room, even within the cull window.
   */
  private makeRoom(list: string[], wanted: Set<string>, max: number): void {
    let needed = 0;
    for (const n of list) if (this.file.lookup(n) === undefined) needed++;
    const excess = this.file.size + needed - max;
    if (excess <= 0) return;
    const now = Date.now();
    const victims = [...this.file.names()].filter((n) => !wanted.has(n)).sort((a, b) => this.lastSeen(a, now) - this.lastSeen(b, now));
    this.forget(victims.slice(0, excess));
  }

  /**
   * Forget the names not in the data for `seconds` (their numbers may be
   * given out again); at most every half window (and every minute)
   * unless `force`. Names read from the file count as seen when the PMDA
   * started. Returns how many went.
   */
  cull(seconds: number, force = true): number {
    const now = Date.now();
    if (!force && now - this.lastCull < Math.min(60000, seconds * 500)) return 0;
    this.lastCull = now;
    const cutoff = now - seconds * 1000;
    const gone = [...this.file.names()].filter((name) => (this.activated ? this.idle.has(name) && this.idle.get(name)! < cutoff : this.loadedAt < cutoff));
    this.forget(gone);
    return gone.length;
  }

}

/** The cache of `serial` in `map`, made the first time only. */
function once<T>(map: Map<number, T>, serial: number, make: () => T): T {
  let c = map.get(serial);
  if (c === undefined) {
    c = make();
    map.set(serial, c);
  }
  return c;
}

const instanceCaches = new Map<number, InstanceNumbers>();

/** The instance numbers of the source in `cluster`, read from their file the first time only. */
export function instanceNumbers(cluster: number): InstanceNumbers {
  const serial = indomCacheSerial(cluster);
  return once(instanceCaches, serial, () => new InstanceNumbers(serial, MAX_INST));
}

const metricCaches = new Map<number, MetricNumbers>();

/** The metric numbers of the source in `cluster`, read from their files the first time only. */
export function metricNumbers(cluster: number): MetricItems {
  const serial = metricCacheSerial(cluster);
  return once(metricCaches, serial, () => new MetricNumbers(serial, MAX_ITEM, cluster));
}

/** The texts one call into the shim reads at most (and one file more). */
const LOAD_BYTES = 1 << 20;

/**
 * Read the metric caches of the sources in `clusters` (and the records
 * of version 1 of those the domain's descriptors file has none of), a
 * batch of files per call into the shim rather than a readFileSync each:
 * thousands of sources at start. A file that cannot be read is a missing
 * one, as when it is read alone.
 */
export function loadMetricNumbers(clusters: Iterable<number>): void {
  const store = descStore();
  const serials = [...clusters].map(metricCacheSerial).filter((s) => !metricCaches.has(s));
  const files: string[] = [];
  /** Per file, the serial it is of, and whether it is the cache (else its records of version 1, which follow it). */
  const of: Array<[number, boolean]> = [];
  for (const serial of serials) {
    const file = cachePathOf(serial);
    files.push(file);
    of.push([serial, true]);
    if (store.has((serial + 1) / 2)) continue;
    files.push(`${file}.desc`);
    of.push([serial, false]);
  }
  let cache: string | null = null;
  const make = (serial: number, texts: [string | null, (string | null)?]): void => void metricCaches.set(serial, new MetricNumbers(serial, MAX_ITEM, (serial + 1) / 2, texts));
  for (let at = 0; at < files.length; ) {
    for (const r of native.readFilesAs(files, at, -1, 0, [], Infinity, LOAD_BYTES)) {
      const text = typeof r !== 'number' && typeof r[0] === 'string' ? r[0] : null;
      const [serial, isCache] = of[at]!;
      at++;
      if (!isCache) make(serial, [cache, text]);
      else if (of[at]?.[0] === serial) cache = text;
      else make(serial, [text]);
    }
  }
}

/** Write the descriptor records once, when `fn` (numbering many sources) is over. */
export function holdingRecords<T>(fn: () => T): T {
  const store = descStore();
  store.hold();
  try {
    return fn();
  } finally {
    store.release();
  }
}

const caches = new Map<number, NameCache>();

/**
 * The cache with this serial, loaded from its file the first time only:
 * pmdaCache keeps it in memory for the life of the process, and loading
 * it twice would duplicate every entry.
 */
export function nameCache(serial: number, max: number): NameCache {
  return once(caches, serial, () => (serial === 0 ? new ClusterCache() : new NameCache(serial, max)));
}

// PCP's bit layout of identifiers (pmapi.h: pmID_cluster, pmID_item,
// pmInDom_serial) and this PMDA's use of indom serials: 0 the sources,
// 2c the instances of the source in cluster c.
export const pmidCluster = (pmid: number): number => (pmid >>> 10) & 0xfff;
export const pmidItem = (pmid: number): number => pmid & 0x3ff;
export const indomSerial = (indom: number): number => indom & 0x3fffff;

/** The cluster of the source whose instances `indom` holds, if it is one. */
export function clusterOfIndom(indom: number): number | undefined {
  const serial = indomSerial(indom);
  return serial > 0 && serial % 2 === 0 ? serial / 2 : undefined;
}
