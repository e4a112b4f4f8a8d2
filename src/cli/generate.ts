#!/usr/bin/env node
// pmdajson-generate: write a source's metadata.json from
//   --from-data FILE    a sample data document (types inferred),
//   --from-schema FILE  a JSON Schema (stap_json's format, see schema.ts),
//   --from-ceph FILE    a ceph perf-counter schema ("perf schema" output),
//   --ceph-socket SOCK  the same, asked of a running ceph daemon,
//   --data-exec CMD     alone: the command's output is the sample.
// The result goes to standard output, or atomically to -o FILE. What
// cannot be described is reported on standard error and left out.
import * as fs from 'fs';
import { parseJson, JsonValue, stringifyJson, JsonOut } from '../format/json';
import { parseMetadata } from '../index';
import { schemaToMetadataJson } from '../format/schema';
import { ArrayJson, MetadataJson, MetricJson, escapeToken, isPcpName, writeFileAtomic } from '../producer/producer';

type Obj = { [k: string]: JsonValue };
const isObject = (v: JsonValue | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A metadata.json document and what was left out of it, one line each. */
export interface Generated {
  doc: MetadataJson;
  problems: string[];
}

// ---- from a sample data document ----------------------------------------------

/** A PCP name part for a JSON member name: invalid characters become '_', a leading non-letter gets an 'm'. */
export function pcpComponent(key: string): string {
  let c = key.replace(/[^A-Za-z0-9_]/g, '_');
  if (!/^[A-Za-z]/.test(c)) c = 'm' + c;
  return c;
}

type Scalar = 'integer' | 'double' | 'string';

function scalarType(v: JsonValue): Scalar | undefined {
  if (typeof v === 'bigint') return 'integer';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'double';
  if (typeof v === 'string') return 'string';
  return undefined;
}

/** Index members tried first, in this order, before any other unique string member. */
export const PREFERRED_INDEX = ['__id', 'name', 'id'];

interface Leaf {
  name: string;
  pointer: string;
  type: Scalar | 'conflict';
}

class Inference {
  readonly problems: string[] = [];
  private readonly reported = new Set<string>();

  problem(text: string): void {
    if (this.reported.has(text)) return;
    this.reported.add(text);
    this.problems.push(text);
  }

  /**
   * Walk an object, calling `leaf` for scalars and `array` for arrays;
   * `names` and `pointer` are the dotted name and pointer so far.
   */
  walk(o: Obj, names: string, pointer: string, leaf: (l: Leaf) => void, array: ((name: string, pointer: string, a: JsonValue[]) => void) | undefined): void {
    const used = new Map<string, string>();
    for (const [key, v] of Object.entries(o)) {
      const comp = pcpComponent(key);
      const shown = names ? `${names}.${key}` : key;
      if (used.has(comp)) {
        this.problem(`skipping '${shown}': its PCP name '${comp}' is already taken by '${used.get(comp)}'`);
        continue;
      }
      used.set(comp, key);
      if (comp !== key) this.problem(`'${shown}' is named '${comp}' (PCP names are letters, digits and '_', starting with a letter)`);
      const name = names ? `${names}.${comp}` : comp;
      const p = `${pointer}/${escapeToken(key)}`;
      const t = scalarType(v);
      if (t) leaf({ name, pointer: p, type: t });
      else if (isObject(v)) this.walk(v, name, p, leaf, array);
      else if (Array.isArray(v)) {
        if (array) array(name, p, v);
        else this.problem(`skipping '${name}': arrays inside arrays cannot be served`);
      } else this.problem(`skipping '${name}': ${v === null ? 'null says nothing about the type' : `${typeof v} values cannot be served`}`);
    }
  }

  array(name: string, pointer: string, elements: JsonValue[]): ArrayJson | undefined {
    if (elements.length === 0) {
      this.problem(`skipping '${name}': an empty array says nothing about its members`);
      return undefined;
    }
    if (!elements.every(isObject)) {
      this.problem(`skipping '${name}': only arrays of objects can be served (an array of scalars has no instance names)`);
      return undefined;
    }
    const objs = elements as Obj[];
    const index = guessIndex(objs);
    if (index === undefined) {
      this.problem(`skipping '${name}': no member names every element uniquely (tried ${PREFERRED_INDEX.join(', ')}, then any string member)`);
      return undefined;
    }
    const leaves = new Map<string, Leaf>();
    for (const el of objs) {
      const { [index]: _index, ...rest } = el;
      this.walk(rest, name, '', (l) => {
        const have = leaves.get(l.name);
        if (!have) leaves.set(l.name, l);
        else if (have.type !== l.type && have.type !== 'conflict') {
          const numeric = (t: string): boolean => t === 'integer' || t === 'double';
          have.type = numeric(have.type) && numeric(l.type) ? 'double' : 'conflict';
        }
      }, undefined);
    }
    const metrics: MetricJson[] = [];
    for (const l of leaves.values()) {
      if (l.type === 'conflict') {
        this.problem(`skipping '${l.name}': its elements hold both strings and numbers`);
        continue;
      }
      metrics.push({ name: l.name.slice(name.length + 1), pointer: l.pointer, type: l.type });
    }
    if (metrics.length === 0) {
      this.problem(`skipping '${name}': its elements have no members that can be served`);
      return undefined;
    }
    return { name, pointer, type: 'array', index: '/' + escapeToken(index), metrics };
  }
}

/** The element member that names instances: present in every element, a string (or integer), unique. */
export function guessIndex(elements: readonly Obj[]): string | undefined {
  const qualifies = (key: string, kind: 'string' | 'integer'): boolean => {
    const seen = new Set<string>();
    for (const el of elements) {
      const v = el[key];
      const ok = kind === 'string' ? typeof v === 'string' && v !== '' : typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));
      if (!ok) return false;
      const s = String(v);
      if (seen.has(s)) return false;
      seen.add(s);
    }
    return true;
  };
  const keys = Object.keys(elements[0] ?? {});
  for (const k of PREFERRED_INDEX) if (qualifies(k, 'string')) return k;
  for (const k of keys) if (qualifies(k, 'string')) return k;
  for (const k of PREFERRED_INDEX) if (qualifies(k, 'integer')) return k;
  return undefined;
}

/**
 * Metadata for data shaped like `sample`: integers (and BigInts) are
 * integer metrics, other numbers doubles, strings strings; nested
 * objects give dotted names; arrays of objects give arrays whose index
 * is guessed by {@link guessIndex}. Semantics are left instant and units
 * empty: a sample cannot tell counters from gauges, so edit the result.
 */
export function metadataFromData(sample: JsonValue): Generated {
  const inf = new Inference();
  const doc: MetadataJson = { metrics: [] };
  if (!isObject(sample)) {
    inf.problem('the sample data must be a JSON object');
    return { doc, problems: inf.problems };
  }
  inf.walk(sample, '', '', (l) => doc.metrics.push({ name: l.name, pointer: l.pointer, type: l.type as Scalar }), (name, pointer, a) => {
    const arr = inf.array(name, pointer, a);
    if (arr) doc.metrics.push(arr);
  });
  return { doc, problems: inf.problems };
}

// ---- from a ceph perf-counter schema ----------------------------------------------

// Bits of a ceph perf counter's "type" (ceph's perf_counters.h).
const CEPH_TIME = 0x1;
const CEPH_U64 = 0x2;
const CEPH_LONGRUNAVG = 0x4;
const CEPH_COUNTER = 0x8;

interface CephPart {
  /** Member of the counter's value object, when the counter is an object. */
  member: string;
  type: 'integer' | 'double';
  units?: string;
}

/** What one ceph counter type stands for in the perf dump; undefined for unknown bits. */
export function cephParts(type: number): CephPart[] | undefined {
  if (!Number.isInteger(type) || type <= 0 || (type & ~0xf) !== 0) return undefined;
  const parts: CephPart[] = [];
  let counterUsed = false;
  if (type & CEPH_TIME) parts.push({ member: 'sum', type: 'double' });
  if (type & CEPH_U64) {
    // a U64 counter's value is one integer, counting something
    counterUsed = (type & CEPH_COUNTER) !== 0;
    parts.push(counterUsed ? { member: 'sum', type: 'integer', units: 'count' } : { member: 'sum', type: 'integer' });
  }
  if (type & CEPH_LONGRUNAVG) parts.push({ member: 'avgcount', type: 'integer' });
  if (type & CEPH_COUNTER && !counterUsed) parts.push({ member: 'count', type: 'integer', units: 'count' });
  return parts;
}

/** Ceph names may hold '-' and ':'; PCP's may not. */
export function cephName(name: string): string {
  return name.replace(/[-:]/g, '_');
}

/**
 * Metadata for a ceph daemon's perf counters, mapped as pmdajson's
 * generate_ceph_metadata does: counter SECTION/KEY becomes
 * SECTION.KEY, or SECTION.KEY.sum and SECTION.KEY.avgcount for averages
 * (LONGRUNAVG), with '-' and ':' in names turned into '_'. A counter's
 * "description", when the schema has one, becomes its help text.
 */
export function metadataFromCeph(schema: JsonValue): Generated {
  const problems: string[] = [];
  const doc: MetadataJson = { metrics: [] };
  if (!isObject(schema)) {
    problems.push('the ceph perf schema must be a JSON object');
    return { doc, problems };
  }
  const names = new Set<string>();
  for (const [section, counters] of Object.entries(schema)) {
    if (!isObject(counters)) {
      problems.push(`skipping '${section}': not an object of counters`);
      continue;
    }
    for (const [key, info] of Object.entries(counters)) {
      const where = `${section}.${key}`;
      const rawType = isObject(info) ? info['type'] : undefined;
      if (typeof rawType !== 'number') {
        problems.push(`skipping '${where}': no numeric "type"`);
        continue;
      }
      const parts = cephParts(rawType);
      if (!parts || parts.length === 0) {
        problems.push(`skipping '${where}': unknown ceph counter type ${rawType}`);
        continue;
      }
      const base = `${cephName(section)}.${cephName(key)}`;
      const pointer = `/${escapeToken(section)}/${escapeToken(key)}`;
      const description = isObject(info) && typeof info['description'] === 'string' && info['description'] !== '' ? info['description'] : undefined;
      for (const part of parts) {
        const single = parts.length === 1;
        const name = single ? base : `${base}.${part.member}`;
        if (!isPcpName(name)) {
          problems.push(`skipping '${where}': '${name}' is not a valid PCP name`);
          break;
        }
        if (names.has(name)) {
          problems.push(`skipping '${where}': '${name}' is already taken`);
          break;
        }
        names.add(name);
        const m: MetricJson = { name, pointer: single ? pointer : `${pointer}/${part.member}`, type: part.type };
        if (description) m.description = description;
        if (part.units) m.units = part.units;
        doc.metrics.push(m);
      }
    }
  }
  return { doc, problems };
}

/** A command-line word quoted for data-exec (split like a POSIX shell does). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

// ---- the command ----------------------------------------------------------------

export const USAGE = `Usage: pmdajson-generate SOURCE [options]
Write a JSON PMDA metadata.json describing some JSON data.
SOURCE, one of:
  --from-data FILE     infer metrics from a sample data document ('-' reads stdin)
  --from-schema FILE   translate a JSON Schema (stap_json format: {"generation", "data"})
  --from-ceph FILE     translate a ceph perf counter schema ('ceph daemon NAME perf schema')
  --ceph-socket PATH   ask the ceph daemon at this admin socket for its perf schema;
                       its 'perf dump' becomes the data-exec command
  --data-exec CMD      alone: run CMD and infer metrics from its output
Options:
  --prefix NAME        source name: metrics are json.NAME.*
  --data-exec CMD      command whose output is the data (written to metadata.json)
  --data-path PATH     data file, when it is not data.json beside metadata.json
  -o, --output FILE    write FILE (atomically) instead of standard output
  -q, --quiet          do not list what was left out
  -h, --help           this text
`;

class UsageError extends Error {}

interface Args {
  mode?: 'data' | 'schema' | 'ceph' | 'ceph-socket';
  input?: string;
  prefix?: string;
  dataExec?: string;
  dataPath?: string;
  output?: string;
  quiet: boolean;
  help: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { quiet: false, help: false };
  const modes: Record<string, Args['mode']> = { '--from-data': 'data', '--from-schema': 'schema', '--from-ceph': 'ceph', '--ceph-socket': 'ceph-socket' };
  // The argv walk of src/cli/check.ts too (--opt=value or --opt value):
  // two small tools, two small parsers, alike on purpose.
  for (let i = 0; i < argv.length; i++) {
    let opt = argv[i]!;
    let value: string | undefined;
    const eq = opt.startsWith('--') ? opt.indexOf('=') : -1;
    if (eq > 0) {
      value = opt.slice(eq + 1);
      opt = opt.slice(0, eq);
    }
    const arg = (): string => {
      if (value !== undefined) return value;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${opt} needs a value`);
      return v;
    };
    if (opt in modes) {
      if (a.mode) throw new UsageError('give only one of --from-data, --from-schema, --from-ceph, --ceph-socket');
      a.mode = modes[opt];
      a.input = arg();
    } else if (opt === '--prefix') a.prefix = arg();
    else if (opt === '--data-exec') a.dataExec = arg();
    else if (opt === '--data-path') a.dataPath = arg();
    else if (opt === '-o' || opt === '--output') a.output = arg();
    else if (opt === '-q' || opt === '--quiet') a.quiet = true;
    else if (opt === '-h' || opt === '--help') a.help = true;
    else throw new UsageError(`unknown argument '${argv[i]}'`);
  }
  if (!a.help && !a.mode && a.dataExec === undefined) throw new UsageError('say what to describe: --from-data, --from-schema, --from-ceph, --ceph-socket or --data-exec');
  if (a.prefix !== undefined && !isPcpName(a.prefix)) throw new UsageError(`--prefix '${a.prefix}' is not a valid PCP name`);
  if (a.dataExec !== undefined && a.dataPath !== undefined) throw new UsageError('--data-exec and --data-path exclude each other');
  return a;
}

function readInput(file: string, what: string): JsonValue {
  let text: string;
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
  try {
    return parseJson(text);
  } catch (e) {
    throw new Error(`cannot parse ${what} ${file}: ${(e as Error).message}`);
  }
}

function runJson(command: string, what: string): JsonValue {
  // the command runs as the PMDA runs data-exec commands, in the native
  // module: loaded only here, so the rest of the generator works without it

  const { runCommand } = require('../pmda/commands/exec') as typeof import('../pmda/commands/exec');
  const { ROOT } = require('../pmda/sources/access') as typeof import('../pmda/sources/access');

  const r = runCommand(command, ROOT, process.cwd(), { timeoutMs: 60000, maxBytes: 256 * 1024 * 1024, maxMemory: -1, maxFiles: -1, maxProcesses: -1 });
  if (!r.ok) throw new Error(r.error);
  if (r.warning) throw new Error(r.warning);
  try {
    return parseJson(r.output.toString('utf8'));
  } catch (e) {
    throw new Error(`cannot parse ${what} (output of '${command}'): ${(e as Error).message}`);
  }
}

/** Standard streams, replaceable for tests. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: Io = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
};

/** Build the metadata document the arguments ask for. */
export function generate(argv: readonly string[]): Generated & { output?: string; quiet: boolean } {
  const a = parseArgs(argv);
  let g: Generated;
  let dataExec = a.dataExec;
  // One case a --from-* mode: alike in shape, each reads its own input.
  switch (a.mode) {
    case 'data':
      g = metadataFromData(readInput(a.input!, 'sample data'));
      break;
    case 'schema': {
      const s = schemaToMetadataJson(readInput(a.input!, 'schema'), a.input!);
      g = { doc: s.doc, problems: s.problems };
      break;
    }
    case 'ceph':
      g = metadataFromCeph(readInput(a.input!, 'ceph perf schema'));
      break;
    case 'ceph-socket': {
      const sock = shellQuote(a.input!);
      const ceph = fs.existsSync('/usr/bin/ceph') ? '/usr/bin/ceph' : 'ceph';
      g = metadataFromCeph(runJson(`${ceph} --admin-daemon ${sock} perf schema`, 'ceph perf schema'));
      dataExec ??= `${ceph} --admin-daemon ${sock} perf dump`;
      break;
    }
    default:
      g = metadataFromData(runJson(a.dataExec!, 'sample data'));
  }
  const { metrics, ...head } = g.doc;
  const doc: MetadataJson = { ...head, metrics };
  if (a.prefix !== undefined) doc.prefix = a.prefix;
  if (dataExec !== undefined) {
    doc['data-exec'] = dataExec;
    delete doc['data-path'];
  }
  if (a.dataPath !== undefined) {
    doc['data-path'] = a.dataPath;
    delete doc['data-exec'];
  }
  // key order: prefix, data-path / data-exec, metrics
  const ordered = {} as MetadataJson;
  if (doc.prefix !== undefined) ordered.prefix = doc.prefix;
  if (doc['data-path'] !== undefined) ordered['data-path'] = doc['data-path'];
  if (doc['data-exec'] !== undefined) ordered['data-exec'] = doc['data-exec'];
  ordered.metrics = doc.metrics;
  // what the PMDA will say about it (units it cannot parse, say)
  const check = parseMetadata(ordered as unknown as JsonValue, a.output ?? 'metadata.json');
  const problems = [...g.problems, ...check.problems];
  const out: Generated & { output?: string; quiet: boolean } = { doc: ordered, problems, quiet: a.quiet };
  if (a.output !== undefined) out.output = a.output;
  return out;
}

/** Run the command; returns the exit status (0 written, 1 failed, 2 usage). */
export function main(argv: readonly string[], io: Io = processIo): number {
  let g: ReturnType<typeof generate>;
  try {
    if (argv.includes('-h') || argv.includes('--help')) {
      io.stdout(USAGE);
      return 0;
    }
    g = generate(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`pmdajson-generate: ${e.message}\n${USAGE}`);
      return 2;
    }
    io.stderr(`pmdajson-generate: ${(e as Error).message}\n`);
    return 1;
  }
  if (!g.quiet) for (const p of g.problems) io.stderr(`pmdajson-generate: ${p}\n`);
  if (g.doc.metrics.length === 0) {
    io.stderr('pmdajson-generate: no metrics found; nothing written\n');
    return 1;
  }
  const text = stringifyJson(g.doc as unknown as JsonOut, 2) + '\n';
  if (g.output === undefined || g.output === '-') io.stdout(text);
  else {
    try {
      writeFileAtomic(g.output, text);
    } catch (e) {
      io.stderr(`pmdajson-generate: cannot write ${g.output}: ${(e as Error).message}\n`);
      return 1;
    }
  }
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
