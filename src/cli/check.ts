#!/usr/bin/env node
// pmdajson-check DIR...: what the PMDA would serve from source
// directories, without pmcd. For producers and their CI: every metric's
// name, PMID, type, semantics, units and current values, and every
// problem, in the words the PMDA's log uses. Exit status 1 if there is
// any problem, 0 if there is none, 2 for a usage error.
//
// Nothing is re-implemented where the PMDA has the code: discovery
// (src/pmda/discovery.ts), metadata and schema reading and the data's
// refresh (src/pmda/source.ts: the Source class itself, with its JSON
// parsing, schema validation and array rows), pointers and value
// conversion (src/format/pointer.ts, src/pmda/fetch.ts), and the log
// (src/pmda/log.ts), whose lines are caught on their way to pmNotifyErr.
// Only the few lines the agent itself composes (a source's name refused,
// a value that cannot be served) are written here, in the agent's words.
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
import { discover, Found } from '../pmda/discovery';
import { Source, readMetadata } from '../pmda/source';
import { nameCache, MAX_CLUSTER, NumberingError, metricCacheSerial, indomCacheSerial } from '../pmda/numbering';
import { authorOf, ROOT, Author } from '../pmda/access';
import { runCommand, ExecLimits } from '../pmda/exec';
import { convert } from '../pmda/fetch';
import { STATIC } from '../pmda/control';
import * as log from '../pmda/log';
import { validName, MetricSpec, ArraySpec, Units } from '../format/metadata';
import { resolve } from '../format/pointer';
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
  --no-exec            do not run data-exec commands
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

/**
 * A pmdaCache file as libpcp_pmda saves it: a header line
 * ("2 0 MAX": version, 0, the largest number), then one line per name,
 * "NUMBER LAST-ACTIVE-TIME NAME", NAME being the rest of the line.
 */
function readCacheFile(file: string): Map<string, number> {
  const names = new Map<string, number>();
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (const line of lines.slice(1)) {
    const m = /^(\d+) (\d+) (.*)$/.exec(line);
    if (m) names.set(m[3]!, Number(m[1]));
  }
  return names;
}

class Numbers {
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
  data?: { path: string } | { exec: string; run: boolean };
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
  private sink: string[] = this.general;
  private readonly byName = new Map<string, string>();

  constructor(
    readonly opts: Options,
    readonly config: Config,
    readonly numbers: Numbers,
  ) {
    // every line the PMDA's code logs comes here instead of pmNotifyErr;
    // warnings and errors are the problems, information is not
    native.log = (level: number, text: string): void => {
      if (level <= C.LOG_WARNING) this.sink.push(text);
    };
  }

  private get limits(): ExecLimits {
    const c = this.config;
    return { timeoutMs: c.execTimeoutMs, maxBytes: c.maxDataBytes, maxMemory: c.execMaxMemory, maxFiles: c.execMaxFiles, maxProcesses: c.execMaxProcesses };
  }

  run(): void {
    const found: Found[] = [];
    for (const dir of this.opts.dirs) {
      this.sink = this.general;
      let st: fs.Stats;
      try {
        st = fs.statSync(dir);
      } catch (e) {
        log.problem(`arg:${dir}`, `cannot read directory ${dir}: ${(e as Error).message}`);
        continue;
      }
      if (!st.isDirectory()) {
        log.problem(`arg:${dir}`, `${dir} is not a directory`);
        continue;
      }
      const before = found.length;
      // the PMDA's own walk, as for one directory of directory_list
      discover([dir], false, log.problem, found);
      if (found.length === before) log.problem(`arg:${dir}`, `no metadata.json or schema.json in or below ${dir}: no sources`);
    }
    const done = new Set<string>();
    for (const f of found) {
      if (done.has(f.dir)) continue;
      done.add(f.dir);
      this.check(f);
    }
    this.sink = this.general;
  }

  /** One source, as the agent adds it (src/pmda/agent.ts), then one fetch of all its metrics. */
  private check(f: Found): void {
    const out: SourceOut = { path: f.dir, metrics: [], problems: [] };
    this.sources.push(out);
    this.sink = out.problems;
    // the author: the owner of metadata.json, whose rights the PMDA reads its files with
    let author: Author;
    try {
      author = authorOf(fs.lstatSync(path.join(f.dir, f.describedBy)).uid);
    } catch (e) {
      log.problem(`${f.dir}:metadata`, `cannot read ${path.join(f.dir, f.describedBy)}: ${(e as Error).message}`);
      return;
    }
    out.describedBy = f.describedBy;
    const r = readMetadata(f.dir, f.describedBy, this.config.maxDataBytes, author);
    if ('error' in r) {
      log.problem(`${f.dir}:metadata`, r.error);
      return;
    }
    for (const p of r.md.problems) log.problem(`${f.dir}:metadata:${p}`, p);
    const name = r.md.prefix ?? path.basename(f.dir);
    out.name = name;
    // the agent's words (src/pmda/agent.ts, add)
    const why = !validName(name)
      ? `source name '${name}' is not a valid PCP name (letters, digits and '_', each part starting with a letter)`
      : STATIC.some((s) => s.name === name)
        ? `source name '${name}' is reserved for ${this.opts.root}.${name}`
        : this.byName.has(name)
          ? `a source named '${name}' already exists (${this.byName.get(name)!})`
          : undefined;
    if (why) {
      log.problem(`${f.dir}:name`, `skipping source ${f.dir}: ${why}`);
      return;
    }
    let cluster: number;
    try {
      cluster = nameCache(0, MAX_CLUSTER).number(name);
    } catch (e) {
      log.problem(`${f.dir}:cluster`, `skipping source ${f.dir}: ${(e as NumberingError).message}`);
      return;
    }
    this.byName.set(name, f.dir);
    const clusterKnown = this.numbers.known(0, name);
    out.cluster = clusterKnown ? cluster : '(new)';
    const s = new Source(f.dir, false, author, name, r.md, r.stamp, f.describedBy, r.validate);
    s.attach(cluster, this.config.maxMetrics);
    out.labels = { source: name, source_path: f.dir, ...parseLabelText(r.md.labels) };
    out.data = s.dataExec !== undefined ? { exec: s.dataExec, run: this.opts.exec } : { path: s.dataPath };

    // the data, as at a fetch
    let fetched = true;
    if (s.dataExec !== undefined) {
      if (!this.opts.exec) fetched = false;
      else {
        const started = Date.now();
        // run as the user running the checker
        s.pendingRun = runCommand(s.dataExec, ROOT, s.dir, this.limits);
        const took = Date.now() - started;
        if (s.pendingRun.ok && took > this.config.execWaitMs) {
          log.problem(`${s.dir}:slow`, `${s.metadataFile}: data-exec command '${s.dataExec}' takes longer than ${this.config.execWaitMs} ms (exec_wait): fetches no longer wait for it, and serve its output when it has finished`);
        }
      }
    }
    if (fetched) {
      try {
        s.refresh(1, this.config, () => undefined);
      } catch (e) {
        s.fail(`${s.dir}: cannot use its data: ${(e as Error).message}`);
      }
    }

    const instNames = new Map<number, string>();
    if (s.arrays.length > 0) for (const [inst, n] of native.cacheEntries(s.indom)) instNames.set(inst, n);
    const clusterText = clusterKnown ? String(cluster) : '(new)';
    for (const m of s.metrics.values()) {
      const itemKnown = clusterKnown && this.numbers.known(metricCacheSerial(cluster), m.spec.name);
      const mo: MetricOut = {
        name: `${this.opts.root}.${name}.${m.spec.name}`,
        pmid: `${this.opts.domain}.${clusterText}.${itemKnown ? m.item : '(new)'}`,
        new: !itemKnown,
        type: m.spec.type,
        pcpType: TYPE_NAMES[m.spec.type]!,
        semantics: semName(m.spec.sem),
        units: unitsText(m.spec.units),
        indom: m.array ? `${this.opts.domain}.${clusterKnown ? indomCacheSerial(cluster) : '(new)'}` : null,
        description: m.spec.description,
        values: [],
      };
      if (m.spec.help !== undefined) mo.help = m.spec.help;
      if (m.spec.labels) mo.labels = parseLabelText(m.spec.labels);
      out.metrics.push(mo);
      if (!fetched) {
        mo.error = 'not fetched: its data-exec command was not run (--no-exec)';
        continue;
      }
      if (s.dataError !== undefined) {
        mo.error = native.errStr(C.PM_ERR_AGAIN);
        continue;
      }
      if (!m.array) {
        try {
          mo.values.push({ value: this.value(s, m.spec, s.data) });
        } catch (e) {
          this.valueProblem(s, m.spec, e as Error);
          mo.error = native.errStr(C.PM_ERR_VALUE);
        }
        continue;
      }
      const rows = s.rows.get(m.array.name);
      if (!rows) continue;
      const indomSerial = indomCacheSerial(cluster);
      rows.insts.forEach((inst, r) => {
        const instance = instNames.get(inst) ?? String(inst);
        try {
          const v: ValueOut = { instance, value: this.value(s, m.spec, rows.elements[r]) };
          if (clusterKnown && this.numbers.known(indomSerial, instance)) v.id = inst;
          mo.values.push(v);
        } catch (e) {
          this.valueProblem(s, m.spec, e as Error);
        }
      });
      const labels = this.instanceLabels(m.array, rows.elements, rows.insts, instNames);
      if (labels) mo.instanceLabels = labels;
    }
  }

  /** A value as the agent serves it: converted, strings cut to max_string_bytes. */
  private value(src: Source, spec: MetricSpec, doc: JsonValue | undefined): number | bigint | string {
    const v = convert(resolve(spec.pointer, doc), spec.type);
    if (typeof v !== 'string') return v;
    const bytes = Buffer.from(v, 'utf8');
    if (bytes.length <= this.config.maxStringBytes) return v;
    let end = this.config.maxStringBytes;
    while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
    log.problem(`${src.dir}:long:${spec.name}`, `${src.metadataFile}: metric '${spec.name}': string of ${bytes.length} bytes cut to ${end} (max_string_bytes)`);
    return bytes.subarray(0, end).toString('utf8');
  }

  /** The agent's words for a value it cannot serve ("missing metric value"). */
  private valueProblem(src: Source, spec: MetricSpec, e: Error): void {
    const where = src.dataExec !== undefined ? `output of '${src.dataExec}' (${src.metadataFile})` : src.dataPath;
    log.problem(`${src.dir}:value:${spec.name}`, `${where}: metric '${spec.name}' at pointer '${spec.pointer.text}': ${e.message}`);
  }

  private instanceLabels(a: ArraySpec, elements: JsonValue[], insts: number[], names: Map<number, string>): Record<string, Record<string, JsonValue>> | undefined {
    if (!a.instanceLabels || a.instanceLabels.length === 0) return undefined;
    const out: Record<string, Record<string, JsonValue>> = {};
    elements.forEach((el, r) => {
      const labels: Record<string, JsonValue> = {};
      for (const [name, pointer] of a.instanceLabels!) {
        const v = resolve(pointer, el);
        if (v === undefined || (v !== null && typeof v === 'object')) continue;
        labels[name] = typeof v === 'bigint' ? Number(v) : v;
      }
      if (Object.keys(labels).length > 0) out[names.get(insts[r]!) ?? String(insts[r])] = labels;
    });
    return out;
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
    const head = s.name !== undefined ? `source '${s.name}' in ${s.path}` : `source in ${s.path}`;
    const cluster = s.cluster !== undefined ? ` (cluster ${s.cluster})` : '';
    lines.push(`${head}${cluster}`);
    if (s.data) lines.push(`    data: ${'path' in s.data ? s.data.path : `data-exec '${s.data.exec}'${s.data.run ? '' : ' (not run: --no-exec)'}`}`);
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
  const numbers = new Numbers(opts.domain);
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
