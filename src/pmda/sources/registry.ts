// The registry: the sources being served, found by discovery and kept
// in step with it. A walk of the configured directories (when inotify
// says something changed) adds new sources, re-reads changed metadata
// and drops what went away, and applies the name policy: a source's name
// is its prefix (or its directory's name), a valid PCP name, not one of
// this PMDA's own, and not taken by another source. Numbering (clusters)
// is src/pmda/numbering/numbering.ts's; the author of each source, src/pmda/sources/access.ts's.
import * as fs from 'fs';
import * as path from 'path';
import { native, C } from '../native';
import type { Config } from '../config';
import { discover, Found, Watcher, MAX_WATCHES, OVERFLOW_WALK_MS } from './discovery';
import { Source } from './source';
import { readMetadata } from './describe';
import { nameCache, loadMetricNumbers, holdingRecords, MAX_CLUSTER, NumberingError, NameCache } from '../numbering/numbering';
import { validName } from '../../format/metadata';
import { authorOf, sourceAuthor, authorOwning, ownersOf, ROOT, Author } from './access';
import { fileStamp, readFilesAs } from './read';
import * as log from '../limits/log';
import { STATIC } from '../control';
import { Kept, KeptSource, KeptSources, KeptTables, RACY_MS, changedSince, foundOf, keptOf, stampDirs, stampMetadata } from './warmstart';

type Described = ReturnType<typeof readMetadata>;
/** A source to add (new, or its metadata changed), its author, and its metadata read and parsed. */
interface Wanted {
  f: Found;
  author: Author;
  described?: Described;
}

export class Registry {
  readonly byDir = new Map<string, Source>();
  readonly byName = new Map<string, Source>();
  readonly byCluster = new Map<number, Source>();
  /** The cluster cache, also the indom of the control metrics. */
  readonly clusters: NameCache;
  /** Sources were added or removed since the tables were last built. */
  changed = true;
  /** How many of the sources have a data-exec command or a data-url. */
  commanded = 0;
  /** Directories whose metadata could not be used, by metadata stamp. */
  private readonly rejected = new Map<string, string>();
  /** Stats of sources being reloaded, carried over to their new Source. */
  private readonly reloads = new Map<string, Source['stats']>();
  private readonly watcher = new Watcher(native, C);
  /** Sources of a warm start not made again yet: their number in `kept`, by cluster (src/pmda/sources/warmstart.ts). */
  private readonly dormant = new Map<number, number>();
  private kept: KeptSources | undefined;
  /** When each source's metadata was read, for a warm start (src/pmda/sources/warmstart.ts). */
  private readonly readAt = new Map<string, number>();
  /** The directories the last walk visited, when it began, and the problems it logged. */
  private walked: string[] = [];
  private walkedAt = 0;
  private walkProblems = 0;

  constructor(
    private readonly root: string,
    private readonly config: Config,
    /** Told of every source added and removed (the command scheduler). */
    private readonly onAdd: (s: Source) => void = () => {},
    private readonly onRemove: (s: Source) => void = () => {},
  ) {
    this.clusters = nameCache(0, MAX_CLUSTER);
    this.clusters.save();
    // a data file kept open is let go of as soon as an event may concern it
    this.watcher.onChange = (files, anything) => {
      if (!anything && files.size === 0) return;
      for (const src of this.byCluster.values()) if (anything || files.has(src.dataPath)) src.file.touched();
    };
    // active entries are the sources served: none yet
    this.clusters.hideAll();
  }

  get size(): number {
    return this.byCluster.size;
  }

  /** The sources by cluster number. */
  sorted(): Source[] {
    return [...this.byCluster.values()].sort((a, b) => a.cluster - b.cluster);
  }

  /**
   * Call `fn` with the sources whose data files were written or replaced,
   * as inotify tells it, between PDUs. False when it cannot be.
   */
  onData(fn: (sources: Source[]) => void): boolean {
    return this.watcher.notify(() => {
      this.watcher.drain();
      const sources = this.takeTouched();
      if (sources.length > 0) fn(sources);
    });
  }

  /** The sources whose data files events named since the last call (the queue is emptied). */
  takeTouched(): Source[] {
    const files = this.watcher.takeTouched();
    if (files.size === 0) return [];
    const out: Source[] = [];
    for (const src of this.byCluster.values()) if (files.has(src.dataPath)) out.push(src);
    return out;
  }

  /** Walk again at the next discovery (a schema generation changed, a reload). */
  force(): void {
    this.watcher.force();
  }

  /** Read these sources' metadata again at the next discovery (pmstore json.control.reload). */
  reload(sources: Source[]): void {
    for (const src of sources) {
      src.stats.reloads++;
      src.stale = true;
      this.reloads.set(src.dir, src.stats);
    }
    this.watcher.force();
  }

  /**
   * Walk the configured directories, if anything in them changed since the
   * last walk; add, update and remove sources.
   */
  discover(): void {
    if (!this.watcher.changed()) return;
    this.wake(); // (then walks whatever it finds)
    this.watcher.begin();
    const found: Found[] = [];
    this.walked = [];
    this.walkedAt = Date.now();
    this.walkProblems = 0;
    const visit = (dir: string): void => {
      this.watcher.visit(dir);
      if (dir !== '') this.walked.push(dir);
    };
    const problem = (key: string, message: string): void => {
      this.walkProblems++;
      log.problem(key, message);
    };
    discover(this.config.trustedDirectoryList, true, problem, found, visit);
    discover(this.config.directoryList, false, problem, found, visit);
    this.watcher.end();
    if (this.watcher.overflowed) log.problem('watch:', `more than ${MAX_WATCHES} directories below the configured ones: only ${MAX_WATCHES} are watched, and sources are looked for every ${OVERFLOW_WALK_MS / 1000} s instead of at every change`);
    const seen = new Set<string>();
    for (const f of found) seen.add(f.dir);
    // gone first: a directory renamed keeps its source name for the new one
    for (const s of [...this.byDir.values()]) if (!seen.has(s.dir)) this.remove(s);
    for (const dir of [...this.rejected.keys()]) if (!seen.has(dir)) this.rejected.delete(dir);
    // what to read: sources new or changed, each with its author; their
    // metadata is then read in one batch per author
    const wanted = new Map<string, Wanted>();
    for (const f of found) {
      if (wanted.has(f.dir)) continue; // listed twice: the trusted listing wins
      if (f.trusted) log.resolved(`trust:${f.dir}`); // trustworthy again: log the next lapse
      const have = this.byDir.get(f.dir);
      if (have && have.trusted === f.trusted && !have.stale && this.metadataStamp(f.dir, f.describedBy) === have.metadataStamp) continue;
      wanted.set(f.dir, { f, author: ROOT });
    }
    this.readAll(wanted);
    const done = new Set<string>();
    for (const f of found) {
      if (done.has(f.dir)) continue;
      done.add(f.dir);
      const w = wanted.get(f.dir);
      if (!w) continue; // unchanged
      const have = this.byDir.get(f.dir);
      if (have) this.remove(have);
      if (w.described) this.add(f, w.author, w.described);
    }
    this.attachAll();
    // once for every source numbered by this walk
    this.clusters.save();
    this.watcher.hear(Array.from(this.byCluster.values(), (s) => path.basename(s.dataPath)));
    if (this.readAt.size > this.byDir.size) for (const dir of this.readAt.keys()) if (!this.byDir.has(dir)) this.readAt.delete(dir);
  }

  /**
   * A warm start from `k` (src/pmda/sources/warmstart.ts): if its directories (watched first) and metadata
   * files are as kept, its sources are served, each made when first needed (wake). Else why not.
   */
  warm(k: Kept): string | undefined {
    this.watcher.begin();
    const kept = new KeptSources(k);
    let walked: string[] = [];
    const changed = changedSince(k, kept, (dirs, wds) => {
      this.watcher.adopt(dirs, wds);
      walked = dirs;
    });
    this.watcher.end();
    if (changed !== undefined || !this.watcher.watchesAll()) {
      this.watcher.force();
      return changed !== undefined ? `${changed} changed since it was kept` : 'its directories cannot all be watched';
    }
    this.kept = kept;
    this.walked = walked;
    this.walkedAt = Date.now();
    // the tables are the kept ones until the last source is made
    this.changed = false;
    const commanded: number[] = [];
    for (let i = 0; i < kept.count; i++) {
      this.dormant.set(kept.cluster(i), i);
      if (kept.commanded(i)) commanded.push(kept.cluster(i));
    }
    this.watcher.hear(kept.dataNames());
    // commands keep their own schedule: those sources are made now
    this.wake(commanded);
    return undefined;
  }

  /** Give up a warm start that failed part way: the next discovery walks. */
  cold(): void {
    this.dormant.clear();
    this.kept = undefined;
    this.changed = true;
    this.watcher.force();
  }

  /** How many sources of a warm start are still to be made. */
  get dormantCount(): number {
    return this.dormant.size;
  }

  /** The clusters of at most `n` sources of a warm start still to be made. */
  dormantClusters(n: number): number[] {
    return [...this.dormant.keys()].slice(0, n);
  }

  /**
   * Make the sources of a warm start in `clusters` (all if not given) as a walk would, read as their authors
   * now. One whose metadata or number is not as kept is left to a walk, once all others hold their names:
   * true if one was (the caller discovers).
   */
  wake(clusters?: Iterable<number>): boolean {
    if (this.dormant.size === 0) return false;
    const kept = this.kept!;
    const changed = this.changed;
    const wanted = new Map<string, Wanted>();
    const index: number[] = [];
    for (const cluster of clusters ?? [...this.dormant.keys()]) {
      const i = this.dormant.get(cluster);
      if (i === undefined) continue;
      this.dormant.delete(cluster);
      const f = foundOf(kept.source(i));
      wanted.set(f.dir, { f, author: ROOT });
      index.push(i);
    }
    this.readAll(wanted);
    const ws = [...wanted.values()];
    const same = kept.unchanged(index, ws.map((w) => w.described?.stamp));
    let stale = same.includes(false);
    ws.forEach((w, j) => same[j] && this.add(w.f, w.author, w.described!));
    this.attachAll();
    if (ws.some((w, j) => this.byDir.get(w.f.dir)?.cluster !== kept.cluster(index[j]!))) stale = true;
    this.changed = changed || stale || this.dormant.size === 0;
    if (stale) {
      this.wake();
      this.watcher.force();
    }
    if (this.dormant.size === 0) this.kept = undefined;
    return stale;
  }

  /** What a warm start needs, to keep; why it cannot be; or undefined while one is being made (what was kept holds). */
  keep(key: string, tables: KeptTables | undefined): Kept | string | undefined {
    if (this.dormant.size > 0) return undefined;
    // (events are left for the PDUs: a change since the walk shows in the stamps, as racy)
    if (!this.watcher.watchesAll()) return 'the directories are not all watched';
    if (this.walkProblems > 0 || this.rejected.size > 0) return 'the last walk logged a problem';
    if (!tables) return 'a metric name clashed';
    const dirStamps = stampDirs(this.walked, this.walkedAt);
    if (!dirStamps) return `a directory changed less than ${RACY_MS} ms before the last walk, or since`;
    const served = [...this.byCluster.values()];
    const readAt = served.map((s) => this.readAt.get(s.dir) ?? Infinity);
    if (served.some((s) => s.stale || s.md.problems.length > 0)) return 'a source has a problem, or is being reloaded';
    const mdStamps = stampMetadata(served.map((s) => s.metadataFile), served.map((s) => s.metadataStamp), readAt);
    if (typeof mdStamps === 'string') return `${mdStamps} changed less than ${RACY_MS} ms before it was read, or since, or is not a regular file`;
    const sources: KeptSource[] = served.map((s) => ({ dir: s.dir, trusted: s.trusted, describedBy: path.basename(s.metadataFile), cluster: s.cluster, data: path.basename(s.dataPath), commanded: s.commanded }));
    return keptOf(key, this.walked, dirStamps, sources, mdStamps, tables) ?? 'a path or a text holds a NUL';
  }

  /**
   * The authors of the `wanted` sources, and their metadata read in
   * batches per author (src/pmda/sources/read.ts, readFilesAs) and
   * parsed; a source refused for its author, or rejected before for the
   * same metadata, is left unread.
   */
  private readAll(wanted: Map<string, Wanted>): void {
    const batches = new Map<string, { author: Author; files: string[]; into: Wanted[] }>();
    const todo = [...wanted.values()].filter(({ f }) => !(this.rejected.has(f.dir) && this.rejected.get(f.dir) === this.metadataStamp(f.dir, f.describedBy)));
    const owners = ownersOf(todo.map((w) => w.f), this.config.directoryList);
    todo.forEach((w, i) => {
      const { f } = w;
      // the author: the owner of metadata.json (of the link, if it is one),
      // who must own its directory too (src/pmda/sources/access.ts); checked at
      // every walk that meets the source, so a chown that fixes it counts
      if (!f.trusted) {
        const [owner, dirOwner] = [owners[2 * i]!, owners[2 * i + 1]!];
        // looked at again alone if either could not be looked at, or is a configured directory (followed)
        const a = owner >= 0 && dirOwner >= 0 ? authorOwning(f.dir, f.describedBy, owner, dirOwner) : sourceAuthor(f.dir, f.describedBy, this.config.directoryList.some((d) => path.resolve(d) === f.dir));
        if ('error' in a) {
          this.walkProblems++;
          log.problem(`${f.dir}:author`, a.error);
          return;
        }
        log.resolved(`${f.dir}:author`);
        w.author = a;
      }
      const key = `${w.author.uid}:${w.author.gid}:${w.author.groups.join(',')}`;
      let b = batches.get(key);
      if (!b) batches.set(key, (b = { author: w.author, files: [], into: [] }));
      b.files.push(path.join(f.dir, f.describedBy));
      b.into.push(w);
    });
    for (const b of batches.values()) {
      const at = Date.now();
      readFilesAs(b.author, b.files, this.config.maxDataBytes, (i, text) => {
        const w = b.into[i]!;
        this.readAt.set(w.f.dir, at);
        w.described = readMetadata(w.f.dir, w.f.describedBy, this.config.maxDataBytes, w.author, this.config, text);
      });
    }
  }

  private metadataStamp(dir: string, describedBy: string): string {
    try {
      return fileStamp(fs.statSync(path.join(dir, describedBy)));
    } catch {
      return '';
    }
  }

  private add(f: Found, author: Author, r: Described): void {
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
      // active in the sources indom (the cluster cache) at once: while
      // few caches exist yet, pmdaCache finds this one quickly
      cluster = this.clusters.show(name);
    } catch (e) {
      this.rejected.set(f.dir, r.stamp);
      log.problem(`${f.dir}:cluster`, `skipping source ${f.dir}: ${(e as NumberingError).message}`);
      return;
    }
    this.rejected.delete(f.dir);
    log.resolved(`${f.dir}:name`);
    const s = new Source(f.dir, f.trusted, author, name, r.md, r.stamp, f.describedBy, r.validate);
    if (path.dirname(s.dataPath) === s.dir) {
      s.file.mayKeep = () => this.watcher.watches(s.dir);
      s.file.watcher = this.watcher;
    }
    this.onAdd(s);
    const carried = this.reloads.get(f.dir);
    if (carried) {
      s.stats = carried;
      this.reloads.delete(f.dir);
    }
    this.byDir.set(s.dir, s);
    this.byName.set(s.name, s);
    this.byCluster.set(cluster, s);
    if (s.commanded) this.commanded++;
    this.changed = true;
    Source.epoch++;
    this.unattached.push([s, cluster]);
  }

  /**
   * Sources named and numbered by this walk, whose metrics are numbered
   * after it: every cluster is in the sources indom before the first
   * metric cache is made, and pmdaCache, which looks its caches up in a
   * list, newest first, finds the sources indom at once.
   */
  private readonly unattached: Array<[Source, number]> = [];

  private attachAll(): void {
    // their metric caches read at once, not one file at a time, and the
    // descriptor records written once
    loadMetricNumbers(this.unattached.map(([, cluster]) => cluster));
    holdingRecords(() => {
      for (const [s, cluster] of this.unattached) {
        s.attach(cluster, this.config.maxMetrics);
        log.info(`added source '${s.name}' from ${s.dir} (cluster ${cluster}, ${s.metrics.size} metrics${s.trusted ? ', trusted' : `, as ${s.author.name}`})`, `${s.dir}:`);
      }
    });
    this.unattached.length = 0;
  }

  private remove(s: Source): void {
    // logged while it is still known whose it was
    log.info(`removed source '${s.name}' (${s.dir})`, `${s.dir}:`);
    this.byDir.delete(s.dir);
    this.readAt.delete(s.dir);
    this.byName.delete(s.name);
    this.byCluster.delete(s.cluster);
    if (s.commanded) this.commanded--;
    this.clusters.hide(s.name);
    Source.epoch++;
    s.forgetProblems();
    s.close();
    this.changed = true;
    this.onRemove(s);
  }

  private readonly owners = new Map<string, string>();
  /** Whose a log key is: the author of the source (or directory) it names. */
  whose(key: string): string | undefined {
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
}
