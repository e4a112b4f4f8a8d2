// The instances of a source: the elements of each array in its data (or
// the members of an object, named by their keys), named by their index
// value, numbered through the source's instance cache (src/pmda/numbering/numbering.ts)
// and ordered by instance id, as pmdaFetch walks them. Names that cannot
// be PCP instance names are left out, with one log line per array. A
// nested array's or a tree's elements are named by the view, each level's
// name joined with '/' (src/pmda/data/levels.ts), and max_instances counts
// them all. When
// a new document names the same instances as the last one (a view that
// can tell, src/pmda/data/query.ts), the last rows are kept as they are.
import { isComposed } from '../../format/metadata';
import type { ArraySpec } from '../../format/metadata';
import type { InstanceNumbers } from '../numbering/numbering';
import type { DataView } from './view';
import * as log from '../limits/log';

/** The rows of one array in the current data, ordered by instance id. */
export interface Rows {
  insts: Int32Array;
  /** Each instance's element: its position in the view's array. */
  elements: Int32Array;
}

export interface Limits {
  maxInstances: number;
  /** max_data_bytes: the names a nested array's or a tree's levels make, all together, at most (a document's names are in it). */
  maxNameBytes: number;
  maxCached: number;
  cullSeconds: number;
}

export class InstanceIndex {
  /** The active names last given to the cache. */
  private activeKey = '';
  /** The names of the view the last rows were built from, and those rows. */
  private lastNames: Buffer | undefined;
  private lastRows: Map<string, Rows> | undefined;

  constructor(
    private readonly cache: InstanceNumbers,
    /** Prefix of this source's log keys. */
    private readonly keyPrefix: string,
  ) {}

  private key(what: string): string {
    return `${this.keyPrefix}:${what}`;
  }

  /** Index every array's elements by instance name, numbering new names. */
  build(arrays: readonly ArraySpec[], view: DataView, where: string, limits: Limits): Map<string, Rows> {
    if (view.names && this.lastNames && this.lastRows && view.names.equals(this.lastNames)) return this.lastRows;
    const { maxInstances, maxCached, cullSeconds } = limits;
    const rows = new Map<string, Rows>();
    const seen = new Map<string, true>();
    // joined names can be far longer than the document (a long outer name, many inner elements)
    let joinedBytes = 0;
    const perArray: Array<[ArraySpec, Map<string, number>]> = [];
    arrays.forEach((a, ai) => {
      const byName = new Map<string, number>();
      const firstWords = new Map<string, string>();
      // an array's elements, or an object's members named by their keys
      const found = view.found(ai);
      const isMap = found === 'map';
      if (found !== 'array' && !isMap) {
        log.problem(this.key(`array:${a.name}`), `${where}: array '${a.name}': ${found === 'none' ? 'nothing' : 'no array or object'} at pointer '${a.pointer.text}'`);
        perArray.push([a, byName]);
        return;
      }
      let bad = '';
      const composed = isComposed(a);
      let n = view.count(ai);
      if (n > maxInstances) {
        bad = `${n} ${isMap ? 'members' : 'elements'}, serving the first ${maxInstances} (max_instances)`;
        n = maxInstances;
      }
      for (let i = 0; i < n; i++) {
        const key = isMap && !composed ? view.key(ai, i) : undefined;
        let inst: string;
        if (composed) {
          inst = view.nameOf!(ai, i);
          if (!seen.has(inst) && (joinedBytes += inst.length) > limits.maxNameBytes) {
            bad ||= `its instance names, joined from its levels, are more than ${limits.maxNameBytes} characters together (max_data_bytes); those past them are not served`;
            break;
          }
        } else if (a.index === undefined) {
          if (key === undefined) {
            bad ||= `it has no 'index', so its elements have no instance names (only an object's members are named by their keys)`;
            continue;
          }
          inst = key;
        } else {
          // an index pointer, when given, wins over the key
          const idx = view.index(ai, i);
          if (typeof idx === 'string') inst = idx;
          else if (typeof idx === 'number' || typeof idx === 'bigint') inst = String(idx);
          else {
            bad ||= `${key === undefined ? `element ${i}` : `member ${JSON.stringify(key.slice(0, 64))}`} has no string or number at index pointer '${a.index.text}'`;
            continue;
          }
        }
        if (inst === '' || inst.length > 1024 || inst.includes('\n') || inst.includes('\u0000')) {
          bad ||= `element ${i} has an unusable instance name ${JSON.stringify(inst.slice(0, 64))}`;
          continue;
        }
        // pmdaCache (and PCP clients) tell instances apart by their first word
        const space = inst.indexOf(' ');
        const word = space < 0 ? inst : inst.slice(0, space);
        const other = firstWords.get(word);
        if (other !== undefined && other !== inst) {
          bad ||= `instance names '${other}' and '${inst}' are the same up to the first space; '${inst}' is not served`;
          continue;
        }
        firstWords.set(word, inst);
        if (byName.has(inst)) bad ||= `duplicate instance name ${JSON.stringify(inst)}; the last one is served`;
        byName.set(inst, i);
        seen.set(inst, true);
      }
      if (composed) bad ||= view.problem!(ai);
      if (bad) log.problem(this.key(`array:${a.name}`), `${where}: array '${a.name}': ${bad}`);
      else log.resolved(this.key(`array:${a.name}`));
      perArray.push([a, byName]);
    });
    const activeKey = [...seen.keys()].join('\n');
    if (activeKey !== this.activeKey) {
      const refused = this.cache.activate(seen.keys(), { max: maxCached, cullSeconds });
      this.cache.save();
      this.activeKey = activeKey;
      if (refused.length > 0) {
        const list = refused.slice(0, 3).map(([n, why]) => `${JSON.stringify(n)} (${why})`).join(', ');
        log.problem(this.key('instances'), `${where}: ${refused.length} instance name(s) cannot be used, e.g. ${list}`);
      } else log.resolved(this.key('instances'));
    }
    for (const [a, byName] of perArray) {
      const pairs: Array<[number, number]> = [];
      for (const [name, el] of byName) {
        const inst = this.cache.lookup(name);
        if (inst !== undefined) pairs.push([inst, el]);
      }
      pairs.sort((x, y) => x[0] - y[0]);
      rows.set(a.name, { insts: Int32Array.from(pairs, (p) => p[0]), elements: Int32Array.from(pairs, (p) => p[1]) });
    }
    // the next document may name the same instances: then these rows are its rows
    this.lastNames = view.names ? Buffer.from(view.names) : undefined;
    this.lastRows = rows;
    return rows;
  }
}
