// pmdaCache's file format, read and written here for a source's caches
// (its metric names -> items, its instance names -> instance ids): these
// need no pmdaCache instance domain, which libpcp_pmda looks up in a list
// of all its caches on every call (at every instance of a fetch), and
// which 4,000 sources would make long (docs/BENCHMARKS.md, startup).
//
// The file, as libpcp_pmda writes it ($PCP_VAR_DIR/config/pmda/DOMAIN.SERIAL):
//   VERSION MODE MAXINST        header: 2, the numbering mode, the largest number
//   NUMBER STAMP [KEY] NAME     one line per name, by number; NAME is the
//                               rest of the line, KEY an optional hex key
// New names are numbered as pmdaCache numbers them: mode 0 takes the
// largest number plus one, and turns into mode 1 once that would pass
// MAXINST; mode 1 takes the smallest number not in use.
import * as fs from 'fs';
import * as path from 'path';

export interface CacheEntry {
  inst: number;
  /** When it was last active (seconds), 0 for "now, when saved". */
  stamp: number;
  /** A hex key, as written between brackets, if it has one. */
  key?: string;
  name: string;
}

export interface CacheText {
  mode: number;
  maxinst: number | undefined;
  entries: CacheEntry[];
}

/** Parse a cache file; throws on a header or line pmdaCache would refuse. */
export function parseCacheFile(text: string): CacheText {
  const lines = text.split('\n');
  const header = /^\s*(\d+)\s+(\d+)(?:\s+(\d+))?/.exec(lines[0] ?? '');
  const version = header ? Number(header[1]) : 0;
  if (!header || version < 1 || version > 2 || Number(header[2]) > 1) throw new Error(`illegal cache header record: ${lines[0] ?? ''}`);
  const out: CacheText = { mode: Number(header[2]), maxinst: version === 2 && header[3] !== undefined ? Number(header[3]) : undefined, entries: [] };
  const seen = new Set<string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '' && i === lines.length - 1) break;
    const m = /^\s*(\d+)\s*(\d*)\s*(?:\[([0-9a-fA-F]*)\]\s*)?(.+)$/.exec(line);
    if (!m) throw new Error(`illegal record: ${line}`);
    // a name given twice keeps its first number, as pmdaCache loads it
    if (seen.has(m[4]!)) continue;
    seen.add(m[4]!);
    out.entries.push({ inst: Number(m[1]), stamp: Number(m[2] || 0), ...(m[3] !== undefined ? { key: m[3] } : {}), name: m[4]! });
  }
  out.entries.sort((a, b) => a.inst - b.inst);
  return out;
}

/** The text of a cache file. */
export function formatCacheFile(c: { mode: number; maxinst: number; entries: CacheEntry[] }): string {
  const now = Math.floor(Date.now() / 1000);
  let text = `2 ${c.mode} ${c.maxinst}\n`;
  for (const e of c.entries) text += `${e.inst} ${e.stamp || now}${e.key !== undefined ? ` [${e.key}]` : ''} ${e.name}\n`;
  return text;
}

/** Up to this many entries a name is found along the list, with no map (a source's metrics are a few). */
const FEW = 8;

/** One cache of names and numbers, kept in a file of pmdaCache's format. */
export class CacheFile {
  /** By name, once there are more than FEW entries. */
  private byName: Map<string, CacheEntry> | undefined;
  /** By number, ascending. */
  private entries: CacheEntry[] = [];
  private mode = 0;
  private maxinst: number;
  private dirty = false;

  constructor(
    readonly file: string,
    max: number,
  ) {
    this.maxinst = max;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return; // a missing file is a new cache
    }
    const c = parseCacheFile(text);
    this.mode = c.mode;
    if (c.maxinst !== undefined) this.maxinst = c.maxinst;
    this.entries = c.entries;
    this.index();
  }

  get size(): number {
    return this.entries.length;
  }

  lookup(name: string): number | undefined {
    return this.find(name)?.inst;
  }

  private find(name: string): CacheEntry | undefined {
    if (this.byName) return this.byName.get(name);
    for (const e of this.entries) if (e.name === name) return e;
    return undefined;
  }

  /** The map by name, made when the entries become more than a few. */
  private index(): void {
    if (this.byName || this.entries.length <= FEW) return;
    this.byName = new Map();
    for (const e of this.entries) this.byName.set(e.name, e);
  }

  /** The names, by number. */
  *names(): IterableIterator<string> {
    for (const e of this.entries) yield e.name;
  }

  /** [number, name] of each name, by number. */
  *pairs(): IterableIterator<[number, string]> {
    for (const e of this.entries) yield [e.inst, e.name];
  }

  /** Forget `names`: their numbers may be given out again. */
  forget(names: ReadonlySet<string>): void {
    if (names.size === 0) return;
    const kept = this.entries.filter((e) => !names.has(e.name));
    if (kept.length === this.entries.length) return;
    this.entries = kept;
    if (this.byName) for (const name of names) this.byName.delete(name);
    this.dirty = true;
  }

  /** The number of `name`, numbering it if it is new; undefined if no number is left. */
  number(name: string): number | undefined {
    const have = this.find(name);
    if (have) return have.inst;
    const inst = this.next();
    if (inst === undefined) return undefined;
    const e: CacheEntry = { inst, stamp: 0, name };
    let at = this.entries.length;
    while (at > 0 && this.entries[at - 1]!.inst > inst) at--;
    this.entries.splice(at, 0, e);
    this.byName?.set(name, e);
    this.index();
    this.dirty = true;
    return inst;
  }

  private next(): number | undefined {
    const last = this.entries[this.entries.length - 1];
    if (this.mode === 0) {
      if (!last) return 0;
      if (last.inst < this.maxinst) return last.inst + 1;
      this.mode = 1;
    }
    let inst = 0;
    for (const e of this.entries) {
      if (inst < e.inst) break;
      inst = e.inst + 1;
    }
    return inst <= this.maxinst ? inst : undefined;
  }

  /** Write the file if anything new was numbered (to a new file, renamed over the old one). */
  save(): void {
    if (!this.dirty) return;
    const tmp = `${this.file}.tmp`;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(tmp, formatCacheFile({ mode: this.mode, maxinst: this.maxinst, entries: this.entries }));
    fs.renameSync(tmp, this.file);
    this.dirty = false;
  }
}
