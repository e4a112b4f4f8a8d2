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
import { DEFAULTS, loadConfig } from '../pmda/config';
import { validName } from '../format/metadata';
// the checker runs the PMDA's own code, which needs its native module:
// loaded only once the arguments are read (see needsNative)
type CheckerModule = typeof import('./checker');
type ReportModule = typeof import('./report');
type LogModule = typeof import('../pmda/limits/log');

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

Exit status: 0 no problems, 1 problems (or no native module), 2 usage.
`;

class UsageError extends Error {}

export interface Options {
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

/**
 * Load the native module; when it cannot be (the npm package builds none),
 * the one line that says what it needs and how to get it.
 */
function needsNative(): string | undefined {
  try {
    require('../pmda/native');
    return undefined;
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    return `pmdajson-check: needs the JSON PMDA's native module (build/Release/pmda_json.node, built against PCP's libpcp_pmda), which the npm package does not build: use the pmdajson-check of the pcp-pmda-json package (on PATH once it is installed), or of a checkout of pmda-json built with npm run build where PCP's development files are (libpcp-pmda3-dev) [${why}]\n`;
  }
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
  const missing = needsNative();
  if (missing) {
    process.stderr.write(missing);
    return 1;
  }
  const { CacheCopies, Checker } = require('./checker') as CheckerModule;
  const { text, document } = require('./report') as ReportModule;
  const log = require('../pmda/limits/log') as LogModule;
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
