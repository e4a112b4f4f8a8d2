// One metric from the values a member has in every sample (and every
// element): its type, whether its numbers are written as strings, and
// its semantics: booleans are discrete, and an integer that never goes
// down and goes up at least once, instance by instance over the samples,
// is guessed to be a counter.
import type { JsonValue } from '../../format/json';
import { scalarOf } from './sample';

/** One value seen: in which sample, for which instance ('' for none). */
export interface Obs {
  s: number;
  inst: string;
  v: JsonValue;
}

export interface LeafType {
  type: 'integer' | 'double' | 'string';
  numericStrings: boolean;
  semantics?: 'counter' | 'discrete';
}

/** The metric for these (non-null scalar) values, or why there is none. */
export function leafType(obs: readonly Obs[], samples: number): LeafType | { clash: string } {
  let bools = 0;
  let ints = 0;
  let doubles = 0;
  let numStrings = 0;
  let texts = 0;
  let intStrings = 0;
  for (const o of obs) {
    const s = scalarOf(o.v);
    if (!s) continue;
    if (s.k === 'bool') bools++;
    else if (s.k === 'int') ints++;
    else if (s.k === 'double') doubles++;
    else if (s.num === undefined) texts++;
    else {
      numStrings++;
      if (s.num === 'int') intStrings++;
    }
  }
  if (texts > 0) {
    // strings, some of them not numbers: a string metric, if all are strings
    if (bools + ints + doubles === 0) return { type: 'string', numericStrings: false };
    return { clash: `it holds both strings and ${bools > 0 ? 'booleans' : 'numbers'}` };
  }
  const integer = doubles === 0 && numStrings === intStrings;
  const t: LeafType = { type: integer ? 'integer' : 'double', numericStrings: numStrings > 0 };
  if (bools === obs.length) t.semantics = 'discrete';
  else if (integer && bools === 0 && samples > 1 && counts(obs)) t.semantics = 'counter';
  return t;
}

/** Does every instance's integer never go down over the samples, and one go up? */
function counts(obs: readonly Obs[]): boolean {
  const byInst = new Map<string, Array<bigint | undefined>>();
  for (const o of obs) {
    const s = scalarOf(o.v);
    const v = s?.k === 'int' ? s.v : s?.k === 'str' ? s.int : undefined;
    if (v === undefined) return false;
    let seq = byInst.get(o.inst);
    if (!seq) byInst.set(o.inst, (seq = []));
    // a repeated instance in one sample: the last is served, the last counts
    seq[o.s] = v;
  }
  let up = false;
  for (const seq of byInst.values()) {
    let prev: bigint | undefined;
    for (const v of seq) {
      if (v === undefined) continue;
      if (prev !== undefined && v < prev) return false;
      if (prev !== undefined && v > prev) up = true;
      prev = v;
    }
  }
  return up;
}
