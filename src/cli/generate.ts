#!/usr/bin/env node
// pmdajson-generate: write a source's metadata.json from
//   --from-data FILE    sample data documents (types inferred; repeatable),
//   --from-schema FILE  a JSON Schema (stap_json's format, see schema.ts),
//   --from-ceph FILE    a ceph perf-counter schema ("perf schema" output),
//   --ceph-socket SOCK  the same, asked of a running ceph daemon,
//   --data-exec CMD     alone: the command's outputs are the samples.
// The result goes to standard output, or atomically to -o FILE. What
// cannot be described is reported on standard error and left out.
// This file is the command (arguments, input, output); the inference from
// sample data and from ceph schemas is in infer/.
import * as fs from 'fs';
import { parseJson, JsonValue, stringifyJson, JsonOut } from '../format/json';
import { parseMetadata } from '../index';
import { schemaToMetadataJson } from '../format/schema';
import { isPcpName, writeFileAtomic } from '../producer/producer';
import { metadataFromSamples } from './infer/data';
import { metadataFromCeph } from './infer/ceph';
import { parseSample } from './infer/sample';
import type { GenDoc, Generated } from './infer/common';
// what infer/ does, as dist/cli/generate.js exported it
export { pcpComponent } from './infer/common';
export { PREFERRED_INDEX, guessIndex } from './infer/index-key';
export { metadataFromData, metadataFromSamples, TOP_NAME } from './infer/data';
export { cephParts, cephName, metadataFromCeph } from './infer/ceph';
export { parseSample } from './infer/sample';
export type { Generated, GenDoc, GenArray, GenMetric } from './infer/common';

/** A command-line word quoted for data-exec (split like a POSIX shell does). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

// ---- the command ----------------------------------------------------------------

const DEFAULT_SAMPLES = 3;
const DEFAULT_INTERVAL = 1;

export const USAGE = `Usage: pmdajson-generate SOURCE [options]
Write a JSON PMDA metadata.json describing some JSON data.
SOURCE, one of:
  --from-data FILE     infer metrics from a sample data document ('-' reads stdin);
                       give it again for each further sample of the same program
  --from-schema FILE   translate a JSON Schema (stap_json format: {"generation", "data"})
  --from-ceph FILE     translate a ceph perf counter schema ('ceph daemon NAME perf schema')
  --ceph-socket PATH   ask the ceph daemon at this admin socket for its perf schema;
                       its 'perf dump' becomes the data-exec command
  --data-exec CMD      alone: run CMD (as you) and infer metrics from its outputs
Options:
  --prefix NAME        source name: metrics are json.NAME.*
  --data-exec CMD      command whose output is the data (written to metadata.json)
  --data-path PATH     data file, when it is not data.json beside metadata.json
  --samples N          with --data-exec alone: run CMD N times (default ${DEFAULT_SAMPLES})
  --interval S         ... S seconds apart (default ${DEFAULT_INTERVAL})
  -o, --output FILE    write FILE (atomically) instead of standard output
  -q, --quiet          do not list what was left out
  -h, --help           this text
An integer that never goes down over the samples, and goes up at every
step (three samples or more) or, if its name counts (bytes, packets,
errors...), at one step, is given counter semantics: a guess, to check.
`;

class UsageError extends Error {}

interface Args {
  mode?: 'data' | 'schema' | 'ceph' | 'ceph-socket';
  /** The --from-* file(s): several only for --from-data. */
  inputs: string[];
  samples?: number;
  interval?: number;
  prefix?: string;
  dataExec?: string;
  dataPath?: string;
  output?: string;
  quiet: boolean;
  help: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { inputs: [], quiet: false, help: false };
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
      if (a.mode && !(a.mode === 'data' && modes[opt] === 'data')) throw new UsageError('give only one of --from-data, --from-schema, --from-ceph, --ceph-socket (--from-data may be repeated)');
      a.mode = modes[opt];
      a.inputs.push(arg());
    } else if (opt === '--samples') {
      const v = arg();
      a.samples = /^[0-9]+$/.test(v) ? Number(v) : NaN;
      if (!(a.samples >= 1 && a.samples <= 1000)) throw new UsageError(`--samples '${v}': give a number of samples from 1 to 1000`);
    } else if (opt === '--interval') {
      const v = arg();
      a.interval = /^[0-9]+(\.[0-9]+)?$/.test(v) ? Number(v) : NaN;
      if (!(a.interval >= 0 && a.interval <= 3600)) throw new UsageError(`--interval '${v}': give seconds from 0 to 3600`);
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
  if ((a.samples !== undefined || a.interval !== undefined) && (a.mode || a.dataExec === undefined)) throw new UsageError('--samples and --interval are for --data-exec alone (give --from-data once for each sample file)');
  return a;
}

function readInput(file: string, what: string, parse = parseJson): JsonValue {
  let text: string;
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
  try {
    return parse(text);
  } catch (e) {
    throw new Error(`cannot parse ${what} ${file}: ${(e as Error).message}`);
  }
}

function runJson(command: string, what: string, parse = parseJson): JsonValue {
  // the command runs as the PMDA runs data-exec commands, in the native
  // module: loaded only here, so the rest of the generator works without it

  const { runCommand } = require('../pmda/commands/exec') as typeof import('../pmda/commands/exec');
  const { ROOT } = require('../pmda/sources/access') as typeof import('../pmda/sources/access');

  const r = runCommand(command, ROOT, process.cwd(), { timeoutMs: 60000, maxBytes: 256 * 1024 * 1024, maxMemory: -1, maxFiles: -1, maxProcesses: -1 });
  if (!r.ok) throw new Error(r.error);
  if (r.warning) throw new Error(r.warning);
  try {
    return parse(r.output.toString('utf8'));
  } catch (e) {
    throw new Error(`cannot parse ${what} (output of '${command}'): ${(e as Error).message}`);
  }
}

/** Wait, doing nothing: the command is synchronous. */
function sleep(ms: number): void {
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
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
      g = metadataFromSamples(a.inputs.map((f) => readInput(f, 'sample data', parseSample)));
      break;
    case 'schema': {
      const s = schemaToMetadataJson(readInput(a.inputs[0]!, 'schema'), a.inputs[0]!);
      g = { doc: s.doc, problems: s.problems };
      break;
    }
    case 'ceph':
      g = metadataFromCeph(readInput(a.inputs[0]!, 'ceph perf schema'));
      break;
    case 'ceph-socket': {
      const sock = shellQuote(a.inputs[0]!);
      const ceph = fs.existsSync('/usr/bin/ceph') ? '/usr/bin/ceph' : 'ceph';
      g = metadataFromCeph(runJson(`${ceph} --admin-daemon ${sock} perf schema`, 'ceph perf schema'));
      dataExec ??= `${ceph} --admin-daemon ${sock} perf dump`;
      break;
    }
    default: {
      const samples: JsonValue[] = [];
      const n = a.samples ?? DEFAULT_SAMPLES;
      for (let i = 0; i < n; i++) {
        if (i > 0) sleep((a.interval ?? DEFAULT_INTERVAL) * 1000);
        samples.push(runJson(a.dataExec!, 'sample data', parseSample));
      }
      g = metadataFromSamples(samples);
    }
  }
  const { metrics, ...head } = g.doc;
  const doc: GenDoc = { ...head, metrics };
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
  const ordered = {} as GenDoc;
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
