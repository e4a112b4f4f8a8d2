// pmdajson-check's checking: the PMDA's registry over the directories
// given and one round of its fetch (src/pmda/round.ts), reported per
// source (src/cli/report.ts); the PMDA's numbering caches read through
// private copies, never written (CacheCopies).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { native, C } from '../pmda/native';
import { Config } from '../pmda/config';
import { discover, Found } from '../pmda/sources/discovery';
import type { Source, Served, Rows } from '../pmda/sources/source';
import { Registry } from '../pmda/sources/registry';
import { Commands } from '../pmda/commands/commands';
import { Records } from '../pmda/records/records';
import { Budgets } from '../pmda/limits/budget';
import { Encoder } from '../pmda/records/encoder';
import { decodeRecord } from '../pmda/records/decoder';
import { Round } from '../pmda/round';
import { elementLabels } from '../pmda/labels';
import { metricCacheSerial, indomCacheSerial } from '../pmda/numbering/numbering';
import { parseCacheFile } from '../pmda/numbering/cachefile';
import * as log from '../pmda/limits/log';
import { ArraySpec } from '../format/metadata';
import type { JsonValue } from '../format/json';
import type { Options } from './check';
import { ValueOut, MetricOut, SourceOut, TYPE_NAMES, semName, unitsText, parseLabelText } from './report';

// ---- the PMDA's numbering caches, read, never written --------------------------

/** A pmdaCache file's names and numbers (src/pmda/numbering/cachefile.ts). */
function readCacheFile(file: string): Map<string, number> {
  return new Map(parseCacheFile(fs.readFileSync(file, 'utf8')).entries.map((e) => [e.name, e.inst]));
}

export class CacheCopies {
  /** The real caches by serial; absent: no such file (nothing numbered yet). */
  readonly real = new Map<number, Map<string, number>>();
  readonly notes: string[] = [];
  readonly realDir: string;
  readonly work: string;

  constructor(readonly domain: number) {
    this.realDir = path.join(native.getConfig('PCP_VAR_DIR') ?? '/var/lib/pcp', 'config', 'pmda');
    this.work = fs.mkdtempSync(path.join(os.tmpdir(), 'pmdajson-check-'));
    const workDir = path.join(this.work, 'config', 'pmda');
    fs.mkdirSync(workDir, { recursive: true });
    let files: string[] = [];
    try {
      files = fs.readdirSync(this.realDir);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'ENOENT') this.notes.push(`cannot read the numbering caches in ${this.realDir}: ${err.message}; numbers are shown as (new)`);
    }
    // the caches, and the descriptor records beside them (the domain's,
    // and those of version 1 beside metric caches: src/pmda/numbering/descriptors.ts):
    // a metric whose descriptor changed is shown with the new item it would get
    const pattern = new RegExp(`^${domain}\\.(?:(\\d+)(\\.desc)?|descriptors)$`);
    for (const f of files) {
      const m = pattern.exec(f);
      if (!m) continue;
      const file = path.join(this.realDir, f);
      try {
        const text = fs.readFileSync(file);
        if (m[1] !== undefined && m[2] === undefined) this.real.set(Number(m[1]), readCacheFile(file));
        fs.writeFileSync(path.join(workDir, f), text);
      } catch (e) {
        this.notes.push(`cannot read numbering cache ${file}: ${(e as Error).message}; its numbers are shown as (new)`);
      }
    }
    // the numbering code (pmdaCache) loads and saves the private copies
    process.env['PCP_VAR_DIR'] = this.work;
    native.setDomain(domain);
  }

  /** Is `name` numbered in the real cache `serial` (as `inst`, if given)? */
  known(serial: number, name: string, inst?: number): boolean {
    const have = this.real.get(serial)?.get(name);
    return have !== undefined && (inst === undefined || have === inst);
  }

  cleanup(): void {
    fs.rmSync(this.work, { recursive: true, force: true });
  }
}

// ---- checking ------------------------------------------------------------------------

export class Checker {
  readonly sources: SourceOut[] = [];
  /** Problems not about any one source (a directory, the configuration). */
  readonly general: string[] = [];
  /** Every line the PMDA's code logged, warnings and errors, in order. */
  private readonly lines: string[] = [];

  constructor(
    readonly opts: Options,
    readonly config: Config,
    readonly numbers: CacheCopies,
  ) {
    // every line the PMDA's code logs comes here instead of pmNotifyErr;
    // warnings and errors are the problems, information is not
    native.log = (level: number, text: string): void => {
      if (level <= C.LOG_WARNING) this.lines.push(text);
    };
  }

  run(): void {
    const dirs: string[] = [];
    for (const dir of this.opts.dirs) {
      // the usual stat-or-say-why, as src/pmda/sources/discovery.ts's untrustworthy()
      let st: fs.Stats;
      try {
        st = fs.statSync(dir);
      } catch (e) {
        log.problem(`arg:${dir}`, `cannot read directory ${dir}: ${(e as Error).message}`);
        continue;
      }
      if (!st.isDirectory()) log.problem(`arg:${dir}`, `${dir} is not a directory`);
      else dirs.push(path.resolve(dir));
    }
    // the candidates, as the walk finds them (its problems are the registry's to log)
    const found: Found[] = [];
    for (const dir of dirs) {
      const before = found.length;
      discover([dir], false, () => {}, found);
      if (found.length === before) log.problem(`arg:${dir}`, `no metadata.json or schema.json in or below ${dir}: no sources`);
    }
    const seen = new Set<string>();
    for (const f of found) {
      if (seen.has(f.dir)) continue;
      seen.add(f.dir);
      this.sources.push({ path: f.dir, describedBy: f.describedBy, metrics: [], problems: [] });
    }

    // the PMDA's own registry over these directories, as if they were its directory_list:
    // authors, metadata, the name policy, clusters and items
    const config: Config = { ...this.config, directoryList: dirs, trustedDirectoryList: [] };
    const registry = new Registry(this.opts.root, config);
    registry.discover();
    const served = [...registry.byDir.values()];

    // one round of every metric of every source, as the PMDA's fetch makes
    // it (src/pmda/round.ts), but for its commands, which run to their end
    const budgets = new Budgets(config);
    const encoder = new Encoder();
    const records = new Records(encoder, budgets, config);
    const round = new Round(registry, new Commands(config, () => registry.byCluster.values()), budgets, config);
    round.begin();
    if (this.opts.exec) round.runCommands(served, true);
    const wanted: Array<[Source, Served]> = [];
    for (const src of served) for (const m of src.metrics.values()) wanted.push([src, m]);
    records.begin(wanted.length);
    wanted.forEach(([src, m], i) => {
      if (!src.commanded || this.opts.exec) round.serve(records, i, src, m);
    });
    const buf = encoder.finish();

    const byDir = new Map(this.sources.map((s) => [s.path, s]));
    let i = 0;
    for (const src of served) {
      const out = byDir.get(src.dir)!;
      this.describe(src, out);
      for (const m of src.metrics.values()) {
        const mo = this.metric(src, m);
        out.metrics.push(mo);
        const k = i++;
        if (src.commanded && !this.opts.exec) {
          mo.error = `not fetched: its ${src.dataExec !== undefined ? 'data-exec command was not run' : 'data-url was not fetched'} (--no-exec)`;
          continue;
        }
        this.values(src, m, mo, decodeRecord(buf, k, m.spec.type));
      }
    }
    this.attribute();
  }

  private describe(src: Source, out: SourceOut): void {
    out.name = src.name;
    const clusterKnown = this.numbers.known(0, src.name);
    out.cluster = clusterKnown ? src.cluster : '(new)';
    out.labels = { source: src.name, source_path: src.dir, ...parseLabelText(src.md.labels) };
    out.data = src.dataExec !== undefined ? { exec: src.dataExec, run: this.opts.exec }
      : src.dataUrl !== undefined ? { url: src.dataUrl, run: this.opts.exec }
      : { path: src.dataPath };
  }

  private metric(src: Source, m: Served): MetricOut {
    const clusterKnown = this.numbers.known(0, src.name);
    const itemKnown = clusterKnown && this.numbers.known(metricCacheSerial(src.cluster), m.spec.name, m.item);
    const clusterText = clusterKnown ? String(src.cluster) : '(new)';
    const mo: MetricOut = {
      name: `${this.opts.root}.${src.name}.${m.spec.name}`,
      pmid: `${this.opts.domain}.${clusterText}.${itemKnown ? m.item : '(new)'}`,
      new: !itemKnown,
      type: m.spec.type,
      pcpType: TYPE_NAMES[m.spec.type]!,
      semantics: semName(m.spec.sem),
      units: unitsText(m.spec.units),
      indom: m.array ? `${this.opts.domain}.${clusterKnown ? indomCacheSerial(src.cluster) : '(new)'}` : null,
      description: m.spec.description,
      values: [],
    };
    if (m.spec.help !== undefined) mo.help = m.spec.help;
    if (m.spec.labels) mo.labels = parseLabelText(m.spec.labels);
    return mo;
  }

  /** The values of a decoded record, instances named from the source's instance cache. */
  private values(src: Source, m: Served, mo: MetricOut, r: ReturnType<typeof decodeRecord>): void {
    if ('error' in r) {
      mo.error = native.errStr(r.error);
      return;
    }
    if (!m.array) {
      for (const [, value] of r.values) mo.values.push({ value });
      return;
    }
    const names = src.instanceNames();
    const clusterKnown = this.numbers.known(0, src.name);
    for (const [inst, value] of r.values) {
      const instance = names.get(inst) ?? String(inst);
      const v: ValueOut = { instance, value };
      if (clusterKnown && this.numbers.known(indomCacheSerial(src.cluster), instance)) v.id = inst;
      mo.values.push(v);
    }
    const rows = src.rows.get(m.array.name);
    if (rows) {
      const labels = this.instanceLabels(src, m.array, rows, names);
      if (labels) mo.instanceLabels = labels;
    }
  }

  private instanceLabels(src: Source, a: ArraySpec, rows: Rows, names: Map<number, string>): Record<string, Record<string, JsonValue>> | undefined {
    if (!a.instanceLabels || a.instanceLabels.length === 0) return undefined;
    const out: Record<string, Record<string, JsonValue>> = {};
    const ai = src.arrays.indexOf(a);
    rows.elements.forEach((e, r) => {
      const labels = elementLabels(src, ai, e);
      if (Object.keys(labels).length > 0) out[names.get(rows.insts[r]!) ?? String(rows.insts[r])] = labels;
    });
    return out;
  }

  /**
   * Each logged line to the source it is about: every line about a source
   * names its directory or a file in it (the longest such directory wins);
   * the others are general.
   */
  private attribute(): void {
    const byDir = new Map(this.sources.map((s) => [s.path, s]));
    /** Where `d` is first named in `line` as a directory (followed by '/', ' ', ':', ')', a quote or the end). */
    const named = (line: string, d: string): number => {
      for (let at = line.indexOf(d); at >= 0; at = line.indexOf(d, at + 1)) {
        const next = line[at + d.length];
        if (next === undefined || "/ :)'".includes(next)) return at;
      }
      return -1;
    };
    for (const line of this.lines) {
      // the first source named is the subject ("skipping source B: ... already exists (A)");
      // of two named at the same place, the longer (a source below another)
      let best: string | undefined;
      let bestAt = Infinity;
      for (const d of byDir.keys()) {
        const at = named(line, d);
        if (at < 0) continue;
        if (at < bestAt || (at === bestAt && d.length > best!.length)) {
          best = d;
          bestAt = at;
        }
      }
      (best !== undefined ? byDir.get(best)!.problems : this.general).push(line);
    }
  }

  get problems(): string[] {
    return [...this.general, ...this.sources.flatMap((s) => s.problems)];
  }
}
