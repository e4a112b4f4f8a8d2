// A producer API: a Node.js program declares metrics, sets their values
// and writes a source directory (metadata.json + data.json) that the PMDA
// serves. Nothing here needs libpcp or the native module, so a program may
// import `pmda-json/dist/producer` on a machine without PCP's headers.
//
// Files are replaced atomically (temporary file in the same directory,
// fsync, rename), so the PMDA never reads a half-written document. The
// source directory is checked before anything is written (not a link,
// the producer's own, not group- or world-writable) and the files are
// written inside the directory that was checked: it usually lies in the
// world-writable source directory, where another user may be first.
// 64-bit integers stay exact: values may be bigints, and they are written
// as the digits they hold, not through JSON.stringify's doubles.
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';

// ---- metadata.json, as a document, and the name rules: src/format/ ----------

import type { Semantics, MetricJson, ArrayJson, MetadataJson } from '../format/document';
import { validName as isPcpName, escapeToken, pointerOf } from '../format/names';
export type { Semantics, MetricJson, ArrayJson, MetadataJson };
export { isPcpName, escapeToken, pointerOf };

// ---- JSON text, exact for bigints: src/format/json.ts ----------------------

import { stringifyJson } from '../format/json';
import type { JsonOut } from '../format/json';
export { stringifyJson };
export type { JsonOut };

/** A producer was used wrongly (bad name, duplicate, wrong value type) or refused its directory. */
export class ProducerError extends Error {}

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
function replaceIn(dir: string, name: string, text: string, mode: number): void {
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
async function replaceInAsync(dir: string, name: string, text: string, mode: number): Promise<void> {
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

function syncFd(fd: number): void {
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
function viaFd(fd: number, dir: string): string {
  // without /proc (some containers), the name checked a moment ago
  return PROC_FD ? `/proc/self/fd/${fd}` : dir;
}
const PROC_FD = fs.existsSync('/proc/self/fd');

/** Make if needed, open and check the source directory: its descriptor. */
function openSourceDir(dir: string): number {
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
async function openSourceDirAsync(dir: string): Promise<fs.promises.FileHandle> {
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

// ---- the producer -----------------------------------------------------------

/** How a metric is described to PCP. */
export interface MetricOptions {
  /** Help text, shown by `pminfo -t` and `-T`. */
  description?: string;
  /** PCP units as pmParseUnitsStr(3) reads them: "count", "byte", "millisec", "byte / sec"... */
  units?: string;
  /** "instant" (the default), "counter" or "discrete". */
  semantics?: Semantics;
}

/** Options of {@link Producer}. */
export interface ProducerOptions {
  /** The source's name below the PMDA root (json.PREFIX.…); by default the directory's name. */
  prefix?: string;
  /** Mode of the files written; 0o644 by default. */
  mode?: number;
}

/** Options of {@link Producer.array}. */
export interface ArrayOptions {
  description?: string;
  /** Member of each element holding the instance name; "__id" (systemtap's choice) by default. */
  index?: string;
}

type Kind = 'integer' | 'double' | 'string';
/** Values by kind: integers are bigint or safe-integer numbers. */
export type ValueOf<K extends Kind> = K extends 'integer' ? number | bigint : K extends 'double' ? number : string;

interface Declared {
  name: string;
  kind: Kind;
  options: MetricOptions;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function checkValue(kind: Kind, name: string, value: unknown): number | bigint | string {
  switch (kind) {
    case 'integer':
      if (typeof value === 'bigint') {
        if (value < INT64_MIN || value > INT64_MAX) throw new ProducerError(`metric '${name}': ${value} is outside the 64-bit integer range`);
        return value;
      }
      if (typeof value === 'number') {
        if (!Number.isInteger(value)) throw new ProducerError(`metric '${name}': ${value} is not an integer`);
        if (!Number.isSafeInteger(value)) throw new ProducerError(`metric '${name}': ${value} is beyond 2^53 and may have been rounded; pass a bigint`);
        return value;
      }
      throw new ProducerError(`metric '${name}' is an integer metric; got ${typeof value}`);
    case 'double':
      if (typeof value === 'number') {
        if (!Number.isFinite(value)) throw new ProducerError(`metric '${name}': ${value} cannot be written as JSON`);
        return value;
      }
      if (typeof value === 'bigint') return Number(value);
      throw new ProducerError(`metric '${name}' is a double metric; got ${typeof value}`);
    case 'string':
      if (typeof value === 'string') return value;
      throw new ProducerError(`metric '${name}' is a string metric; got ${typeof value}`);
  }
}

/** Names in one namespace: no duplicates, no metric that is also a subtree. */
class Names {
  private readonly leaves = new Set<string>();
  private readonly interior = new Set<string>();

  add(name: string, what: string): void {
    if (!isPcpName(name)) throw new ProducerError(`${what} '${name}' is not a valid PCP name (letters, digits and '_', each part starting with a letter)`);
    const parts = name.split('.');
    const ancestors = parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('.'));
    if (this.leaves.has(name) || this.interior.has(name)) throw new ProducerError(`${what} '${name}' is already declared`);
    const clash = ancestors.find((a) => this.leaves.has(a));
    if (clash !== undefined) throw new ProducerError(`${what} '${name}' would be below metric '${clash}'`);
    this.leaves.add(name);
    for (const a of ancestors) this.interior.add(a);
  }
}

/** Put `value` at the dotted `name` inside `obj`, making objects on the way. */
function place(obj: Record<string, JsonOut>, name: string, value: JsonOut): void {
  const parts = name.split('.');
  let o = obj;
  for (const p of parts.slice(0, -1)) {
    let next = o[p];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) o[p] = next = {};
    o = next as Record<string, JsonOut>;
  }
  o[parts[parts.length - 1]!] = value;
}

function metricJson(d: Declared, pointer: string): MetricJson {
  const m: MetricJson = { name: d.name, pointer, type: d.kind };
  if (d.options.description) m.description = d.options.description;
  if (d.options.units) m.units = d.options.units;
  if (d.options.semantics && d.options.semantics !== 'instant') m.semantics = d.options.semantics;
  return m;
}

const SEMANTICS = new Set(['instant', 'counter', 'discrete']);

function checkOptions(name: string, o: MetricOptions): MetricOptions {
  if (o.semantics !== undefined && !SEMANTICS.has(o.semantics)) throw new ProducerError(`metric '${name}': semantics must be instant, counter or discrete`);
  if (o.units !== undefined && typeof o.units !== 'string') throw new ProducerError(`metric '${name}': units must be a string`);
  if (o.description !== undefined && typeof o.description !== 'string') throw new ProducerError(`metric '${name}': description must be a string`);
  return { ...o };
}

/**
 * A typed handle on one single-valued metric, returned by
 * {@link Producer.integer}, {@link Producer.double} and {@link Producer.string}.
 */
export class Metric<K extends Kind> {
  /** @internal */
  constructor(
    private readonly producer: Producer,
    /** The metric's name below the source. */
    readonly name: string,
    /** Its type in metadata.json. */
    readonly type: K,
  ) {}

  /** Set the value written by the next flush. */
  set(value: ValueOf<K>): this {
    this.producer.set(this.name, value);
    return this;
  }

  /** Add to an integer or double metric (a counter, say); an unset metric counts from 0. */
  add(delta: ValueOf<K> & (number | bigint)): this {
    this.producer.add(this.name, delta);
    return this;
  }

  /** Leave the value out of the data: PCP reports no value for it. */
  unset(): this {
    this.producer.unset(this.name);
    return this;
  }
}

/**
 * An array: a set of instances (network interfaces, disks, ...) that all
 * have the same members. PCP serves each member as one metric with an
 * instance domain; instance names come from the index member.
 */
export class ProducerArray {
  private readonly members: Declared[] = [];
  private readonly memberNames = new Names();
  private readonly rows = new Map<string, Map<string, number | bigint | string>>();

  /** @internal */
  constructor(
    private readonly producer: Producer,
    /** The array's name below the source. */
    readonly name: string,
    readonly options: ArrayOptions,
  ) {
    const index = options.index ?? '__id';
    if (index === '' || index.includes('.')) throw new ProducerError(`array '${name}': index member '${index}' must be a plain member name`);
  }

  /** The element member that names instances. */
  get index(): string {
    return this.options.index ?? '__id';
  }

  private declare(kind: Kind, member: string, options: MetricOptions): this {
    if (member === this.index) throw new ProducerError(`array '${this.name}': '${member}' is the index member`);
    this.memberNames.add(member, `array '${this.name}' member`);
    this.members.push({ name: member, kind, options: checkOptions(`${this.name}.${member}`, options) });
    this.producer.touchMetadata();
    return this;
  }

  /** Declare an integer member (PCP 64-bit integer). */
  integer(member: string, options: MetricOptions = {}): this {
    return this.declare('integer', member, options);
  }

  /** Declare a double member. */
  double(member: string, options: MetricOptions = {}): this {
    return this.declare('double', member, options);
  }

  /** Declare a string member. */
  string(member: string, options: MetricOptions = {}): this {
    return this.declare('string', member, options);
  }

  private member(member: string): Declared {
    const d = this.members.find((m) => m.name === member);
    if (!d) throw new ProducerError(`array '${this.name}' has no member '${member}'`);
    return d;
  }

  private checkInstance(instance: string): void {
    if (typeof instance !== 'string' || instance === '' || instance.includes('\n') || instance.length > 1024) {
      throw new ProducerError(`array '${this.name}': unusable instance name ${JSON.stringify(instance)}`);
    }
  }

  /** Set one member of one instance; the instance is added if it is new. */
  set(instance: string, member: string, value: number | bigint | string): this {
    this.checkInstance(instance);
    const d = this.member(member);
    const v = checkValue(d.kind, `${this.name}.${member}`, value);
    let row = this.rows.get(instance);
    if (!row) this.rows.set(instance, (row = new Map()));
    row.set(member, v);
    return this;
  }

  /** Set several members of one instance at once. */
  setInstance(instance: string, values: Record<string, number | bigint | string>): this {
    for (const [k, v] of Object.entries(values)) this.set(instance, k, v);
    if (Object.keys(values).length === 0) {
      this.checkInstance(instance);
      if (!this.rows.has(instance)) this.rows.set(instance, new Map());
    }
    return this;
  }

  /** Add to a numeric member of one instance (missing counts as 0). */
  add(instance: string, member: string, delta: number | bigint): this {
    const d = this.member(member);
    const cur = this.rows.get(instance)?.get(member);
    return this.set(instance, member, addValues(d.kind, `${this.name}.${member}`, cur, delta));
  }

  /** Drop an instance (it disappears from PCP's instance list). */
  delete(instance: string): boolean {
    return this.rows.delete(instance);
  }

  /** Drop every instance. */
  clear(): void {
    this.rows.clear();
  }

  /** Current instance names, in the order they were added. */
  instances(): string[] {
    return [...this.rows.keys()];
  }

  /** @internal */
  metadata(pointer: string): ArrayJson {
    const a: ArrayJson = {
      name: this.name,
      pointer,
      type: 'array',
      index: pointerOf([this.index]),
      metrics: this.members.map((m) => metricJson(m, pointerOf(m.name.split('.')))),
    };
    if (this.options.description) a.description = this.options.description;
    return a;
  }

  /** @internal */
  data(): JsonOut[] {
    const out: JsonOut[] = [];
    for (const [inst, row] of this.rows) {
      const el: Record<string, JsonOut> = { [this.index]: inst };
      for (const m of this.members) {
        const v = row.get(m.name);
        if (v !== undefined) place(el, m.name, v);
      }
      out.push(el);
    }
    return out;
  }
}

function addValues(kind: Kind, name: string, cur: number | bigint | string | undefined, delta: number | bigint): number | bigint {
  if (kind === 'string') throw new ProducerError(`metric '${name}' is a string metric`);
  const base = cur ?? 0;
  if (kind === 'double') return Number(base) + Number(delta);
  const sum = BigInt(base as number | bigint) + BigInt(checkValue('integer', name, delta) as number | bigint);
  return sum >= BigInt(Number.MIN_SAFE_INTEGER) && sum <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(sum) : sum;
}

/**
 * Writes one source directory for the JSON PMDA.
 *
 * ```ts
 * const p = new Producer('/var/lib/pcp/pmdas/json/sources/myapp', { prefix: 'myapp' });
 * const requests = p.integer('requests', { semantics: 'counter', units: 'count', description: 'Requests served' });
 * const disks = p.array('disks', { index: 'name' }).integer('reads', { semantics: 'counter' });
 * requests.add(1);
 * disks.set('sda', 'reads', 12n ** 20n);
 * p.write();              // metadata.json (when it changed) and data.json
 * ```
 *
 * Each metric is served as json.PREFIX.NAME (array members as
 * json.PREFIX.ARRAY.MEMBER). Dotted names make subtrees, and nested
 * objects in data.json. metadata.json is rewritten only when a
 * declaration changed (the PMDA renumbers nothing: names keep their
 * PMIDs); data.json is rewritten at every flush.
 */
export class Producer {
  /** The source directory. */
  readonly dir: string;
  private readonly options: ProducerOptions;
  private readonly names = new Names();
  private readonly entries: Array<{ kind: 'metric'; d: Declared } | { kind: 'array'; a: ProducerArray }> = [];
  private readonly values = new Map<string, number | bigint | string>();
  private metadataDirty = true;
  private lastMetadata: string | undefined;

  constructor(dir: string, options: ProducerOptions = {}) {
    if (options.prefix !== undefined && !isPcpName(options.prefix)) throw new ProducerError(`prefix '${options.prefix}' is not a valid PCP name`);
    this.dir = path.resolve(dir);
    this.options = { ...options };
  }

  /** metadata.json's path. */
  get metadataFile(): string {
    return path.join(this.dir, 'metadata.json');
  }

  /** data.json's path. */
  get dataFile(): string {
    return path.join(this.dir, 'data.json');
  }

  private declare<K extends Kind>(kind: K, name: string, options: MetricOptions): Metric<K> {
    this.names.add(name, 'metric');
    this.entries.push({ kind: 'metric', d: { name, kind, options: checkOptions(name, options) } });
    this.metadataDirty = true;
    return new Metric(this, name, kind);
  }

  /** Declare a 64-bit integer metric; values may be bigints. */
  integer(name: string, options: MetricOptions = {}): Metric<'integer'> {
    return this.declare('integer', name, options);
  }

  /** Declare a double-precision metric. */
  double(name: string, options: MetricOptions = {}): Metric<'double'> {
    return this.declare('double', name, options);
  }

  /** Declare a string metric. */
  string(name: string, options: MetricOptions = {}): Metric<'string'> {
    return this.declare('string', name, options);
  }

  /** Declare an array (a set of instances); declare its members on the result. */
  array(name: string, options: ArrayOptions = {}): ProducerArray {
    this.names.add(name, 'array');
    const a = new ProducerArray(this, name, { ...options });
    this.entries.push({ kind: 'array', a });
    this.metadataDirty = true;
    return a;
  }

  /** @internal an array's members changed */
  touchMetadata(): void {
    this.metadataDirty = true;
  }

  private find(name: string): Declared {
    for (const e of this.entries) if (e.kind === 'metric' && e.d.name === name) return e.d;
    throw new ProducerError(`no metric '${name}' is declared`);
  }

  /** Set a single-valued metric by name. */
  set(name: string, value: number | bigint | string): this {
    const d = this.find(name);
    this.values.set(name, checkValue(d.kind, name, value));
    return this;
  }

  /** Add to an integer or double metric (missing counts as 0). */
  add(name: string, delta: number | bigint): this {
    const d = this.find(name);
    this.values.set(name, addValues(d.kind, name, this.values.get(name), delta));
    return this;
  }

  /** Leave a metric's value out of data.json. */
  unset(name: string): this {
    this.find(name);
    this.values.delete(name);
    return this;
  }

  /** The metadata.json document for what is declared now. */
  metadata(): MetadataJson {
    const md: MetadataJson = { metrics: [] };
    if (this.options.prefix !== undefined) md.prefix = this.options.prefix;
    for (const e of this.entries) {
      if (e.kind === 'metric') md.metrics.push(metricJson(e.d, pointerOf(e.d.name.split('.'))));
      else md.metrics.push(e.a.metadata(pointerOf(e.a.name.split('.'))));
    }
    return md;
  }

  /** The data.json document for the values set now. */
  data(): Record<string, JsonOut> {
    const doc: Record<string, JsonOut> = {};
    for (const e of this.entries) {
      if (e.kind === 'metric') {
        const v = this.values.get(e.d.name);
        if (v !== undefined) place(doc, e.d.name, v);
      } else {
        place(doc, e.a.name, e.a.data());
      }
    }
    return doc;
  }

  /** metadata.json text, or undefined when the file written last is still current. */
  private pendingMetadata(): string | undefined {
    if (!this.metadataDirty && this.lastMetadata !== undefined) return undefined;
    const text = stringifyJson(this.metadata() as unknown as JsonOut, 2) + '\n';
    this.metadataDirty = false;
    if (text === this.lastMetadata) return undefined;
    return text;
  }

  /**
   * Write data.json, then metadata.json if the declarations changed, each
   * atomically. Data goes first, so the PMDA never sees a new metric
   * without its value. Creates the directory (mode 0755) if needed. Throws
   * {@link UnsafeDirectoryError}, writing nothing, if the directory is a
   * symbolic link, is not this process's (its effective uid), or is
   * writable by group or others.
   */
  write(): void {
    const fd = openSourceDir(this.dir);
    try {
      const at = viaFd(fd, this.dir);
      const mode = this.options.mode ?? 0o644;
      replaceIn(at, 'data.json', stringifyJson(this.data()) + '\n', mode);
      syncFd(fd);
      const md = this.pendingMetadata();
      if (md !== undefined) {
        try {
          replaceIn(at, 'metadata.json', md, mode);
        } catch (e) {
          this.metadataDirty = true;
          throw e;
        }
        syncFd(fd);
        this.lastMetadata = md;
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Asynchronous {@link Producer.write}: the same steps with fs.promises
   * (the twin of write(), kept apart so that write() stays synchronous).
   */
  async flush(): Promise<void> {
    const handle = await openSourceDirAsync(this.dir);
    try {
      const at = viaFd(handle.fd, this.dir);
      const mode = this.options.mode ?? 0o644;
      await replaceInAsync(at, 'data.json', stringifyJson(this.data()) + '\n', mode);
      await handle.sync().catch(() => undefined);
      const md = this.pendingMetadata();
      if (md !== undefined) {
        try {
          await replaceInAsync(at, 'metadata.json', md, mode);
        } catch (e) {
          this.metadataDirty = true;
          throw e;
        }
        await handle.sync().catch(() => undefined);
        this.lastMetadata = md;
      }
    } finally {
      await handle.close();
    }
  }
}
