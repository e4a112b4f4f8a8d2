// What each item of a source's metrics was served with: the parts of its
// descriptor a client keeps (type, semantics, units, instance domain).
// PCP clients take a PMID's descriptor once (pmlogger writes it into an
// archive once: a double read back as the integer it was described as
// is a wrong value), so an item is never served with another one. A
// metric whose descriptor changes is numbered anew, and its old item
// stays in the metric cache, retired, under a name no metric can have
// (numbering.ts, MetricNumbers.serve).
//
// The records are a file of their own, not lines of the metric caches:
// every line of a pmdaCache file takes a number (an item, of 1024), and
// pmdajson reads each as a metric name. One file holds those of every
// source, read once at start (not a file per source: 4,000 sources took
// 4,000 more files to open; docs/BENCHMARKS.md),
// $PCP_VAR_DIR/config/pmda/DOMAIN.descriptors:
//   pmda-json descriptors 2                   header, with the version
//   CLUSTER ITEM TYPE SEM INDOM UNITS         one line per item, by cluster and item
// TYPE and SEM are pmDesc's numbers (PM_TYPE_*, PM_SEM_*), INDOM is
// "null" (PM_INDOM_NULL) or DOMAIN.SERIAL, UNITS pmUnits' six numbers
// (dimSpace dimTime dimCount scaleSpace scaleTime scaleCount). A source
// with no line there takes the records of version 1, written before:
// DOMAIN.SERIAL.desc beside its metric cache DOMAIN.SERIAL, with the same
// lines but the cluster, under "pmda-json descriptors 1"; they go into
// the domain's file at its next write. An item with no record (in a
// cache pmdajson wrote, or if the file is lost) takes the descriptor it
// is served with next as its record. A line that cannot be read is
// skipped and reported, never fatal.
import * as fs from 'fs';
import { native } from '../native';
import * as log from '../limits/log';
import { domainFile, writeFileIn } from './cachefile';
import * as P from '../../format/pcp';
import type { MetricSpec, Units } from '../../format/metadata';

/** The descriptor of an item, as handed to the shim (src/pmda/tables.ts). */
export interface ItemDesc {
  type: number;
  sem: number;
  /** PM_INDOM_NULL, or the source's indom (an array member). */
  indom: number;
  units: Units;
}

export const INDOM_NULL = 0xffffffff;

/** The descriptor `spec` is served with: an array member's indom is the one of serial `indomSerial` (its source's), else PM_INDOM_NULL. */
export function descOf(spec: MetricSpec, indomSerial: number | undefined): ItemDesc {
  const type = spec.type === 'integer' ? P.PM_TYPE_64 : spec.type === 'double' ? P.PM_TYPE_DOUBLE : P.PM_TYPE_STRING;
  return { type, sem: spec.sem, indom: indomSerial === undefined ? INDOM_NULL : native.indom(indomSerial) >>> 0, units: spec.units };
}

function sameUnits(a: Units, b: Units): boolean {
  return a.every((v, i) => v === b[i]);
}

export function sameDesc(a: ItemDesc, b: ItemDesc): boolean {
  return a.type === b.type && a.sem === b.sem && a.indom === b.indom && sameUnits(a.units, b.units);
}

const TYPE_WORDS: Record<number, string> = { [P.PM_TYPE_64]: 'integer', [P.PM_TYPE_DOUBLE]: 'double', [P.PM_TYPE_STRING]: 'string' };

/** An indom as PCP writes it: DOMAIN.SERIAL. */
const indomText = (indom: number): string => `${(indom >>> 22) & 0x1ff}.${indom & 0x3fffff}`;

function indomWords(indom: number): string {
  return indom === INDOM_NULL ? 'PM_INDOM_NULL (a single value)' : `${indomText(indom)} (an array member)`;
}

/** What changed from `a` to `b`, in words: "its type from integer to double". */
export function descChange(a: ItemDesc, b: ItemDesc): string {
  const parts: string[] = [];
  if (a.type !== b.type) parts.push(`its type from ${TYPE_WORDS[a.type] ?? a.type} to ${TYPE_WORDS[b.type] ?? b.type}`);
  if (a.sem !== b.sem) parts.push(`its semantics from ${P.semName(a.sem)} to ${P.semName(b.sem)}`);
  if (!sameUnits(a.units, b.units)) parts.push(`its units from '${P.unitsText(a.units)}' to '${P.unitsText(b.units)}'`);
  if (a.indom !== b.indom) parts.push(`its instance domain from ${indomWords(a.indom)} to ${indomWords(b.indom)}`);
  return parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]!}` : parts[0] ?? 'nothing';
}

const HEADER = 'pmda-json descriptors 1';
const HEADER_2 = 'pmda-json descriptors 2';
const RECORD_1 = /^()(\d+) (\d+) (\d+) (null|\d+\.\d+) (-?\d+) (-?\d+) (-?\d+) (-?\d+) (-?\d+) (-?\d+)$/;
const RECORD_2 = /^(\d+) (\d+) (\d+) (\d+) (null|\d+\.\d+) (-?\d+) (-?\d+) (-?\d+) (-?\d+) (-?\d+) (-?\d+)$/;

/** A record's line, with a cluster (version 2) or without (1: cluster -1): [cluster, item, descriptor]. */
function parseRecord(line: string, clustered: boolean): [number, number, ItemDesc] | undefined {
  const m = (clustered ? RECORD_2 : RECORD_1).exec(line);
  if (!m) return undefined;
  const dot = m[5]!.indexOf('.');
  const indom = dot < 0 ? INDOM_NULL : ((Number(m[5]!.slice(0, dot)) << 22) | Number(m[5]!.slice(dot + 1))) >>> 0;
  const units: Units = [Number(m[6]), Number(m[7]), Number(m[8]), Number(m[9]), Number(m[10]), Number(m[11])];
  return [clustered ? Number(m[1]) : -1, Number(m[2]), { type: Number(m[3]), sem: Number(m[4]), indom, units }];
}

type Problems = Array<[line: number, why: string]>;

/** The records of a file's lines after its header (version 2: `clustered`), by cluster and item. */
function parseLines(text: string, header: string, clustered: boolean): { records: Map<number, Map<number, ItemDesc>>; problems: Problems } {
  const records = new Map<number, Map<number, ItemDesc>>();
  const problems: Problems = [];
  const lines = text.split('\n');
  if (lines[0] !== header) {
    problems.push([1, 'illegal header']);
    return { records, problems };
  }
  for (let i = 1; i < lines.length; i++) {
    if (lines[i] === '' && i === lines.length - 1) break;
    const r = parseRecord(lines[i]!, clustered);
    if (!r) {
      problems.push([i + 1, 'illegal record']);
      continue;
    }
    let items = records.get(r[0]);
    if (!items) records.set(r[0], (items = new Map<number, ItemDesc>()));
    items.set(r[1], r[2]);
  }
  return { records, problems };
}

/** Parse a descriptors file of version 1 (one source's): the records by item, and the lines that could not be read (1-based). */
export function parseDescFile(text: string): { records: Map<number, ItemDesc>; problems: Problems } {
  const { records, problems } = parseLines(text, HEADER, false);
  return { records: records.get(-1) ?? new Map<number, ItemDesc>(), problems };
}

/** Parse the domain's descriptors file (version 2): the records by cluster and item, and the lines that could not be read. */
export function parseDescriptors(text: string): { records: Map<number, Map<number, ItemDesc>>; problems: Problems } {
  return parseLines(text, HEADER_2, true);
}

const lineOf = (item: number, r: ItemDesc): string => `${item} ${r.type} ${r.sem} ${r.indom === INDOM_NULL ? 'null' : indomText(r.indom)} ${r.units.join(' ')}\n`;

/** The text of a descriptors file of version 1 (one source's). */
export function formatDescFile(records: ReadonlyMap<number, ItemDesc>): string {
  let text = `${HEADER}\n`;
  for (const item of [...records.keys()].sort((a, b) => a - b)) text += lineOf(item, records.get(item)!);
  return text;
}

/** The text of the domain's descriptors file. */
export function formatDescriptors(records: ReadonlyMap<number, ReadonlyMap<number, ItemDesc>>): string {
  const lines = [`${HEADER_2}\n`];
  for (const cluster of [...records.keys()].sort((a, b) => a - b)) {
    const items = records.get(cluster)!;
    for (const item of [...items.keys()].sort((a, b) => a - b)) lines.push(`${cluster} ${lineOf(item, items.get(item)!)}`);
  }
  return lines.join('');
}

function report(file: string, problems: Problems): void {
  if (problems.length === 0) return;
  const [line, why] = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  log.problem(`cache:${file}`, `${file}: line ${line}: ${why}${more}: skipped; those items take the descriptor they are served with next`);
}

/** The cluster a line of `text` (from `start` to `end`) begins with: Number() of what is before its first space; NaN if none. */
function clusterAt(text: string, start: number, end: number): number {
  let n = 0;
  let at = start;
  for (; at < end; at++) {
    const c = text.charCodeAt(at);
    if (c === 32) break;
    if (c < 48 || c > 57 || at - start > 15) {
      // not plain digits: as Number() reads it (the space looked for within the line only)
      for (let space = at; space < end; space++) if (text.charCodeAt(space) === 32) return Number(text.slice(start, space));
      return NaN;
    }
    n = n * 10 + (c - 48);
  }
  return at > start && at < end ? n : NaN;
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null; // none yet: a new cache, or pmdajson's
  }
}

/**
 * The descriptor records of every source of a domain, read from their
 * file once, written when they change: at once, or, while held, when
 * the last hold is let go (a discovery numbering thousands of sources
 * writes the file once).
 */
export class DescStore {
  private readonly records = new Map<number, Map<number, ItemDesc>>();
  /**
   * The domain's file, and the lines not parsed yet by cluster (their
   * indexes in `starts`): a cluster's are parsed when it is first asked
   * for (a start with thousands of sources needs few of them at first).
   * No string is made for a line before then: at a start with 12,000
   * lines, a string and a pair each made a young garbage collection copy
   * 2 MiB that the first fetch did not need.
   */
  private text = '';
  /** Where each line of `text` begins; the last entry is where the text ends (past a final newline). */
  private starts = new Int32Array(0);
  /**
   * The lines not parsed yet: the cluster of each line that has one, and
   * its index in `starts`, by cluster (the file's own order, as
   * formatDescriptors writes it; a file written in another order is
   * sorted once): a cluster's lines are found by a binary search, and
   * nothing is made per cluster at a start.
   */
  private lineClusters = new Float64Array(0);
  private lineIndexes = new Int32Array(0);
  /** Clusters whose lines were parsed, and how many are left. */
  private readonly taken = new Set<number>();
  private left = 0;
  private dirty = false;
  private held = 0;

  constructor(readonly file: string) {
    const text = readText(file);
    if (text === null) return;
    let lines = 1;
    for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) lines++;
    const starts = new Int32Array(lines + 1);
    for (let i = 1, at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) starts[i++] = at + 1;
    starts[lines] = text.length + 1;
    if (text.slice(0, starts[1]! - 1) !== HEADER_2) {
      report(file, [[1, 'illegal header']]);
      return;
    }
    const problems: Problems = [];
    const clusters = new Float64Array(lines);
    const indexes = new Int32Array(lines);
    let n = 0;
    let inOrder = true;
    for (let i = 1; i < lines; i++) {
      const start = starts[i]!;
      const end = starts[i + 1]! - 1;
      if (start === end && i === lines - 1) break;
      const cluster = clusterAt(text, start, end);
      if (!(Number.isSafeInteger(cluster) && cluster >= 0)) {
        problems.push([i + 1, 'illegal record']);
        continue;
      }
      if (n > 0 && cluster < clusters[n - 1]!) inOrder = false;
      clusters[n] = cluster;
      indexes[n++] = i;
    }
    report(file, problems);
    if (n === 0) return;
    this.text = text;
    this.starts = starts;
    this.lineClusters = clusters.subarray(0, n);
    this.lineIndexes = indexes.subarray(0, n);
    if (!inOrder) {
      // by cluster, each cluster's lines in the file's order (the last of an item counts)
      const order = Array.from({ length: n }, (_, k) => k).sort((a, b) => clusters[a]! - clusters[b]! || a - b);
      this.lineClusters = Float64Array.from(order, (k) => clusters[k]!);
      this.lineIndexes = Int32Array.from(order, (k) => indexes[k]!);
    }
    const c = this.lineClusters;
    for (let k = 0; k < n; k++) if (k === 0 || c[k] !== c[k - 1]) this.left++;
  }

  /** The lines of `cluster` not parsed yet (their indexes in `starts`), taken: none the next time. */
  private take(cluster: number): number[] | undefined {
    if (this.left === 0 || this.taken.has(cluster)) return undefined;
    const c = this.lineClusters;
    let lo = 0;
    for (let hi = c.length; lo < hi; ) {
      const mid = (lo + hi) >>> 1;
      if (c[mid]! < cluster) lo = mid + 1;
      else hi = mid;
    }
    let lines: number[] | undefined;
    for (let k = lo; k < c.length && c[k] === cluster; k++) (lines ??= []).push(this.lineIndexes[k]!);
    if (!lines) return undefined;
    this.taken.add(cluster);
    if (--this.left === 0) {
      this.text = '';
      this.starts = new Int32Array(0);
      this.lineClusters = new Float64Array(0);
      this.lineIndexes = new Int32Array(0);
      this.taken.clear();
    }
    return lines;
  }

  /** The clusters with lines not parsed yet. */
  private unread(): number[] {
    const out: number[] = [];
    const c = this.lineClusters;
    for (let k = 0; k < c.length; k++) if ((k === 0 || c[k] !== c[k - 1]) && !this.taken.has(c[k]!)) out.push(c[k]!);
    return out;
  }

  /** The records of `cluster` in the domain's file, parsed now if they were not yet. */
  private parsed(cluster: number): Map<number, ItemDesc> | undefined {
    const had = this.records.get(cluster);
    if (had) return had;
    const text = this.text;
    const starts = this.starts;
    const lines = this.take(cluster);
    if (!lines) return undefined;
    const items = new Map<number, ItemDesc>();
    const problems: Problems = [];
    for (const i of lines) {
      const r = parseRecord(text.slice(starts[i], starts[i + 1]! - 1), true);
      if (r) items.set(r[1], r[2]);
      else problems.push([i + 1, 'illegal record']);
    }
    report(this.file, problems);
    // none that could be read: as if the file had none (a file of version 1 may)
    if (items.size === 0) return undefined;
    this.records.set(cluster, items);
    return items;
  }

  /** Does the domain's file have records of `cluster`? */
  has(cluster: number): boolean {
    return this.parsed(cluster) !== undefined;
  }

  /**
   * The records of `cluster`, for its DescFile to read and change: the
   * domain's, else those of its file of version 1, `legacy` (its text,
   * if read already: null for none).
   */
  of(cluster: number, legacy: string, legacyText?: string | null): Map<number, ItemDesc> {
    let items = this.parsed(cluster);
    if (items) return items;
    const text = legacyText === undefined ? readText(legacy) : legacyText;
    const parsed = text === null ? undefined : parseDescFile(text);
    if (parsed) report(legacy, parsed.problems);
    items = parsed?.records ?? new Map<number, ItemDesc>();
    this.records.set(cluster, items);
    // into the domain's file at its next write
    if (items.size > 0) this.dirty = true;
    return items;
  }

  changed(): void {
    this.dirty = true;
  }

  /** Write the file at the last release(), not before. */
  hold(): void {
    this.held++;
  }

  release(): void {
    this.held--;
    this.save();
  }

  /** Write the file if a record changed, unless held (to a new file, renamed over the old one). */
  save(): void {
    if (!this.dirty || this.held > 0) return;
    for (const cluster of this.unread()) this.parsed(cluster);
    writeFileIn(this.file, formatDescriptors(this.records));
    this.dirty = false;
  }
}

const descStores = new Map<string, DescStore>();

/** The descriptor records of the domain's sources, read from their file the first time only. */
export function descStore(): DescStore {
  const file = domainFile('descriptors');
  let store = descStores.get(file);
  if (!store) descStores.set(file, (store = new DescStore(file)));
  return store;
}

/** The descriptor records of one metric cache, in the domain's store. */
export class DescFile {
  private readonly records: Map<number, ItemDesc>;

  constructor(
    private readonly store: DescStore,
    cluster: number,
    legacy: string,
    legacyText?: string | null,
  ) {
    this.records = store.of(cluster, legacy, legacyText);
  }

  get(item: number): ItemDesc | undefined {
    return this.records.get(item);
  }

  set(item: number, desc: ItemDesc): void {
    const had = this.records.get(item);
    if (had && sameDesc(had, desc)) return;
    this.records.set(item, desc);
    this.store.changed();
  }

  /** Write the records if one changed (the domain's file, unless it is held). */
  save(): void {
    this.store.save();
  }
}
