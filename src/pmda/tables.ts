// The tables handed to the native shim whole, whenever the sources or
// their metadata change: metric descriptors and the dynamic namespace (so
// desc, pmid, name and children PDUs are answered in C), and the help
// text of metrics and instance domains. A name may not be both a metric
// and a subtree, across sources too (prefixes may be dotted): the first
// source, by cluster, keeps it.
import { native, C } from './native';
import type { Registry } from './sources/registry';
import * as log from './limits/log';
import { STATIC, LONG_HELP } from './control';
import { joined, type KeptTables } from './sources/warmstart';

/** A metric's help text: one line, and long. */
interface Texts {
  description?: string | undefined;
  help?: string | undefined;
}

/** Items of a descriptor in the table the shim gets: pmid, type, indom, sem, then six of units. */
const DESC_WIDTH = 10;
const NO_NAMES: readonly string[] = [];

export class Tables {
  /** The pmids handed to the shim, and each one's help text, by position. */
  private pmids = new Uint32Array(0);
  /** (A warm start's are JSON until first asked for.) */
  private texts: Texts[] | string = [];
  /** Position of each pmid, made at the first help text asked for after a sync (a rare PDU). */
  private at: Map<number, number> | undefined;
  private readonly indoms = new Set<number>();
  private readonly indomText = new Map<number, string>();
  /** What was last handed to the shim, for a warm start; undefined if a name clashed. */
  private last: { descs: Int32Array; names: string } | undefined;

  /** Hand descriptors and names to the shim if the metrics changed. */
  sync(root: string, registry: Registry): void {
    if (!registry.changed) return;
    registry.changed = false;
    const sources = registry.sorted();
    let count = STATIC.length;
    for (const src of sources) count += src.metrics.size;
    // filled in place, a metric at a time: 4,000 sources have 12,000 metrics
    const descs = new Int32Array(count * DESC_WIDTH);
    const pmids = new Uint32Array(count);
    const names: string[] = [];
    const texts: Texts[] = [];
    let n = 0;
    let clashes = 0;
    const put = (pmid: number, type: number, indom: number, sem: number, units: readonly number[], name: string, text: Texts): void => {
      const d = n * DESC_WIDTH;
      descs[d] = pmid;
      descs[d + 1] = type;
      descs[d + 2] = indom;
      descs[d + 3] = sem;
      for (let u = 0; u < 6; u++) descs[d + 4 + u] = units[u]!;
      pmids[n++] = pmid >>> 0;
      names.push(name);
      texts.push(text);
    };
    this.indoms.clear();
    this.indomText.clear();
    const sourcesIndom = native.indom(0);
    this.indoms.add(sourcesIndom >>> 0);
    this.indomText.set(sourcesIndom >>> 0, 'JSON sources, by source name');
    for (const s of STATIC) put(native.pmid(0, s.item), s.type, s.stat ? sourcesIndom : C.PM_INDOM_NULL, s.sem, s.units, `${root}.${s.name}`, { description: s.help, help: LONG_HELP[s.name] });
    // identifiers in PCP's layout (numbering.ts decodes them the same
    // way): the domain's bits, then cluster and item, or the indom serial
    const base = native.pmid(0, 0) >>> 0;
    // a name may not be both a metric and a subtree, across sources too
    // (prefixes may be dotted); the first source, by cluster, keeps it
    const leaves = new Set<string>(names);
    const interior = new Set<string>([root]);
    for (const src of sources) {
      const prefix = `${root}.${src.name}`;
      // the names above the source's metrics: the same for all of them
      const above = [...ancestorsOf(prefix), prefix];
      const aboveClash = above.some((a) => leaves.has(a));
      let named = false;
      for (const m of src.metrics.values()) {
        const spec = m.spec;
        const full = `${prefix}.${spec.name}`;
        const within = spec.name.includes('.') ? ancestorsOf(spec.name).map((a) => `${prefix}.${a}`) : NO_NAMES;
        if (aboveClash || leaves.has(full) || interior.has(full) || within.some((a) => leaves.has(a))) {
          clashes++;
          log.problem(`${src.dir}:clash:${spec.name}`, `${src.metadataFile}: skipping metric '${spec.name}': its name clashes with another metric ('${src.name}.${spec.name}' would be both a metric and a subtree, or named twice)`);
          continue;
        }
        leaves.add(full);
        if (!named) for (const a of above) interior.add(a);
        named = true;
        for (const a of within) interior.add(a);
        // the descriptor its item was numbered with (src/pmda/numbering/descriptors.ts)
        const desc = m.desc;
        if (m.array && !this.indoms.has(desc.indom)) {
          this.indoms.add(desc.indom);
          const text = src.arrays.map((a) => a.description).filter(Boolean).join('; ');
          this.indomText.set(desc.indom, text || `Instances of the arrays of JSON source ${src.name}`);
        }
        put((base | (src.cluster << 10) | m.item) >>> 0, desc.type, desc.indom, desc.sem, desc.units, full, spec);
      }
    }
    this.pmids = pmids.subarray(0, n);
    this.texts = texts;
    this.at = undefined;
    this.hand(descs.subarray(0, n * DESC_WIDTH), names);
    const all = clashes === 0 ? joined(names) : undefined;
    this.last = all !== undefined ? { descs: descs.subarray(0, n * DESC_WIDTH), names: all } : undefined;
  }

  private hand(descs: Int32Array, names: string[]): void {
    native.setDescs(descs);
    native.setNames(names, this.pmids);
  }

  /** The tables as last handed to the shim, for a warm start (src/pmda/sources/warmstart.ts); undefined if a name clashed. */
  kept(): KeptTables | undefined {
    if (!this.last) return undefined;
    return {
      descs: this.last.descs,
      names: this.last.names,
      pmids: this.pmids,
      texts: JSON.stringify(this.helpTexts().map((t) => [t.description ?? null, t.help ?? null])),
      indoms: JSON.stringify([...this.indomText]),
    };
  }

  /** Take back what restore() handed: the shim holds no table (a start that turned out not warm, before its walk). */
  clear(): void {
    this.pmids = new Uint32Array(0);
    this.texts = [];
    this.at = undefined;
    this.indoms.clear();
    this.indomText.clear();
    this.hand(new Int32Array(0), []);
    this.last = undefined;
  }

  /** Hand the tables of a warm start to the shim; their help texts are read when first asked for. */
  restore(k: KeptTables): void {
    this.pmids = new Uint32Array(k.pmids);
    this.texts = k.texts;
    this.at = undefined;
    this.indoms.clear();
    this.indomText.clear();
    for (const [indom, text] of JSON.parse(k.indoms) as Array<[number, string]>) {
      this.indoms.add(indom);
      this.indomText.set(indom, text);
    }
    native.setNames(k.names, this.pmids);
    native.setDescs(k.descs);
    this.last = { descs: k.descs, names: k.names };
  }

  /**
   * Help text: `description` is the one-line help, `help` the long one.
   * Like pmdajson, a metric or indom without text answers with empty text.
   */
  text(ident: number, type: number): string | null {
    const id = ident >>> 0;
    if (type & C.PM_TEXT_INDOM) return this.indoms.has(id) ? (type & C.PM_TEXT_ONELINE ? this.indomText.get(id) ?? '' : '') : null;
    if (!this.at) {
      this.at = new Map();
      for (let i = 0; i < this.pmids.length; i++) this.at.set(this.pmids[i]!, i);
    }
    const i = this.at.get(id);
    if (i === undefined) return null;
    const t = this.helpTexts()[i]!;
    return (type & C.PM_TEXT_ONELINE ? t.description : t.help) ?? '';
  }

  /** The help texts, by position (those of a warm start read now). */
  private helpTexts(): Texts[] {
    if (typeof this.texts === 'string') this.texts = (JSON.parse(this.texts) as Array<[string | null, string | null]>).map(([description, help]) => ({ description: description ?? undefined, help: help ?? undefined }));
    return this.texts;
  }
}

/** The names above a dotted name, shortest first: a.b.c has a and a.b. */
function ancestorsOf(name: string): string[] {
  const out: string[] = [];
  for (let at = name.indexOf('.'); at >= 0; at = name.indexOf('.', at + 1)) out.push(name.slice(0, at));
  return out;
}
