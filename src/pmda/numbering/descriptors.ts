// What each item of a source's metrics was served with: the parts of its
// descriptor a client keeps (type, semantics, units, instance domain).
// PCP clients take a PMID's descriptor once (pmlogger writes it into an
// archive once: a double read back as the integer it was described as
// is a wrong value), so an item is never served with another one. A
// metric whose descriptor changes is numbered anew, and its old item
// stays in the metric cache, retired, under a name no metric can have
// (numbering.ts, MetricNumbers.serve).
//
// The records are a file of their own beside the metric cache, not lines
// of it: every line of a pmdaCache file takes a number (an item, of
// 1024), and pmdajson reads each as a metric name. The file,
// $PCP_VAR_DIR/config/pmda/DOMAIN.SERIAL.desc beside DOMAIN.SERIAL:
//   pmda-json descriptors 1                   header, with the version
//   ITEM TYPE SEM INDOM UNITS                 one line per item, by item
// TYPE and SEM are pmDesc's numbers (PM_TYPE_*, PM_SEM_*), INDOM is
// "null" (PM_INDOM_NULL) or DOMAIN.SERIAL, UNITS pmUnits' six numbers
// (dimSpace dimTime dimCount scaleSpace scaleTime scaleCount). An item
// with no record (in a cache pmdajson wrote, or if the file is lost)
// takes the descriptor it is served with next as its record. A line that
// cannot be read is skipped and reported, never fatal.
import * as fs from 'fs';
import * as path from 'path';
import { native } from '../native';
import * as log from '../limits/log';
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
const RECORD = /^(\d+) (\d+) (\d+) (null|\d+\.\d+)((?: -?\d+){6})$/;

/** Parse a descriptors file: the records by item, and the lines that could not be read (1-based). */
export function parseDescFile(text: string): { records: Map<number, ItemDesc>; problems: Array<[line: number, why: string]> } {
  const records = new Map<number, ItemDesc>();
  const problems: Array<[number, string]> = [];
  const lines = text.split('\n');
  if (lines[0] !== HEADER) {
    problems.push([1, 'illegal header']);
    return { records, problems };
  }
  for (let i = 1; i < lines.length; i++) {
    if (lines[i] === '' && i === lines.length - 1) break;
    const m = RECORD.exec(lines[i]!);
    if (!m) {
      problems.push([i + 1, 'illegal record']);
      continue;
    }
    const [d, s] = m[4] === 'null' ? [] : m[4]!.split('.').map(Number);
    const indom = d === undefined ? INDOM_NULL : ((d << 22) | s!) >>> 0;
    records.set(Number(m[1]), { type: Number(m[2]), sem: Number(m[3]), indom, units: m[5]!.trim().split(' ').map(Number) as Units });
  }
  return { records, problems };
}

/** The text of a descriptors file. */
export function formatDescFile(records: ReadonlyMap<number, ItemDesc>): string {
  let text = `${HEADER}\n`;
  for (const item of [...records.keys()].sort((a, b) => a - b)) {
    const r = records.get(item)!;
    text += `${item} ${r.type} ${r.sem} ${r.indom === INDOM_NULL ? 'null' : indomText(r.indom)} ${r.units.join(' ')}\n`;
  }
  return text;
}

/** The descriptor records of one metric cache, read from their file once, written when they change. */
export class DescFile {
  private readonly records: Map<number, ItemDesc>;
  private dirty = false;

  /** `text` is the file's, read already (null: there is none); else it is read here. */
  constructor(
    readonly file: string,
    text?: string | null,
  ) {
    if (text === undefined) {
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        text = null;
      }
    }
    if (text === null) {
      this.records = new Map(); // none yet: a new cache, or pmdajson's
      return;
    }
    const { records, problems } = parseDescFile(text);
    if (problems.length > 0) {
      const [line, why] = problems[0]!;
      const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
      log.problem(`cache:${file}`, `${file}: line ${line}: ${why}${more}: skipped; those items take the descriptor they are served with next`);
    }
    this.records = records;
  }

  get(item: number): ItemDesc | undefined {
    return this.records.get(item);
  }

  set(item: number, desc: ItemDesc): void {
    const had = this.records.get(item);
    if (had && sameDesc(had, desc)) return;
    this.records.set(item, desc);
    this.dirty = true;
  }

  /** Write the file if a record changed (to a new file, renamed over the old one). */
  save(): void {
    if (!this.dirty) return;
    const tmp = `${this.file}.tmp`;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(tmp, formatDescFile(this.records));
    fs.renameSync(tmp, this.file);
    this.dirty = false;
  }
}
