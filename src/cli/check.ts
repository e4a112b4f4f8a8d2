#!/usr/bin/env node
// pmdajson-check DIR...: what the PMDA would serve from source
// directories, without pmcd. For producers and their CI: every metric's
// name, PMID, type, semantics, units and current values, and every
// problem, in the words the PMDA's log uses. Exit status 1 if there is
// any problem, 0 if there is none, 2 for a usage error.
//
// Nothing is re-implemented where the PMDA has the code: the PMDA's own
// registry (src/pmda/sources/registry.ts: discovery, authors, metadata and
// schema reading, the name policy, numbering) over the directories given,
// and one round of its fetch (src/pmda/round.ts: budgets, commands,
// refresh, records), decoded from the fetch buffer
// (src/pmda/records/decoder.ts), and its log (src/pmda/limits/log.ts),
// whose lines are caught on their way to pmNotifyErr and given to the
// source whose directory they name. Every directory given is taken as
// untrusted, as the PMDA takes directory_list: files are opened, and
// commands run, as the PMDA does: as each source's author when the
// checker runs as root (nobody for a root-owned metadata.json: an
// administrator who checks a user's source must not run that user's
// command as root), as the user running the checker otherwise. Commands
// run to their end, under the PMDA's limits and timeout (exec_timeout).
//
// Numbers come from the PMDA's real numbering caches
// ($PCP_VAR_DIR/config/pmda/DOMAIN.*), which are never written: they are
// copied into a private directory that the numbering code works on, and
// the names they do not hold yet are shown as "(new)".
import * as v8 from 'v8';
// as in the PMDA (src/pmda/main.ts): a schema's "pattern" cannot backtrack for hours
v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { native, C } from '../pmda/native';
import { DEFAULTS, loadConfig, Config } from '../pmda/config';
import { discover, Found } from '../pmda/sources/discovery';
import type { Source, Served, Rows } from '../pmda/sources/source';
import { Registry } from '../pmda/sources/registry';
import { Commands } from '../pmda/commands/commands';
import { Records } from '../pmda/records/records';
import { Budgets } from '../pmda/limits/budget';
import { Encoder } from '../pmda/records/encoder';
import { decodeRecord } from '../pmda/records/decoder';
import { Round } from '../pmda/round';
import { metricCacheSerial, indomCacheSerial } from '../pmda/numbering/numbering';
import { parseCacheFile } from '../pmda/numbering/cachefile';
import * as log from '../pmda/limits/log';
import { validName, ArraySpec, Units } from '../format/metadata';
import type { JsonValue } from '../format/json';
import { stringifyJson, JsonOut } from '../producer/producer';

const USAGE = `Usage: pmdajson-check [options] DIR...

Prints what the JSON PMDA would serve from each source directory DIR (one
holding metadata.json or schema.json), or from every source below DIR (a
directory as listed in directory_list), and every problem it would log.

Options:
  -d N, --domain N     metrics domain (default 137)
  -r NAME, --root NAME root of the metric names (default json)
  -c FILE, --config FILE
                       take the limits of this config.json (default: the PMDA's defaults)
  -t S, --timeout S    seconds a data-exec command may run (default: exec_timeout, 2)
  --no-exec            do not run data-exec commands or fetch data-urls
  --json               print a JSON document instead of text
  -h, --help           this text

Exit status: 0 no problems, 1 problems, 2 usage.
`;

class UsageError extends Error {}

interface Options {
  domain: number;
  root: string;
  configFile?: string;
  timeoutS?: number;
  exec: boolean;
  json: boolean;
  dirs: string[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = { domain: 137, root: 'json', exec: true, json: false, dirs: [] };
  // The argv walk of src/cli/generate.ts too (--opt=value or --opt value):
  // two small tools, two small parsers, alike on purpose.
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    let value: string | undefined;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    if (eq > 0) {
      value = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const arg = (): string => {
      if (value !== undefined) return value;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    // One case an option, as src/pmda/options.ts and PCP's tools spell them;
    // alike in shape on purpose.
    switch (a) {
      case '-d':
      case '--domain': {
        const v = arg();
        const n = Number(v);
        if (!/^\d+$/.test(v) || n < 1 || n > 510) throw new UsageError(`invalid domain '${v}' (1 to 510)`);
        o.domain = n;
        break;
      }
      case '-r':
      case '--root': {
        const v = arg();
        if (!validName(v) || v.includes('.')) throw new UsageError(`invalid root '${v}'`);
        o.root = v;
        break;
      }
      case '-c':
      case '--config':
        o.configFile = arg();
        break;
      case '-t':
      case '--timeout': {
        const v = arg();
        const n = Number(v);
        if (!(n > 0) || !Number.isFinite(n)) throw new UsageError(`invalid timeout '${v}'`);
        o.timeoutS = n;
        break;
      }
      case '--no-exec':
        o.exec = false;
        break;
      case '--json':
        o.json = true;
        break;
      case '-h':
      case '--help':
        throw new UsageError('');
      case '--':
        o.dirs.push(...argv.slice(i + 1));
        i = argv.length;
        break;
      default:
        if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option ${a}`);
        o.dirs.push(a);
    }
  }
  if (o.dirs.length === 0) throw new UsageError('no directory given');
  return o;
}

// ---- the PMDA's numbering caches, read, never written --------------------------

/** A pmdaCache file's names and numbers (src/pmda/numbering/cachefile.ts). */
function readCacheFile(file: string): Map<string, number> {
  return new Map(parseCacheFile(fs.readFileSync(file, 'utf8')).entries.map((e) => [e.name, e.inst]));
}

class CacheCopies {
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
    const pattern = new RegExp(`^${domain}\\.(\\d+)$`);
    for (const f of files) {
      const m = pattern.exec(f);
      if (!m) continue;
      const file = path.join(this.realDir, f);
      try {
        const text = fs.readFileSync(file);
        this.real.set(Number(m[1]), readCacheFile(file));
        fs.writeFileSync(path.join(workDir, f), text);
      } catch (e) {
        this.notes.push(`cannot read numbering cache ${file}: ${(e as Error).message}; its numbers are shown as (new)`);
      }
    }
    // the numbering code (pmdaCache) loads and saves the private copies
    process.env['PCP_VAR_DIR'] = this.work;
    native.setDomain(domain);
  }

  /** Is `name` numbered in the real cache `serial`? */
  known(serial: number, name: string): boolean {
    return this.real.get(serial)?.has(name) ?? false;
  }

  cleanup(): void {
    fs.rmSync(this.work, { recursive: true, force: true });
  }
}

// ---- what is reported ------------------------------------------------------------

interface ValueOut {
  instance?: string;
  /** The instance's number; undefined when it has none yet. */
  id?: number;
  value: number | bigint | string;
}

interface MetricOut {
  name: string;
  pmid: string;
  new: boolean;
  type: string;
  pcpType: string;
  semantics: string;
  units: string;
  indom: string | null;
  description: string;
  help?: string;
  labels?: Record<string, JsonValue>;
  /** Values, when the PMDA would answer some. */
  values: ValueOut[];
  /** The error the PMDA would answer instead of values (pmErrStr's words). */
  error?: string;
  instanceLabels?: Record<string, Record<string, JsonValue>>;
}

interface SourceOut {
  path: string;
  name?: string;
  describedBy?: string;
  data?: { path: string } | { exec: string; run: boolean } | { url: string; run: boolean };
  cluster?: number | '(new)';
  labels?: Record<string, JsonValue>;
  metrics: MetricOut[];
  problems: string[];
}

const TYPE_NAMES: Record<string, string> = { integer: '64-bit int', double: 'double', string: 'string' };

function semName(sem: number): string {
  return sem === C.PM_SEM_COUNTER ? 'counter' : sem === C.PM_SEM_DISCRETE ? 'discrete' : 'instant';
}

const SPACE = ['byte', 'Kbyte', 'Mbyte', 'Gbyte', 'Tbyte', 'Pbyte', 'Ebyte', 'Zbyte', 'Ybyte'];
const TIME = ['nanosec', 'microsec', 'millisec', 'sec', 'min', 'hour'];

/** Units as pminfo shows them (pmUnitsStr's form): "Kbyte / sec", "count", "none". */
function unitsText(u: Units): string {
  const [dSpace, dTime, dCount, sSpace, sTime, sCount] = u;
  const parts: Array<[string, number]> = [];
  if (dSpace !== 0) parts.push([SPACE[sSpace] ?? `space(${sSpace})`, dSpace]);
  if (dTime !== 0) parts.push([TIME[sTime] ?? `time(${sTime})`, dTime]);
  if (dCount !== 0) parts.push([sCount === 0 ? 'count' : `count x 10^${sCount}`, dCount]);
  if (parts.length === 0) return 'none';
  const term = ([n, d]: [string, number]): string => (Math.abs(d) === 1 ? n : `${n}^${Math.abs(d)}`);
  const up = parts.filter((p) => p[1] > 0).map(term);
  const down = parts.filter((p) => p[1] < 0).map(term);
  if (down.length === 0) return up.join(' ');
  return `${up.length > 0 ? up.join(' ') : '1'} / ${down.join(' ')}`;
}

function parseLabelText(text: string | undefined): Record<string, JsonValue> {
  return text ? (JSON.parse(text) as Record<string, JsonValue>) : {};
}

// ---- checking ------------------------------------------------------------------------

class Checker {
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
    const round = new Round(registry, new Commands(config), budgets, config);
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
    const itemKnown = clusterKnown && this.numbers.known(metricCacheSerial(src.cluster), m.spec.name);
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
      const labels = src.instanceLabels(ai, e);
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

// ---- output ----------------------------------------------------------------------------

function showValue(v: number | bigint | string): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function text(c: Checker, notes: string[]): string {
  const lines: string[] = [];
  for (const n of notes) lines.push(`note: ${n}`);
  for (const s of c.sources) {
    if (lines.length > 0) lines.push('');
    const head = s.name !== undefined ? `source '${s.name}' in ${s.path}` : `source in ${s.path}: not served`;
    const cluster = s.cluster !== undefined ? ` (cluster ${s.cluster})` : '';
    lines.push(`${head}${cluster}`);
    if (s.data) {
      const d = s.data;
      const shown = 'path' in d ? d.path : 'exec' in d ? `data-exec '${d.exec}'${d.run ? '' : ' (not run: --no-exec)'}` : `data-url '${d.url}'${d.run ? '' : ' (not fetched: --no-exec)'}`;
      lines.push(`    data: ${shown}`);
    }
    if (s.labels) lines.push(`    labels ${JSON.stringify(s.labels)}`);
    for (const m of s.metrics) {
      lines.push(m.name);
      lines.push(`    PMID: ${m.pmid}  Data Type: ${m.pcpType}  InDom: ${m.indom ?? 'PM_INDOM_NULL'}`);
      lines.push(`    Semantics: ${m.semantics}  Units: ${m.units}`);
      if (m.description) lines.push(`    Help: ${m.description}`);
      if (m.labels) lines.push(`    labels ${JSON.stringify(m.labels)}`);
      if (m.error) lines.push(`    ${m.error}`);
      else if (m.values.length === 0) lines.push('    No value(s) available!');
      for (const v of m.values) {
        if (v.instance === undefined) lines.push(`    value ${showValue(v.value)}`);
        else {
          const labels = m.instanceLabels?.[v.instance];
          lines.push(`    inst [${v.id ?? '(new)'} or ${JSON.stringify(v.instance)}] value ${showValue(v.value)}${labels ? ` labels ${JSON.stringify(labels)}` : ''}`);
        }
      }
    }
    if (s.problems.length > 0) {
      lines.push(`problems with ${s.path}:`);
      for (const p of s.problems) lines.push(`    ${log.oneLine(p)}`);
    }
  }
  if (c.general.length > 0) {
    if (lines.length > 0) lines.push('');
    lines.push('problems:');
    for (const p of c.general) lines.push(`    ${log.oneLine(p)}`);
  }
  const nm = c.sources.reduce((n, s) => n + s.metrics.length, 0);
  const np = c.problems.length;
  const served = c.sources.filter((s) => s.metrics.length > 0).length;
  lines.push('');
  lines.push(`${served} source${served === 1 ? '' : 's'} served, ${nm} metric${nm === 1 ? '' : 's'}, ${np} problem${np === 1 ? '' : 's'}`);
  return lines.join('\n') + '\n';
}

function document(c: Checker, o: Options, notes: string[]): string {
  const doc: JsonOut = {
    domain: o.domain,
    root: o.root,
    ok: c.problems.length === 0,
    notes,
    problems: c.problems,
    sources: c.sources.map((s) => ({
      path: s.path,
      name: s.name,
      describedBy: s.describedBy,
      cluster: s.cluster,
      data: s.data,
      labels: s.labels as JsonOut,
      problems: s.problems,
      metrics: s.metrics.map((m) => ({
        name: m.name,
        pmid: m.pmid,
        new: m.new,
        type: m.type,
        pcpType: m.pcpType,
        semantics: m.semantics,
        units: m.units,
        indom: m.indom,
        description: m.description,
        help: m.help,
        labels: m.labels as JsonOut,
        error: m.error,
        values: m.values.map((v) => ({ instance: v.instance, id: v.id === undefined && v.instance !== undefined ? '(new)' : v.id, value: v.value })),
        instanceLabels: m.instanceLabels as JsonOut,
      })),
    })),
  };
  return stringifyJson(doc, 2) + '\n';
}

function main(): number {
  let opts: Options;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write((e.message ? `pmdajson-check: ${e.message}\n` : '') + USAGE);
    return e.message ? 2 : 0;
  }
  const loaded = opts.configFile !== undefined ? loadConfig(opts.configFile) : { config: { ...DEFAULTS }, problems: [] };
  const config = loaded.config;
  if (opts.timeoutS !== undefined) config.execTimeoutMs = Math.round(opts.timeoutS * 1000);
  const numbers = new CacheCopies(opts.domain);
  try {
    const checker = new Checker(opts, config, numbers);
    for (const p of loaded.problems) log.warn(p);
    checker.run();
    process.stdout.write(opts.json ? document(checker, opts, numbers.notes) : text(checker, numbers.notes));
    return checker.problems.length > 0 ? 1 : 0;
  } finally {
    numbers.cleanup();
  }
}

process.exitCode = main();
