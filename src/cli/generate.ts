#!/usr/bin/env node
// pmdajson-generate: write a source's metadata.json from
//   --from-data FILE    a sample data document (types inferred),
//   --from-schema FILE  a JSON Schema (stap_json's format, see schema.ts),
//   --from-ceph FILE    a ceph perf-counter schema ("perf schema" output),
//   --ceph-socket SOCK  the same, asked of a running ceph daemon,
//   --data-exec CMD     alone: the command's output is the sample.
// The result goes to standard output, or atomically to -o FILE. What
// cannot be described is reported on standard error and left out.
// This file is the command (arguments, input, output); the inference from
// sample data and from ceph schemas is infer.ts.
import * as fs from 'fs';
import { parseJson, JsonValue, stringifyJson, JsonOut } from '../format/json';
import { parseMetadata } from '../index';
import { schemaToMetadataJson } from '../format/schema';
import { MetadataJson, isPcpName, writeFileAtomic } from '../producer/producer';
import { metadataFromData, metadataFromCeph } from './infer';
import type { Generated } from './infer';
// what infer.ts does, as dist/cli/generate.js exported it
export { pcpComponent, PREFERRED_INDEX, guessIndex, metadataFromData, cephParts, cephName, metadataFromCeph } from './infer';
export type { Generated } from './infer';

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
