// One metric from the values a member has in every sample (and every
// element): its type, whether its numbers are written as strings, and
// its semantics: booleans are discrete, and an integer that never goes
// down, instance by instance over the samples, is guessed to be a
// counter when it went up at every step (three samples or more), or at
// one step if its name says it counts (bytes, packets, errors...): free
// memory or a disk's used blocks may well rise twice in a row, a counter
// idle for a while may well not rise at all.
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
export function leafType(obs: readonly Obs[], samples: number, name = ''): LeafType | { clash: string } {
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
  else if (integer && bools === 0 && samples > 1 && counts(obs, COUNTING.test(name.slice(name.lastIndexOf('.') + 1)))) t.semantics = 'counter';
  return t;
}

/** Words of names (their last part) that count: bytes, packets, errors, requests, sectors_read, io_time_ms, _total... */
const COUNTING = /(bytes|packets|pkts|errors|errs|drop|dropped|overrun|collisions|count|_total$|completed|merged|sectors|requests|reqs|ops|_ms|_usec|_sec|ticks|calls|hits|misses|faults|interrupts|intr|ctxt|switches|forks|reads|writes|_read$|_wrtn|_dscd|written|sent|received|recv|rcvd|xmit|transmit)/i;

/**
 * Does every instance's integer never go down over the samples, and
 * either one go up at every step of two or more, or (`counting`, a name
 * that counts) one go up at all?
 */
function counts(obs: readonly Obs[], counting: boolean): boolean {
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
  let everyStep = false;
  for (const seq of byInst.values()) {
    let prev: bigint | undefined;
    let steps = 0;
    let rises = 0;
    for (const v of seq) {
      if (v === undefined) continue;
      if (prev !== undefined && v < prev) return false;
      if (prev !== undefined) {
        steps++;
        if (v > prev) rises++;
      }
      prev = v;
    }
    if (rises > 0) up = true;
    if (steps >= 2 && rises === steps) everyStep = true;
  }
  return everyStep || (counting && up);
}
