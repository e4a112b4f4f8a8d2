// What a producer declares and the values it is given: the rules they
// must follow (PCP names without clashes, semantics, the kind of each
// value, the 64-bit integer range) and how they become metadata.json
// entries and data.json members.
import type { Semantics, MetricJson } from '../format/document';
import { validName as isPcpName } from '../format/names';
import type { JsonOut } from '../format/json';
import { ProducerError } from './errors';

/** How a metric is described to PCP. */
export interface MetricOptions {
  /** Help text, shown by `pminfo -t` and `-T`. */
  description?: string;
  /** PCP units as pmParseUnitsStr(3) reads them: "count", "byte", "millisec", "byte / sec"... */
  units?: string;
  /** "instant" (the default), "counter" or "discrete". */
  semantics?: Semantics;
}

export type Kind = 'integer' | 'double' | 'string';
/** Values by kind: integers are bigint or safe-integer numbers. */
export type ValueOf<K extends Kind> = K extends 'integer' ? number | bigint : K extends 'double' ? number : string;

export interface Declared {
  name: string;
  kind: Kind;
  options: MetricOptions;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function checkValue(kind: Kind, name: string, value: unknown): number | bigint | string {
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
export class Names {
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
export function place(obj: Record<string, JsonOut>, name: string, value: JsonOut): void {
  const parts = name.split('.');
  let o = obj;
  for (const p of parts.slice(0, -1)) {
    let next = o[p];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) o[p] = next = {};
    o = next as Record<string, JsonOut>;
  }
  o[parts[parts.length - 1]!] = value;
}

export function metricJson(d: Declared, pointer: string): MetricJson {
  const m: MetricJson = { name: d.name, pointer, type: d.kind };
  if (d.options.description) m.description = d.options.description;
  if (d.options.units) m.units = d.options.units;
  if (d.options.semantics && d.options.semantics !== 'instant') m.semantics = d.options.semantics;
  return m;
}

const SEMANTICS = new Set(['instant', 'counter', 'discrete']);

export function checkOptions(name: string, o: MetricOptions): MetricOptions {
  if (o.semantics !== undefined && !SEMANTICS.has(o.semantics)) throw new ProducerError(`metric '${name}': semantics must be instant, counter or discrete`);
  if (o.units !== undefined && typeof o.units !== 'string') throw new ProducerError(`metric '${name}': units must be a string`);
  if (o.description !== undefined && typeof o.description !== 'string') throw new ProducerError(`metric '${name}': description must be a string`);
  return { ...o };
}

export function addValues(kind: Kind, name: string, cur: number | bigint | string | undefined, delta: number | bigint): number | bigint {
  if (kind === 'string') throw new ProducerError(`metric '${name}' is a string metric`);
  const base = cur ?? 0;
  if (kind === 'double') return Number(base) + Number(delta);
  const sum = BigInt(base) + BigInt(checkValue('integer', name, delta));
  return sum >= BigInt(Number.MIN_SAFE_INTEGER) && sum <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(sum) : sum;
}
