// Issue 9, contract 3: containment. A command's processes go with it --
// also a grandchild that forked twice and called setsid() -- whether the
// command exits or hangs and is killed at exec_timeout; and every command
// runs under limits: address space (exec_max_memory), open files
// (exec_max_files), processes (exec_max_processes, RLIMIT_NPROC), CPU
// seconds (exec_timeout rounded up, plus 1), no core files, files no
// bigger than max_data_bytes.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { sleep } from '../helpers/harness.mjs';
import { IS_ROOT, untrustedWorld, PYTHON, ensureUsers, userSource, session, closeSession, fetchNames, fetchUntil, one, alive, processesMatching, pmdaPid, rss, waitUntil } from './users.mjs';

const serial = IS_ROOT ? test.serial : test.serial.skip;

// Forks; the child calls setsid() and forks again; the grandchild, out of
// the command's process group and session, writes its pid and sleeps.
// The command prints its JSON once the pid file is there, then exits, or
// with "hang" goes on sleeping.
const ESCAPE_PY = `
import os, sys, time
pidfile, mode = sys.argv[1], sys.argv[2]
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        fd = os.open('/dev/null', os.O_RDWR)
        for n in (0, 1, 2): os.dup2(fd, n)
        with open(pidfile + '.tmp', 'w') as f: f.write(str(os.getpid()))
        os.rename(pidfile + '.tmp', pidfile)
        time.sleep(300)
    os._exit(0)
os.wait()
for i in range(300):
    if os.path.exists(pidfile): break
    time.sleep(0.01)
if mode == 'hang':
    time.sleep(100)
print('{"v": 1}', flush=True)
`;

function world(config = {}) {
  const s = untrustedWorld('adv-contain', config);
  // where the escaped processes write their pids: anyone may
  const pids = path.join(s.dir, 'pids');
  fs.mkdirSync(pids);
  fs.chmodSync(pids, 0o1777);
  return { s, pids };
}

/** Kill, at teardown, whatever pid the file names (a process this test made a command start). */
function reap(t, pidfile) {
  t.teardown(() => {
    try {
      const pid = Number(fs.readFileSync(pidfile, 'utf8'));
      if (pid > 1 && alive(pid)) process.kill(pid, 'SIGKILL');
    } catch { /* never written */ }
  });
}

serial('a command whose grandchild forked twice and called setsid leaves no process behind once its fetch answered', async (t) => {
  const u = ensureUsers();
  const { s, pids } = world();
  const pidfile = path.join(pids, 'escape-exit.pid');
  userSource(s, u.alice, 'escape', { 'data-exec': `${PYTHON} escape.py ${pidfile} exit`, metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }, undefined, { files: { 'escape.py': ESCAPE_PY } });
  const d = await session(t, s);
  reap(t, pidfile); // after the session: teardowns run last first, before the scratch is removed
  const r = await fetchUntil(d, ['json.escape.v'], (x) => one(x['json.escape.v']) === '1');
  const answered = Date.now();
  t.is(one(r['json.escape.v']), '1', 'the command ran and its output is served');
  const pid = Number(fs.readFileSync(pidfile, 'utf8'));
  t.true(pid > 1, 'the grandchild wrote its pid');
  while (alive(pid) && Date.now() - answered < 1000) await sleep(50);
  t.false(alive(pid), `the escaped grandchild (pid ${pid}) is gone within 1 s of the fetch answering`);
  t.deepEqual(processesMatching(pidfile), [], 'no process of the command is left');
});

serial('a hung command whose grandchild escaped with setsid: both are gone once it is killed at exec_timeout', async (t) => {
  const u = ensureUsers();
  const { s, pids } = world({ exec_timeout: 1 });
  const pidfile = path.join(pids, 'escape-hang.pid');
  userSource(s, u.alice, 'escape', { 'data-exec': `${PYTHON} escape.py ${pidfile} hang`, metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }, undefined, { files: { 'escape.py': ESCAPE_PY } });
  userSource(s, u.bob, 'steady', { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }, { v: 7 });
  const d = await session(t, s);
  reap(t, pidfile);
  const started = Date.now();
  // fetch on for a while: the command is killed at its exec_timeout (1 s)
  let last;
  while (Date.now() - started < 2000) {
    last = await fetchNames(d, ['json.escape.v', 'json.steady.v']);
    t.is(one(last['json.steady.v']), '7', 'the other source answers meanwhile');
    await sleep(200);
  }
  t.regex(last['json.escape.v']?.error ?? 'a value', /Try again/, 'the hung command has no value');
  t.true(fs.existsSync(pidfile), 'the grandchild ran');
  const pid = Number(fs.readFileSync(pidfile, 'utf8'));
  while (alive(pid) && Date.now() - started < 3000) await sleep(50);
  t.false(alive(pid), `the escaped grandchild (pid ${pid}) is gone within 1 s of the command's kill`);
  t.deepEqual(processesMatching(pidfile), [], 'no process of the command is left, hung or escaped');
});

// prints the limits it runs under, as bash's ulimit shows them (KiB for
// -v, 1024-byte blocks for -f)
const LIMITS_SH = `printf '{"v": "%s", "n": "%s", "u": "%s", "t": "%s", "c": "%s", "f": "%s"}\\n' "$(ulimit -v)" "$(ulimit -n)" "$(ulimit -u)" "$(ulimit -t)" "$(ulimit -c)" "$(ulimit -f)"\n`;
const LIMITS_META = { 'data-exec': '/bin/bash limits.sh', metrics: ['v', 'n', 'u', 't', 'c', 'f'].map((k) => ({ name: k, pointer: `/${k}`, type: 'string' })) };
const limitNames = ['v', 'n', 'u', 't', 'c', 'f'].map((k) => `json.limits.${k}`);

async function limits(t, config) {
  const u = ensureUsers();
  const { s } = world(config);
  userSource(s, u.alice, 'limits', LIMITS_META, undefined, { files: { 'limits.sh': LIMITS_SH } });
  const d = await session(t, s);
  const r = await fetchUntil(d, limitNames, (x) => limitNames.every((n) => one(x[n])));
  return Object.fromEntries(['v', 'n', 'u', 't', 'c', 'f'].map((k) => [k, one(r[`json.limits.${k}`])?.replace(/"/g, '')]));
}

serial('every command runs under the default limits: 4 GiB of address space (Node.js 24 needs more than 1 GiB), 64 files, 256 processes, 3 s of CPU, no core, 16 MiB files', async (t) => {
  t.deepEqual(await limits(t, {}), { v: String(4294967296 / 1024), n: '64', u: '256', t: '3', c: '0', f: String(16777216 / 1024) });
});

serial('the limits follow config.json: exec_max_memory, exec_max_files, exec_max_processes, exec_timeout, max_data_bytes', async (t) => {
  const got = await limits(t, { exec_max_memory: 64 * 1024 * 1024, exec_max_files: 32, exec_max_processes: 50, exec_timeout: 1.5, max_data_bytes: 1048576 });
  // CPU seconds: exec_timeout rounded up (2), plus 1
  t.deepEqual(got, { v: '65536', n: '32', u: '50', t: '3', c: '0', f: '1024' });
});

serial('a command that allocates more than exec_max_memory fails; the PMDA is not hurt', async (t) => {
  const u = ensureUsers();
  const { s } = world({ exec_max_memory: 64 * 1024 * 1024 });
  const meta = (mb) => ({ 'data-exec': `${PYTHON} -c 'x = bytearray(${mb} << 20); print("{\\"v\\": ${mb}}")'`, metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] });
  userSource(s, u.alice, 'hog', meta(200));
  userSource(s, u.alice, 'modest', meta(8));
  userSource(s, u.bob, 'steady', { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }, { v: 7 });
  const d = await session(t, s);
  const pid = pmdaPid(s);
  const before = rss(pid);
  const names = ['json.hog.v', 'json.modest.v', 'json.steady.v'];
  let r;
  for (let i = 0; i < 4; i++) {
    r = await fetchNames(d, names);
    t.is(one(r['json.steady.v']), '7', `fetch ${i}: the other source answers`);
    t.not(one(r['json.hog.v']), '200', `fetch ${i}: the 200 MiB allocation did not succeed`);
    await sleep(300);
  }
  t.regex(r['json.hog.v']?.error ?? 'a value', /Try again/);
  t.is(one(r['json.modest.v']), '8', 'a command within the limit works');
  t.true(alive(pid), 'the PMDA runs on');
  t.true(rss(pid) - before < 100 * 1024 * 1024, `the PMDA's RSS went from ${before >> 20} to ${rss(pid) >> 20} MiB`);
});

// forks up to 40 children (each sleeps 3 s) and says how many forks worked
const FORKS_PY = `
import os, time
n = 0
for i in range(40):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(3)
        os._exit(0)
    n += 1
print('{"forked": %d}' % n, flush=True)
`;

serial('a command cannot run more than exec_max_processes processes of its author at once', async (t) => {
  const u = ensureUsers();
  const { s } = world({ exec_max_processes: 20 });
  const script = path.join(s.src, 'forks', 'forks.py');
  userSource(s, u.carol, 'forks', { 'data-exec': `${PYTHON} ${script}`, metrics: [{ name: 'forked', pointer: '/forked', type: 'integer' }] }, undefined, { files: { 'forks.py': FORKS_PY } });
  const d = await session(t, s);
  const r = await fetchUntil(d, ['json.forks.forked'], (x) => one(x['json.forks.forked']) !== undefined);
  const n = Number(one(r['json.forks.forked']));
  // RLIMIT_NPROC counts every process of the uid, the command itself included
  t.true(n >= 0 && n < 20, `the command forked ${n} of 40 children (exec_max_processes 20)`);
  await waitUntil(() => processesMatching(script).length === 0, 1000);
  t.deepEqual(processesMatching(script), [], 'and none of them is left 1 s after it answered');
});

// A hung command is killed at exec_timeout whatever becomes of the PMDA
// that started it: it exits (dbpmda quits, pmcd restarts it) or is killed.
for (const how of ['exits', 'is killed with SIGKILL']) {
  serial(`a hung command does not outlive the PMDA: when the PMDA ${how}, the command is gone by its exec_timeout`, async (t) => {
    const u = ensureUsers();
    const { s } = world({ exec_timeout: 1 });
    // a unique argument, to find the command by
    const marker = `100.${process.pid}${how.length}${Date.now() % 100000}`;
    userSource(s, u.alice, 'hangs', { 'data-exec': `sleep ${marker}`, metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] });
    const d = await session(t, s);
    t.teardown(() => { for (const pid of processesMatching(`sleep ${marker}`)) process.kill(pid, 'SIGKILL'); });
    const pid = pmdaPid(s);
    await fetchNames(d, ['json.hangs.v']);
    // (a PMDA that waits out exec_timeout in the fetch has killed it already)
    t.log(`${processesMatching(`sleep ${marker}`).length} process(es) of the command running when the PMDA ${how}`);
    const stopped = Date.now();
    if (how === 'exits') await closeSession(d);
    else process.kill(pid, 'SIGKILL');
    await waitUntil(() => processesMatching(`sleep ${marker}`).length === 0, 2000);
    t.deepEqual(processesMatching(`sleep ${marker}`), [], `the command is gone ${Date.now() - stopped} ms after the PMDA ${how} (exec_timeout 1 s)`);
  });
}
