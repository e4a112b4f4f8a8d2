#!/usr/bin/env node
// Soak: this PMDA in the live pmcd, under another name and domain
// (jsonsoak, 253), fetched continuously while its sources are added,
// rewritten, broken and removed. Reports fetch errors by kind, the
// agent's RSS and open file descriptors over time, its child processes,
// the size of its log, and whether pmcd had to restart it.
//
//   npm run soak [minutes]          (default 10; package.json: "soak": "node bench/soak.mjs")
//   node bench/soak.mjs --restore   take jsonsoak out of pmcd after a run was killed with -9
//
// Only the jsonsoak line of pmcd.conf, the jsonsoak entry of the root PMNS
// and the domain-253 numbering caches are touched; they are removed again
// at the end, also on an error or SIGINT/SIGTERM. Each edit is atomic
// (write a temporary file, rename) and made only when the file has not
// changed since it was read, under the pmcd lock the tests and the
// benchmark share (/tmp/pmda-json-pmcd.lock), after any Install/Remove in
// progress. A benchmark waits for a running soak; the tests wait for the
// lock only while the soak edits pmcd's configuration.
import { PMCD_LOCK, tryTakePmcdLock } from '../test/helpers/pmcd-lock.mjs';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eachProcess, othersMatching, runToEnd, sleepSync, statFields } from './proc.mjs';
import { CACHE_DIR, PMCD_CONF, PMNS_ROOT, SYSTEM_PATH } from './system.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const PMDA = path.join(ROOT, 'dist', 'pmda', 'main.js');
const SYS_ENV = { ...process.env, PATH: SYSTEM_PATH };
const PMCD_LOG = '/var/log/pcp/pmcd/pmcd.log';
const NAME = 'jsonsoak';
const DOMAIN = 253;
// the soak's own scratch layout; bench/run.mjs lays out its own alike, on purpose (each tool cleans up only its own)
const WORK = '/tmp/pmda-json-soak';
const SRC = path.join(WORK, 'src');
const TRUSTED = path.join(WORK, 'trusted');
const CONF = path.join(WORK, 'config.json');
const LOG = path.join(WORK, `${NAME}.log`);
const STATE = path.join(WORK, 'registered');

const args = process.argv.slice(2);
const MINUTES = Number(args.find((a) => /^\d+(\.\d+)?$/.test(a)) ?? 10);
const SAMPLE_MS = Math.max(5000, Math.min(30000, MINUTES * 60000 / 40));

function say(msg) {
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- pmcd configuration: our lines only ---------------------------------

/** Rewrite `file` atomically with `edit(text)`, only if nobody changed it meanwhile. */
function editFile(file, edit) {
  for (let attempt = 0; attempt < 20; attempt++) {
    const before = fs.readFileSync(file, 'utf8');
    const after = edit(before);
    if (after === before) return false;
    const st = fs.statSync(file);
    const tmp = `${file}.soak-${process.pid}`;
    fs.writeFileSync(tmp, after, { mode: st.mode & 0o7777 });
    fs.chownSync(tmp, st.uid, st.gid);
    if (fs.readFileSync(file, 'utf8') !== before) {
      fs.rmSync(tmp, { force: true });
      sleepSync(500); // someone else is editing it: read again
      continue;
    }
    fs.renameSync(tmp, file);
    return true;
  }
  throw new Error(`${file} keeps changing under us; not editing it`);
}

const ourConfLine = new RegExp(`^${NAME}\\s+${DOMAIN}\\s.*\\n?`, 'm');
const ourPmnsLine = new RegExp(`^\\s*${NAME}\\s+${DOMAIN}:\\*:\\*\\s*\\n`, 'm');

function addConfLine(text) {
  const line = `${NAME}\t${DOMAIN}\tpipe\tbinary\t\t${process.execPath} ${PMDA} -d ${DOMAIN} -r ${NAME} -c ${CONF} -l ${LOG}\n`;
  text = text.replace(ourConfLine, '');
  const access = text.search(/^\[access\]/m);
  return access < 0 ? text + line : text.slice(0, access) + line + '\n' + text.slice(access);
}

function removeConfLine(text) {
  // our line, and the empty line we put after it
  return text.replace(new RegExp(`^${NAME}\\s+${DOMAIN}\\s.*\\n(\\n(?=\\[access\\]))?`, 'm'), '');
}

function addPmnsLine(text) {
  if (ourPmnsLine.test(text)) return text;
  const open = text.search(/^root\s*\{/m);
  if (open < 0) throw new Error(`no root {} in ${PMNS_ROOT}`);
  const close = text.indexOf('}', open);
  return text.slice(0, close) + `\t${NAME}\t${DOMAIN}:*:*\n` + text.slice(close);
}

const removePmnsLine = (text) => text.replace(ourPmnsLine, '');

function restartPmcd() {
  execFileSync('/etc/init.d/pmcd', ['restart'], { env: { PATH: SYSTEM_PATH }, stdio: 'ignore', timeout: 120000 });
  const end = Date.now() + 60000;
  for (;;) {
    try {
      execFileSync('pminfo', ['-f', 'pmcd.version'], { env: SYS_ENV, stdio: 'ignore', timeout: 10000 });
      return;
    } catch (e) {
      if (Date.now() > end) throw new Error(`pmcd does not answer after the restart: ${e.message}`);
      sleepSync(500);
    }
  }
}

function pmcdPid() {
  try {
    return Number(fs.readFileSync('/run/pcp/pmcd.pid', 'utf8').trim());
  } catch {
    return 0;
  }
}

/**
 * Install/Remove scripts that reconfigure pmcd. (Benchmark runs and the
 * tests take the pmcd lock, and a benchmark waits for a soak to finish:
 * waiting for them here would deadlock.)
 */
const othersReconfiguring = () => othersMatching(/pmdaproc\.sh|\/Install\b|\/Remove\b|pmnsadd|pmnsdel/, 100);

async function waitForQuiet() {
  const end = Date.now() + 20 * 60000;
  let said = false;
  for (;;) {
    const others = othersReconfiguring();
    if (others.length === 0) return;
    if (Date.now() > end) throw new Error(`others keep reconfiguring pmcd, not soaking:\n${others.join('\n')}`);
    if (!said) say(`waiting for these to finish before editing pmcd.conf:\n  ${others.join('\n  ')}`);
    said = true;
    await sleep(2000);
  }
}

// The lock the tests and the benchmark take while they reconfigure pmcd
// (lockPmcd in test/helpers/harness.mjs and bench/run.mjs): held only
// while our lines are added or removed and pmcd restarted.
const LOCK = PMCD_LOCK;

async function withPmcdLock(fn, timeoutMs = 20 * 60000) {
  const deadline = Date.now() + timeoutMs;
  let said = false;
  while (!tryTakePmcdLock()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for the pmcd lock ${LOCK}`);
    if (!said) say(`waiting for the pmcd lock ${LOCK}`);
    said = true;
    await sleep(250);
  }
  try {
    return fn();
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}

let registered = false;

async function register() {
  await waitForQuiet();
  await withPmcdLock(registerLocked);
}

function registerLocked() {
  fs.mkdirSync(path.join(WORK, 'backup'), { recursive: true });
  fs.copyFileSync(PMCD_CONF, path.join(WORK, 'backup', 'pmcd.conf'));
  fs.copyFileSync(PMNS_ROOT, path.join(WORK, 'backup', 'root'));
  clearCaches();
  fs.writeFileSync(STATE, `${new Date().toISOString()}\n`);
  registered = true;
  editFile(PMCD_CONF, addConfLine);
  editFile(PMNS_ROOT, addPmnsLine);
  say(`registered ${NAME} ${DOMAIN} in ${PMCD_CONF} and ${PMNS_ROOT}; restarting pmcd`);
  restartPmcd();
}

function clearCaches() {
  for (const f of fs.readdirSync(CACHE_DIR)) if (f.startsWith(`${DOMAIN}.`)) fs.rmSync(path.join(CACHE_DIR, f), { force: true });
}

async function unregister(reason) {
  if (!registered) return;
  registered = false;
  say(`taking ${NAME} out of pmcd (${reason})`);
  try {
    await withPmcdLock(unregisterLocked, 5 * 60000);
  } catch (e) {
    say(`${e.message}; taking ${NAME} out anyway`);
    unregisterLocked();
  }
}

function unregisterLocked() {
  let changed = false;
  try {
    changed = editFile(PMCD_CONF, removeConfLine) || changed;
    changed = editFile(PMNS_ROOT, removePmnsLine) || changed;
  } catch (e) {
    say(`cannot edit pmcd's configuration: ${e.message}; backups are in ${WORK}/backup`);
  }
  try {
    if (changed) restartPmcd();
  } catch (e) {
    say(`pmcd restart: ${e.message}`);
  }
  clearCaches();
  fs.rmSync(STATE, { force: true });
}

// ---- the agent as the kernel sees it -------------------------------------

function agentPid() {
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (argv.includes(PMDA) && argv.includes(NAME) && argv.includes(String(DOMAIN))) return Number(d);
    } catch { /* gone */ }
  }
  return 0;
}

function processInfo(pid) {
  const out = { rssKb: NaN, hwmKb: NaN, fds: NaN, threads: NaN, children: 0, zombies: 0 };
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    out.rssKb = Number(status.match(/^VmRSS:\s+(\d+)/m)?.[1]);
    out.hwmKb = Number(status.match(/^VmHWM:\s+(\d+)/m)?.[1]);
    out.threads = Number(status.match(/^Threads:\s+(\d+)/m)?.[1]);
    out.fds = fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch { /* the agent is gone */ }
  eachProcess((child) => {
    const [state, ppid] = statFields(child);
    if (Number(ppid) === pid) {
      out.children++;
      if (state === 'Z') out.zombies++;
    }
  });
  return out;
}

function fileSize(f) {
  try {
    return fs.statSync(f).size;
  } catch {
    return 0;
  }
}

function cacheBytes() {
  let n = 0;
  for (const f of fs.readdirSync(CACHE_DIR)) if (f.startsWith(`${DOMAIN}.`)) n += fileSize(path.join(CACHE_DIR, f));
  return n;
}

// ---- sources that come, change, break and go ------------------------------

const rand = (n) => Math.floor(Math.random() * n);
const pick = (a) => a[rand(a.length)];
const NAMES = Array.from({ length: 40 }, (_, i) => `s${i}`);

function writeAtomic(file, text) {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

/** Write in small chunks with pauses: a reader may see any prefix. */
async function writeSlowly(file, text) {
  const fd = fs.openSync(file, 'w');
  try {
    for (let i = 0; i < text.length; i += 64) {
      fs.writeSync(fd, text.slice(i, i + 64));
      if (i % 512 === 0) await sleep(1);
    }
  } finally {
    fs.closeSync(fd);
  }
}

// shaped like test/unit/records.test.mjs's METRICS only by chance: each covers the types it exercises
const goodMeta = {
  metrics: [
    { name: 'n', pointer: '/n', type: 'integer', semantics: 'counter' },
    { name: 'x', pointer: '/x', type: 'double' },
    { name: 's', pointer: '/s', type: 'string' },
    { name: 'big', pointer: '/big', type: 'integer' },
    { name: 'rows', pointer: '/rows', type: 'array', index: '/id', metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] },
  ],
};
let counter = 0;
let churn = 0;
function goodData(freshInstances) {
  counter++;
  const ids = freshInstances ? Array.from({ length: 5 }, () => `i${churn++}`) : ['a', 'b', 'c', 'd'].slice(0, 1 + rand(4));
  return JSON.stringify({ n: counter, x: Math.random(), s: `v${counter}`, big: '9007199254740993', rows: ids.map((id, i) => ({ id, v: i })) }).replace('"9007199254740993"', '9007199254740993');
}

const BAD_DATA = [
  () => '{"n": 1, "x": ',
  () => '',
  () => '\ufeff{"n": 2}',
  () => Buffer.from([0x7b, 0x22, 0x73, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
  () => '['.repeat(20000) + ']'.repeat(20000),
  () => `{"s": "${'x'.repeat(200000)}"}`,
  () => '{"n": 1e400, "x": "NaN", "s": null, "rows": {"id": 1}}',
  () => '{"n": 123456789012345678901234567890, "rows": [{"id": null}, {"id": {}}, {"id": "a"}, {"id": "a"}]}',
  () => 'NaN',
];
const BAD_META = [
  () => '{"metrics": [',
  () => JSON.stringify({ metrics: [{ name: 'ok', pointer: '/n', type: 'integer' }, { name: 'bad name', pointer: '/x', type: 'double' }, { name: 't', pointer: 'n', type: 'integer' }] }),
  () => JSON.stringify({ prefix: 42, 'data-path': ['x'], metrics: 'none' }),
  () => JSON.stringify({ metrics: [{ name: 'c', pointer: '/n', type: 'constructor' }, { name: 'ok', pointer: '/n', type: 'integer' }] }),
  () => '[]',
];
const EXEC = [
  `echo '{"n": 5, "x": 0.5, "s": "exec"}'`,
  `sh -c 'echo "{\\"n\\": $$}"; exit 3'`,
  'sleep 30',
  `sh -c 'sleep 30 & echo "{\\"n\\": 1}"'`,
  'head -c 3000000 /dev/zero',
  '/nonexistent/command',
  'printf "not json"',
];

let hung = 0;
const hungNames = new Set();

async function mutate(stats) {
  const name = pick(NAMES);
  const dir = path.join(SRC, name);
  const has = fs.existsSync(path.join(dir, 'metadata.json'));
  const r = Math.random();
  try {
    if (!has) {
      fs.mkdirSync(dir, { recursive: true });
      if (r < 0.15 && hung < 1) {
        // at most one command that always times out (exec_timeout is 1 s)
        const cmd = pick(EXEC);
        const slow = cmd.startsWith('sleep') || cmd.includes('sleep 30 &');
        if (slow) { hung++; hungNames.add(name); }
        writeAtomic(path.join(dir, 'metadata.json'), JSON.stringify({ 'data-exec': cmd, ...goodMeta }));
        stats.actions['add exec source']++;
      } else if (r < 0.2) {
        writeAtomic(path.join(dir, 'metadata.json'), JSON.stringify({ 'data-exec': pick(EXEC.filter((c) => !c.includes('sleep'))), ...goodMeta }));
        stats.actions['add exec source']++;
      } else {
        writeAtomic(path.join(dir, 'metadata.json'), JSON.stringify(goodMeta));
        writeAtomic(path.join(dir, 'data.json'), goodData(false));
        stats.actions['add source']++;
      }
      return;
    }
    if (fs.statSync(path.join(dir, 'data.json'), { throwIfNoEntry: false })?.isDirectory()) fs.rmSync(path.join(dir, 'data.json'), { recursive: true });
    if (r < 0.45) {
      // new values, atomically or not
      if (Math.random() < 0.5) writeAtomic(path.join(dir, 'data.json'), goodData(Math.random() < 0.3));
      else await writeSlowly(path.join(dir, 'data.json'), goodData(false));
      stats.actions['rewrite data']++;
    } else if (r < 0.6) {
      const bad = pick(BAD_DATA)();
      fs.writeFileSync(path.join(dir, 'data.json'), bad);
      stats.actions['break data']++;
    } else if (r < 0.7) {
      fs.writeFileSync(path.join(dir, 'metadata.json'), pick(BAD_META)());
      stats.actions['break metadata']++;
    } else if (r < 0.78) {
      writeAtomic(path.join(dir, 'metadata.json'), JSON.stringify({ ...goodMeta, prefix: Math.random() < 0.5 ? undefined : `p_${name}` }));
      stats.actions['rewrite metadata']++;
    } else if (r < 0.83) {
      fs.rmSync(path.join(dir, 'data.json'), { force: true });
      fs.mkdirSync(path.join(dir, 'data.json'), { recursive: true });
      stats.actions['data.json a directory']++;
    } else {
      fs.rmSync(dir, { recursive: true, force: true });
      if (hungNames.delete(name)) hung--;
      stats.actions['remove source']++;
    }
  } catch (e) {
    stats.actions['mutation failed']++;
    stats.lastMutationError = e.message;
  }
}

// ---- fetching --------------------------------------------------------------

const runClient = (cmd, argv, timeoutMs) => runToEnd(cmd, argv, { env: SYS_ENV, timeoutMs, merge: true });

/** pmprobe -v over the whole subtree: a traversal, then one fetch of everything. */
async function probe(stats) {
  const r = await runClient('pmprobe', ['-v', NAME], 30000);
  stats.fetches++;
  stats.maxMs = Math.max(stats.maxMs, r.ms);
  stats.window.push(r.ms);
  if (r.signal) {
    stats.errors['pmprobe killed after 30 s (hang)'] = (stats.errors['pmprobe killed after 30 s (hang)'] ?? 0) + 1;
    return;
  }
  let values = 0;
  for (const line of r.out.split('\n')) {
    if (!line) continue;
    const m = line.match(/^(\S+) (-?\d+)(.*)$/);
    if (!m) {
      const kind = `client: ${line.replace(/\d+/g, 'N').slice(0, 80)}`;
      stats.errors[kind] = (stats.errors[kind] ?? 0) + 1;
      continue;
    }
    const n = Number(m[2]);
    if (n >= 0) {
      values += n;
      continue;
    }
    const kind = m[3].trim() || `error ${n}`;
    stats.errors[kind] = (stats.errors[kind] ?? 0) + 1;
  }
  stats.values += values;
}

// ---- the run -----------------------------------------------------------------

function setup() {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(SRC, { recursive: true });
  fs.mkdirSync(TRUSTED, { recursive: true });
  fs.chmodSync(WORK, 0o755);
  fs.chmodSync(SRC, 0o1777);
  fs.writeFileSync(CONF, JSON.stringify({ directory_list: [SRC], trusted_directory_list: [TRUSTED], exec_timeout: 1, max_data_bytes: 4 * 1024 * 1024 }, null, 2));
  // a control source that never changes
  fs.mkdirSync(path.join(TRUSTED, 'control'));
  fs.writeFileSync(path.join(TRUSTED, 'control', 'metadata.json'), JSON.stringify({ metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }));
  fs.writeFileSync(path.join(TRUSTED, 'control', 'data.json'), '{"v": 42}');
}

/**
 * Our agent's deaths in a piece of pmcd.log, and how many came within
 * 3 s of pmcd reconfiguring itself (SIGHUP: "pmcd RESTARTED at", from an
 * Install or Remove): pmcd 6.0.3 can break an agent's pipe when a SIGHUP
 * lands mid-request -- any agent, the C floor PMDA too -- and the agent,
 * finding its pipe broken, exits; pmcd then starts it again.
 */
export function deathsInPmcdLog(text) {
  let stamp = 0;
  const hups = [];
  const deaths = [];
  for (const line of text.split('\n')) {
    const m = line.match(/^\[(\w{3} \w{3} +\d+ [\d:]+)\]/);
    if (m) stamp = Date.parse(`${m[1]} ${new Date().getFullYear()}`) || stamp;
    const hup = line.match(/^pmcd RESTARTED at (.*)$/);
    if (hup) hups.push(Date.parse(hup[1]) || stamp);
    if (line.includes(`Cleanup "${NAME}" agent`) && !/terminated|unconfigured/.test(line)) deaths.push({ line: line.trim(), at: stamp });
  }
  const near = (t) => hups.some((h) => Math.abs(h - t) <= 3000);
  return { deaths: deaths.length, afterHup: deaths.filter((d) => near(d.at)).length, lines: deaths.map((d) => `${d.line}${near(d.at) ? ' (within 3 s of a pmcd SIGHUP)' : ''}`) };
}

/** pmcd.log lines about our agent, without its repeated agent-table rows. */
function pmcdLogLines(text) {
  try {
    const lines = text.split('\n');
    const out = [];
    lines.forEach((l, i) => {
      if (/bin pipe cmd=/.test(l)) return;
      if (l.includes(NAME) || new RegExp(`\\b${DOMAIN}\\b`).test(l)) out.push(`${lines[i - 1] ?? ''} | ${l}`.trim());
    });
    return out;
  } catch {
    return [];
  }
}

async function main() {
  if (process.getuid() !== 0) throw new Error('the soak needs root (it registers an agent with pmcd)');
  if (!fs.existsSync(PMDA)) throw new Error(`${PMDA} is missing: npm run build first`);
  if (args.includes('--restore')) {
    registered = true;
    await unregister('--restore');
    return;
  }
  setup();
  await register();
  // after our restart of pmcd, which starts a new pmcd.log
  const pmcdLogStart = fileSize(PMCD_LOG);
  const pmcdAtStart = pmcdPid();
  // the agent answers?
  const deadline = Date.now() + 60000;
  for (;;) {
    const r = await runClient('pminfo', ['-f', `${NAME}.control.v`], 20000);
    if (/value 42/.test(r.out)) break;
    if (Date.now() > deadline) throw new Error(`${NAME}.control.v does not answer:\n${r.out}`);
    await sleep(500);
  }
  const startPid = agentPid();
  say(`agent pid ${startPid}; soaking for ${MINUTES} min, a sample every ${SAMPLE_MS / 1000} s`);

  const stats = {
    fetches: 0, values: 0, maxMs: 0, window: [], errors: {}, controlChecks: 0, controlFailures: 0,
    actions: Object.fromEntries(['add source', 'add exec source', 'rewrite data', 'break data', 'break metadata', 'rewrite metadata', 'data.json a directory', 'remove source', 'mutation failed'].map((k) => [k, 0])),
  };
  const samples = [];
  const pids = new Set([startPid]);
  const start = Date.now();
  const end = start + MINUTES * 60000;
  let stop = false;

  const fetcher = (async () => {
    while (!stop) {
      await probe(stats);
      await sleep(100);
    }
  })();
  const checker = (async () => {
    while (!stop) {
      const r = await runClient('pminfo', ['-f', `${NAME}.control.v`, `${NAME}.nsources`], 30000);
      stats.controlChecks++;
      if (!/value 42/.test(r.out)) {
        stats.controlFailures++;
        stats.lastControlFailure = r.out.trim().slice(0, 300);
      }
      await sleep(1000);
    }
  })();
  const mutator = (async () => {
    while (!stop) {
      await mutate(stats);
      await sleep(50 + rand(200));
    }
  })();

  // the agent's log, kept whole: an agent pmcd starts again truncates it
  const kept = path.join(WORK, `${NAME}.all.log`);
  fs.writeFileSync(kept, '');
  let seen = 0;
  let seenIno = 0;
  const keepLog = () => {
    try {
      const st = fs.statSync(LOG);
      if (st.ino !== seenIno || st.size < seen) {
        seen = 0;
        seenIno = st.ino;
        fs.appendFileSync(kept, `--- ${new Date().toISOString()} the log starts again (a new agent?)\n`);
      }
      if (st.size > seen) {
        const fd = fs.openSync(LOG, 'r');
        const buf = Buffer.alloc(st.size - seen);
        fs.readSync(fd, buf, 0, buf.length, seen);
        fs.closeSync(fd);
        fs.appendFileSync(kept, buf);
        seen = st.size;
      }
    } catch { /* not there yet */ }
  };
  const logKeeper = setInterval(keepLog, 100);

  const sample = () => {
    const pid = agentPid();
    if (pid) pids.add(pid);
    const p = processInfo(pid);
    const w = stats.window.sort((a, b) => a - b);
    samples.push({
      t: (Date.now() - start) / 60000, pid, pmcd: pmcdPid(), ...p,
      fetches: stats.fetches, p50: w[Math.floor(w.length / 2)] ?? NaN, p99: w[Math.floor(w.length * 0.99)] ?? NaN, max: w[w.length - 1] ?? NaN,
      logBytes: fileSize(LOG), cacheBytes: cacheBytes(), sources: fs.readdirSync(SRC).length,
    });
    stats.window = [];
    const s = samples[samples.length - 1];
    say(`${s.t.toFixed(1)} min: pid ${pid} rss ${(s.rssKb / 1024).toFixed(1)} MB fds ${s.fds} children ${s.children} fetches ${s.fetches} p99 ${s.p99} ms log ${s.logBytes} B`);
  };
  sample();
  while (Date.now() < end) {
    await sleep(Math.min(SAMPLE_MS, end - Date.now()));
    sample();
  }
  stop = true;
  await Promise.all([fetcher, checker, mutator]);
  clearInterval(logKeeper);
  keepLog();
  const pmcdPids = [...new Set([pmcdAtStart, ...samples.map((x) => x.pmcd)])];
  const pmcdRestarted = pmcdPids.length > 1;
  let pmcdText = '';
  try {
    // someone else restarting pmcd starts a new pmcd.log: then take the previous one too
    const now = fs.readFileSync(PMCD_LOG, 'utf8');
    pmcdText = now.length >= pmcdLogStart ? now.slice(pmcdLogStart) : `${fs.readFileSync(`${PMCD_LOG}.prev`, 'utf8').slice(pmcdLogStart)}\n${now}`;
    fs.writeFileSync(path.join(WORK, 'pmcd.log'), pmcdText);
  } catch { /* none */ }
  const deaths = deathsInPmcdLog(pmcdText);
  const pmcdLines = pmcdLogLines(pmcdText);
  const logText = fs.readFileSync(kept, 'utf8');
  // agent restarts pmcd made by itself: a new agent pid under the same pmcd
  let agentRestarts = 0;
  for (let i = 1; i < samples.length; i++) if (samples[i].pid !== samples[i - 1].pid && samples[i].pmcd === samples[i - 1].pmcd) agentRestarts++;
  report({ stats, samples, pids, pmcdRestarted, pmcdPids, agentRestarts, pmcdLines, logText, deaths });
}

function report({ stats, samples, pids, pmcdRestarted, pmcdPids, agentRestarts, pmcdLines, logText, deaths }) {
  const out = [];
  out.push(`# Soak: ${MINUTES} min, ${new Date().toISOString()}`, '');
  out.push(`Agent: \`${process.execPath} ${PMDA} -d ${DOMAIN} -r ${NAME}\` in the live pmcd; ${NAMES.length} source names in a world-writable directory, exec_timeout 1 s, max_data_bytes 4 MiB.`);
  out.push(`Fetch client: \`pmprobe -v ${NAME}\` in a loop (a traversal of the namespace and one fetch of every metric), plus \`pminfo -f ${NAME}.control.v\` every second.`, '');
  out.push('| min | agent pid | RSS MB | peak RSS MB | fds | children | fetches | p50 ms | p99 ms | max ms | log KB | caches KB |');
  out.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of samples) {
    out.push(`| ${s.t.toFixed(1)} | ${s.pid} | ${(s.rssKb / 1024).toFixed(1)} | ${(s.hwmKb / 1024).toFixed(1)} | ${s.fds} | ${s.children} | ${s.fetches} | ${s.p50} | ${s.p99} | ${s.max} | ${(s.logBytes / 1024).toFixed(0)} | ${(s.cacheBytes / 1024).toFixed(0)} |`);
  }
  out.push('', `Fetches (pmprobe runs): ${stats.fetches}, values received: ${stats.values}, slowest: ${stats.maxMs} ms.`);
  out.push(`Control source checks: ${stats.controlChecks}, failed: ${stats.controlFailures}${stats.lastControlFailure ? ` (last: ${stats.lastControlFailure})` : ''}.`);
  out.push('', 'Per-metric errors by kind (counted per metric per fetch):', '');
  const kinds = Object.entries(stats.errors).sort((a, b) => b[1] - a[1]);
  if (kinds.length === 0) out.push('- none');
  for (const [k, n] of kinds) out.push(`- ${k}: ${n}`);
  out.push('', 'Source mutations:', '');
  for (const [k, n] of Object.entries(stats.actions)) out.push(`- ${k}: ${n}`);
  if (stats.lastMutationError) out.push(`  (last mutation error: ${stats.lastMutationError})`);
  const lines = logText.split('\n').filter((l) => /^\[/.test(l));
  const kindsInLog = {};
  for (const l of lines) {
    const k = l.replace(/^\[[^\]]*\] \S+ /, '').replace(/\/tmp\/\S+/g, 'PATH').replace(/\d+/g, 'N').slice(0, 70);
    kindsInLog[k] = (kindsInLog[k] ?? 0) + 1;
  }
  out.push('', `PMDA log: ${lines.length} lines, ${(logText.length / 1024).toFixed(0)} KB (${(lines.length / MINUTES).toFixed(0)} lines/min); most frequent:`, '');
  for (const [k, n] of Object.entries(kindsInLog).sort((a, b) => b[1] - a[1]).slice(0, 8)) out.push(`- ${n} × ${k}`);
  out.push('', `Agent processes seen: ${[...pids].filter(Boolean).join(', ') || 'none'}; new agent under the same pmcd (the agent died and was restarted): ${agentRestarts} time(s).`);
  out.push(`pmcd ${pmcdRestarted ? `was restarted by someone else during the run (pids ${pmcdPids.join(', ')}); errors around those restarts are not the agent's` : 'was not restarted during the run'}.`);
  out.push(`pmcd.log: the agent died ${deaths.deaths} time(s), ${deaths.afterHup} of them within 3 s of pmcd reconfiguring itself on SIGHUP (an Install or Remove elsewhere).`);
  for (const l of deaths.lines.slice(0, 12)) out.push(`    ${l}`);
  out.push(`pmcd.log lines about ${NAME}/${DOMAIN} during the run: ${pmcdLines.length}`);
  for (const l of pmcdLines.slice(0, 12)) out.push(`    ${l}`);
  const ends = logText.split('\n').filter((l) => /IPC|Error:|uncaught|Log finished|starts again|pmdaFetch|PDU/.test(l));
  out.push('', `Agent log lines about errors, exits and restarts (${ends.length}; the whole log: ${path.join(WORK, `${NAME}.all.log`)}, pmcd's: ${path.join(WORK, 'pmcd.log')}):`, '');
  for (const l of ends.slice(0, 30)) out.push(`    ${l.slice(0, 240)}`);
  process.stdout.write(out.join('\n') + '\n');
}

let exiting = false;
async function finish(reason, code) {
  if (exiting) return;
  exiting = true;
  try {
    await unregister(reason);
  } finally {
    process.exit(code);
  }
}
if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.on('SIGINT', () => finish('SIGINT', 130));
  process.on('SIGTERM', () => finish('SIGTERM', 143));
  process.on('uncaughtException', (e) => {
    say(`error: ${e.stack ?? e}`);
    finish('error', 1);
  });
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) main().then(
  () => finish('done', 0),
  (e) => {
    say(`error: ${e.stack ?? e}`);
    finish('error', 1);
  },
);
