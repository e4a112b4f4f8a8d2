// Which member of an array's elements names its instances. Candidates are
// the members every element has, holding a string or an integer; the
// first that is unique in every group of siblings wins (preferred names
// first). When none is, the array is still served: by the member unique
// in the most groups, with the fewest repeats, whose repeated elements
// the PMDA serves as the last one. Instance names are compared as the
// PMDA does: pmdaCache tells instances apart by their first word.
import type { JsonObject as Obj, JsonValue } from '../../format/json';
import { scalarOf } from './sample';

/** Index members tried first, in this order, before any other unique string member. */
export const PREFERRED_INDEX = ['__id', 'name', 'id'];

/** Integer members other than those may name instances when their name says they are numbers of things. */
const ID_LIKE = /(id|index|idx|num|number|cpu|node)$/i;

/** The instance name a member value gives, as the PMDA makes it; undefined if none. */
export function nameOf(v: JsonValue | undefined): string | undefined {
  const s = scalarOf(v);
  const name = s?.k === 'str' ? s.v : s?.k === 'int' ? String(s.v) : undefined;
  if (name === undefined || name === '' || name.length > 1024 || name.includes('\n') || name.includes('\u0000')) return undefined;
  return name;
}

/** The members that may name the elements of `groups`, best first. */
function candidates(groups: readonly (readonly Obj[])[]): string[] {
  const kinds = new Map<string, 'str' | 'int' | 'no'>();
  for (const g of groups) {
    for (const el of g) {
      for (const key of Object.keys(el)) if (!kinds.has(key)) kinds.set(key, 'int');
    }
  }
  for (const [key, kind] of kinds) {
    let k = kind;
    for (const g of groups) {
      for (const el of g) {
        if (nameOf(el[key]) === undefined) k = 'no';
        else if (k === 'int' && typeof el[key] === 'string') k = 'str';
      }
    }
    kinds.set(key, k);
  }
  const is = (kind: 'str' | 'int') => (key: string): boolean => kinds.get(key) === kind;
  const other = (key: string): boolean => !PREFERRED_INDEX.includes(key);
  return [
    ...PREFERRED_INDEX.filter(is('str')),
    ...[...kinds.keys()].filter((k) => is('str')(k) && other(k)),
    ...PREFERRED_INDEX.filter(is('int')),
    ...[...kinds.keys()].filter((k) => is('int')(k) && other(k) && ID_LIKE.test(k)),
  ];
}

/** How the names `name(el)` repeat within each group. */
export interface Repeats {
  /** Groups with no repeat. */
  uniqueGroups: number;
  /** Elements whose name (or its first word) an earlier sibling had. */
  repeats: number;
  /** Some repeated names, or first words followed by ' …'. */
  repeated: string[];
}

export function repeatsOf(groups: readonly (readonly Obj[])[], name: (el: Obj) => string): Repeats {
  const r: Repeats = { uniqueGroups: 0, repeats: 0, repeated: [] };
  for (const g of groups) {
    const names = new Set<string>();
    const words = new Map<string, string>();
    const before = r.repeats;
    for (const el of g) {
      const n = name(el);
      const space = n.indexOf(' ');
      const word = space < 0 ? n : n.slice(0, space);
      const other = words.get(word);
      let rep: string | undefined;
      if (names.has(n)) rep = n;
      else if (other !== undefined && other !== n) rep = `${word} …`;
      names.add(n);
      words.set(word, n);
      if (rep === undefined) continue;
      r.repeats++;
      if (r.repeated.length < 3 && !r.repeated.includes(rep)) r.repeated.push(rep);
    }
    if (r.repeats === before) r.uniqueGroups++;
  }
  return r;
}

export interface IndexChoice {
  key: string;
  /** Set when the key repeats: how. */
  repeats?: Repeats;
  /** Two members unique together, when no one is (an index is one member: for the report). */
  pair?: [string, string];
}

/**
 * The index for elements in sibling `groups` (an array's elements, in
 * each sample and each outer element); undefined when no member of
 * every element holds a name.
 */
export function chooseIndex(groups: readonly (readonly Obj[])[]): IndexChoice | undefined {
  const cands = candidates(groups);
  if (cands.length === 0) return undefined;
  let best: IndexChoice | undefined;
  for (const key of cands) {
    const reps = repeatsOf(groups, (el) => nameOf(el[key])!);
    if (reps.repeats === 0) return { key };
    const b = best?.repeats;
    if (!b || reps.uniqueGroups > b.uniqueGroups || (reps.uniqueGroups === b.uniqueGroups && reps.repeats < b.repeats)) best = { key, repeats: reps };
  }
  for (let i = 0; i < cands.length && !best!.pair; i++) {
    for (let j = i + 1; j < cands.length; j++) {
      const [a, b] = [cands[i]!, cands[j]!];
      if (repeatsOf(groups, (el) => `${nameOf(el[a])}\u0000${nameOf(el[b])}`).repeats === 0) {
        best!.pair = [a, b];
        break;
      }
    }
  }
  return best;
}

/** The element member that names instances: present in every element, a string (or integer), unique. */
export function guessIndex(elements: readonly Obj[]): string | undefined {
  const c = chooseIndex([elements]);
  return c && !c.repeats ? c.key : undefined;
}
