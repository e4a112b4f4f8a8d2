// pmdajson-generate's inference from sample data: one or more documents
// a program printed, walked together. Scalars become metrics (leaf.ts);
// objects give dotted names, or, when all their members are objects of
// one shape, an object map (an array without index); arrays of objects
// become arrays, their index chosen by index-key.ts: an array inside an
// array's elements is a nested array, elements holding an array of
// elements of their own shape a tree, and a level that has one element
// in every sample and holds arrays itself is read through '/0'. Each
// value seen is kept with its sample and instance, so that counters can
// be told over the samples. What cannot be described is left out, one
// line in `problems` each.
import { isObject } from '../../format/json';
import type { JsonValue, JsonObject as Obj } from '../../format/json';
import { escapeToken } from '../../format/names';
import { Problems, pcpComponent, shown } from './common';
import type { GenArray, GenMetric, Generated } from './common';
import { leafType } from './leaf';
import type { Obs } from './leaf';
import { chooseIndex, nameOf, repeatsOf, PREFERRED_INDEX } from './index-key';
import type { IndexChoice } from './index-key';

/** The name of an array (or object map) that is the whole document, pointer "". */
export const TOP_NAME = 'items';

/** Arrays inside arrays, at most (format.md 1). */
const MAX_NESTING = 8;
/** Levels of a tree, at most (format.md 2). */
const MAX_TREE_DEPTH = 64;

/** Where entries go: the document's metrics, or an array's (named below `base`). */
interface Level {
  base: string;
  depth: number;
  out: Array<GenMetric | GenArray>;
}

function without(el: Obj, ...keys: string[]): Obj {
  const o: Obj = {};
  for (const [k, v] of Object.entries(el)) if (!keys.includes(k)) o[k] = v;
  return o;
}

/** Does `v` hold an array of objects somewhere below it? */
function holdsArrays(v: JsonValue, depth = 0): boolean {
  if (depth > MAX_TREE_DEPTH) return false;
  if (Array.isArray(v)) return v.some((e) => isObject(e) || holdsArrays(e, depth + 1));
  return isObject(v) && Object.values(v).some((e) => holdsArrays(e, depth + 1));
}

/** Objects whose members are all objects of one shape, two names or more: an object map. */
function isMap(objs: readonly Obj[]): boolean {
  let shape: string | undefined;
  const keys = new Set<string>();
  for (const o of objs) {
    for (const [k, v] of Object.entries(o)) {
      if (!isObject(v) || nameOf(k) === undefined) return false;
      const s = Object.keys(v).sort().join('\u0000');
      if (shape === undefined) shape = s;
      else if (s !== shape) return false;
      keys.add(k);
    }
  }
  return keys.size >= 2 && shape !== '';
}

/** The member of `groups`' elements that holds child elements of the same shape, if one does. */
function treeKey(groups: readonly Obj[][]): string | undefined {
  const top = groups.flat();
  const shape = new Set(top.flatMap((el) => Object.keys(el)));
  for (const key of shape) {
    let some = false;
    let ok = true;
    const walk = (els: readonly Obj[], depth: number): void => {
      for (const el of els) {
        const c = el[key];
        if (c === undefined || c === null) continue;
        if (!Array.isArray(c) || !c.every((ch) => isObject(ch) && Object.keys(ch).every((k) => shape.has(k)))) {
          ok = false;
          return;
        }
        some ||= c.length > 0;
        if (depth < MAX_TREE_DEPTH) walk(c as Obj[], depth + 1);
      }
    };
    walk(top, 1);
    if (ok && some) return key;
  }
  return undefined;
}

class Walk {
  readonly problems = new Problems();
  /** Integer metrics made that could be counters. */
  integers = 0;

  constructor(readonly samples: number) {}

  private skip(name: string, why: string): void {
    this.problems.add(`skipping '${name}': ${why}`);
  }

  private rel(name: string, level: Level): string {
    return level.base ? name.slice(level.base.length + 1) : name;
  }

  /** The values `obs` of one member: at `name` ('' for the document) and `pointer`. */
  value(obs: readonly Obs[], name: string, pointer: string, level: Level): void {
    const nm = name || TOP_NAME;
    const present = obs.filter((o) => o.v !== null);
    if (present.length === 0) return this.skip(nm, this.samples > 1 ? 'it is null in every sample' : 'null says nothing about the type');
    const kinds = new Set(present.map((o) => (Array.isArray(o.v) ? 'arrays' : isObject(o.v) ? 'objects' : 'scalars')));
    if (kinds.size > 1) return this.skip(nm, `it holds ${[...kinds].join(' and ')}`);
    if (kinds.has('scalars')) return this.leaf(present, nm, pointer, level);
    if (kinds.has('arrays')) return this.array(present, name, pointer, level);
    if (isMap(present.map((o) => o.v as Obj))) {
      const members = present.flatMap((o) => Object.entries(o.v as Obj).map(([k, v]) => ({ s: o.s, inst: `${o.inst}/${k}`, v })));
      if (level.depth >= MAX_NESTING) return this.skip(nm, `arrays nested more than ${MAX_NESTING} deep cannot be served`);
      return this.entry(members, nm, pointer, level, {});
    }
    this.object(present, name, pointer, level);
  }

  /** An object's members, by name: dotted names below `name`. */
  object(obs: readonly Obs[], name: string, pointer: string, level: Level): void {
    const keys = new Set<string>();
    for (const o of obs) for (const k of Object.keys(o.v as Obj)) keys.add(k);
    const used = new Map<string, string>();
    for (const key of keys) {
      const comp = pcpComponent(key);
      const seen = name ? `${name}.${key}` : key;
      if (used.has(comp)) {
        this.problems.add(`skipping '${seen}': its PCP name '${comp}' is already taken by '${used.get(comp)}'`);
        continue;
      }
      used.set(comp, key);
      if (comp !== key) this.problems.add(`'${seen}' is named '${comp}' (PCP names are letters, digits and '_', starting with a letter)`);
      const child = obs.flatMap((o) => (Object.hasOwn(o.v as Obj, key) ? [{ s: o.s, inst: o.inst, v: (o.v as Obj)[key]! }] : []));
      this.value(child, name ? `${name}.${comp}` : comp, `${pointer}/${escapeToken(key)}`, level);
    }
  }

  private leaf(obs: readonly Obs[], name: string, pointer: string, level: Level): void {
    const t = leafType(obs, this.samples, name);
    if ('clash' in t) return this.skip(name, t.clash);
    const m: GenMetric = { name: this.rel(name, level), pointer, type: t.type };
    if (t.semantics) m.semantics = t.semantics;
    if (t.numericStrings) m['numeric-strings'] = true;
    if (t.type === 'integer' && t.semantics !== 'discrete') this.integers++;
    level.out.push(m);
  }

  private array(obs: readonly Obs[], name: string, pointer: string, level: Level): void {
    const nm = name || TOP_NAME;
    const groups = obs.map((o) => o.v as JsonValue[]);
    const elements = groups.flat();
    if (elements.length === 0) return this.skip(nm, 'an empty array says nothing about its members');
    if (!elements.every(isObject)) return this.skip(nm, 'only arrays of objects can be served (an array of scalars has no instance names)');
    if (level.depth >= MAX_NESTING) return this.skip(nm, `arrays nested more than ${MAX_NESTING} deep cannot be served`);
    const objs = groups as Obj[][];
    const children = treeKey(objs);
    if (children !== undefined) return this.tree(obs, nm, pointer, level, children);
    if (objs.every((g) => g.length === 1) && elements.every((el) => !PREFERRED_INDEX.some((k) => k in el) && holdsArrays(el))) {
      // one element in every sample, holding arrays (iostat's sysstat.hosts): a level, not an array
      return this.value(obs.map((o, i) => ({ s: o.s, inst: o.inst, v: objs[i]![0]! })), name, `${pointer}/0`, level);
    }
    const choice = chooseIndex(objs);
    if (!choice) return this.skip(nm, 'no member names every element uniquely (none in every element is a string, or an integer named like an id)');
    if (choice.repeats) this.repeated(nm, choice);
    const key = choice.key;
    const members = obs.flatMap((o) => (o.v as Obj[]).map((el) => ({ s: o.s, inst: `${o.inst}/${nameOf(el[key])!}`, v: without(el, key) })));
    this.entry(members, nm, pointer, level, { index: '/' + escapeToken(key) });
  }

  /** An array whose elements hold their children at `key`: every element of every depth an instance. */
  private tree(obs: readonly Obs[], name: string, pointer: string, level: Level, key: string): void {
    let deep = false;
    const groups = (els: Obj[], depth: number, f: (g: Obj[]) => void): void => {
      f(els);
      for (const el of els) {
        const c = el[key];
        if (!Array.isArray(c) || c.length === 0) continue;
        if (depth >= MAX_TREE_DEPTH) deep = true;
        else groups(c as Obj[], depth + 1, f);
      }
    };
    const siblings: Obj[][] = [];
    const wholes: Obj[][] = [];
    for (const o of obs) {
      const whole: Obj[] = [];
      groups(o.v as Obj[], 1, (g) => {
        siblings.push(g);
        whole.push(...g);
      });
      wholes.push(whole);
    }
    const choice = chooseIndex(siblings);
    if (!choice) return this.skip(name, 'no member names every element uniquely (none in every element is a string, or an integer named like an id)');
    if (choice.repeats) this.repeated(name, choice);
    const idx = choice.key;
    // a name unique over the whole tree names an element alone; else its path does
    const overall = repeatsOf(wholes, (el) => nameOf(el[idx])!);
    const leaf = overall.repeats === 0;
    if (!leaf && !choice.repeats) this.problems.add(`'${name}': elements are named by the path of their '${idx}' joined with '/', as '${idx}' repeats in the tree (${overall.repeated.map(shown).join(', ')})`);
    if (deep) this.problems.add(`'${name}': elements deeper than ${MAX_TREE_DEPTH} levels are not served`);
    const members: Obs[] = [];
    for (const o of obs) {
      const visit = (els: Obj[], parent: string, depth: number): void => {
        for (const el of els) {
          const n = nameOf(el[idx])!;
          const inst = leaf || parent === '' ? n : `${parent}/${n}`;
          members.push({ s: o.s, inst: `${o.inst}/${inst}`, v: without(el, idx, key) });
          const c = el[key];
          if (Array.isArray(c) && depth < MAX_TREE_DEPTH) visit(c as Obj[], inst, depth + 1);
        }
      };
      visit(o.v as Obj[], '', 1);
    }
    const extra: Partial<GenArray> = { index: '/' + escapeToken(idx), children: '/' + escapeToken(key) };
    if (leaf) extra['instance-names'] = 'leaf';
    this.entry(members, name, pointer, level, extra);
  }

  private repeated(name: string, c: IndexChoice): void {
    const r = c.repeats!;
    const alike = r.repeated.some((v) => v.endsWith(' …')) ? '; of names alike up to their first space (PCP tells instances apart by their first word), the first' : '';
    const pair = c.pair ? `; '${c.pair[0]}' and '${c.pair[1]}' together would be unique, but an index is one member` : '';
    this.problems.add(`'${name}': no member names every element uniquely; indexed by '${c.key}', which repeats (${r.repeated.map(shown).join(', ')}): of elements with the same '${c.key}', the last is served${alike}${pair}`);
  }

  /** An array entry whose elements' members are `members`. */
  private entry(members: readonly Obs[], name: string, pointer: string, level: Level, extra: Partial<GenArray>): void {
    const inner: Level = { base: name, depth: level.depth + 1, out: [] };
    this.object(members, name, '', inner);
    if (inner.out.length === 0) return this.skip(name, 'its elements have no members that can be served');
    level.out.push({ name: this.rel(name, level), pointer, type: 'array', ...extra, metrics: inner.out });
  }
}

/**
 * Metadata for data shaped like `samples`, documents one program printed
 * (two or more to guess counters). Units are left empty and semantics
 * instant unless guessed: edit the result.
 */
export function metadataFromSamples(samples: readonly JsonValue[]): Generated {
  const w = new Walk(samples.length);
  const top: Level = { base: '', depth: 0, out: [] };
  w.value(samples.map((v, s) => ({ s, inst: '', v })), '', '', top);
  if (samples.length === 1 && w.integers > 0) w.problems.add('one sample: no integer is guessed to be a counter (two samples or more are needed)');
  return { doc: { metrics: top.out }, problems: w.problems.lines };
}

/** Metadata for data shaped like one `sample`. */
export function metadataFromData(sample: JsonValue): Generated {
  return metadataFromSamples([sample]);
}
