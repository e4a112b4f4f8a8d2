// Reading a source's files: opened as its author (src/pmda/access.ts),
// never blocking, regular files only, at most a given size; and the
// stamp (device, inode, size, mtime) that says whether a file changed.
import * as fs from 'fs';
import { openAs, Author } from './access';

export function fileStamp(st: fs.Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
}

/** Read a whole file, opened as `author`: never blocking, regular files only, at most `maxBytes`. */
export function readFileAs(author: Author, file: string, maxBytes: number, nofollow = false): { text: string; stamp: string; size: number } {
  const fd = openAs(author, file, nofollow);
  try {
    const st = fs.fstatSync(fd);
    if (st.size > maxBytes) throw new LimitError(`${file} is ${st.size} bytes, more than the limit of ${maxBytes} (max_data_bytes)`);
    const text = readAll(fd, maxBytes);
    return { text, stamp: fileStamp(st), size: Buffer.byteLength(text, 'utf8') };
  } finally {
    fs.closeSync(fd);
  }
}

/** A file bigger than the limit it was read with. */
export class LimitError extends Error {}

/** Read an open descriptor to its end, at most `max` bytes. */
export function readAll(fd: number, max: number): string {
  const chunks: Buffer[] = [];
  let total = 0;
  const chunk = Buffer.allocUnsafe(65536);
  for (;;) {
    const n = fs.readSync(fd, chunk, 0, chunk.length, null);
    if (n <= 0) break;
    total += n;
    if (total > max) throw new Error(`more than ${max} bytes`);
    chunks.push(Buffer.from(chunk.subarray(0, n)));
  }
  return Buffer.concat(chunks, total).toString('utf8');
}
