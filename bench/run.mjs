#!/usr/bin/env node
// Side-by-side fetch benchmarks: the python pmdajson, this PMDA, and a C
// PMDA serving the same metrics from memory (the "C floor"), all three
// registered in the live pmcd at once, fed identical JSON sources, and
// measured in turn (round-robin per repetition) by a C client.
//
//   npm run bench                 full run (about 6 minutes), writes
//                                 bench/results.json and docs/benchmarks.svg
//   BENCH_QUICK=1 npm run bench   smoke run (about a minute), writes
//                                 bench/out/results.quick.json
//   node bench/run.mjs --restore  put back pmcd's configuration from
//                                 bench/out/backup after a run was killed
//   node bench/run.mjs --table [results.json] [--retarget]   print the tables again (with today's targets)
//
// Other knobs: BENCH_ONLY=big,one (workloads: seed, big, one, churn,
// producer, exec, url, url-cat, url-many, wide, million, many, many-one), BENCH_PMDAS=c,ts (which
// PMDAs; without py, json 137 and its config are left alone),
// BENCH_ALL_PMDAS=1 (also run the PMDAs a phase leaves out: the million
// and many phases list `pmdas: ['c', 'ts']` in their workload files, as
// the python pmdajson takes seconds per million-value fetch and long to
// start with 4,000 sources; it is taken out of pmcd.conf for them),
// BENCH_MANY_SOURCES=4000 (sources of the many phase, for what-ifs),
// BENCH_PRODUCER_MS=250 (how often bench/producer.mjs replaces the data
// file during the producer workload),
// BENCH_REPS, BENCH_SECONDS, BENCH_WARMUP (seconds of fetches per PMDA
// and workload before the measurements: 0.6; V8 takes longer than that to
// optimise what runs once per fetch, see docs/BENCHMARKS.md), BENCH_NODE_FLAGS (extra node flags for our
// PMDA, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"; the PMDA is then
// retired cleanly after each phase so the profile gets written),
// BENCH_PERF=dir (perf record of the C floor and our PMDA during the
// measurements; add --perf-basic-prof to BENCH_NODE_FLAGS for JS names),
// BENCH_STRACE=dir (strace -c of every PMDA during the measurements),
// BENCH_TS_HOME=dir (run our PMDA from a patched copy, for what-ifs),
// BENCH_C_READS=1 (a what-if: the C floor reads and parses each source's
// data file when it changed, bench/cread.cc, and the churn and producer
// workloads check its values too; issue 26's targets name the floor
// that holds its values in memory),
// BENCH_TS_WRAPPER=cmd (a command in front of node: env LD_PRELOAD=...,
// valgrind ...), BENCH_KEEP=1 (keep the scratch directory), BENCH_RESULTS=file,
// BENCH_FORCE=1 (do not wait for test runs to end).
//
// Everything this touches is backed up first and restored in a finally
// block (and on SIGINT/SIGTERM): pmcd.conf, the root PMNS, the json
// PMDA's config.json, the numbering caches of domains 137, 251 and 252,
// the json log; then pmcd is restarted with the system PATH.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PMCD_LOCK, tryTakePmcdLock } from '../test/helpers/pmcd-lock.mjs';
import seed from './workloads/seed.mjs';
import big from './workloads/big.mjs';
import churn from './workloads/churn.mjs';
import exec from './workloads/exec.mjs';
import url from './workloads/url.mjs';
import wide from './workloads/wide.mjs';
import million from './workloads/million.mjs';
import many from './workloads/many.mjs';
import { dataText, sourceMetadata } from './data.mjs';
import { commandLine as processCommandLine, eachProcess, othersMatching, runToEnd, sleepSync, statFields } from './proc.mjs';
import { CACHE_DIR, PMCD_CONF, PMNS_ROOT, SYSTEM_PATH } from './system.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const OUT = path.join(HERE, 'out');
const SYS_ENV = { ...process.env, PATH: SYSTEM_PATH, PMCD_REQUEST_TIMEOUT: '300', PMCD_CONNECT_TIMEOUT: '60' };

const PY_CONFIG = '/var/lib/pcp/pmdas/json/config.json';
const PY_PMDA = '/var/lib/pcp/pmdas/json/pmdajson.python';
const LOG_DIR = '/var/log/pcp/pmcd';
const BACKUP = path.join(OUT, 'backup');

// this run's own scratch layout; bench/soak.mjs lays out its own alike, on purpose (each tool cleans up only its own)
const WORK = '/tmp/pmda-json-bench';
const SRC = path.join(WORK, 'sources');
const EXEC_DIR = path.join(WORK, 'exec');
// data-url sources are trusted (their requests are made in the PMDA); their documents, served by the url workload's server
const TRUSTED_SRC = path.join(WORK, 'trusted');
const URL_DIR = path.join(WORK, 'url');
const VARIANTS = path.join(WORK, 'variants');
const TS_CONFIG = path.join(WORK, 'jsonts-config.json');

const QUICK = process.env.BENCH_QUICK === '1';
// Many short runs rather than a few long ones: each run is a new client
// process, and where the scheduler puts client, pmcd and PMDA relative to
// one another moves small-fetch latencies by 2x from run to run.
const REPS = Number(process.env.BENCH_REPS ?? (QUICK ? 1 : 8));
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 0.3 : 1));
const WARMUP = Number(process.env.BENCH_WARMUP ?? (QUICK ? 0.2 : 0.6));
/** How long after a phase's last fetch its RSS is read (ms). */
const REST_MS = 1000;
// starts per PMDA and phase: the first numbers the phase's sources afresh
// and is reported alone (first_ms); the figure is the median of the
// restarts after it
const STARTUP_REPS = QUICK ? 1 : 6;
const CHURN_VARIANTS = 8;
const PRODUCER_MS = Number(process.env.BENCH_PRODUCER_MS ?? 250);
const ALL_PMDAS = process.env.BENCH_ALL_PMDAS === '1';
const RESULTS = process.env.BENCH_RESULTS ?? (QUICK ? path.join(OUT, 'results.quick.json') : path.join(HERE, 'results.json'));
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').trim();
// Our PMDA runs from a copy of dist/ and the native module taken at the
// start (node_modules still resolve from the checkout), so that a rebuild
// by someone else during the run cannot mix two versions or catch a
// half-written dist/. BENCH_SNAPSHOT=reuse keeps the previous copy (to
// profile exactly what was measured); BENCH_SNAPSHOT=off runs the live dist/.
const SNAPSHOT = path.join(OUT, 'snapshot');
// BENCH_TS_HOME=dir runs the PMDA from another copy (a dir with dist/ and
// build/Release/), for what-if experiments on a patched copy.
const TS_HOME = process.env.BENCH_TS_HOME ? path.resolve(process.env.BENCH_TS_HOME) : process.env.BENCH_SNAPSHOT === 'off' ? ROOT : SNAPSHOT;
// BENCH_TS_WRAPPER="/usr/bin/env LD_PRELOAD=..." puts a command in front of node.
const TS_WRAPPER = (process.env.BENCH_TS_WRAPPER ?? '').trim();
const PERF_DIR = process.env.BENCH_PERF ? path.resolve(process.env.BENCH_PERF) : '';
const STRACE_DIR = process.env.BENCH_STRACE ? path.resolve(process.env.BENCH_STRACE) : '';

// ---- the three PMDAs -----------------------------------------------------------

const PMDAS = {
  c: { id: 'c', label: 'C floor', root: 'jsonc', domain: 252 },
  ts: { id: 'ts', label: 'pmda-json', root: 'jsonts', domain: 251 },
  py: { id: 'py', label: 'python pmdajson', root: 'json', domain: 137 },
};
const C_READS = process.env.BENCH_C_READS === '1';
if (C_READS) PMDAS.c.label = 'C floor reading the files';
const ACTIVE = (process.env.BENCH_PMDAS ?? 'c,ts,py').split(',').map((s) => s.trim()).filter((s) => PMDAS[s]);
/** The PMDAs measured in one phase: ACTIVE, less those the phase leaves out (`pmdas`). */
const phasePmdas = (phase) => ACTIVE.filter((id) => ALL_PMDAS || !phase.pmdas || phase.pmdas.includes(id));

/**
 * The C floor's source options: runs of sources of one shape named
 * prefix0, prefix1, ... become one -S count:prefix:shape (pmcd.conf lines
 * stay short with thousands of sources), the others one -s each.
 */
function cSourceArgs(sources) {
  const shape = (s) => `${s.strings}:${s.ints}:${s.arrays}:${s.instances}:${s.members}${s.exotic ? ':x' : ''}`;
  const out = [];
  for (let i = 0; i < sources.length;) {
    const m = /^([A-Za-z_]+)0$/.exec(sources[i].name);
    let n = 1;
    if (m) while (i + n < sources.length && sources[i + n].name === `${m[1]}${n}` && shape(sources[i + n]) === shape(sources[i])) n++;
    out.push(n > 1 ? `-S ${n}:${m[1]}:${shape(sources[i])}` : `-s ${sources[i].name}:${shape(sources[i])}`);
    i += n;
  }
  return out;
}

function commandLine(id, phase) {
  switch (id) {
    case 'py':
      return `/usr/bin/python3 ${PY_PMDA}`;
    case 'ts':
      // the node flag Install writes into pmcd.conf, then any of BENCH_NODE_FLAGS
      return `${TS_WRAPPER ? TS_WRAPPER + ' ' : ''}/usr/bin/node --max-semi-space-size=1 ${NODE_FLAGS ? NODE_FLAGS + ' ' : ''}${path.join(TS_HOME, 'dist', 'pmda', 'main.js')} -d 251 -r jsonts -c ${TS_CONFIG}`;
    case 'c': {
      const specs = cSourceArgs(phase.sources);
      const exec = phase.sources.find((s) => s.exec);
      return `${path.join(OUT, C_READS ? 'cpmda-read' : 'cpmda')} -d 252 -r jsonc ${C_READS ? `-F ${SRC} ` : ''}${specs.join(' ')}${exec ? ` -e /bin/cat,${execFile(exec)}` : ''}`;
    }
  }
  throw new Error(id);
}

// ---- workloads ---------------------------------------------------------------------

// one file a workload, in bench/workloads/, run in this order
const PHASES = [seed, big, churn, exec, url, wide, million, many];
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim())) : null;

const execFile = (s) => path.join(EXEC_DIR, `${s.name}.json`);
/** The port of the url workload's server (bench/workloads/url.mjs), once started. */
let urlPort = 0;
const urlOf = (s) => `http://127.0.0.1:${urlPort}/${s.name}${s.delayMs ? `?delay=${s.delayMs}` : ''}`;
const metadata = (s) => sourceMetadata(s, s.exec ? execFile(s) : undefined, s.url ? urlOf(s) : undefined);

function writeFile(file, text, mode = 0o644) {
  fs.writeFileSync(file, text);
  fs.chmodSync(file, mode);
}

/** Make SRC hold exactly the sources of `phase`. */
function writeSources(phase) {
  for (const d of [SRC, TRUSTED_SRC]) {
    fs.rmSync(d, { recursive: true, force: true });
    fs.mkdirSync(d, { mode: 0o755 });
    fs.chmodSync(d, 0o755);
  }
  for (const s of phase.sources) {
    const dir = path.join(s.url ? TRUSTED_SRC : SRC, s.name);
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.chmodSync(dir, 0o755);
    writeFile(path.join(dir, 'metadata.json'), JSON.stringify(metadata(s), null, 2) + '\n');
    if (s.exec) writeFile(execFile(s), dataText(s, 0));
    else if (s.url) writeFile(path.join(URL_DIR, `${s.name}.json`), dataText(s, 0));
    else writeFile(path.join(dir, 'data.json'), dataText(s, 0));
  }
  for (const w of phase.workloads) {
    if (!w.churn && !w.producer) continue;
    const s = phase.sources[0];
    w.variantArgs = [];
    w.variantSpecs = [];
    for (let g = 1; g <= CHURN_VARIANTS; g++) {
      const f = path.join(VARIANTS, `${s.name}-${g}.json`);
      if (!fs.existsSync(f)) writeFile(f, dataText(s, g));
      w.variantArgs.push('-V', `${g}:${f}`);
      w.variantSpecs.push(`${g}:${f}`);
    }
    w.churnTarget = path.join(SRC, s.name, 'data.json');
  }
}

// ---- backup and restore ------------------------------------------------------------

const cachePattern = /^(137|251|252)\./;
let backup = null;
let restored = false;
const runStarted = Date.now();

function snapshot(file) {
  try {
    // a symbolic link (Debian links pmdas/json/config.json to /etc/pcp/json)
    // is kept as a link, and the file it points to is snapshotted too
    if (fs.lstatSync(file).isSymbolicLink()) return { file, link: fs.readlinkSync(file), target: snapshot(path.resolve(path.dirname(file), fs.readlinkSync(file))) };
    const st = fs.statSync(file);
    return { file, data: fs.readFileSync(file).toString('base64'), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  } catch {
    return { file, missing: true };
  }
}

function putBack(snap) {
  if (snap.link !== undefined) {
    putBack(snap.target);
    fs.rmSync(snap.file, { force: true });
    fs.symlinkSync(snap.link, snap.file);
    return;
  }
  if (snap.missing) {
    fs.rmSync(snap.file, { force: true });
    return;
  }
  const tmp = `${snap.file}.bench-restore`;
  fs.writeFileSync(tmp, Buffer.from(snap.data, 'base64'));
  fs.chmodSync(tmp, snap.mode);
  fs.chownSync(tmp, snap.uid, snap.gid);
  fs.renameSync(tmp, snap.file);
}

function takeBackup() {
  const files = [PMCD_CONF, PMNS_ROOT, PY_CONFIG, path.join(LOG_DIR, 'json.log'), path.join(LOG_DIR, 'json.log.prev')];
  const caches = fs.readdirSync(CACHE_DIR).filter((f) => cachePattern.test(f)).map((f) => path.join(CACHE_DIR, f));
  backup = { taken: new Date().toISOString(), files: [...files, ...caches].map(snapshot) };
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(BACKUP + '.json'), JSON.stringify(backup));
}

function restore(reason) {
  if (restored || !backup) return;
  restored = true;
  log(`restoring pmcd configuration (${reason})`);
  // save the bench PMDAs' logs for later reading
  const logs = path.join(OUT, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  for (const [from, to] of [['jsonts.log', 'jsonts.log'], ['jsonc.log', 'jsonc.log'], ['json.log', 'python-json.log']]) {
    try { fs.copyFileSync(path.join(LOG_DIR, from), path.join(logs, to)); } catch { /* none */ }
  }
  for (const f of ['jsonts.log', 'jsonts.log.prev', 'jsonc.log', 'jsonc.log.prev']) fs.rmSync(path.join(LOG_DIR, f), { force: true });
  // node flags such as --perf-basic-prof make V8 write isolate-*-v8.log
  // into the agent's working directory, pmcd's log directory
  for (const f of fs.readdirSync(LOG_DIR)) {
    if (!/^isolate-.*-v8\.log$/.test(f)) continue;
    const full = path.join(LOG_DIR, f);
    try {
      if (fs.statSync(full).mtimeMs < runStarted) continue;
      fs.copyFileSync(full, path.join(logs, f));
      fs.rmSync(full, { force: true });
    } catch { /* gone */ }
  }
  let ok = true;
  for (const snap of backup.files) {
    try {
      putBack(snap);
    } catch (e) {
      ok = false;
      console.error(`bench: cannot restore ${snap.file}: ${e.message}`);
    }
  }
  const keep = new Set(backup.files.map((s) => s.file));
  for (const f of fs.readdirSync(CACHE_DIR)) {
    const full = path.join(CACHE_DIR, f);
    if (cachePattern.test(f) && !keep.has(full)) fs.rmSync(full, { force: true });
  }
  try {
    restartPmcd();
    const conf = backup.files.find((f) => f.file === PMCD_CONF);
    const hadJson = conf && !conf.missing && /^json\s+137\s/m.test(Buffer.from(conf.data, 'base64').toString());
    if (hadJson) {
      waitFor(() => { execFileSync('pminfo', ['-f', 'json.nsources'], { env: SYS_ENV, stdio: 'ignore', timeout: 20000 }); return true; }, 60000, 'json.nsources after the restart');
      log('pmcd restarted; `pminfo -f json.nsources` answers');
    } else {
      log('pmcd restarted (json was not installed before the run, and is not now)');
    }
  } catch (e) {
    ok = false;
    console.error(`bench: pmcd restart after restore: ${e.message}`);
  }
  if (ok) fs.rmSync(BACKUP + '.json', { force: true });
  if (process.env.BENCH_KEEP !== '1') fs.rmSync(WORK, { recursive: true, force: true });
}

// ---- pmcd ---------------------------------------------------------------------------------

function clearCaches(domain) {
  for (const f of fs.readdirSync(CACHE_DIR)) if (f.startsWith(`${domain}.`)) fs.rmSync(path.join(CACHE_DIR, f), { force: true });
}

function restartPmcd() {
  execFileSync('/etc/init.d/pmcd', ['restart'], { env: { PATH: SYSTEM_PATH }, stdio: 'ignore', timeout: 120000 });
  waitFor(() => { execFileSync('pminfo', ['-f', 'pmcd.version'], { env: SYS_ENV, stdio: 'ignore', timeout: 10000 }); return true; }, 60000, 'pmcd');
}

function pmcdPid() {
  return Number(fs.readFileSync('/run/pcp/pmcd.pid', 'utf8').trim());
}

function waitFor(fn, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    sleepSync(50);
  }
}

let writtenConf = '';
// PMDAs that did not start in the current phase: out of pmcd.conf until the next phase
let failedToStart = new Set();

function writePmcdConf(phase, without) {
  const lines = fs.readFileSync(PMCD_CONF, 'utf8').split('\n');
  const out = [];
  let inserted = false;
  // a PMDA the phase leaves out is taken out of pmcd.conf (it exits at the HUP)
  const ids = phasePmdas(phase);
  const out_ = (id) => id === without || failedToStart.has(id);
  const ours = ids.filter((id) => id !== 'py' && !out_(id)).map((id) => `${PMDAS[id].root}\t${PMDAS[id].domain}\tpipe\tbinary\t\t${commandLine(id, phase)}`);
  if (ids.includes('py') && !out_('py')) ours.unshift(`json\t137\tpipe\tbinary\t\t${commandLine('py', phase)}`);
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'jsonts' || f[0] === 'jsonc' || f[1] === '251' || f[1] === '252') continue;
    if (ACTIVE.includes('py') && (f[0] === 'json' || f[1] === '137')) continue;
    if (!inserted && line.trim() === '[access]') {
      out.push(...ours, '');
      inserted = true;
    }
    out.push(line);
  }
  if (!inserted) out.push(...ours);
  writtenConf = out.join('\n');
  fs.writeFileSync(PMCD_CONF, writtenConf);
}

function checkPmcdConf() {
  if (fs.readFileSync(PMCD_CONF, 'utf8') !== writtenConf) {
    throw new Error(`${PMCD_CONF} was changed by someone else during the run (an Install or Remove?); giving up`);
  }
}

function writePmns() {
  let text = fs.readFileSync(PMNS_ROOT, 'utf8');
  const open = text.search(/^root\s*\{/m);
  if (open < 0) throw new Error(`no root {} in ${PMNS_ROOT}`);
  const close = text.indexOf('}', open);
  let block = text.slice(open, close);
  const add = ACTIVE.filter((id) => id !== 'py').map((id) => PMDAS[id]).filter((p) => !new RegExp(`^\\s*${p.root}\\s`, 'm').test(block));
  if (ACTIVE.includes('py') && !/^\s*json\s/m.test(block)) add.push(PMDAS.py);
  block += add.map((p) => `\t${p.root}\t${p.domain}:*:*\n`).join('');
  text = text.slice(0, open) + block + text.slice(close);
  fs.writeFileSync(PMNS_ROOT, text);
}

/** Pids of the agents pmcd runs (children of pmcd or of pmdaroot), by our PMDA id. */
function agentPids() {
  const pmcd = pmcdPid();
  const procs = [];
  eachProcess((pid) => {
    const [state, ppid] = statFields(pid);
    if (state === 'Z') return;
    procs.push({ pid, ppid: Number(ppid), cmd: processCommandLine(pid) });
  });
  const parents = new Set([pmcd, ...procs.filter((p) => p.ppid === pmcd && p.cmd.includes('pmdaroot')).map((p) => p.pid)]);
  const out = {};
  for (const p of procs) {
    if (!parents.has(p.ppid)) continue;
    if (p.cmd.includes(PY_PMDA)) out.py = p.pid;
    else if (p.cmd.includes('/pmda/main.js') && p.cmd.includes('-r jsonts')) out.ts = p.pid;
    else if (p.cmd.includes(path.join(OUT, 'cpmda')) && p.cmd.includes('-d 252')) out.c = p.pid;
  }
  return out;
}

function alive(pid) {
  try {
    return statFields(pid)[0] !== 'Z';
  } catch {
    return false;
  }
}

function stopAgent(pid) {
  if (!pid || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  try {
    waitFor(() => !alive(pid), 5000, `pid ${pid} to exit`);
  } catch {
    process.kill(pid, 'SIGKILL');
    waitFor(() => !alive(pid), 5000, `pid ${pid} to die`);
  }
}

function procStatus(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(s.match(new RegExp(`${k}:\\s+(\\d+)`))?.[1]);
    // anonymous: the PMDA's own memory; the rest is files' pages (node's code), shared with the page cache
    return { rss_kb: kb('VmRSS'), hwm_kb: kb('VmHWM'), anon_kb: kb('RssAnon') };
  } catch {
    return null;
  }
}

// ---- running the client -----------------------------------------------------------

let currentChild = null;
let aborted = null;

async function fetchbench(args, timeoutMs = 600000) {
  const { out, err, code, signal } = await runToEnd(path.join(OUT, 'fetchbench'), args, { env: SYS_ENV, timeoutMs, started: (child) => { currentChild = child; } });
  currentChild = null;
  if (aborted) throw new Error(aborted);
  try {
    const r = JSON.parse(out);
    if (code !== 0 && r.ready_ms === undefined) throw new Error('exit status');
    return r;
  } catch {
    throw new Error(`fetchbench ${args.join(' ')}: ${signal ?? `status ${code}`}\n${err}${out}`);
  }
}

/** Test runs and Install/Remove scripts that reconfigure pmcd too. */
const othersUsingPmcd = () => othersMatching(/node_modules\/\.bin\/ava|node_modules\/ava\/|pmdaproc\.sh|\/Install\b|\/Remove\b|bench\/soak\.mjs/, 80);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The tests that reconfigure the live pmcd take this lock (see
// lockPmcd in test/helpers/harness.mjs); so does the benchmark.
const LOCK = PMCD_LOCK;
let haveLock = false;

async function lockPmcd(timeoutMs = 15 * 60000) {
  const deadline = Date.now() + timeoutMs;
  let said = false;
  for (;;) {
    const soak = othersUsingPmcd().filter((p) => p.includes('bench/soak.mjs'));
    if (soak.length > 0) {
      if (Date.now() > deadline) throw new Error(`a soak run is still going: ${soak[0]}`);
      if (!said) log(`waiting for the soak run to finish: ${soak[0]}`);
      said = true;
      await sleep(2000);
      if (aborted) throw new Error(aborted);
      continue;
    }
    if (tryTakePmcdLock()) {
      haveLock = true;
      return;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for the pmcd lock ${LOCK}`);
    if (!said) log(`waiting for the pmcd lock ${LOCK} (a test is reconfiguring pmcd)`);
    said = true;
    await sleep(250);
    if (aborted) throw new Error(aborted);
  }
}

function unlockPmcd() {
  if (!haveLock) return;
  haveLock = false;
  fs.rmSync(LOCK, { recursive: true, force: true });
}

function log(msg) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

// ---- statistics ---------------------------------------------------------------------

function quantile(sorted, p) {
  if (sorted.length === 0) return null;
  const at = p * (sorted.length - 1);
  const lo = Math.floor(at);
  if (lo + 1 >= sorted.length) return sorted[sorted.length - 1];
  return sorted[lo] + (sorted[lo + 1] - sorted[lo]) * (at - lo);
}

const median = (xs) => quantile([...xs].sort((a, b) => a - b), 0.5);
const round = (x, d = 4) => (x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(d)));

function aggregate(runs) {
  const samples = runs.flatMap((r) => r.samples).sort((a, b) => a - b);
  const fetches = runs.reduce((n, r) => n + r.fetches, 0);
  const fetchS = runs.reduce((n, r) => n + r.fetch_s, 0);
  const weighted = (f) => {
    const xs = runs.filter((r) => f(r) !== undefined && f(r) !== null);
    const n = xs.reduce((s, r) => s + r.fetches, 0);
    return n ? xs.reduce((s, r) => s + f(r) * r.fetches, 0) / n : null;
  };
  const last = runs[runs.length - 1];
  return {
    runs: runs.length,
    fetches,
    values_per_fetch: last.values_per_fetch,
    fetches_per_s: round(fetches / fetchS, 2),
    mean_ms: round((fetchS * 1000) / fetches),
    p50_ms: round(quantile(samples, 0.5)),
    p99_ms: round(quantile(samples, 0.99)),
    min_ms: round(samples[0]),
    max_ms: round(samples[samples.length - 1]),
    run_p50_ms: runs.map((r) => round(r.p50_ms)),
    pmda_cpu_ms_per_fetch: round(weighted((r) => r.pmda?.cpu_ms_per_fetch)),
    pmda_child_cpu_ms_per_fetch: round(weighted((r) => r.pmda?.child_cpu_ms_per_fetch)),
    pmcd_cpu_ms_per_fetch: round(weighted((r) => r.pmcd_cpu_ms_per_fetch)),
    client_cpu_ms_per_fetch: round(weighted((r) => r.client_cpu_ms_per_fetch)),
    rss_kb: last.pmda?.rss_kb ?? null,
    check: {
      values: runs.reduce((n, r) => n + r.check.values, 0),
      errors: runs.reduce((n, r) => n + r.check.errors, 0),
      stale: runs.reduce((n, r) => n + r.check.stale, 0),
      wrong_fetches: runs.reduce((n, r) => n + (r.check.wrong_fetches ?? 0), 0),
      // producer: fetches whose generation differs from the fetch before, and files written
      changes: runs.reduce((n, r) => n + (r.check.changes ?? 0), 0),
      producer_writes: runs.some((r) => r.producer_writes !== undefined) ? runs.reduce((n, r) => n + (r.producer_writes ?? 0), 0) : undefined,
      first_error: runs.map((r) => r.check.first_error).find((e) => e) ?? '',
    },
  };
}

// ---- the run ----------------------------------------------------------------------

function machine() {
  const cpu = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? 'unknown';
  let pcp = 'unknown';
  try {
    pcp = execFileSync('pmprobe', ['-v', 'pmcd.version'], { env: SYS_ENV, encoding: 'utf8' }).match(/"([^"]+)"/)?.[1] ?? pcp;
  } catch { /* keep unknown */ }
  let git = {};
  try {
    git = TS_HOME === ROOT ? gitState() : { ...JSON.parse(fs.readFileSync(path.join(TS_HOME, 'SOURCE'), 'utf8')), ts_home: TS_HOME };
  } catch { /* none */ }
  return {
    nproc: os.cpus().length,
    cpu,
    kernel: os.release(),
    node: process.version,
    pcp,
    python: execFileSync('/usr/bin/python3', ['--version'], { encoding: 'utf8' }).trim(),
    mem_gb: round(os.totalmem() / 2 ** 30, 1),
    git,
  };
}

/** Which commit dist/ was (probably) built from, and whether src/ had changes. */
function gitState() {
  const git = {};
  try {
    git.commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    git.dirty_src = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'native'], { encoding: 'utf8' }).trim() !== '';
    git.dist_built = new Date(Math.max(...fs.readdirSync(path.join(ROOT, 'dist')).map((f) => fs.statSync(path.join(ROOT, 'dist', f)).mtimeMs))).toISOString();
  } catch { /* not a checkout */ }
  return git;
}

function build() {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'pmda', 'main.js')) || !fs.existsSync(path.join(ROOT, 'build', 'Release', 'pmda_json.node'))) {
    throw new Error('build first: npm run build (dist/pmda/main.js or the native module is missing)');
  }
  fs.mkdirSync(OUT, { recursive: true });
  if (TS_HOME === SNAPSHOT && !(process.env.BENCH_SNAPSHOT === 'reuse' && fs.existsSync(path.join(SNAPSHOT, 'dist', 'pmda', 'main.js')))) {
    // a dist/ being rewritten right now has files younger than a second or two
    waitFor(() => {
      const newest = Math.max(...fs.readdirSync(path.join(ROOT, 'dist')).map((f) => fs.statSync(path.join(ROOT, 'dist', f)).mtimeMs));
      return Date.now() - newest > 3000;
    }, 120000, 'dist/ to settle');
    fs.rmSync(SNAPSHOT, { recursive: true, force: true });
    fs.cpSync(path.join(ROOT, 'dist'), path.join(SNAPSHOT, 'dist'), { recursive: true });
    fs.mkdirSync(path.join(SNAPSHOT, 'build', 'Release'), { recursive: true });
    // the module and the shepherd of data-exec commands (native/shepherd.cc)
    for (const f of ['pmda_json.node', 'pmdajson-shepherd']) fs.copyFileSync(path.join(ROOT, 'build', 'Release', f), path.join(SNAPSHOT, 'build', 'Release', f));
    fs.writeFileSync(path.join(SNAPSHOT, 'SOURCE'), `${JSON.stringify(gitState())}\n`);
  }
  for (const [name, libs] of /** @type {Array<[string, string[]]>} */ ([['cpmda', ['-lpcp_pmda', '-lpcp']], ['fetchbench', ['-lpcp']]])) {
    execFileSync('gcc', ['-O2', '-g', '-Wall', '-o', path.join(OUT, name), path.join(HERE, `${name}.c`), ...libs], { stdio: 'inherit' });
  }
  if (C_READS) {
    execFileSync('gcc', ['-O2', '-g', '-Wall', '-DREAD_FILES', '-c', '-o', path.join(OUT, 'cpmda-read.o'), path.join(HERE, 'cpmda.c')], { stdio: 'inherit' });
    execFileSync('g++', ['-O2', '-g', '-Wall', '-std=c++17', '-c', '-o', path.join(OUT, 'cread.o'), path.join(HERE, 'cread.cc')], { stdio: 'inherit' });
    execFileSync('g++', ['-o', path.join(OUT, 'cpmda-read'), path.join(OUT, 'cpmda-read.o'), path.join(OUT, 'cread.o'), '-lsimdjson', '-lpcp_pmda', '-lpcp'], { stdio: 'inherit' });
  }
}

class Interference extends Error {}

const BENCH_CONFIG = JSON.stringify({ directory_list: [SRC], trusted_directory_list: [] }, null, 4) + '\n';
// ours also serves the trusted sources (data-url)
const TS_BENCH_CONFIG = JSON.stringify({ directory_list: [SRC], trusted_directory_list: [TRUSTED_SRC] }, null, 4) + '\n';

/** The benchmark configuration in pmcd, from scratch: config, PMNS, pmcd.conf, restart. */
function setUp(phase) {
  if (ACTIVE.includes('py')) writeFile(PY_CONFIG, BENCH_CONFIG);
  writeSources(phase);
  writePmcdConf(phase);
  writePmns();
  log('restarting pmcd with the benchmark configuration');
  restartPmcd();
  // the python PMDA needs a quarter of a second and more for a wide fetch
  execFileSync('pmstore', ['pmcd.control.timeout', '120'], { env: SYS_ENV, stdio: 'ignore' });
}

/** Wait (up to a minute) for test runs to end before measuring; note if they did not. */
async function quietEnough(waitMs = 60000) {
  const end = Date.now() + waitMs;
  for (;;) {
    const others = othersUsingPmcd();
    if (others.length === 0 || process.env.BENCH_FORCE === '1') return others.length === 0;
    if (Date.now() > end) {
      if (waitMs > 0) log('other test runs keep going; measuring anyway (marked noisy)');
      return false;
    }
    await sleep(1000);
    if (aborted) throw new Error(aborted);
  }
}

/** Sources, PMDA restarts (startup), warm-up, then the round-robin measurements of one phase. */
async function runPhase(phase) {
  const wls = phase.workloads.filter((w) => !ONLY || ONLY.has(w.id));
  let active = phasePmdas(phase);
  const without = ACTIVE.filter((id) => !active.includes(id));
  failedToStart = new Set();
  log(`phase ${phase.name}: ${phase.sources.length} source(s)${without.length ? `; without ${without.join(', ')} (BENCH_ALL_PMDAS=1 runs them)` : ''}`);
  writeSources(phase);
  writePmcdConf(phase);
  const pmcd = pmcdPid();
  // the last source: a PMDA that answers for it has discovered them all
  const leaf = (root) => {
    const s = phase.sources[phase.sources.length - 1];
    return `${root}.${s.name}.${s.ints > 3 ? 'm3' : s.ints > 0 ? 'm0' : s.strings > 0 ? 's0' : 'a0.v0'}`;
  };
  let quiet = await quietEnough();
  // startup: stop the agent, HUP pmcd, time until the first good fetch.
  // A PMDA that does not answer (pmcd gives up on an agent that does not
  // complete the initial PDU exchange within 3 s) is recorded as failed,
  // taken out of pmcd.conf for the rest of the phase and not measured;
  // the startups measured before it are measured again, as pmcd waited
  // for it at every HUP.
  const startup = {};
  for (let again = true; again;) {
    again = false;
    for (const id of active) {
      if (startup[id]) continue;
      const times = [];
      for (let k = 0; k < STARTUP_REPS; k++) {
        checkPmcdConf();
        stopAgent(agentPids()[id]);
        // each phase numbers its sources afresh (the first start); the
        // later starts find the numbering caches of the first
        if (k === 0) clearCaches(PMDAS[id].domain);
        // what the phase and the last start wrote (thousands of files)
        // goes to disk now, not while the next start is timed
        execFileSync('sync');
        const r = await fetchbench(['-R', String(pmcd), '-T', '120', leaf(PMDAS[id].root)]);
        if (r.ready_ms === null) break;
        times.push(r.ready_ms);
      }
      if (times.length < STARTUP_REPS) {
        log(`  startup ${id}: no answer within 120 s for ${leaf(PMDAS[id].root)}; not measured in this phase (see bench/out/logs/ and pmcd.log)`);
        failedToStart.add(id);
        for (const other of active) if (other !== id) delete startup[other];
        startup[id] = { ms: null, runs: times.map((t) => round(t, 1)), error: 'no answer within 120 s' };
        active = active.filter((x) => x !== id);
        writePmcdConf(phase);
        again = true;
        break;
      }
      const restarts = times.length > 1 ? times.slice(1) : times;
      startup[id] = { ms: round(median(restarts), 1), first_ms: round(times[0], 1), runs: times.map((t) => round(t, 1)) };
      log(`  startup ${id}: ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
      // pmda-json's later starts are warm (src/pmda/sources/warmstart.ts):
      // two more with the kept start removed are its cold start, with caches
      if (id === 'ts' && !QUICK) {
        const cold = [];
        for (let k = 0; k < 2; k++) {
          stopAgent(agentPids()[id]);
          fs.rmSync(path.join(CACHE_DIR, `${PMDAS[id].domain}.start`), { force: true });
          execFileSync('sync');
          const r = await fetchbench(['-R', String(pmcd), '-T', '120', leaf(PMDAS[id].root)]);
          if (r.ready_ms !== null) cold.push(r.ready_ms);
        }
        Object.assign(startup[id], { cold_ms: cold.length ? round(median(cold), 1) : null, cold_runs: cold.map((t) => round(t, 1)) });
        log(`  startup ${id}, cold (nothing kept): ${cold.map((t) => t.toFixed(0)).join(', ')} ms`);
      }
    }
  }
  const pids = agentPids();
  for (const id of active) if (!pids[id]) throw new Interference(`no process for ${PMDAS[id].label}`);

  const argsFor = (w, id, extra) => {
    const a = ['-p', String(pids[id]), '-q', String(pmcd), '-N', String(w.minFetches ?? 3), ...extra];
    if (phase.sources[0].exotic) a.push('-x');
    if (w.churn && (id !== 'c' || C_READS)) a.push('-W', w.churnTarget, ...w.variantArgs);
    // the C floor serves generation 0 from memory, whatever the producer
    // writes (but for BENCH_C_READS)
    if (w.producer && (id !== 'c' || C_READS)) a.push('-G', w.variantSpecs.map((v) => v.split(':')[0]).join(','));
    return [...a, ...w.names(PMDAS[id].root)];
  };
  // one client run; for the producer workload, with the producer running
  // (for every PMDA, the C floor too, so that all share its load)
  const measure = async (w, id, extra) => {
    if (!w.producer) return fetchbench(argsFor(w, id, extra));
    const producer = await startProducer(w);
    try {
      const r = await fetchbench(argsFor(w, id, extra));
      r.producer_writes = (await producer.stop()).writes;
      return r;
    } finally {
      producer.kill();
    }
  };
  // warm up every PMDA on every workload, then measure round-robin; of a
  // workload marked `first`, the first fetch is kept (its latency and values)
  const first = {};
  for (const w of wls) {
    for (const id of active) {
      const r = await measure(w, id, ['-t', String(WARMUP), '-N', '1', ...(w.first ? ['-S'] : [])]);
      if (w.first) (first[w.id] ??= {})[id] = { ms: round(r.samples?.[0] ?? null, 1), values: r.values_per_fetch, errors: r.check?.errors ?? null, first_error: r.check?.first_error ?? '' };
    }
  }
  const runs = Object.fromEntries(wls.map((w) => [w.id, Object.fromEntries(active.map((id) => [id, []]))]));
  const perf = PERF_DIR ? active.filter((id) => id !== 'py').map((id) => startPerf(id, pids[id], phase)) : [];
  if (STRACE_DIR) perf.push(...active.map((id) => startStrace(id, pids[id], phase)));
  for (let rep = 0; rep < REPS; rep++) {
    // once per phase we waited for quiet; after that only take note
    if (rep > 0) quiet = (await quietEnough(0)) && quiet;
    const order = active.map((_, i) => active[(i + rep) % active.length]);
    for (const w of wls) {
      for (const id of order) {
        checkPmcdConf();
        const r = await measure(w, id, ['-t', String(SECONDS), '-S']);
        runs[w.id][id].push(r);
      }
    }
    log(`  rep ${rep + 1}/${REPS}: ${wls.map((w) => `${w.id} ${active.map((id) => `${id} ${runs[w.id][id].at(-1).p50_ms.toFixed(3)}`).join(' ')}`).join('; ')} ms p50`);
  }
  for (const p of perf) await p.stop();
  // RSS at rest: a second after the phase's last fetch, as between the
  // fetches of pmlogger or pmie (a PMDA may give memory back once a burst
  // of fetches is over); the peak (VmHWM) is reported beside it
  await sleep(REST_MS);
  const memory = {};
  for (const id of active) memory[id] = procStatus(pids[id]);
  if (NODE_FLAGS.includes('--cpu-prof') && pids.ts) retire('ts', phase);
  return {
    phase: { name: phase.name, sources: phase.sources.length, startup, memory, quiet, commands: Object.fromEntries(phasePmdas(phase).map((id) => [id, commandLine(id, phase)])), ...(failedToStart.size ? { failed_to_start: [...failedToStart] } : {}) },
    workloads: wls.map((w) => ({ id: w.id, label: w.label, phase: phase.name, results: Object.fromEntries(active.map((id) => [id, aggregate(runs[w.id][id])])), ...(first[w.id] ? { first_fetch: first[w.id] } : {}) })),
  };
}

/** Start the url workload's HTTP server (bench/workloads/url.mjs --serve) on loopback: { server, port }. */
function startUrlServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(HERE, 'workloads', 'url.mjs'), '--serve', URL_DIR], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /port (\d+)\n/.exec(out);
      if (m) resolve({ server: child, port: Number(m[1]) });
    });
    child.on('close', (code) => reject(new Error(`bench/workloads/url.mjs exited (${code}) before it listened`)));
  });
}

/** Start bench/producer.mjs on the workload's data file; resolves once it wrote the first variant. */
function startProducer(w) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(HERE, 'producer.mjs'), w.churnTarget, String(PRODUCER_MS), ...w.variantSpecs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let ready = false;
    let closed = false;
    const done = new Promise((res) => child.on('close', (code) => { closed = true; res(code); }));
    child.stdout.on('data', (d) => {
      out += d;
      if (!ready && out.includes('ready\n')) {
        ready = true;
        resolve({
          // SIGTERM: it stops, prints {"writes": n} and exits
          stop: async () => {
            if (!closed) child.kill('SIGTERM');
            await done;
            try { return JSON.parse(out.slice(out.indexOf('ready\n') + 6).trim()); } catch { return { writes: null }; }
          },
          kill: () => { if (!closed) child.kill('SIGKILL'); },
        });
      }
    });
    child.stderr.on('data', (d) => { err += d; });
    done.then((code) => { if (!ready) reject(new Error(`bench/producer.mjs exited (${code}) before it was ready\n${err}`)); });
  });
}

/** A tracer of one PMDA during the measurements; stop() interrupts it and waits for it to write its file. */
function startTracer(cmd, args) {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  return {
    stop: () => new Promise((resolve) => {
      child.on('close', resolve);
      child.kill('SIGINT');
    }),
  };
}

/** perf record of one PMDA during the measurements (BENCH_PERF=dir). */
function startPerf(id, pid, phase) {
  fs.mkdirSync(PERF_DIR, { recursive: true });
  const out = path.join(PERF_DIR, `${phase.name}-${id}.perf.data`);
  const tracer = startTracer('perf', ['record', '-F', process.env.BENCH_PERF_HZ ?? '999', '-g', '-p', String(pid), '-o', out]);
  log(`  perf record of ${id} (pid ${pid}) into ${out}`);
  return tracer;
}

/** strace -c of one PMDA during the measurements (BENCH_STRACE=dir): system calls per fetch. */
function startStrace(id, pid, phase) {
  fs.mkdirSync(STRACE_DIR, { recursive: true });
  const out = path.join(STRACE_DIR, `${phase.name}-${id}.strace`);
  return startTracer('strace', [...(process.env.BENCH_STRACE_FULL ? ['-tt'] : ['-c']), '-f', '-o', out, '-p', String(pid)]);
}

/** Take one agent out of pmcd.conf and HUP: pmcd closes its pipe and it exits by itself (writing a --cpu-prof profile). */
function retire(id, phase) {
  const pid = agentPids()[id];
  writePmcdConf(phase, id);
  process.kill(pmcdPid(), 'SIGHUP');
  try {
    waitFor(() => !alive(pid), 10000, `${id} to exit`);
  } catch (e) {
    log(`  ${e.message}`);
  }
  writePmcdConf(phase);
}

async function main() {
  if (process.argv.includes('--table')) {
    const arg = process.argv[process.argv.indexOf('--table') + 1];
    const file = arg && !arg.startsWith('--') ? arg : path.join(HERE, 'results.json');
    const results = JSON.parse(fs.readFileSync(file, 'utf8'));
    // --retarget: today's targets, not those of the run's day
    if (process.argv.includes('--retarget')) results.targets = targets(results);
    process.stdout.write(renderTable(results));
    return;
  }
  if (process.argv.includes('--restore')) {
    backup = JSON.parse(fs.readFileSync(BACKUP + '.json', 'utf8'));
    restore('--restore');
    return;
  }
  if (process.getuid() !== 0) throw new Error('run as root: the benchmark reconfigures the live pmcd');
  if (fs.existsSync(BACKUP + '.json')) {
    throw new Error(`${BACKUP}.json exists: an earlier run did not finish restoring; check, then run node bench/run.mjs --restore`);
  }
  build();
  const onEarlySignal = (sig) => { aborted = `interrupted by ${sig}`; };
  process.on('SIGINT', onEarlySignal);
  process.on('SIGTERM', onEarlySignal);
  await lockPmcd();
  process.off('SIGINT', onEarlySignal);
  process.off('SIGTERM', onEarlySignal);
  const started = Date.now();
  const meta = { date: new Date().toISOString(), machine: machine(), quick: QUICK, reps: REPS, seconds: SECONDS, warmup: WARMUP, node_flags: NODE_FLAGS, pmdas: ACTIVE, ...(C_READS ? { c_reads: true } : {}) };
  log(`machine: ${meta.machine.nproc} × ${meta.machine.cpu}, node ${meta.machine.node}, pcp ${meta.machine.pcp}; ${REPS} reps × ${SECONDS} s`);

  fs.rmSync(WORK, { recursive: true, force: true });
  for (const d of [WORK, EXEC_DIR, VARIANTS, URL_DIR]) {
    fs.mkdirSync(d, { recursive: true, mode: 0o755 });
    fs.chmodSync(d, 0o755);
  }
  writeFile(TS_CONFIG, TS_BENCH_CONFIG);

  takeBackup();
  const onSignal = (sig) => {
    aborted = `interrupted by ${sig}`;
    currentChild?.kill('SIGKILL');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const workloads = [];
  const phases = [];
  let server = null;
  try {
    const phaseList = PHASES.filter((p) => !ONLY || p.workloads.some((w) => ONLY.has(w.id)));
    if (phaseList.some((p) => p.server)) ({ server, port: urlPort } = await startUrlServer());
    setUp(phaseList[0]);

    for (const phase of phaseList) {
      for (let attempt = 1; ; attempt++) {
        if (aborted) throw new Error(aborted);
        const pmcdBefore = pmcdPid();
        try {
          const r = await runPhase(phase);
          if (fs.readFileSync(PMCD_CONF, 'utf8') !== writtenConf || pmcdPid() !== pmcdBefore) throw new Interference('pmcd was reconfigured or restarted during the phase');
          phases.push(r.phase);
          workloads.push(...r.workloads);
          break;
        } catch (e) {
          const disturbed = e instanceof Interference || fs.readFileSync(PMCD_CONF, 'utf8') !== writtenConf || pmcdPid() !== pmcdBefore;
          if (aborted || !disturbed || attempt >= 3) throw e;
          log(`phase ${phase.name} disturbed (${e.message.split('\n')[0]}); setting up again`);
          await quietEnough();
          setUp(phase);
        }
      }
    }
  } finally {
    server?.kill('SIGTERM');
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    try {
      restore(aborted ?? 'done');
    } finally {
      unlockPmcd();
    }
  }

  // ratios and targets
  const ratio = (a, b) => (a !== null && b !== null && a !== undefined && b !== undefined && b > 0 ? round(a / b, 3) : null);
  for (const w of workloads) {
    const r = w.results;
    w.ratios = {};
    for (const id of ACTIVE) {
      w.ratios[id] = {
        p50_vs_c: ratio(r[id]?.p50_ms, r.c?.p50_ms),
        mean_vs_c: ratio(r[id]?.mean_ms, r.c?.mean_ms),
        cpu_vs_c: ratio(r[id]?.pmda_cpu_ms_per_fetch, r.c?.pmda_cpu_ms_per_fetch),
        p50_vs_py: ratio(r[id]?.p50_ms, r.py?.p50_ms),
        cpu_vs_py: ratio(r[id]?.pmda_cpu_ms_per_fetch, r.py?.pmda_cpu_ms_per_fetch),
      };
    }
  }
  const results = { meta: { ...meta, duration_s: round((Date.now() - started) / 1000, 1) }, pmdas: Object.fromEntries(ACTIVE.map((id) => [id, PMDAS[id]])), workloads, phases };
  results.targets = targets(results);
  fs.writeFileSync(RESULTS, JSON.stringify(results, null, 2) + '\n');
  const table = renderTable(results);
  fs.writeFileSync(RESULTS.replace(/\.json$/, '') + '.table.md', table);
  process.stdout.write(table);
  if (!QUICK && !process.env.BENCH_RESULTS) {
    execFileSync(process.execPath, [path.join(HERE, 'chart.mjs'), RESULTS, path.join(ROOT, 'docs', 'benchmarks.svg')], { stdio: 'inherit' });
  }
  log(`done in ${results.meta.duration_s} s; results in ${path.relative(ROOT, RESULTS)}`);
}

// The done-when of issue 26, "every workload at the C floor": pmda-json
// against the C floor (p50 latency, CPU per fetch), the high-water RSS
// of phases, startup with 4,000 sources; and the earlier targets still
// held. Rows with `extra` are for information, not targets.
function targets(results) {
  const w = (id) => results.workloads.find((x) => x.id === id);
  const ph = (name) => results.phases.find((p) => p.name === name);
  const out = [];
  const add = (id, text, value, limit, unit, extra = true, note = '', info = false) => {
    out.push({ id, text, value, limit, unit, met: value !== null && value !== undefined ? value <= limit && extra : null, note, ...(info ? { extra: true } : {}) });
  };
  const checks = (c) => (c ? `${c.values} values checked, ${c.errors} wrong in ${c.wrong_fetches ?? '?'} fetches, ${c.stale} stale fetches` : '');
  const exact = (c, stale = true) => Boolean(c && c.errors === 0 && (!stale || c.stale === 0) && c.values > 0);
  if (w('churn')) {
    const c = w('churn').results.ts?.check;
    add('churn', 'churn ≤ 1.5× C floor (p50 latency), exact: 0 wrong, 0 stale', w('churn').ratios.ts?.p50_vs_c, 1.5, '×', exact(c), checks(c));
  }
  if (w('exec')) add('exec', 'data-exec ≤ 1.5× C floor (p50 latency)', w('exec').ratios.ts?.p50_vs_c, 1.5, '×');
  if (w('url') && w('url-cat')) {
    const [u, c] = [w('url').results.ts, w('url-cat').results.ts];
    const cpu = (x) => (x ? (x.pmda_cpu_ms_per_fetch ?? 0) + (x.pmda_child_cpu_ms_per_fetch ?? 0) : null);
    add('url', 'data-url ≤ 1.5× data-exec `cat` of the same document, same run (p50 latency)', u && c ? round(u.p50_ms / c.p50_ms, 3) : null, 1.5, '×');
    add('url-cpu', 'data-url ≤ 1.5× data-exec `cat` (CPU per fetch, PMDA and children)', u && c ? round(cpu(u) / cpu(c), 3) : null, 1.5, '×');
  }
  if (w('url-many')?.first_fetch?.ts) {
    const f = w('url-many').first_fetch.ts;
    add('url-many', `${url.sources.length - 2} data-url sources answered in one fetch, with values (first fetch, ms)`, f.ms, 5000, 'ms', f.errors === 0 && f.values === 3 * (url.sources.length - 2), `${f.values} values, ${f.errors} errors${f.first_error ? `: ${f.first_error}` : ''}`);
  }
  // issue 26: every workload at the C floor
  for (const [id, text] of [['one', 'one metric from big'], ['many', 'many (4,000 sources × 3)'], ['many-one', 'one metric with 4,000 sources'], ['churn', 'churn'], ['big', 'big full fetch'], ['wide', 'wide full fetch']]) {
    if (w(id)) add(`p50-${id}`, `${text} ≤ 1.15× C floor (p50 latency)`, w(id).ratios.ts?.p50_vs_c, 1.15, '×');
  }
  for (const id of ['churn', 'many']) {
    if (w(id)) add(`cpu-${id}`, `${id}: CPU per fetch ≤ 1.5× C floor's`, w(id).ratios.ts?.cpu_vs_c, 1.5, '×');
  }
  for (const p of results.phases) {
    const limit = p.name === 'million' ? 128 : ['seed', 'big', 'churn'].includes(p.name) ? 64 : null;
    if (p.memory.ts && limit) add(`hwm-${p.name}`, `high-water RSS of the ${p.name} phase ≤ ${limit} MiB`, round((p.memory.ts.hwm_kb ?? NaN) / 1024, 1), limit, 'MiB');
  }
  if (ph('many')?.startup.ts) {
    const st = ph('many').startup.ts;
    add('startup-many', `startup with ${ph('many').sources.toLocaleString('en-US')} sources ≤ 300 ms (HUP → first good fetch of the last source; ${(st.runs?.length ?? 0) > 1 ? `the median of ${st.runs.length - 1} restarts, warm` : 'one start, the first: it numbers the sources afresh'})`, st.ms, 300, 'ms', true, st.error ?? '');
    if (st.cold_ms !== undefined) add('startup-many-cold', `startup with ${ph('many').sources.toLocaleString('en-US')} sources, cold: nothing kept (was the only start)`, st.cold_ms, 300, 'ms', true, '', true);
    if (st.error) out.at(-1).met = false;
  }
  if (w('million')) add('million', 'million (1,000,000 values) vs C floor (p50 latency; was ≤ 1.15×)', w('million').ratios.ts?.p50_vs_c, 1.15, '×', true, '', true);
  for (const p of results.phases) {
    if (p.memory.ts) add(`rss-${p.name}`, `RSS at rest after the ${p.name} phase (was ≤ 64 MiB)`, round((p.memory.ts.rss_kb ?? NaN) / 1024, 1), 64, 'MiB', true, '', true);
  }
  // for information
  if (w('producer')) {
    const c = w('producer').results.ts?.check;
    add('producer', 'producer (another process replaces the file): values exact; p50 vs C floor', w('producer').ratios.ts?.p50_vs_c, Infinity, '×', exact(c, false),
      c ? `${checks(c)}; ${c.changes} generation changes seen, ${c.producer_writes ?? '?'} files written` : '', true);
  }
  if (w('churn') && w('churn').ratios.ts?.p50_vs_py !== null && w('churn').ratios.ts?.p50_vs_py !== undefined) {
    add('churn-py', 'churn vs python (p50 latency; was ≤ 0.5×)', w('churn').ratios.ts?.p50_vs_py, 0.5, '×', true, '', true);
  }
  if (ph('big')) add('startup-big', 'startup with big loaded (was ≤ 500 ms)', ph('big').startup.ts?.ms, 500, 'ms', true, '', true);
  return out;
}

function renderTable(results) {
  const ids = results.meta.pmdas;
  const f = (x, d = 3) => (x === null || x === undefined ? '–' : x.toFixed(d));
  const lines = [];
  lines.push(`Date ${results.meta.date.slice(0, 16).replace('T', ' ')} UTC; ${results.meta.machine.nproc} × ${results.meta.machine.cpu}, Linux ${results.meta.machine.kernel}, node ${results.meta.machine.node}, PCP ${results.meta.machine.pcp}, ${results.meta.machine.python}; ${results.meta.reps} reps × ${results.meta.seconds} s per PMDA and workload${results.meta.quick ? ' (QUICK)' : ''}.`, '');
  if (results.meta.c_reads) lines.push('**The C floor here reads and parses the data files (BENCH_C_READS=1): a what-if, not the floor of issue 26\'s targets.**', '');
  lines.push('| workload | values/fetch | ' + ids.map((id) => `${PMDAS[id].label} p50 ms (p99)`).join(' | ') + ' | pmda-json / C | python / C | pmda-json / python | ' + ids.map((id) => `${PMDAS[id].label} CPU ms/fetch`).join(' | ') + ' | pmda-json / C CPU | checked (wrong, stale) |');
  lines.push('|' + ' --- |'.repeat(6 + ids.length * 2 + 1));
  for (const w of results.workloads) {
    const r = w.results;
    const vals = ids.map((id) => r[id]?.values_per_fetch).filter((v) => v !== undefined);
    const cpu = ids.map((id) => {
      const x = r[id];
      if (!x) return '–';
      const child = x.pmda_child_cpu_ms_per_fetch ? ` + ${f(x.pmda_child_cpu_ms_per_fetch)} child` : '';
      return `${f(x.pmda_cpu_ms_per_fetch)}${child}`;
    });
    const checks = ids.filter((id) => r[id]).map((id) => {
      const c = r[id].check;
      const changes = c.producer_writes !== undefined && id !== 'c' ? `, ${c.changes} changes seen` : '';
      return `${PMDAS[id].id}: ${c.values} (${c.errors}, ${c.stale}${changes})`;
    }).join('; ');
    lines.push(`| ${w.label} | ${[...new Set(vals)].join('/')} | ${ids.map((id) => (r[id] ? `${f(r[id].p50_ms)} (${f(r[id].p99_ms)})` : '–')).join(' | ')} | ${f(w.ratios.ts?.p50_vs_c, 2)} | ${f(w.ratios.py?.p50_vs_c, 2)} | ${f(w.ratios.ts?.p50_vs_py, 3)} | ${cpu.join(' | ')} | ${f(w.ratios.ts?.cpu_vs_c, 2)} | ${checks} |`);
  }
  lines.push('', '| phase | ' + ids.map((id) => `${PMDAS[id].label} startup ms`).join(' | ') + ' | ' + ids.map((id) => `${PMDAS[id].label} RSS MiB (peak; anonymous)`).join(' | ') + ' |');
  lines.push('|' + ' --- |'.repeat(1 + ids.length * 2));
  for (const p of results.phases) {
    lines.push(`| ${p.name} | ${ids.map((id) => (p.startup[id]?.error ? '**failed**' : `${f(p.startup[id]?.ms, 0)}${p.startup[id]?.cold_ms ? ` (cold ${f(p.startup[id].cold_ms, 0)})` : ''}`)).join(' | ')} | ${ids.map((id) => (p.memory[id] ? `${f(p.memory[id].rss_kb / 1024, 1)} (${f(p.memory[id].hwm_kb / 1024, 1)}${p.memory[id].anon_kb ? `; ${f(p.memory[id].anon_kb / 1024, 1)}` : ''})` : '–')).join(' | ')} |`);
  }
  // cost by size: the same kind of fetch, from 3 values to 1,000,000
  const sizes = ['seed', 'big', 'wide', 'million'].map((id) => results.workloads.find((w) => w.id === id)).filter((w) => w?.results.c && w.results.ts);
  if (sizes.length) {
    lines.push('', '| cost by size | values/fetch | C floor p50 ms | pmda-json p50 ms | pmda-json / C | C ms per 1,000 values | pmda-json ms per 1,000 values |', '| --- | --- | --- | --- | --- | --- | --- |');
    for (const w of sizes) {
      const n = w.results.ts.values_per_fetch;
      const per = (x) => (x === null || x === undefined || !n ? null : (x * 1000) / n);
      lines.push(`| ${w.id} | ${n.toLocaleString('en-US')} | ${f(w.results.c.p50_ms)} | ${f(w.results.ts.p50_ms)} | ${f(w.ratios.ts?.p50_vs_c, 2)} | ${f(per(w.results.c.p50_ms), 4)} | ${f(per(w.results.ts.p50_ms), 4)} |`);
    }
  }
  lines.push('', '| target | measured | met |', '| --- | --- | --- |');
  for (const t of results.targets) {
    const met = t.met === null ? '–' : t.met ? 'yes' : '**no**';
    lines.push(`| ${t.text} | ${t.value ?? '–'} ${t.unit}${t.note ? ` (${t.note})` : ''} | ${t.extra ? `info${t.met === null ? '' : `: ${t.met ? 'yes' : 'no'}`}` : met} |`);
  }
  return lines.join('\n') + '\n';
}

process.on('exit', unlockPmcd);
// a closed stdout or stderr (| head) must not kill the run before it restores
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});

main().catch((e) => {
  console.error(`bench: ${e.stack ?? e}`);
  process.exitCode = 1;
});
