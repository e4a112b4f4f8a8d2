// Reading a source's files: opened as its author (src/pmda/sources/access.ts),
// never blocking, regular files only, at most a given size; and the
// stamp (device, inode, size, mtime) that says whether a file changed.
import * as fs from 'fs';
import { native } from '../native';
import { openError, uidOf, Author } from './access';
import { stampOf } from './stamp';

export function fileStamp(st: fs.Stats): string {
  return stampOf(st.dev, st.ino, st.size, st.mtimeMs);
}

/** Read a whole file, opened as `author`: never blocking, regular files only, at most `maxBytes` (readFilesAs, one file). */
export function readFileAs(author: Author, file: string, maxBytes: number): { text: string; stamp: string } {
  let got: FileText = new Error(`${file} was not read`);
  readFilesAs(author, [file], maxBytes, (_, r) => (got = r));
  if (got instanceof Error) throw got;
  return got;
}

/** A whole file read, or why it could not be (an OpenError, a LimitError, an Error). */
export type FileText = { text: string; stamp: string } | Error;

/** The texts readFilesAs holds at once, at most (and one file more). */
const BATCH_BYTES = 1 << 20;

/**
 * Read whole files, all as `author`, as readFileAs reads each (the same
 * stamps and errors) with a change of credentials and one call into the
 * shim per batch of files, not per file (the metadata of thousands of
 * sources at start). Each file is handed to `use` as it is read.
 */
export function readFilesAs(author: Author, files: string[], maxBytes: number, use: (i: number, file: FileText) => void): void {
  for (let from = 0; from < files.length; ) {
    const got = native.readFilesAs(files, from, uidOf(author), author.gid, author.groups, maxBytes, BATCH_BYTES);
    for (const r of got) {
      use(from, textOf(files[from]!, r, maxBytes));
      from++;
    }
  }
}

function textOf(file: string, r: ReturnType<typeof native.readFilesAs>[number], maxBytes: number): FileText {
  if (typeof r === 'number') return openError(r);
  if (r[0] === null) return new LimitError(`${file} is ${r[1]} bytes, more than the limit of ${maxBytes} (max_data_bytes)`);
  if (r[0] === false) return new Error(`more than ${r[1]} bytes`);
  const [text, dev, ino, size, sec, nsec] = r as [string, number, number, number, number, number];
  // mtimeMs as fs.Stats has it, so that fileStamp of a later stat is the same
  return { text, stamp: stampOf(dev, ino, size, sec * 1e3 + nsec / 1e6) };
}

/** A file bigger than the limit it was read with. */
export class LimitError extends Error {}

// One buffer for every data file read, kept between reads up to this size.
const KEEP = 4 << 20;
let scratch = Buffer.alloc(1 << 16);

/**
 * Read an open descriptor to its end, at most `max` bytes, into a buffer
 * with `spare` bytes left after them (for simdjson: native/queryrun.cc).
 * `size` is what fstat said, a guess (0 for procfs files). The buffer is
 * shared: it is good until the next read.
 */
export function readInto(fd: number, size: number, max: number, spare: number): { bytes: Buffer; length: number } {
  if (scratch.length > KEEP) scratch = Buffer.alloc(1 << 16);
  let length = 0;
  for (;;) {
    const want = Math.max(size + 1, length + 65536) + spare;
    if (scratch.length < want) {
      const next = Buffer.alloc(Math.max(want, scratch.length * 2));
      scratch.copy(next, 0, 0, length);
      scratch = next;
    }
    const asked = scratch.length - spare - length;
    const n = fs.readSync(fd, scratch, length, asked, null);
    if (n <= 0) break;
    length += n;
    if (length > max) throw new Error(`more than ${max} bytes`);
    // a regular file read short, with all fstat promised: its end (no
    // second read to hear so); procfs files say size 0 and read short
    if (size > 0 && length >= size && n < asked) break;
  }
  // the spare bytes are zero: nothing of an earlier, longer file
  scratch.fill(0, length, length + spare);
  return { bytes: scratch, length };
}
