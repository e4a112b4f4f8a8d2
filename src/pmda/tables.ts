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

export class Tables {
  private readonly oneline = new Map<number, string>();
  private readonly help = new Map<number, string>();
  private readonly pmids = new Set<number>();
  private readonly indoms = new Set<number>();
  private readonly indomText = new Map<number, string>();

  /** Hand descriptors and names to the shim if the metrics changed. */
  sync(root: string, registry: Registry): void {
    if (!registry.changed) return;
    registry.changed = false;
    const descs: number[] = [];
    const names: string[] = [];
    const pmids: number[] = [];
    this.oneline.clear();
    this.help.clear();
    this.pmids.clear();
    this.indoms.clear();
    this.indomText.clear();
    const sourcesIndom = native.indom(0);
    this.indoms.add(sourcesIndom >>> 0);
    this.indomText.set(sourcesIndom >>> 0, 'JSON sources, by source name');
    for (const s of STATIC) {
      const pmid = native.pmid(0, s.item);
      descs.push(pmid, s.type, s.stat ? sourcesIndom : C.PM_INDOM_NULL, s.sem, ...s.units);
      names.push(`${root}.${s.name}`);
      pmids.push(pmid);
      this.oneline.set(pmid, s.help);
      if (LONG_HELP[s.name]) this.help.set(pmid, LONG_HELP[s.name]!);
    }
    const sources = registry.sorted();
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
        const full = `${prefix}.${m.spec.name}`;
        const within = m.spec.name.includes('.') ? ancestorsOf(m.spec.name).map((a) => `${prefix}.${a}`) : [];
        if (aboveClash || leaves.has(full) || interior.has(full) || within.some((a) => leaves.has(a))) {
          log.problem(`${src.dir}:clash:${m.spec.name}`, `${src.metadataFile}: skipping metric '${m.spec.name}': its name clashes with another metric ('${src.name}.${m.spec.name}' would be both a metric and a subtree, or named twice)`);
          continue;
        }
        leaves.add(full);
        if (!named) for (const a of above) interior.add(a);
        named = true;
        for (const a of within) interior.add(a);
        const pmid = (base | (src.cluster << 10) | m.item) >>> 0;
        // the descriptor its item was numbered with (src/pmda/numbering/descriptors.ts)
        const indom = m.desc.indom;
        if (m.array && !this.indoms.has(indom)) {
          this.indoms.add(indom);
          const text = src.arrays.map((a) => a.description).filter(Boolean).join('; ');
          this.indomText.set(indom, text || `Instances of the arrays of JSON source ${src.name}`);
        }
        descs.push(pmid, m.desc.type, indom, m.desc.sem, ...m.desc.units);
        names.push(full);
        pmids.push(pmid);
        if (m.spec.description) this.oneline.set(pmid, m.spec.description);
        if (m.spec.help) this.help.set(pmid, m.spec.help);
      }
    }
    for (const p of pmids) this.pmids.add(p >>> 0);
    native.setDescs(Int32Array.from(descs));
    native.setNames(names, Uint32Array.from(pmids));
  }

  /**
   * Help text: `description` is the one-line help, `help` the long one.
   * Like pmdajson, a metric or indom without text answers with empty text.
   */
  text(ident: number, type: number): string | null {
    const id = ident >>> 0;
    if (type & C.PM_TEXT_INDOM) return this.indoms.has(id) ? (type & C.PM_TEXT_ONELINE ? this.indomText.get(id) ?? '' : '') : null;
    if (!this.pmids.has(id)) return null;
    const table = type & C.PM_TEXT_ONELINE ? this.oneline : this.help;
    return table.get(id) ?? '';
  }

}

/** The names above a dotted name, shortest first: a.b.c has a and a.b. */
function ancestorsOf(name: string): string[] {
  const out: string[] = [];
  for (let at = name.indexOf('.'); at >= 0; at = name.indexOf('.', at + 1)) out.push(name.slice(0, at));
  return out;
}
