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
import { authorOf, sourceAuthor, authorOwning, ROOT, Author } from './access';
import { fileStamp, readFilesAs } from './read';
import * as log from '../limits/log';
import { STATIC } from '../control';

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

  /** The fetch reads what changed itself: the events queued for between PDUs are dropped. */
  dropTouched(): void {
    this.watcher.takeTouched();
  }

  /** The sources whose data files events named since the last call (the queue is emptied). */
  private takeTouched(): Source[] {
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
    const owners = this.ownersOf(todo.map((w) => w.f));
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
      readFilesAs(b.author, b.files, this.config.maxDataBytes, (i, text) => {
        const w = b.into[i]!;
        w.described = readMetadata(w.f.dir, w.f.describedBy, this.config.maxDataBytes, w.author, this.config, text);
      });
    }
  }

  /**
   * The owners of the untrusted sources' metadata (lstat) and of their
   * directories (the walk's lstat, or lstat now), looked up at once:
   * two numbers per source, -1 for one not looked up here (a configured
   * directory, followed, and trusted sources), below 0 if it cannot be.
   */
  private ownersOf(found: Found[]): Float64Array {
    const files: string[] = [];
    const dirs: string[] = [];
    const top = new Set(this.config.directoryList.map((d) => path.resolve(d)));
    for (const f of found) if (!f.trusted) files.push(path.join(f.dir, f.describedBy));
    for (const f of found) if (!f.trusted && f.owner === undefined && !top.has(f.dir)) dirs.push(f.dir);
    const fileOwners = native.owners(files, false);
    const dirOwners = native.owners(dirs, false);
    const out = new Float64Array(2 * found.length).fill(-1);
    let file = 0;
    let dir = 0;
    found.forEach((f, i) => {
      if (f.trusted) return;
      out[2 * i] = fileOwners[2 * file++]!;
      if (f.owner !== undefined) out[2 * i + 1] = f.owner;
      else if (!top.has(f.dir)) out[2 * i + 1] = dirOwners[2 * dir++]!;
    });
    return out;
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
