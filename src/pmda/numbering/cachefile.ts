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
//
// pmdaCache's line does not give every name back: a newline ends it, a
// leading blank is skipped, a leading "[" starts a key, and NUL ends the
// name. A name that it cannot hold byte for byte, or that holds a control
// character (C0, DEL, C1, U+2028/2029: the file is read in terminals
// too), is written as a JSON string after the key [6a736f6e] ("json"):
// pmdajson never wrote keys, so no file of its own has that one, and
// pmdaCache still reads the line (as a name of its own, harmless). Every
// other name is written as pmdaCache writes it, so pmdajson's files and
// ours stay each other's. A line that cannot be read is skipped and
// reported, never fatal: the file holds what users' data named.
import * as fs from 'fs';
import * as path from 'path';
import { native } from '../native';
import * as log from '../limits/log';

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
  /** The lines that could not be read, with why (1-based line numbers). */
  problems: Array<[line: number, why: string]>;
}

/** Where pmdaCache keeps its files, found once as it does. */
let cacheDir: string | undefined;

/** The serials of a source's caches (DOMAIN.SERIAL): its metric numbers', and its instances'. */
export const metricCacheSerial = (cluster: number): number => cluster * 2 - 1;
export const indomCacheSerial = (cluster: number): number => cluster * 2;

/** The domain's file `what` beside pmdaCache's: $PCP_VAR_DIR/config/pmda/DOMAIN.WHAT. */
export function domainFile(what: string | number): string {
  cacheDir ??= path.join(native.getConfig('PCP_VAR_DIR') ?? '/var/lib/pcp', 'config', 'pmda');
  return `${cacheDir}/${(native.indom(0) >>> 22) & 0x1ff}.${what}`;
}

/** The key of a line whose name is a JSON string. */
const JSON_KEY = '6a736f6e';
/** Characters a name written as it is may not hold. */
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** C's isspace() for ASCII, which is what pmdaCache skips: not JavaScript's \s. */
const BLANK = '[ \\t\\v\\f\\r]';
const LINE = new RegExp(`^${BLANK}*(\\d+)${BLANK}*(\\d*)${BLANK}*(?:\\[([0-9a-fA-F]*)\\]${BLANK}*)?([^]+)$`);

/** Can pmdaCache's line hold `name` as it is, with no control character? */
function plain(name: string): boolean {
  if (name === '' || name[0] === ' ' || name[0] === '[' || CONTROLS.test(name)) return false;
  // a lone surrogate has no UTF-8: it would come back as U+FFFD
  return Buffer.from(name, 'utf8').toString('utf8') === name;
}

/** `name` as a JSON string of printable ASCII and whole characters. */
function quote(name: string): string {
  return JSON.stringify(name).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The name of a line: as written, or the JSON string after the JSON key. */
function nameOf(key: string | undefined, text: string): string | undefined {
  if (key?.toLowerCase() !== JSON_KEY) return text;
  try {
    const name: unknown = JSON.parse(text);
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

/** Parse a cache file. Lines that cannot be read are skipped and listed in `problems`. */
export function parseCacheFile(text: string): CacheText {
  const lines = text.split('\n');
  const header = /^\s*(\d+)\s+(\d+)(?:\s+(\d+))?/.exec(lines[0] ?? '');
  const version = header ? Number(header[1]) : 0;
  const out: CacheText = { mode: 0, maxinst: undefined, entries: [], problems: [] };
  if (!header || version < 1 || version > 2 || Number(header[2]) > 1) out.problems.push([1, 'illegal header']);
  else {
    out.mode = Number(header[2]);
    if (version === 2 && header[3] !== undefined) out.maxinst = Number(header[3]);
  }
  const seen = new Set<string>();
  const taken = new Set<number>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '' && i === lines.length - 1) break;
    const m = LINE.exec(line);
    const name = m ? nameOf(m[3], m[4]!) : undefined;
    if (!m || name === undefined) {
      out.problems.push([i + 1, 'illegal record']);
      continue;
    }
    const inst = Number(m[1]);
    // a name given twice keeps its first number, as pmdaCache loads it
    if (seen.has(name)) continue;
    if (taken.has(inst)) {
      out.problems.push([i + 1, `number ${inst} is given twice`]);
      continue;
    }
    seen.add(name);
    taken.add(inst);
    const key = m[3] !== undefined && m[3].toLowerCase() !== JSON_KEY ? m[3] : undefined;
    out.entries.push({ inst, stamp: Number(m[2] || 0), ...(key !== undefined ? { key } : {}), name });
  }
  out.entries.sort((a, b) => a.inst - b.inst);
  return out;
}

/** The text of a cache file. */
export function formatCacheFile(c: { mode: number; maxinst: number; entries: Iterable<CacheEntry> }): string {
  const now = Math.floor(Date.now() / 1000);
  let text = `2 ${c.mode} ${c.maxinst}\n`;
  for (const e of c.entries) {
    const [key, name] = plain(e.name) ? [e.key, e.name] : [JSON_KEY, quote(e.name)];
    text += `${e.inst} ${e.stamp || now}${key !== undefined ? ` [${key}]` : ''} ${name}\n`;
  }
  return text;
}

/** Directories this process made (or found): 4,000 caches saved at a first start make theirs once. */
const made = new Set<string>();

/** Write `text` to a new file renamed over `file`, making its directory if it is not there. */
export function writeFileIn(file: string, text: string): void {
  const dir = path.dirname(file);
  const tmp = `${file}.tmp`;
  if (!made.has(dir)) fs.mkdirSync(dir, { recursive: true });
  made.add(dir);
  try {
    fs.writeFileSync(tmp, text);
  } catch (e) {
    // removed meanwhile: made again
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(tmp, text);
  }
  fs.renameSync(tmp, file);
}

/** Up to this many entries a name is found along the list, with no map. */
const FEW = 8;

/**
 * One cache of names and numbers, kept in a file of pmdaCache's format.
 * The entries are columns (numbers, names, stamps), not an object each: a
 * source's instances may be 100,000.
 */
export class CacheFile {
  /** Number of each name, once there are more than FEW (a source's metrics are a few: found along the list). */
  private byName: Map<string, number> | undefined;
  /** By number, ascending: the numbers, and each one's name and stamp. */
  private insts: number[] = [];
  private nameList: string[] = [];
  private stamps: number[] = [];
  /** The hex keys of the few entries that have one, by number (none: no map). */
  private keys: Map<number, string> | undefined;
  private mode = 0;
  private maxinst: number;
  private dirty = false;

  /** `text` is the file's, read already (null: there is none); else it is read here. */
  constructor(
    readonly file: string,
    max: number,
    text?: string | null,
  ) {
    this.maxinst = max;
    if (text === undefined) {
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        text = null;
      }
    }
    if (text === null) return; // a missing file is a new cache
    const c = parseCacheFile(text);
    if (c.problems.length > 0) {
      const [line, why] = c.problems[0]!;
      const more = c.problems.length > 1 ? ` (and ${c.problems.length - 1} more)` : '';
      log.problem(`cache:${file}`, `${file}: line ${line}: ${why}${more}: skipped; its names are numbered again when they come back`);
    }
    this.mode = c.mode;
    if (c.maxinst !== undefined) this.maxinst = c.maxinst;
    for (const e of c.entries) {
      this.insts.push(e.inst);
      this.nameList.push(e.name);
      this.stamps.push(e.stamp);
      if (e.key !== undefined) (this.keys ??= new Map()).set(e.inst, e.key);
    }
    this.index();
  }

  /** The map by name, made when the entries become more than a few. */
  private index(): void {
    if (this.byName || this.insts.length <= FEW) return;
    this.byName = new Map();
    for (let i = 0; i < this.insts.length; i++) this.byName.set(this.nameList[i]!, this.insts[i]!);
  }

  get size(): number {
    return this.insts.length;
  }

  lookup(name: string): number | undefined {
    if (this.byName) return this.byName.get(name);
    const i = this.nameList.indexOf(name);
    return i < 0 ? undefined : this.insts[i];
  }

  /** The names, by number. */
  names(): IterableIterator<string> {
    return this.nameList.values();
  }

  /** [number, name] of each name, by number. */
  *pairs(): IterableIterator<[number, string]> {
    for (let i = 0; i < this.insts.length; i++) yield [this.insts[i]!, this.nameList[i]!];
  }

  /** Forget `names`: their numbers may be given out again. */
  forget(names: ReadonlySet<string>): void {
    const keep: number[] = [];
    for (let i = 0; i < this.nameList.length; i++) if (!names.has(this.nameList[i]!)) keep.push(i);
    if (keep.length === this.insts.length) return;
    for (const name of names) {
      const inst = this.lookup(name);
      if (inst === undefined) continue;
      this.byName?.delete(name);
      this.keys?.delete(inst);
    }
    this.insts = keep.map((i) => this.insts[i]!);
    this.nameList = keep.map((i) => this.nameList[i]!);
    this.stamps = keep.map((i) => this.stamps[i]!);
    this.dirty = true;
  }

  /** Give the number of `name` to `to` (a name not in the cache) instead. */
  rename(name: string, to: string): void {
    const i = this.nameList.indexOf(name);
    if (i < 0) return;
    this.nameList[i] = to;
    this.byName?.delete(name);
    this.byName?.set(to, this.insts[i]!);
    this.dirty = true;
  }

  /** The number of `name`, numbering it if it is new; undefined if no number is left. */
  number(name: string): number | undefined {
    const have = this.lookup(name);
    if (have !== undefined) return have;
    const inst = this.next();
    if (inst === undefined) return undefined;
    let at = this.insts.length;
    while (at > 0 && this.insts[at - 1]! > inst) at--;
    this.insts.splice(at, 0, inst);
    this.nameList.splice(at, 0, name);
    this.stamps.splice(at, 0, 0);
    this.byName?.set(name, inst);
    this.index();
    this.dirty = true;
    return inst;
  }

  private next(): number | undefined {
    const n = this.insts.length;
    if (this.mode === 0) {
      if (n === 0) return 0;
      if (this.insts[n - 1]! < this.maxinst) return this.insts[n - 1]! + 1;
      this.mode = 1;
    }
    let inst = 0;
    for (const i of this.insts) {
      if (inst < i) break;
      inst = i + 1;
    }
    return inst <= this.maxinst ? inst : undefined;
  }

  private *entries(): IterableIterator<CacheEntry> {
    for (let i = 0; i < this.insts.length; i++) {
      const inst = this.insts[i]!;
      const key = this.keys?.get(inst);
      yield { inst, stamp: this.stamps[i]!, ...(key !== undefined ? { key } : {}), name: this.nameList[i]! };
    }
  }

  /** Write the file if anything new was numbered (to a new file, renamed over the old one). */
  save(): void {
    if (!this.dirty) return;
    writeFileIn(this.file, formatCacheFile({ mode: this.mode, maxinst: this.maxinst, entries: this.entries() }));
    this.dirty = false;
  }
}
