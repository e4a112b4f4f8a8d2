#!/usr/bin/env node
// pmdajson: the JSON PMDA. Reads like any PCP daemon PMDA's main():
// options, log, configuration, sources, then the PDU loop -- here driven
// by libuv, so timers and child processes keep working between PDUs.
import * as fs from 'fs';
import * as path from 'path';
import * as v8 from 'v8';
// A schema's "pattern" comes from untrusted users: a regexp that
// backtracks catastrophically falls back to V8's linear-time engine
// instead of holding the PMDA for hours. Regexps compiled later see this.
v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
import { native } from './native';
import { parseOptions, logFileOf, UsageError, USAGE } from './options';
import { loadConfig } from './config';
import type * as AgentModule from './agent';
import * as warmstart from './sources/warmstart';
import { domainFile } from './numbering/cachefile';
import * as log from './limits/log';
import { settle, fetched, SETTLE_AFTER_MS } from './memory';

function main(): void {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (e) {
    const msg = (e as UsageError).message;
    process.stderr.write((msg ? `pmdajson: ${msg}\n` : '') + USAGE);
    process.exit(msg ? 1 : 0);
  }

  // pmcd (or dbpmda) talks to the PMDA over its standard input and
  // output, a pipe; from a terminal or /dev/null it would wait for PDUs
  // that never come: say so, before anything touches PCP
  let input: fs.Stats | undefined;
  try {
    input = fs.fstatSync(0);
  } catch {
    input = undefined;
  }
  if (!input || !(input.isFIFO() || input.isSocket())) {
    const what = !input ? 'closed' : input.isCharacterDevice() ? (process.stdin.isTTY ? 'a terminal' : 'a character device') : input.isFile() ? 'a file' : 'not a pipe';
    process.stderr.write(`pmdajson: standard input is ${what}: this PMDA talks to pmcd over a pipe on its standard input and output; pmcd starts it (see Install), or try it with dbpmda(1)\n`);
    process.exit(1);
  }

  // pmdaDaemon + pmdaOpenLog: from here on stderr is the PMDA log
  const logFile = logFileOf(opts);
  native.init({ name: 'pmdajson', domain: opts.domain, logfile: logFile, debug: opts.debug ?? '' });
  log.captureConsole();
  log.setDebug(opts.debug !== undefined && /appl0|all/i.test(opts.debug));

  // configuration, read once at start as pmdajson does
  const configFile = opts.configFile ?? path.join(native.getConfig('PCP_PMDAS_DIR') ?? '/var/lib/pcp/pmdas', 'json', 'config.json');
  const { config, problems } = loadConfig(configFile);
  for (const p of problems) log.warn(p);
  log.info(`root ${opts.root}, domain ${opts.domain}, config ${configFile}: ${config.directoryList.length} directories, ${config.trustedDirectoryList.length} trusted`);

  // a warm start's look at what the last run kept begins now, on a thread
  // of the shim's, while the agent's modules load (src/pmda/sources/warmstart.ts)
  warmstart.begin(domainFile('start'), warmstart.keyOf(opts.root, config));
  const { Agent } = require('./agent') as typeof AgentModule;

  // pmdaInit, pmdaConnect and the PDU loop first: pmcd waits only a few
  // seconds for a new agent's first answer, and thousands of sources take
  // longer to find; then the sources as they are now, before the first
  // PDU is read (every PDU looks for changes again)
  const agent = new Agent({ root: opts.root, config });
  native.start({
    fetch: (pmids) => {
      const answer = agent.fetch(pmids);
      fetched(answer.length);
      return answer;
    },
    refresh: (indom) => agent.refresh(indom),
    text: (ident, type) => agent.text(ident, type),
    exit: () => stop(),
    labels: (type, ident) => agent.labels(type, ident),
    instanceLabels: (indom, inst) => agent.instanceLabels(indom, inst),
    store: (pmids, insts, values) => agent.store(pmids, insts, values),
  });
  agent.start();
  // pmcd ends an agent by closing its pipe (exit, above) or with SIGTERM:
  // either way, what a warm start needs is kept first
  function stop(): void {
    try {
      agent.keep(true);
    } finally {
      process.exit(0);
    }
  }
  process.on('SIGTERM', stop);
  // start-up leaves garbage, free malloc memory and some 20 MiB of node's
  // code that a fetch does not use: give them back once it is over
  setTimeout(settle, SETTLE_AFTER_MS).unref();
}

process.on('uncaughtException', (e) => {
  try {
    log.error(`uncaught exception: ${e.stack ?? e}`);
  } catch {
    process.stderr.write(`pmdajson: uncaught exception: ${e.stack ?? e}\n`);
  }
});

main();
