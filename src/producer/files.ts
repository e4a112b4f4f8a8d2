// Writing a source's files: atomic replacement and the checked source
// directory.
//
// Files are replaced atomically (temporary file in the same directory,
// fsync, rename), so the PMDA never reads a half-written document. The
// source directory is checked before anything is written (not a link,
// the producer's own, not group- or world-writable) and the files are
// written inside the directory that was checked: it usually lies in the
// world-writable source directory, where another user may be first.
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { ProducerError } from './errors';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_DIRECTORY, O_NOFOLLOW } = fs.constants;
/** A temporary file: always a new inode of ours, never through a link. */
const TEMP_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
/** A source directory: the directory at that name itself, never a link's target. */
const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

const tempName = (name: string): string => `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;

/**
 * Replace `name` in directory `dir` with `text`: write a temporary file
 * there (O_EXCL, O_NOFOLLOW), fsync it, rename it over `name`. A rename
 * replaces a link at `name` rather than following it.
 */
export function replaceIn(dir: string, name: string, text: string, mode: number): void {
  const tmp = path.join(dir, tempName(name));
  let fd = fs.openSync(tmp, TEMP_FLAGS, mode);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = -1;
    fs.renameSync(tmp, path.join(dir, name));
  } catch (e) {
    if (fd >= 0) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Asynchronous {@link replaceIn}. */
export async function replaceInAsync(dir: string, name: string, text: string, mode: number): Promise<void> {
  const tmp = path.join(dir, tempName(name));
  const handle = await fs.promises.open(tmp, TEMP_FLAGS, mode);
  try {
    await handle.writeFile(text);
    await handle.sync();
    await handle.close();
    await fs.promises.rename(tmp, path.join(dir, name));
  } catch (e) {
    await handle.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Replace `file` with `text` atomically: write a temporary file in the same
 * directory, fsync it, rename it over `file`, then fsync the directory.
 * Readers see the old content or the new one, never a mixture. Neither
 * the temporary file nor `file` is written through a symbolic link (the
 * directories on the way are the caller's to trust: the Producer checks
 * its own).
 */
export function writeFileAtomic(file: string, text: string, mode = 0o644): void {
  replaceIn(path.dirname(file), path.basename(file), text, mode);
  syncDir(path.dirname(file));
}

/** Asynchronous {@link writeFileAtomic}. */
export async function writeFileAtomicAsync(file: string, text: string, mode = 0o644): Promise<void> {
  await replaceInAsync(path.dirname(file), path.basename(file), text, mode);
  syncDir(path.dirname(file));
}

function syncDir(dir: string): void {
  // best effort: some file systems cannot fsync a directory
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* ignore */
  }
}

export function syncFd(fd: number): void {
  try {
    fs.fsyncSync(fd);
  } catch {
    /* best effort, as syncDir */
  }
}

// ---- the source directory, checked --------------------------------------------
//
// The source directory usually lies in the world-writable $PCP_TMP_DIR/json,
// where another user can be first: make the directory, or plant a symbolic
// link under its name. A producer (root's, above all) must write neither
// into another user's directory, which that user could then fill with
// files of their own under the producer's name, nor where a link points.
// So the directory is opened with O_NOFOLLOW|O_DIRECTORY, its owner and
// mode are checked on that open descriptor (fstat), and the files are
// written through /proc/self/fd/N: relative to the directory that was
// checked, whatever is renamed or linked into its place afterwards (Node
// has no openat).

/**
 * The producer refused its source directory: it is a symbolic link, not a
 * directory, another user's, or writable by group or others. The message
 * names the directory and the reason.
 */
export class UnsafeDirectoryError extends ProducerError {
  constructor(
    /** The source directory. */
    readonly dir: string,
    /** Why it was refused. */
    readonly reason: string,
  ) {
    super(`source directory ${dir} ${reason}: refusing to write into it`);
    this.name = 'UnsafeDirectoryError';
  }
}

/** Why a directory, as fstat shows it, is not ours to write a source into; undefined if it is. */
function unsafeReason(st: fs.Stats): string | undefined {
  if (!st.isDirectory()) return 'is not a directory';
  const uid = process.geteuid?.();
  if (uid !== undefined && st.uid !== uid) return `is owned by uid ${st.uid}, not by this process (uid ${uid})`;
  if ((st.mode & 0o022) !== 0) return `is writable by group or others (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`;
  return undefined;
}

/** The refusal for an error of opening `dir` with DIR_FLAGS, or the error itself. */
function openError(dir: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code !== 'ENOTDIR' && code !== 'ELOOP') return e;
  // Linux answers ENOTDIR for a link (O_DIRECTORY is checked first), and
  // both codes can come from the directories on the way: lstat tells
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch {
    return e; // the way there is broken, not the directory
  }
  if (st.isSymbolicLink()) return new UnsafeDirectoryError(dir, 'is a symbolic link');
  if (!st.isDirectory()) return new UnsafeDirectoryError(dir, 'is not a directory');
  // a directory again: something else had its name a moment ago
  return new UnsafeDirectoryError(dir, 'was a symbolic link or not a directory when it was opened');
}

/** Make `dir` (mode 0755, its parents as needed) unless something has that name already. */
function makeDir(dir: string): void {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  try {
    fs.mkdirSync(dir, 0o755);
  } catch (e) {
    // whatever is there is checked when it is opened
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

/** A path that reaches the directory open on `fd` itself, not whatever has its name now. */
export function viaFd(fd: number, dir: string): string {
  // without /proc (some containers), the name checked a moment ago
  return PROC_FD ? `/proc/self/fd/${fd}` : dir;
}
const PROC_FD = fs.existsSync('/proc/self/fd');

/** Make if needed, open and check the source directory: its descriptor. */
export function openSourceDir(dir: string): number {
  makeDir(dir);
  let fd: number;
  try {
    fd = fs.openSync(dir, DIR_FLAGS);
  } catch (e) {
    throw openError(dir, e);
  }
  try {
    const why = unsafeReason(fs.fstatSync(fd));
    if (why !== undefined) throw new UnsafeDirectoryError(dir, why);
    return fd;
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Asynchronous {@link openSourceDir}. */
export async function openSourceDirAsync(dir: string): Promise<fs.promises.FileHandle> {
  await fs.promises.mkdir(path.dirname(dir), { recursive: true });
  await fs.promises.mkdir(dir, 0o755).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(dir, DIR_FLAGS);
  } catch (e) {
    throw openError(dir, e);
  }
  try {
    const why = unsafeReason(await handle.stat());
    if (why !== undefined) throw new UnsafeDirectoryError(dir, why);
    return handle;
  } catch (e) {
    await handle.close();
    throw e;
  }
}
