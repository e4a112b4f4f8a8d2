// The elements of a nested array or a tree (src/format/metadata.ts): each
// level's elements found in every element of the level above, a tree's
// children in every element at every depth, each element named by its
// levels' names joined with '/' (a tree with "instance-names": "leaf":
// the tree's part is the element's own name). Only a parsed document is
// walked (TreeView, src/pmda/data/view.ts): a source with such arrays
// compiles no query (src/pmda/data/query.ts).
import { MAX_TREE_DEPTH } from '../../format/metadata';
import type { ArraySpec, Level } from '../../format/metadata';
import type { JsonValue } from '../../format/json';
import { resolve } from '../../format/pointer';
import type { Found } from './view';

/** Characters of an instance name at most (src/pmda/data/instances.ts refuses longer ones). */
const MAX_NAME = 1024;

type Elements = { keys?: string[]; values: JsonValue[] };

/** What an array's elements are, at one place: an array's, an object's members (with their keys), or none. */
function elementsAt(v: JsonValue | undefined, seen: Map<object, Elements>): Elements | undefined {
  if (Array.isArray(v)) return { values: v };
  if (v === null || typeof v !== 'object') return undefined;
  // an object met again (a tree inside a tree) is not listed again
  let e = seen.get(v);
  if (e) return e;
  const keys = Object.keys(v);
  e = { keys, values: keys.map((k) => v[k]!) };
  seen.set(v, e);
  return e;
}

/** An element's own name at its level: its index value, or its key. */
function ownName(level: Level, element: JsonValue, key: string | undefined): string | undefined {
  if (level.index === undefined) return key;
  const idx = resolve(level.index, element);
  if (typeof idx === 'string') return idx;
  if (typeof idx === 'number' || typeof idx === 'bigint') return String(idx);
  return undefined;
}

/** The elements of one nested array or tree in a document, and their instance names. */
export class Walk {
  /** What the outermost pointer found. */
  found: Found = 'none';
  /** The elements, in document order (a tree's: each before its children). */
  readonly values: JsonValue[] = [];
  /** The first problem met naming them, '' if none. */
  problem = '';
  /** Every named element of every level: its own name, and the element it is inside (-1: none). */
  private readonly own: string[] = [];
  private readonly up: number[] = [];
  /** Each of `values`' node in `own`. */
  private readonly nodes: number[] = [];
  private readonly objects = new Map<object, Elements>();
  /**
   * Elements looked at, of every level, and how many may be: a tree
   * inside a tree meets an element once for each element above it, so
   * that a small document could list billions.
   */
  private looked = 0;
  private maxLooked: number;
  /** When the walk must stop (performance.now()). */
  private readonly by: number;

  /**
   * `maxInstances`: max_instances, for each of its levels and once more
   * (instances.ts cuts the last level to it); `by`: when its author's
   * time in this fetch is up (performance.now()): a walk of levels can
   * cost seconds where the elements are few, and looks at the clock now
   * and then.
   */
  constructor(spec: ArraySpec, doc: JsonValue, maxInstances = Infinity, by = Infinity) {
    const levels = [...(spec.outer ?? []), spec];
    this.maxLooked = maxInstances * (levels.length + 1);
    this.by = by;
    // the elements of the level above, each with its node: at first, the document
    let above: Array<[JsonValue, number]> = [[doc, -1]];
    levels.forEach((level, l) => {
      const next: Array<[JsonValue, number]> = [];
      for (const [value, node] of above) {
        if (this.looked > this.maxLooked) break;
        const at = resolve(level.pointer, value);
        if (l === 0) this.found = at === undefined ? 'none' : Array.isArray(at) ? 'array' : at === null || typeof at !== 'object' ? 'other' : 'map';
        // missing or null inside an element: none there (lsblk leaves out an empty "children")
        else if (!this.problem && at !== undefined && at !== null && typeof at !== 'object') this.note(`no array or object at pointer '${level.pointer.text}' in '${this.name(node)}'`);
        this.level(level, elementsAt(at, this.objects), node, node, 1, next);
      }
      above = next;
    });
    for (const [value, node] of above) {
      this.values.push(value);
      this.nodes.push(node);
    }
  }

  private note(problem: string): void {
    this.problem ||= problem;
  }

  /**
   * The elements `found` at `level` in an element (node `inside`; of a
   * tree, `top` is where its top elements are), `depth` deep in its tree,
   * each named and added to `out`, then its children.
   */
  private level(level: Level, found: Elements | undefined, inside: number, top: number, depth: number, out: Array<[JsonValue, number]>): void {
    if (!found) return;
    if (depth > MAX_TREE_DEPTH) {
      // (named once: a tree inside a tree gets here again and again)
      if (!this.problem) this.note(`elements below '${this.name(inside)}' are deeper than ${MAX_TREE_DEPTH} levels of '${level.children!.text}', and not served`);
      return;
    }
    const { keys, values } = found;
    for (let i = 0; i < values.length; i++) {
      if (++this.looked > this.maxLooked) {
        if (!this.problem) this.note(`more than ${this.maxLooked} elements over its levels (max_instances for each, and once more); those past them are not served`);
        return;
      }
      if ((this.looked & 1023) === 0 && performance.now() > this.by) {
        this.problem = `walking its levels took longer than its author's share of this fetch (fetch_max_ms, shared between authors); the elements past those found by then are not served`;
        // nothing more is looked at, in this level or the next
        this.maxLooked = 0;
        return;
      }
      const element = values[i]!;
      const own = ownName(level, element, keys?.[i]);
      if (own === undefined || own === '') {
        // said once, of the first such element
        if (this.problem) continue;
        const where = `${keys ? `member ${JSON.stringify(keys[i]!.slice(0, 64))}` : `element ${i}`} of '${level.name}'${inside >= 0 ? ` in '${this.name(inside)}'` : ''}`;
        if (own === '') this.note(`${where} has an empty instance name`);
        else if (level.index) this.note(`${where} has no string or number at index pointer '${level.index.text}'`);
        else this.note(`${where} has no instance name: '${level.name}' has no 'index', and only an object's members are named by their keys`);
        continue;
      }
      const node = this.own.length;
      this.own.push(own);
      this.up.push(level.leafNames ? top : inside);
      out.push([element, node]);
      if (!level.children) continue;
      const children = resolve(level.children, element);
      if (!this.problem && children !== undefined && children !== null && typeof children !== 'object') this.note(`no array or object at pointer '${level.children.text}' in '${this.name(node)}'`);
      this.level(level, elementsAt(children, this.objects), node, top, depth + 1, out);
    }
  }

  /** The instance name of node `node`: its levels' names joined with '/' (past MAX_NAME characters, cut there and one more). */
  private name(node: number): string {
    const chain: number[] = [];
    for (let n = node; n >= 0; n = this.up[n]!) chain.push(n);
    let name = '';
    for (let k = chain.length - 1; k >= 0 && name.length <= MAX_NAME; k--) name += (name ? '/' : '') + this.own[chain[k]!]!;
    return name.length > MAX_NAME ? name.slice(0, MAX_NAME + 1) : name;
  }

  /** The instance name of element `e`. */
  nameOf(e: number): string {
    return this.name(this.nodes[e]!);
  }
}
