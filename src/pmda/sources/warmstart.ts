// A warm start: what the last run's discovery read (the directories it
// walked, each source's metadata as its author wrote it, the names and
// numbers given out, the descriptor and namespace tables) is kept in a
// file of root's beside the numbering caches, and used again at the next
// start if nothing it read has changed since: every directory walked and
// every metadata file has the same lstat (device, inode, mode, owner,
// group, size, modification and change times) as when it was kept. The
// tables are handed to the shim at once; each source is made again from
// its kept metadata (as at any walk, with the author its owner is today)
// when a PDU first needs it, and all of them soon after the start. Data
// is never kept: it is read as its author at the first fetch, as always.
// Anything else (a changed or racy stamp, another configuration, another
// build, a problem the last walk logged) makes a cold start: the walk.
import * as fs from 'fs';
import * as v8 from 'v8';
import { MAX_WATCHES, type Found } from './discovery';
import { native, NATIVE_MODULE } from '../native';
import { domainFile, metricCacheSerial } from '../numbering/cachefile';
import { stampOf } from './stamp';

/** Bumped whenever what is kept changes shape. */
export const FORMAT = 1;

/**
 * A change made within this long after a file was read can leave its
 * times as the read saw them (the kernel's file times come from a clock
 * that moves once a tick, 1-10 ms): what was read, or a directory walked,
 * less than this after its last change is not kept.
 */
export const RACY_MS = 100;
const COARSE_MS = 2000;
/** A kept start bigger than this is not kept (nor read). */
const MAX_BYTES = 256 << 20;

/** One source, as kept: where it is, and what its metadata made of it. */
export interface KeptSource {
  dir: string;
  trusted: boolean;
  describedBy: string;
  cluster: number;
  /** The name of its data file (for the inotify filter), and whether it has a command. */
  data: string;
  commanded: boolean;
}

/** What the tables handed to the shim were (src/pmda/tables.ts): names joined by NUL, help texts as JSON. */
export interface KeptTables {
  descs: Int32Array;
  names: string;
  pmids: Uint32Array;
  texts: string;
  indoms: string;
}

/**
 * What is kept, in columns: a few long strings (each a list joined by NUL,
 * which no path, PCP name or JSON text holds) and typed arrays, so that a
 * start reads thousands of sources as a handful of objects.
 */
export interface Kept {
  format: number;
  key: string;
  /** The directories walked, and what lstat said of each (native stamps, STAT_FIELDS each). */
  dirs: string;
  dirStamps: Float64Array;
  /** Per source: each a column of KeptSource. */
  count: number;
  sourceDirs: string;
  describedBy: string;
  data: string;
  clusters: Int32Array;
  /** 1: trusted, 2: has a command. */
  flags: Uint8Array;
  /** What lstat said of each source's metadata file. */
  mdStamps: Float64Array;
  /** And of the numbering caches the tables were made from (cacheFiles): another agent (pmdajson) may use them too. */
  cacheStamps: Float64Array;
  tables: KeptTables;
}

/** The numbering caches tables are made from: the sources' clusters, the descriptors, and each source's metric numbers. */
export function cacheFiles(clusters: ArrayLike<number>): string[] {
  const prefix = domainFile('');
  const out = [`${prefix}0`, `${prefix}descriptors`];
  for (let i = 0; i < clusters.length; i++) out.push(`${prefix}${metricCacheSerial(clusters[i]!)}`);
  return out;
}

/** `list` joined by NUL, undefined if one of them holds a NUL. */
export function joined(list: readonly string[]): string | undefined {
  return list.some((x) => x.includes('\0')) ? undefined : list.join('\0');
}

/** A column of `count` strings joined by NUL, and each one by its number, sliced when asked for. */
class Column {
  private readonly starts: Uint32Array;
  constructor(private readonly text: string, count: number) {
    this.starts = new Uint32Array(count + 1);
    let at = 0;
    for (let i = 1; i < count; i++) this.starts[i] = at = text.indexOf('\0', at) + 1;
    this.starts[count] = text.length + 1;
  }
  at(i: number): string {
    return this.text.slice(this.starts[i], this.starts[i + 1]! - 1);
  }
}

/** The sources of a warm start, each made when asked for. */
export class KeptSources {
  private readonly columns: Column[];
  constructor(private readonly k: Kept) {
    this.columns = [k.sourceDirs, k.describedBy, k.data].map((c) => new Column(c, k.count));
  }
  get count(): number {
    return this.k.count;
  }
  cluster(i: number): number {
    return this.k.clusters[i]!;
  }
  commanded(i: number): boolean {
    return (this.k.flags[i]! & 2) !== 0;
  }
  source(i: number): KeptSource {
    const [dir, describedBy, data] = this.columns.map((c) => c.at(i)) as [string, string, string];
    return { dir, describedBy, data, trusted: (this.k.flags[i]! & 1) !== 0, cluster: this.k.clusters[i]!, commanded: this.commanded(i) };
  }
  /** Its metadata file. */
  file(i: number): string {
    return `${this.columns[0]!.at(i)}/${this.columns[1]!.at(i)}`;
  }
  /**
   * Are these sources' metadata files as they were kept: `read` (the
   * stamp of a read just made of each, undefined if it failed) of the
   * same file, and lstat now the same in every field? A change since the
   * start looked, even one that no event told (a write through a
   * descriptor held open), shows here: the change time moves.
   */
  unchanged(indices: number[], read: Array<string | undefined>): boolean[] {
    const F = native.STAT_FIELDS;
    const now = native.stamps(indices.map((i) => this.file(i)));
    return indices.map((i, j) => {
      for (let f = 0; f < F; f++) if (now[j * F + f] !== this.k.mdStamps[i * F + f]) return false;
      return read[j] !== undefined && read[j] === readStampOf(this.k.mdStamps, i * F);
    });
  }

  /** The names of the data files. */
  dataNames(): string[] {
    return this.k.count === 0 ? [] : this.k.data.split('\0');
  }
}

/** The kept form of `sources` and the rest, undefined if a string holds a NUL. */
export function keptOf(key: string, dirs: string[], dirStamps: Float64Array, sources: KeptSource[], mdStamps: Float64Array, tables: KeptTables): Kept | undefined {
  const col = (f: (s: KeptSource) => string): string | undefined => joined(sources.map(f));
  const [d, sourceDirs, describedBy, data] = [joined(dirs), col((s) => s.dir), col((s) => s.describedBy), col((s) => s.data)];
  if (d === undefined || sourceDirs === undefined || describedBy === undefined || data === undefined) return undefined;
  const clusters = Int32Array.from(sources, (s) => s.cluster);
  const flags = Uint8Array.from(sources, (s) => (s.trusted ? 1 : 0) | (s.commanded ? 2 : 0));
  return { format: FORMAT, key, dirs: d, dirStamps, count: sources.length, sourceDirs, describedBy, data, clusters, flags, mdStamps, cacheStamps: native.stamps(cacheFiles(clusters)), tables };
}

// the fields of native.stamps (native/access.cc)
const [UID, MODE, , DEV_HI, DEV_LO, INO_HI, INO_LO, SIZE, MTIME_S, MTIME_NS, CTIME_S, CTIME_NS] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] as const;
const S_IFMT = 0o170000;
const ctimeMs = (st: Float64Array, at: number): number => st[at + CTIME_S]! * 1e3 + st[at + CTIME_NS]! / 1e6;

/** The key a kept start must have to be used: this build, this configuration, this namespace root. */
export function keyOf(root: string, config: unknown): string {
  const build = [__filename, NATIVE_MODULE].map((f) => {
    try {
      const st = fs.statSync(f);
      return `${st.size}:${st.mtimeMs}`;
    } catch {
      return '';
    }
  });
  return JSON.stringify([FORMAT, build, process.version, root, config]);
}

/**
 * How long after its last change a file's stamp tells any later change:
 * RACY_MS, or 2 s on a file system whose times have no fraction of a
 * second (ext3, small ext4 file systems, some network ones).
 */
function settledBefore(st: Float64Array, at: number): number {
  return st[at + MTIME_NS] === 0 && st[at + CTIME_NS] === 0 ? COARSE_MS : RACY_MS;
}

/** The stamp of a read (src/pmda/sources/read.ts: device, inode, size, modification time) of the file stamped at `at`. */
function readStampOf(st: Float64Array, at: number): string {
  const dev = st[at + DEV_HI]! * 2 ** 32 + st[at + DEV_LO]!;
  const ino = st[at + INO_HI]! * 2 ** 32 + st[at + INO_LO]!;
  return stampOf(dev, ino, st[at + SIZE]!, st[at + MTIME_S]! * 1e3 + st[at + MTIME_NS]! / 1e6);
}

/**
 * The directories walked, stamped now: undefined if one of them changed
 * less than RACY_MS before the walk began (`walkedAt`), or is gone.
 */
export function stampDirs(dirs: string[], walkedAt: number): Float64Array | undefined {
  const st = native.stamps(dirs);
  for (let at = 0; at < st.length; at += native.STAT_FIELDS) {
    if (st[at + UID]! < 0 || (st[at + MODE]! & S_IFMT) !== 0o040000 || ctimeMs(st, at) >= walkedAt - settledBefore(st, at)) return undefined;
  }
  return st;
}

/**
 * The stamps of the sources' metadata files, if each is the regular file
 * read (`read[i]`: device, inode, size and modification time of the read,
 * src/pmda/sources/read.ts) and had not changed for RACY_MS when it was
 * read (`readAt[i]`); else the first that is not.
 */
export function stampMetadata(files: string[], read: string[], readAt: number[]): Float64Array | string {
  const st = native.stamps(files);
  for (let i = 0, at = 0; i < files.length; i++, at += native.STAT_FIELDS) {
    if (st[at + UID]! < 0 || (st[at + MODE]! & S_IFMT) !== 0o100000 || ctimeMs(st, at) >= readAt[i]! - settledBefore(st, at) || readStampOf(st, at) !== read[i]) return files[i]!;
  }
  return st;
}

/** Write `kept` to `file`, root's alone, through a new file renamed over it. */
export function save(file: string, kept: Kept): void {
  const tmp = `${file}.tmp`;
  fs.rmSync(tmp, { force: true });
  const bytes = v8.serialize(kept);
  if (bytes.length > MAX_BYTES) throw new Error(`it would take ${bytes.length} bytes, more than ${MAX_BYTES}`);
  fs.writeFileSync(tmp, bytes, { mode: 0o600, flag: 'wx' });
  fs.renameSync(tmp, file);
}

/** Remove a kept start that no longer holds. */
export function forget(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    /* nothing to remove */
  }
}

/**
 * The kept start in `file`, if it is root's and no one else can write
 * it, and was kept with `key`; else why not (undefined: there is none).
 */
export function load(file: string, key: string): Kept | string | undefined {
  let fd: number;
  try {
    // the directory may be another account's too (pcp's): looked at through the descriptor, never by name twice
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? undefined : `cannot open ${file}: ${(e as Error).message}: not used`;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.uid !== (process.geteuid?.() ?? 0) || (st.mode & 0o022) !== 0) return `${file} is not a file of this PMDA's user that only it can write: not used`;
    if (st.size > MAX_BYTES) return `${file} is bigger than ${MAX_BYTES} bytes: not used`;
    const bytes = Buffer.alloc(st.size);
    if (fs.readSync(fd, bytes, 0, st.size, 0) !== st.size) return `${file} was cut short: not used`;
    const k = v8.deserialize(bytes) as Kept;
    if (!wellFormed(k)) return `${file} is not a kept start of this version: not used`;
    if (k.key !== key) return `${file} was kept by another build or configuration: not used`;
    return k;
  } catch (e) {
    return `cannot read ${file}: ${(e as Error).message}: not used`;
  } finally {
    fs.closeSync(fd);
  }
}

/** Has `k` every field, of its type and length? */
function wellFormed(k: Kept): boolean {
  if (typeof k !== 'object' || k === null || k.format !== FORMAT || typeof k.key !== 'string') return false;
  const n = k.count;
  const F = native.STAT_FIELDS;
  const strings = [k.dirs, k.sourceDirs, k.describedBy, k.data, k.tables?.names, k.tables?.texts, k.tables?.indoms];
  if (!Number.isSafeInteger(n) || n < 0 || strings.some((x) => typeof x !== 'string')) return false;
  const t = k.tables;
  const dirs = k.dirs === '' ? 0 : countOf(k.dirs);
  return (
    k.clusters instanceof Int32Array && k.clusters.length === n &&
    k.flags instanceof Uint8Array && k.flags.length === n &&
    k.mdStamps instanceof Float64Array && k.mdStamps.length === n * F &&
    k.cacheStamps instanceof Float64Array && k.cacheStamps.length === (n + 2) * F &&
    k.dirStamps instanceof Float64Array && k.dirStamps.length === dirs * F &&
    t.descs instanceof Int32Array && t.pmids instanceof Uint32Array && t.descs.length === t.pmids.length * 10
  );
}

/** The kept start read early, and whether its look was begun (begin; take and changedSince use them). */
let early: { file: string; key: string; k: Kept | string | undefined } | undefined;
let looking: Kept | undefined;

/**
 * Read the kept start and begin its look on a thread of the shim's
 * (native/warmlook.cc), as early as can be: the look takes as long as
 * the agent's modules take to load (src/pmda/main.ts).
 */
export function begin(file: string, key: string): void {
  const k = load(file, key);
  early = { file, key, k };
  try {
    if (typeof k === 'object') lookAt(k);
  } catch {
    // (changedSince looks again, and a look that fails there makes a cold start: src/pmda/agent.ts)
  }
}

/** The kept start in `file` (read by begin, if it was, else now). */
export function take(file: string, key: string): Kept | string | undefined {
  const e = early;
  early = undefined;
  return e && e.file === file && e.key === key ? e.k : load(file, key);
}

/** A look begun and not taken (the start failed before changedSince) is ended, and what it found dropped. */
export function leave(): void {
  if (looking === undefined) return;
  looking = undefined;
  try {
    native.warmEnd();
  } catch {
    /* (what it found is dropped either way) */
  }
}

function lookAt(k: Kept): void {
  const dirs = k.dirs === '' ? 0 : countOf(k.dirs);
  native.warmBegin(k.dirs, k.sourceDirs, k.describedBy, cacheFiles(k.clusters).join('\0'), dirs <= MAX_WATCHES);
  looking = k;
}

function countOf(list: string): number {
  let n = 1;
  for (let at = list.indexOf('\0'); at >= 0; at = list.indexOf('\0', at + 1)) n++;
  return n;
}

/**
 * Does everything `k` kept look as it did: each directory walked, then
 * each source's metadata file, then the numbering caches? Each directory
 * was watched before any was looked at (the look, begun now if begin did
 * not), so that a change after the look is an event: `adopt` takes the
 * directories and their watch descriptors. Undefined if so, else the
 * first path that changed.
 */
export function changedSince(k: Kept, s: KeptSources, adopt: (dirs: string[], wds: Int32Array) => void): string | undefined {
  if (looking !== k) lookAt(k);
  looking = undefined;
  const [wds, now] = native.warmEnd()!;
  const dirs = k.dirs === '' ? [] : k.dirs.split('\0');
  adopt(dirs, wds);
  const F = native.STAT_FIELDS;
  let at = 0;
  const groups: Array<[Float64Array, (i: number) => string]> = [
    [k.dirStamps, (i) => dirs[i]!],
    [k.mdStamps, (i) => s.file(i)],
    [k.cacheStamps, (i) => cacheFiles(k.clusters)[i]!],
  ];
  for (const [kept, name] of groups) {
    const part = now.subarray(at, at + kept.length);
    at += kept.length;
    // compared as bytes, at once: a loop over 144,000 doubles, run once and
    // so not optimised, boxed each one it read (3 MiB of garbage at start)
    if (part.length === kept.length && bytesOf(part).equals(bytesOf(kept))) continue;
    for (let i = 0; i < kept.length; i += F) if (i >= part.length || part.subarray(i, i + F).some((v, f) => v !== kept[i + f])) return name(i / F);
  }
  return at === now.length ? undefined : '';
}

const bytesOf = (a: Float64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** The walk's record of a kept source. */
export function foundOf(s: KeptSource): Found {
  return { dir: s.dir, trusted: s.trusted, describedBy: s.describedBy };
}
