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
// The files live in $PCP_VAR_DIR/config/pmda/<domain>.<serial>.
// Unlike pmdajson, lookups consult the loaded cache itself, so numbering
// survives restarts: a name keeps its number whatever order sources,
// metrics and instances are found in.
import * as path from 'path';
import { native, C } from './native';
import { CacheFile } from './cachefile';

export const MAX_CLUSTER = 0xfff;
export const MAX_ITEM = 0x3ff;
export const MAX_INST = 0x7fffffff;

export class NumberingError extends Error {}

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

/** One persisted name -> number map, backed by a pmdaCache indom. */
export class NameCache implements Numbers {
  private readonly known = new Map<string, number>();
  private dirty = false;

  constructor(readonly serial: number, readonly max: number) {
    native.cacheResize(serial, max);
    native.cacheOp(serial, C.PMDA_CACHE_LOAD); // a missing file is a new cache
    for (const [inst, name] of native.cacheEntries(serial)) this.known.set(name, inst);
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
    const have = this.known.get(name);
    if (have !== undefined) return have;
    const inst = native.cacheStore(this.serial, C.PMDA_CACHE_ADD, name);
    if (inst < 0) throw new NumberingError(`cannot number '${name}' in cache ${this.serial}: ${native.errStr(inst)}`);
    this.known.set(name, inst);
    this.dirty = true;
    return inst;
  }

  /**
   * Mark one name active (numbering it if it is new), or inactive: for a
   * cache whose active names change one at a time (the sources). Each is
   * one pmdaCache call, where activate() makes one per name.
   */
  show(name: string): number {
    const inst = native.cacheStore(this.serial, C.PMDA_CACHE_ADD, name);
    if (inst < 0) throw new NumberingError(`cannot number '${name}' in cache ${this.serial}: ${native.errStr(inst)}`);
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

  /**
   * Mark exactly `names` active (pmdaInstance and pmdaFetch walk active
   * entries), numbering new ones; the others stay in the cache, inactive,
   * and keep their ids for when they come back. Returns the names
   * pmdaCache refused, with why (PCP wants instance names unique up to
   * their first space); the others are active all the same.
   */
  activate(names: Iterable<string>, bound?: { max: number; cullSeconds: number }): Array<[string, string]> {
    const refused: Array<[string, string]> = [];
    const now = Date.now();
    if (bound) this.cull(bound.cullSeconds, false);
    const list = [...names];
    const wanted = new Set(list);
    // the names that leave the data now were last in it now
    for (const name of this.known.keys()) if (!wanted.has(name) && !this.idle.has(name)) this.idle.set(name, this.activated ? now : this.loadedAt);
    this.activated = true;
    if (bound) this.makeRoom(list, wanted, bound.max);
    native.cacheOp(this.serial, C.PMDA_CACHE_INACTIVE);
    for (const name of list) {
      if (bound && !this.known.has(name) && this.known.size >= bound.max) {
        refused.push([name, `the source already has ${bound.max} instance names (max_cached_instances)`]);
        continue;
      }
      const inst = native.cacheStore(this.serial, C.PMDA_CACHE_ADD, name);
      if (inst < 0) {
        refused.push([name, native.errStr(inst)]);
        continue;
      }
      this.idle.delete(name);
      if (!this.known.has(name)) {
        this.known.set(name, inst);
        this.dirty = true;
      }
    }
    return refused;
  }

  /**
   * The known names that were not in the last activate(), with when they
   * were last in the data (names from the file: loadedAt). The names of
   * the last activate() are the other known names: a map of the few that
   * come and go, not of every name (a million values: 100,000 names).
   */
  private readonly idle = new Map<string, number>();
  /** Whether activate() was called: before it, no name is active. */
  private activated = false;
  private readonly loadedAt = Date.now();
  private lastCull = Date.now();

  /** When `name` was last in the data (now, if it is in it). */
  private lastSeen(name: string, now: number): number {
    return this.idle.get(name) ?? (this.activated ? now : this.loadedAt);
  }

  /**
   * The cache is bounded: when the names of `list` would not fit, the
   * names seen longest ago (and not in `list`) are culled to make room,
   * even within the cull window.
   */
  private makeRoom(list: string[], wanted: Set<string>, max: number): void {
    let needed = 0;
    for (const n of list) if (!this.known.has(n)) needed++;
    let excess = this.known.size + needed - max;
    if (excess <= 0) return;
    const now = Date.now();
    const victims = [...this.known.keys()].filter((n) => !wanted.has(n)).sort((a, b) => this.lastSeen(a, now) - this.lastSeen(b, now));
    for (const name of victims) {
      if (excess-- <= 0) break;
      native.cacheStore(this.serial, C.PMDA_CACHE_CULL, name);
      this.known.delete(name);
      this.idle.delete(name);
      this.dirty = true;
    }
    // culled entries keep their memory until the cache is reorganised
    native.cacheOp(this.serial, C.PMDA_CACHE_REORG);
  }

  /**
   * Forget the names not in the data for `seconds` (their ids may be
   * given out again); at most every half window (and every minute)
   * unless `force`. Names read from the cache file count as seen when the
   * PMDA started. Returns how many went.
   */
  cull(seconds: number, force = true): number {
    const now = Date.now();
    if (!force && now - this.lastCull < Math.min(60000, seconds * 500)) return 0;
    this.lastCull = now;
    const cutoff = now - seconds * 1000;
    let n = 0;
    for (const name of [...this.known.keys()]) {
      if (this.activated && !this.idle.has(name)) continue; // in the data
      if ((this.idle.get(name) ?? this.loadedAt) >= cutoff) continue;
      native.cacheStore(this.serial, C.PMDA_CACHE_CULL, name);
      this.known.delete(name);
      this.idle.delete(name);
      n++;
    }
    if (n > 0) {
      this.dirty = true;
      native.cacheOp(this.serial, C.PMDA_CACHE_REORG);
    }
    return n;
  }

  /** Write the cache file if anything new was numbered. */
  save(): void {
    if (!this.dirty) return;
    native.cacheOp(this.serial, C.PMDA_CACHE_SAVE);
    this.dirty = false;
  }
}

export const metricCacheSerial = (cluster: number): number => cluster * 2 - 1;
export const indomCacheSerial = (cluster: number): number => cluster * 2;

/** The cluster cache, with pmdajson's reserved entry 0. */
export class ClusterCache extends NameCache {
  constructor() {
    super(0, MAX_CLUSTER);
    if (this.size === 0) {
      this.number('__internal__');
    }
  }
}

/**
 * A source's metric numbers: the file alone, with no pmdaCache indom
 * behind it (src/pmda/cachefile.ts), as nothing but the numbers is needed.
 */
class MetricNumbers implements Numbers {
  private readonly file: CacheFile;

  constructor(readonly serial: number, max: number) {
    // where pmdaCache keeps its files, found once as it does
    cacheDir ??= path.join(native.getConfig('PCP_VAR_DIR') ?? '/var/lib/pcp', 'config', 'pmda');
    const domain = (native.indom(0) >>> 22) & 0x1ff;
    this.file = new CacheFile(path.join(cacheDir, `${domain}.${serial}`), max);
  }

  get size(): number {
    return this.file.size;
  }

  lookup(name: string): number | undefined {
    return this.file.lookup(name);
  }

  number(name: string): number {
    const inst = this.file.number(name);
    if (inst === undefined) throw new NumberingError(`cannot number '${name}' in cache ${this.serial}: no number is left`);
    return inst;
  }

  save(): void {
    this.file.save();
  }
}

const metricCaches = new Map<number, MetricNumbers>();
let cacheDir: string | undefined;

/** The metric numbers of the source in `cluster`, read from their file the first time only. */
export function metricNumbers(cluster: number): Numbers {
  const serial = metricCacheSerial(cluster);
  let c = metricCaches.get(serial);
  if (!c) {
    c = new MetricNumbers(serial, MAX_ITEM);
    metricCaches.set(serial, c);
  }
  return c;
}

const caches = new Map<number, NameCache>();

/**
 * The cache with this serial, loaded from its file the first time only:
 * pmdaCache keeps it in memory for the life of the process, and loading
 * it twice would duplicate every entry.
 */
export function nameCache(serial: number, max: number): NameCache {
  let c = caches.get(serial);
  if (!c) {
    c = serial === 0 ? new ClusterCache() : new NameCache(serial, max);
    caches.set(serial, c);
  }
  return c;
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
