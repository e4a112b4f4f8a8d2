// A file's stamp: device, inode, size and modification time as one
// string, equal for the same file unchanged. Made from an fs.Stats
// (src/pmda/sources/read.ts), the shim's batched read, and a warm start's
// lstat stamps (src/pmda/sources/warmstart.ts), which loads before the
// rest of the sources' modules: nothing else here.

/** The stamp of a file from its parts (mtimeMs as fs.Stats has it: seconds × 1e3 + nanoseconds / 1e6). */
export function stampOf(dev: number, ino: number, size: number, mtimeMs: number): string {
  // joined, not a template: one flat string kept per source, not a tree of pieces
  return [dev, ino, size, mtimeMs].join(':');
}
