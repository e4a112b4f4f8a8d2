// A producer API: a Node.js program declares metrics, sets their values
// and writes a source directory (metadata.json + data.json) that the PMDA
// serves. Nothing here needs libpcp or the native module, so a program may
// import `pmda-json/dist/producer` on a machine without PCP's headers.
//
// This file is the API: Producer, its single-valued Metric handles and its
// ProducerArray. What a declaration or a value must be, and how each is
// laid out in the documents, is in declared.ts; how the files are written
// (atomically, into a directory that was checked) is in files.ts.
// 64-bit integers stay exact: values may be bigints, and they are written
// as the digits they hold, not through JSON.stringify's doubles.
import * as fs from 'fs';
import * as path from 'path';

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

// ---- the parts of the producer: errors, files, declarations -----------------

import { ProducerError } from './errors';
import { UnsafeDirectoryError, writeFileAtomic, writeFileAtomicAsync, replaceIn, replaceInAsync, syncFd, viaFd, openSourceDir, openSourceDirAsync } from './files';
import { Names, checkValue, addValues, checkOptions, metricJson, place } from './declared';
import type { Kind, Declared, MetricOptions, ValueOf } from './declared';
export { ProducerError, UnsafeDirectoryError, writeFileAtomic, writeFileAtomicAsync };
export type { MetricOptions, ValueOf };

// ---- the producer -----------------------------------------------------------

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
    if (!row) this.rows.set(instance, (row = new Map<string, number | bigint | string>()));
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
