// A view of a source's current data: what its metrics, arrays, instance
// names and instance labels find in the document. Two kinds give the same
// answers: a QueryView (src/pmda/data/query.ts) reads them from the slots the
// native query wrote, without a JavaScript object for the document; a
// TreeView reads them from a document JSON.parse built (src/format/json.ts),
// for what the query leaves to JavaScript: schema sources, and documents
// simdjson does not take as JSON.parse does (docs/PARSING.md), and
// sources whose arrays are nested or trees (src/pmda/data/levels.ts).
import type { JsonValue } from '../../format/json';
import { isComposed } from '../../format/metadata';
import type { ArraySpec, MetricSpec } from '../../format/metadata';
import { resolve } from '../../format/pointer';
import { Walk } from './levels';

/** Where a metric's value is in a view: a scalar's index, or a member's index in its array. */
export interface Placed {
  spec: MetricSpec;
  /** Its array's index in the source's arrays, when it has one. */
  arrayAt?: number;
  slot: number;
}

/** What an array's pointer found: nothing, not an array or object, an array, an object map. */
export type Found = 'none' | 'other' | 'array' | 'map';

/** Marks an array or object value in a view: for messages, never for values. */
export const AN_ARRAY: JsonValue = Object.freeze([]) as unknown as JsonValue;
export const AN_OBJECT: JsonValue = Object.freeze({});

export interface DataView {
  /** The value of a metric that has no array. */
  scalar(m: Placed): JsonValue | undefined;
  /** What array `a`'s pointer found, and how many elements (members) it has. */
  found(a: number): Found;
  count(a: number): number;
  /** The key of element `e` of an object map. */
  key(a: number, e: number): string;
  /** What element `e`'s index pointer finds in it. */
  index(a: number, e: number): JsonValue | undefined;
  /** The value of member `m` in element `e`. */
  member(a: number, e: number, m: Placed): JsonValue | undefined;
  /** The value of instance label `j` of array `a` in element `e`. */
  label(a: number, e: number, j: number): JsonValue | undefined;
  /**
   * The instance names of every array, as bytes: equal names, equal
   * instances. Only views that can tell it cheaply have it.
   */
  readonly names?: Buffer;
  /** A nested array's or a tree's element `e`: its instance name, its levels' joined with '/' (TreeView only). */
  nameOf?(a: number, e: number): string;
  /** The first problem met naming a nested array's or a tree's elements, '' if none (TreeView only). */
  problem?(a: number): string;
}

/** A view of a parsed document. */
export class TreeView implements DataView {
  private readonly elements: Array<{ found: Found; keys?: string[]; values: JsonValue[] } | Walk>;

  constructor(
    readonly doc: JsonValue,
    private readonly arrays: readonly ArraySpec[],
    /** max_instances: a nested array's or a tree's walk looks at this many elements of each level at most. */
    maxInstances = Infinity,
    /** When the walks must end (performance.now()): the author's time left in this fetch. */
    by = Infinity,
  ) {
    this.elements = arrays.map((a) => {
      if (isComposed(a)) return new Walk(a, doc, maxInstances, by);
      const v = resolve(a.pointer, doc);
      if (v === undefined) return { found: 'none', values: [] };
      if (Array.isArray(v)) return { found: 'array', values: v };
      if (v === null || typeof v !== 'object') return { found: 'other', values: [] };
      const keys = Object.keys(v);
      return { found: 'map', keys, values: keys.map((k) => v[k]!) };
    });
  }

  scalar(m: Placed): JsonValue | undefined {
    return resolve(m.spec.pointer, this.doc);
  }

  found(a: number): Found {
    return this.elements[a]!.found;
  }

  count(a: number): number {
    return this.elements[a]!.values.length;
  }

  key(a: number, e: number): string {
    const el = this.elements[a]!;
    return el instanceof Walk ? el.nameOf(e) : el.keys![e]!;
  }

  nameOf(a: number, e: number): string {
    return (this.elements[a] as Walk).nameOf(e);
  }

  problem(a: number): string {
    const el = this.elements[a]!;
    return el instanceof Walk ? el.problem : '';
  }

  index(a: number, e: number): JsonValue | undefined {
    const index = this.arrays[a]!.index;
    return index ? resolve(index, this.elements[a]!.values[e]) : undefined;
  }

  member(a: number, e: number, m: Placed): JsonValue | undefined {
    return resolve(m.spec.pointer, this.elements[a]!.values[e]);
  }

  label(a: number, e: number, j: number): JsonValue | undefined {
    return resolve(this.arrays[a]!.instanceLabels![j]![1], this.elements[a]!.values[e]);
  }
}
