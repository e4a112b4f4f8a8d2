// Discovery: every directory below a configured directory that holds a
// metadata.json file is a source; so is one holding only a schema.json
// (the systemtap bridge's format, see src/format/schema.ts). Symbolic links to directories are not
// followed (no loops, no escaping the configured trees), as os.walk does
// in pmdajson. Trusted directories, and their metadata.json, must be owned
// by root and not writable by group or others; that is checked at every
// discovery, not once.
import * as fs from 'fs';
import * as path from 'path';
import { native } from '../native';

export const METADATA = 'metadata.json';
/** The original systemtap-bridge format: a JSON Schema instead of metadata. */
export const SCHEMA = 'schema.json';

export interface Found {
  dir: string;
  trusted: boolean;
  /** The file describing the source: metadata.json, else schema.json. */
  describedBy: string;
  /** The owner of `dir` as the walk found it (lstat), for one right below a configured directory. */
  owner?: number;
}

/** Why a trusted path is not trustworthy, or undefined when it is. */
export function untrustworthy(file: string): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    return `cannot stat ${file}: ${(e as Error).message}`;
  }
  if (st.uid !== 0 || (st.mode & 0o022) !== 0) {
    return `${file} must be owned by root and not group or world-writable`;
  }
  return undefined;
}

/**
 * The trusted sources of `found` whose directories and files describing
 * them are trustworthy (as untrustworthy says, with the stat of all of
 * them made at once); the others are reported to `problem`.
 */
function trustworthy(found: Found[], problem: (key: string, message: string) => void): Found[] {
  const files = found.flatMap((f) => [f.dir, path.join(f.dir, f.describedBy)]);
  const st = native.owners(files, true);
  return found.filter((f, i) => {
    let why: string | undefined;
    for (const j of [2 * i, 2 * i + 1]) {
      const uid = st[2 * j]!;
      // a file that cannot be looked at: said as untrustworthy says it
      why = uid < 0 ? untrustworthy(files[j]!) : uid !== 0 || (st[2 * j + 1]! & 0o022) !== 0 ? `${files[j]!} must be owned by root and not group or world-writable` : undefined;
      if (why) break;
    }
    if (why) problem(`trust:${f.dir}`, `skipping trusted source ${f.dir}: ${why}`);
    return !why;
  });
}

/**
 * Does `dir` have an entry `name` that is not a directory? A FIFO or a
 * device counts (reading it is refused, and logged, as its author); a
 * symbolic link counts whatever it points to, unresolved here: resolving
 * it as root would tell its owner about files they cannot see.
 */
function hasFile(entries: fs.Dirent[], name: string): boolean {
  const e = entries.find((d) => d.name === name);
  return e !== undefined && !e.isDirectory();
}

/**
 * A walk reads at most about this many directories. Each owner of the
 * directories right below a configured one gets an equal share, spent on
 * that owner's trees equally, so one user can only hide their own sources.
 */
export const MAX_DIRECTORIES = 10000;

/**
 * Walk `roots`, reporting source directories in a stable (sorted) order.
 * `problem(key, message)` receives unreadable directories and trust
 * failures.
 */
export function discover(
  roots: readonly string[],
  trusted: boolean,
  problem: (key: string, message: string) => void,
  out: Found[],
  visit: (dir: string) => void = () => {},
): void {
  // sources found, their trust checked once the walk is over
  const sources: Found[] = [];
  /** Read `dir`, owned by `owner` if known; false if it cannot be. Reports it as a source if it is one. */
  const read = (dir: string, depth: number, owner?: number): fs.Dirent[] | undefined => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      // a configured directory not made yet: said once, as Install says it
      if (depth === 0 && err.code === 'ENOENT') problem(`walk:${dir}`, `${trusted ? 'trusted_directory_list' : 'directory_list'} entry ${dir} does not exist: no source is found there until it is made`);
      else problem(`walk:${dir}`, `cannot read directory ${dir}: ${err.message}`);
      visit('');
      return undefined;
    }
    visit(dir);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const describedBy = hasFile(entries, METADATA) ? METADATA : hasFile(entries, SCHEMA) ? SCHEMA : undefined;
    if (describedBy) sources.push(owner === undefined ? { dir, trusted, describedBy } : { dir, trusted, describedBy, owner });
    return entries;
  };
  const walk = (dir: string, depth: number, budget: { left: number }, owner?: number): void => {
    if (budget.left-- <= 0) {
      problem(`walk:limit:${dir}`, `more directories below ${dir} than its share of ${MAX_DIRECTORIES}: the rest are not searched for sources`);
      return;
    }
    const entries = read(dir, depth, owner);
    if (!entries || depth >= 32) return;
    for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name), depth + 1, budget);
  };
  for (const root of roots) {
    const top = path.resolve(root);
    const entries = read(top, 0);
    if (!entries) continue;
    // the budget is shared out by owner first, then equally among each
    // owner's trees: however many directories one user makes here, they
    // use up only that user's share
    const byOwner = new Map<number, string[]>();
    const dirs = entries.filter((e) => e.isDirectory()).map((e) => path.join(top, e.name));
    const owners = native.owners(dirs, false);
    dirs.forEach((dir, i) => {
      // one gone meanwhile (-errno) is walked as nobody's, and found missing
      const uid = Math.max(-1, owners[2 * i]!);
      const list = byOwner.get(uid) ?? [];
      list.push(dir);
      byOwner.set(uid, list);
    });
    const share = Math.floor(MAX_DIRECTORIES / Math.max(1, byOwner.size));
    for (const [uid, list] of byOwner) {
      const each = Math.max(1, Math.floor(share / list.length));
      for (const dir of list) walk(dir, 1, { left: each }, uid < 0 ? undefined : uid);
    }
  }
  for (const f of trusted ? trustworthy(sources, problem) : sources) out.push(f);
}

/**
 * Whether the directory trees may have changed since the last walk, from
 * inotify events read synchronously: the kernel queued them as the changes
 * happened, so nothing done before a fetch is missed. Events on files
 * other than metadata.json and schema.json do not count (data freshness is
 * a stat per source). Without inotify, or with a directory that could not
 * be watched (or does not exist yet), every discovery walks.
 */
export interface WatchApi {
  watchInit(): number;
  watchAdd(dir: string): number;
  watchRead(): Array<[number, string, number]> | null;
  watchNotify?(fn: () => void): number;
  /** Only events of these files' names (and of directories) wake watchNotify's fn (native/watch.cc). */
  watchNames?(names: string[]): void;
  watchFile?(fd: number): number;
  watchRemove?(wd: number): number;
}

/** A data file kept open whose own inode is watched (src/pmda/sources/datafile.ts). */
export interface WatchedFile {
  readonly path: string;
}

/** inotify watches are root's, shared with every root daemon: use few. */
export const MAX_WATCHES = 4096;
/**
 * Kept data files whose inodes are watched, at most: a quarter of root's
 * watches, as directories take theirs (the rest are checked with fstat).
 */
export const MAX_FILE_WATCHES = Math.min(MAX_WATCHES, Math.floor(maxUserWatches() / 4));

function maxUserWatches(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/fs/inotify/max_user_watches', 'utf8')) || 0;
  } catch {
    return 0;
  }
}

/** Beyond MAX_WATCHES directories, the trees are walked this often. */
export const OVERFLOW_WALK_MS = 10000;

export class Watcher {
  private readonly enabled: boolean;
  /** Watch descriptors held, and their directories: a directory deleted loses its watch (IN_IGNORED). */
  private readonly watched = new Map<number, string>();
  /** The same, by directory. */
  private readonly watchOf = new Map<string, number>();
  /** Watch descriptors of kept data files' inodes, and the file (a set: a file kept under two names has one watch). */
  private readonly fileWatches = new Map<number, WatchedFile | Set<WatchedFile>>();
  private fileWatchCount = 0;
  /**
   * Told, as events are read, of the files they name in watched
   * directories, and whether any event may have changed where other
   * names lead (src/pmda/sources/datafile.ts): a directory's own event, one
   * naming a directory or a file describing sources, or a lost event.
   */
  onChange: (files: Set<string>, anything: boolean) => void = () => {};
  /** Files (other than metadata) that events named since takeTouched. */
  private touched = new Set<string>();
  /** Set when more directories than MAX_WATCHES were met. */
  overflowed = false;
  private lastWalk = 0;
  /** The last walk watched every directory it met. */
  private complete = false;
  private walkComplete = true;
  /** Something relevant happened since the last walk. */
  private pending = true;

  constructor(
    private readonly api: WatchApi,
    private readonly bits: { IN_ISDIR: number; IN_CLOSE_WRITE: number; IN_IGNORED: number; IN_Q_OVERFLOW: number },
  ) {
    this.enabled = api.watchInit() >= 0;
  }

  /** Must the trees be walked now? */
  changed(): boolean {
    if (!this.enabled) return true;
    this.drain();
    if (this.overflowed) {
      // too many directories to watch: walk again only now and then
      return Date.now() - this.lastWalk >= OVERFLOW_WALK_MS;
    }
    return this.pending || !this.complete;
  }

  /** Call `fn` when events are queued, between PDUs; false if that cannot be. */
  notify(fn: () => void): boolean {
    return this.enabled && this.api.watchNotify !== undefined && this.api.watchNotify(fn) === 0;
  }

  /**
   * Between PDUs, wake only for events of directories, of the files that
   * describe sources, and of files by these names (the sources' data
   * files): what happens to other files concerns no source (see drain).
   */
  hear(dataNames: Iterable<string>): void {
    if (this.enabled) this.api.watchNames?.([METADATA, SCHEMA, ...new Set(dataNames)]);
  }

  /** The files other than metadata that events named since the last call. */
  takeTouched(): Set<string> {
    const t = this.touched;
    if (t.size > 0) this.touched = new Set();
    return t;
  }

  /**
   * Is `dir` watched, and so is every directory above it up to the
   * configured ones: does inotify report whatever changes where a name
   * in `dir` leads?
   */
  watches(dir: string): boolean {
    return this.enabled && this.complete && !this.overflowed && this.watchOf.has(dir);
  }

  /** Did the last walk watch every directory it met? */
  watchesAll(): boolean {
    return this.enabled && this.complete && !this.overflowed;
  }

  /** Read the queued events. */
  drain(): void {
    if (!this.enabled) return;
    const events = this.api.watchRead();
    if (!events) return;
    const files = new Set<string>();
    let anything = false;
    for (const [mask, name, wd] of events) {
      // a kept data file's inode changed (or its watch went): its names are touched
      const held = this.fileWatches.get(wd);
      if (held) {
        for (const f of held instanceof Set ? held : [held]) {
          files.add(f.path);
          if (this.touched.size < MAX_WATCHES) this.touched.add(f.path);
        }
        if (mask & this.bits.IN_IGNORED) this.dropFileWatch(wd);
        continue;
      }
      // the end of a watch given back: nothing changed
      if (mask & this.bits.IN_IGNORED && !this.watched.has(wd)) continue;
      if (mask & this.bits.IN_IGNORED) this.unwatch(wd);
      // a file other than the two that describe sources (created, written,
      // renamed, removed) changes nothing a walk finds: walks look for
      // directories, and readdir's entries for links are not directories
      const otherFile = name !== '' && (mask & this.bits.IN_ISDIR) === 0 && name !== METADATA && name !== SCHEMA;
      const dir = this.watched.get(wd);
      if (!otherFile || dir === undefined || mask & this.bits.IN_Q_OVERFLOW) {
        this.pending = true;
        anything = true;
        continue;
      }
      const file = path.join(dir, name);
      files.add(file);
      if (this.touched.size < MAX_WATCHES) this.touched.add(file);
    }
    this.onChange(files, anything);
  }

  /**
   * Watch the inode of `fd`, kept open as `file`: every write, truncation,
   * change of times, mode or links, through any name, is then an event
   * naming `file.path`. Its watch descriptor, or -1 (no inotify, not a
   * local file system, too many watches).
   */
  watchFile(fd: number, file: WatchedFile): number {
    if (!this.enabled || !this.api.watchFile || this.fileWatchCount >= MAX_FILE_WATCHES) return -1;
    const wd = this.api.watchFile(fd);
    if (wd < 0) return -1;
    const held = this.fileWatches.get(wd);
    if (!held) {
      this.fileWatches.set(wd, file);
      this.fileWatchCount++;
    } else if (held instanceof Set) held.add(file);
    else if (held !== file) this.fileWatches.set(wd, new Set([held, file]));
    return wd;
  }

  /** `file` is no longer kept: its inode's watch goes with the last file that held it. */
  unwatchFile(wd: number, file: WatchedFile): void {
    const held = this.fileWatches.get(wd);
    if (!held) return;
    if (held instanceof Set) {
      held.delete(file);
      if (held.size > 0) return;
    } else if (held !== file) return;
    this.dropFileWatch(wd);
    this.api.watchRemove?.(wd);
  }

  private dropFileWatch(wd: number): void {
    if (this.fileWatches.delete(wd)) this.fileWatchCount--;
  }

  private unwatch(wd: number): void {
    const dir = this.watched.get(wd);
    this.watched.delete(wd);
    if (dir !== undefined && this.watchOf.get(dir) === wd) this.watchOf.delete(dir);
  }

  /** A walk starts: directories it visits are watched. */
  begin(): void {
    this.lastWalk = Date.now();
    this.overflowed = false;
    this.pending = false;
    this.walkComplete = true;
  }

  /** The walk visited `dir` ('' for a directory that could not be read). */
  visit(dir: string): void {
    if (!this.enabled) return;
    if (dir === '') {
      this.walkComplete = false;
      return;
    }
    if (this.watched.size >= MAX_WATCHES) {
      this.overflowed = true;
      this.walkComplete = false;
      return;
    }
    // a directory already watched gives its watch back; a new one (or one
    // deleted and made again under the same name) gets a new watch
    const wd = this.api.watchAdd(dir);
    if (wd < 0) this.walkComplete = false;
    else {
      this.watched.set(wd, dir);
      this.watchOf.set(dir, wd);
    }
  }

  /** The walk visited all of `dirs` (a warm start's), watched already: `wds`, each one's watch descriptor or -errno (native/warmlook.cc). */
  adopt(dirs: string[], wds: Int32Array): void {
    if (!this.enabled) return;
    dirs.forEach((dir, i) => {
      const wd = wds[i]!;
      if (wd < 0) this.walkComplete = false;
      else {
        this.watched.set(wd, dir);
        this.watchOf.set(dir, wd);
      }
    });
  }

  /** The walk is over. */
  end(): void {
    this.complete = this.walkComplete;
  }

  /** Walk at the next discovery whatever the events say. */
  force(): void {
    this.pending = true;
    this.lastWalk = 0;
  }
}
