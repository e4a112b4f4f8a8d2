// A source's data file: opened as its author whenever its name may lead
// to another file than the one last read, and otherwise kept open and
// compared with what was read in one fstat, once it has stayed the same
// for a second (docs/PARSING.md, "Unchanged files").
//
// The name can come to lead elsewhere only through a change to a
// directory entry, and inotify reports every such change in the source's
// directory, and in every directory above it up to the configured ones,
// as it happens: the registry (src/pmda/sources/registry.ts) reads the events at
// the start of each fetch and lets go of the files they may concern.
// What the directory's events do not tell (a write through another hard
// link, or one that does not close the file) changes the inode itself:
// a kept file's inode is watched too, on a local file system, so that an
// unchanged file costs a fetch no system call; where it is not (a
// network file system, or too many watches), the fstat sees that change:
// its size, times and link count. A file is not kept when its name is a
// symbolic link, when it is not in the source's own directory, or when
// that directory is not watched. A file read less than a second ago, not
// kept, is compared with what was read in one lstat of its name (current).
import * as fs from 'fs';
import { native } from '../native';
import { openAs, Author } from './access';
import type { WatchedFile } from './discovery';

/** Who watches a kept file's inode (src/pmda/sources/discovery.ts, Watcher). */
export interface FileWatcher {
  watchFile(fd: number, file: WatchedFile): number;
  unwatchFile(wd: number, file: WatchedFile): void;
}

const LENGTH = native.STAMP_LENGTH;
const SIZE = native.STAMP_SIZE;
const LINKED = native.STAMP_LINKED;
const DATA = native.STAMP_DATA;

/** Descriptors kept at most, of the PMDA's limit (node raises it to the hard one). */
const MAX_KEPT = Math.min(4096, Math.floor(openFileLimit() / 4));
let kept = 0;
/** A file is kept open once it has been seen unchanged this long. */
const KEEP_AFTER_MS = 1000;

/**
 * The stamps of every data file in one array, two a file (what was read,
 * what was just opened): 4,000 sources, one array, not 8,000 (and their
 * buffers). A file takes a place when it is made and gives it back when
 * its source goes; a place given back is used again.
 */
const stamps = {
  all: new BigUint64Array(64 * 2 * LENGTH),
  used: 0,
  free: [] as number[],
  take(): number {
    const at = this.free.pop();
    if (at !== undefined) return at;
    if ((this.used + 1) * 2 * LENGTH > this.all.length) {
      const bigger = new BigUint64Array(this.all.length * 2);
      bigger.set(this.all);
      this.all = bigger;
    }
    return this.used++ * 2 * LENGTH;
  },
  give(at: number): void {
    this.all.fill(0n, at, at + 2 * LENGTH);
    this.free.push(at);
  },
};

function openFileLimit(): number {
  try {
    const line = /^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    return line ? Number(line[1]) : 1024;
  } catch {
    return 1024;
  }
}

export class DataFile implements WatchedFile {
  /** The descriptor kept, of the file last read; -1 for none. */
  private fd = -1;
  /** The watch of the kept file's inode; -1 for none (then fstat tells). */
  private wd = -1;
  /** Where in `stamps` what fstat said of the file last read is (what it said of the one just opened follows); -1 once given back. */
  private read: number;
  private hasRead = false;
  /** An event said the name may lead elsewhere since the last open. */
  private moved = false;
  /** When the data last read was read (Date.now()). */
  private readAt = 0;
  /** May a descriptor be kept now (the registry: is its directory watched)? */
  mayKeep: () => boolean = () => false;
  /** Who watches the inodes of kept files (the registry's watcher); none: fstat. */
  watcher: FileWatcher | undefined;

  constructor(
    readonly path: string,
    private readonly author: Author,
  ) {
    this.read = stamps.take();
  }

  /**
   * Is the file kept the one last read, unchanged? With its inode watched,
   * no system call: an event would have let go of it (the fetch reads the
   * events first). Else one fstat, no open.
   */
  unchanged(): boolean {
    if (this.fd < 0) return false;
    if (this.wd >= 0) return true;
    if (native.sameFile(this.fd, stamps.all, this.read) === 1) return true;
    this.release();
    return false;
  }

  /**
   * Read less than KEEP_AFTER_MS ago, not kept open, and its name still
   * leads to that file, unchanged: one lstat, no open (a file rewritten
   * at every fetch is opened once for each version, not twice). The
   * lstat is made as the PMDA, not as the author: it reads nothing, and
   * only lets the data read as the author be served again, as a kept
   * file's is. Not for a procfs file (its size is 0, and it changes
   * without a sign), nor one read through a symbolic link (lstat sees
   * the link); nor once the file could be kept (open() and adopt() keep it).
   */
  current(): boolean {
    if (this.fd >= 0 || !this.hasRead || this.moved || Date.now() - this.readAt >= KEEP_AFTER_MS) return false;
    const all = stamps.all;
    if (all[this.read + SIZE] === 0n || all[this.read + LINKED] !== 0n) return false;
    return native.samePath(this.path, all, this.read) === 1;
  }

  /** Open it as the author (throws an OpenError); `size` and `same` describe what was opened. */
  open(): number {
    this.release();
    this.moved = false;
    // a file used after its source went takes a place again
    if (this.read < 0) this.read = stamps.take();
    return openAs(this.author, this.path, false, stamps.all, this.read + LENGTH);
  }

  /** The size fstat gave the file just opened (0 for procfs files, whose size is not known). */
  get size(): number {
    return Number(stamps.all[this.read + LENGTH + SIZE]);
  }

  /** Is the file just opened the one last read, unchanged (and not a procfs file)? */
  get same(): boolean {
    const all = stamps.all;
    const read = this.read;
    const opened = read + LENGTH;
    if (!this.hasRead || all[opened + SIZE] === 0n) return false;
    for (let i = 0; i < DATA; i++) if (all[opened + i] !== all[read + i]) return false;
    return true;
  }

  /**
   * `fd`, just opened, is what the data now is: remember it. A file found
   * unchanged for KEEP_AFTER_MS is kept open if that can be. One replaced
   * more often is not: its blocks are then freed by the rename that
   * replaces it, as before, and not by this PMDA's close.
   */
  adopt(fd: number): void {
    const now = Date.now();
    const keep = this.same && now - this.readAt >= KEEP_AFTER_MS;
    if (!this.same) this.readAt = now;
    const all = stamps.all;
    const read = this.read;
    all.copyWithin(read, read + LENGTH, read + 2 * LENGTH);
    this.hasRead = true;
    if (keep && this.fd < 0 && kept < MAX_KEPT && all[read + SIZE] !== 0n && all[read + LINKED] === 0n && this.mayKeep()) {
      this.fd = fd;
      kept++;
      this.watch();
    } else fs.closeSync(fd);
  }

  /**
   * Watch the kept file's inode. What changed it between its open and now
   * raised no event of this watch: one fstat compares it with what was
   * read, once.
   */
  private watch(): void {
    const wd = this.watcher?.watchFile(this.fd, this) ?? -1;
    if (wd < 0) return;
    this.wd = wd;
    if (native.sameFile(this.fd, stamps.all, this.read) !== 1) this.release();
  }

  /** Its source went: the descriptor is closed and its stamps' place given back. */
  dispose(): void {
    this.forget();
    if (this.read >= 0) stamps.give(this.read);
    this.read = -1;
  }

  /** The data last read is gone (dropped, or failed): read the file again next time. */
  forget(): void {
    this.hasRead = false;
    this.release();
  }

  /**
   * An event says the name may now lead elsewhere: let go of the file
   * kept, and open it at the next read without an lstat first (it would
   * mostly find the file replaced).
   */
  touched(): void {
    this.moved = true;
    this.release();
  }

  /**
   * Close the descriptor kept: the name may now lead elsewhere. (When the
   * file was replaced, this close is its last, and frees its blocks; that
   * happens at most once a second per file, see adopt.)
   */
  release(): void {
    if (this.fd < 0) return;
    if (this.wd >= 0) this.watcher?.unwatchFile(this.wd, this);
    this.wd = -1;
    fs.closeSync(this.fd);
    this.fd = -1;
    kept--;
  }
}
