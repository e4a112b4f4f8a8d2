// Shared helpers for the adversarial suite (issue 9): real local users,
// files and processes that belong to them, the PMDA process under
// dbpmda, and small measuring tools.
//
// Users (created with useradd, idempotently, under a lock so that ava's
// parallel test files do not run useradd at the same time):
//   pjx_alice  primary group pjx_alice, supplementary group pjx_team
//   pjx_bob    primary group pjx_bob
//   pjx_carol  primary group pjx_carol
// Nothing here removes them: other test files may be using them.
// Authors without an account are uids with no passwd entry: GHOST_UID
// (54321) and those ghost() hands out (54400-54414, 54500-54501 in the
// tests), each checked to have none.
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { spawn, execFileSync } from 'node:child_process';
import { Session } from '../corpus/session.mjs';
import { Scratch, sleep, alive, children, pmdaPid } from '../helpers/harness.mjs';

export { alive, pmdaPid };
import { tryTakeLock } from '../helpers/pmcd-lock.mjs';

export const IS_ROOT = process.getuid() === 0;
export const NAMES = { alice: 'pjx_alice', bob: 'pjx_bob', carol: 'pjx_carol' };
export const TEAM = 'pjx_team';
/** A uid that has no passwd entry. */
export const GHOST_UID = 54321;
export const PYTHON = '/usr/bin/python3';

const LOCK = path.join(os.tmpdir(), 'pjx-useradd.lock');

function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

function entry(db, name) {
  try {
    return sh('getent', [db, name]).trim().split(':');
  } catch {
    return undefined;
  }
}

function lockUsers() {
  const deadline = Date.now() + 60000;
  while (!tryTakeLock(LOCK)) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the useradd lock');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
}

let cached;

/**
 * A scratch world whose untrusted directory is world-writable and sticky,
 * as $PCP_TMP_DIR/json is, with `config` over the two directory lists.
 */
export function untrustedWorld(name, config = {}) {
  const s = new Scratch(name);
  fs.chmodSync(s.src, 0o1777);
  s.config({ directory_list: [s.src], trusted_directory_list: [s.trusted], ...config });
  return s;
}

/**
 * Create the users if missing; return { alice, bob, carol, team } where
 * each user is { name, uid, gid, groups: [gid...] } and team is the gid of
 * pjx_team.
 */
export function ensureUsers() {
  if (cached) return cached;
  if (!IS_ROOT) throw new Error('ensureUsers needs root');
  lockUsers();
  try {
    if (!entry('group', TEAM)) sh('groupadd', [TEAM]);
    for (const [key, name] of Object.entries(NAMES)) {
      if (!entry('passwd', name)) {
        sh('useradd', ['-M', '-U', '-s', '/usr/sbin/nologin', ...(key === 'alice' ? ['-G', TEAM] : []), name]);
      } else if (key === 'alice' && !sh('id', ['-Gn', name]).split(/\s+/).includes(TEAM)) {
        sh('usermod', ['-a', '-G', TEAM, name]);
      }
    }
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
  if (entry('passwd', String(GHOST_UID))) throw new Error(`uid ${GHOST_UID} has a passwd entry; the tests need one that has none`);
  const out = { team: Number(entry('group', TEAM)[2]) };
  for (const [key, name] of Object.entries(NAMES)) {
    const pw = entry('passwd', name);
    out[key] = { name, uid: Number(pw[2]), gid: Number(pw[3]), groups: sh('id', ['-G', name]).trim().split(/\s+/).map(Number) };
  }
  const nb = entry('passwd', 'nobody');
  out.nobody = { name: 'nobody', uid: Number(nb[2]), gid: Number(nb[3]) };
  cached = out;
  return out;
}

/** An author that is a uid with no passwd entry (its files owned by uid:uid). */
export function ghost(uid) {
  if (entry('passwd', String(uid))) throw new Error(`uid ${uid} has a passwd entry; the tests need one that has none`);
  return { uid, gid: uid };
}

/** chown a path (not following a link) and, for a directory, everything in it. */
export function chownTree(p, user) {
  const st = fs.lstatSync(p);
  fs.lchownSync(p, user.uid, user.gid);
  if (st.isDirectory()) for (const f of fs.readdirSync(p)) chownTree(path.join(p, f), user);
}

/** Write a file as `user` owns it: content (object = JSON), mode. */
export function writeAs(user, file, content, mode = 0o644) {
  fs.writeFileSync(file, typeof content === 'string' || Buffer.isBuffer(content) ? content : JSON.stringify(content));
  fs.chmodSync(file, mode);
  fs.lchownSync(file, user.uid, user.gid);
  return file;
}

/** Make a directory owned by `user`. */
export function mkdirAs(user, dir, mode = 0o755) {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, mode);
  fs.lchownSync(dir, user.uid, user.gid);
  return dir;
}

/**
 * A source directory written by `user`: metadata.json, data.json (if
 * given) and `files` ({ name: content | { text, mode } }), all owned by
 * the user. Returns the directory.
 */
export function userSource(s, user, name, metadata, data, { under = s.src, files = {} } = {}) {
  const dir = mkdirAs(user, path.join(under, name));
  if (metadata !== undefined) writeAs(user, path.join(dir, 'metadata.json'), metadata);
  if (data !== undefined) writeAs(user, path.join(dir, 'data.json'), data);
  for (const [f, c] of Object.entries(files)) {
    const spec = typeof c === 'object' && c !== null && 'text' in c ? c : { text: typeof c === 'string' ? c : JSON.stringify(c) };
    writeAs(user, path.join(dir, f), spec.text, spec.mode ?? 0o644);
  }
  return dir;
}

/** Run a shell script as `user` (runuser), synchronously; its stdout. */
export function execAs(user, script, opts = {}) {
  return sh('runuser', ['-u', user.name, '--', '/bin/sh', '-c', script], { timeout: 30000, ...opts });
}

/** Start a shell script as `user`, in a process group of its own, killed (by that group) at teardown. */
export function spawnAs(t, user, script) {
  const p = spawn('runuser', ['-u', user.name, '--', '/bin/sh', '-c', script], { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  t.teardown(() => {
    try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ }
  });
  return p;
}

/**
 * A python program started by python(): what it wrote to stderr so far,
 * and stop() to kill it and wait for it.
 * @typedef {import('node:child_process').ChildProcessByStdio<null, null, import('node:stream').Readable>
 *   & { stderrText: string, stop: () => Promise<void> }} PythonProcess
 */

/**
 * Start a python program (text) with arguments, as root; killed by pid (and waited for) at teardown.
 * @returns {PythonProcess}
 */
export function python(t, code, args = []) {
  const p = /** @type {PythonProcess} */ (spawn(PYTHON, ['-c', code, ...args], { stdio: ['ignore', 'ignore', 'pipe'] }));
  p.stderrText = '';
  p.stderr.on('data', (c) => { p.stderrText += c; });
  const exited = new Promise((r) => p.on('exit', r));
  p.stop = async () => {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await exited;
  };
  t.teardown(p.stop);
  return p;
}

/**
 * A process that swaps two directory entries as fast as it can, with
 * renameat2(RENAME_EXCHANGE), until killed: `a` and `b` change places
 * atomically, so `a` is always one of the two. More pairs (a b a2 b2 ...)
 * are swapped in turn by the same process (one CPU, not one per pair).
 */
export const EXCHANGE = `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
args = [os.fsencode(a) for a in sys.argv[1:]]
pairs = list(zip(args[0::2], args[1::2]))
AT_FDCWD, RENAME_EXCHANGE = -100, 2
swap = libc.renameat2
while True:
    for a, b in pairs:
        if swap(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0:
            raise OSError(ctypes.get_errno(), 'renameat2')
`;

/**
 * A python loop that replaces `path` by turns with another entry (made at
 * tmp_o by the python lines `make`) and with a new regular file holding
 * `own` text, each by rename over it, every entry owned by uid:gid.
 */
const flipLoop = (tag, args, make) => `
import os, sys
${args}
tmp_o, tmp_f = path + '.${tag}.tmp', path + '.f.tmp'
while True:
    try: os.unlink(tmp_o)
    except FileNotFoundError: pass
${make}
    os.rename(tmp_o, path)
    with open(tmp_f, 'w') as f: f.write(own)
    os.chmod(tmp_f, 0o644)
    os.chown(tmp_f, uid, gid)
    os.rename(tmp_f, path)
`;

/**
 * A process that replaces `path` by turns with a symbolic link to
 * `target` and with a regular file holding `own` text, each by rename
 * over it, every entry owned by uid:gid.
 */
export const SYMLINK_FLIP = flipLoop('l', 'path, target, own, uid, gid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])', `\
    os.symlink(target, tmp_o)
    os.lchown(tmp_o, uid, gid)`);

/**
 * A process that replaces `path` by turns with a new regular file holding
 * `own` text and with a new FIFO, each by rename over it, every entry
 * owned by uid:gid: each regular file is a new inode, so it looks changed.
 */
export const FIFO_FLIP = flipLoop('p', 'path, own, uid, gid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])', `\
    os.mkfifo(tmp_o, 0o644)
    os.chown(tmp_o, uid, gid)`);

/** VmRSS of a process, in bytes. */
export function rss(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return m ? Number(m[1]) * 1024 : 0;
}

/** Pids of live processes whose command line contains `needle`, not counting this process's. */
export function processesMatching(needle) {
  try {
    return sh('pgrep', ['-f', needle]).trim().split('\n').filter(Boolean).map(Number).filter((p) => p !== process.pid && alive(p));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** Wait up to `ms` for `fn()` to be truthy; its last value. */
export async function waitUntil(fn, ms, step = 50) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v || Date.now() >= deadline) return v;
    await sleep(step);
  }
}

/**
 * A dbpmda session over scratch `s` (corpus Session: big outputs are
 * fine), closed at teardown; if the PMDA hangs, its process is killed by
 * pid so nothing is left behind.
 */
export async function session(t, s, { args = [], cleanup = true } = {}) {
  const d = new Session(s, { args });
  t.teardown(async () => {
    let pid;
    try { pid = pmdaPid(s); } catch { /* gone */ }
    await closeSession(d);
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    if (cleanup) s.cleanup();
  });
  await d.ready;
  return d;
}

/**
 * Quit dbpmda (its PMDA with it); SIGKILL after 5 s. No timer outlives it.
 * Then wait (at most 5 s) for the PMDA to be gone: it keeps its warm start
 * as it exits, and what a test does next may be meant for a PMDA that is down.
 */
export async function closeSession(d) {
  if (d.exited) return;
  const agents = children(d.proc.pid);
  const gone = new Promise((r) => d.proc.once('exit', r));
  d.proc.stdin.end('quit\n');
  let timer;
  const late = new Promise((r) => { timer = setTimeout(() => r('late'), 5000); });
  if (await Promise.race([gone, late]) === 'late' && !d.exited) {
    d.proc.kill('SIGKILL');
    await gone;
  }
  clearTimeout(timer);
  for (const deadline = Date.now() + 5000; agents.some(alive) && Date.now() < deadline;) await sleep(20);
}

/** Run a dbpmda command and time it: { out, ms }; a hang (beyond timeoutMs) is { out: null, ms, error }. */
export async function timed(d, command, timeoutMs = 15000) {
  const started = process.hrtime.bigint();
  try {
    const out = await d.run(command, timeoutMs);
    return { out, ms: Number(process.hrtime.bigint() - started) / 1e6 };
  } catch (e) {
    return { out: null, ms: Number(process.hrtime.bigint() - started) / 1e6, error: e.message };
  }
}

export function median(xs) {
  const a = [...xs].sort((x, y) => x - y);
  return a.length === 0 ? NaN : a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
}

/** The size of a file, 0 if missing. */
export function size(file) {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** The PMID dbpmda shows for a name (via `pmid NAME`), or undefined. */
export async function pmidOf(d, name) {
  return (await d.run(`pmid ${name}`)).match(/^\s+(\d+\.\d+\.\d+)$/m)?.[1];
}

/**
 * Every metric's answer in a dbpmda fetch output, in one pass:
 * Map pmid -> { error } | { values: [value text...] }.
 */
export function parseAnswers(out) {
  const answers = new Map();
  let cur = null;
  let at = 0;
  while (at < out.length) {
    let nl = out.indexOf('\n', at);
    if (nl < 0) nl = out.length;
    const line = out.slice(at, nl);
    at = nl + 1;
    const v = line.indexOf('value ');
    if (cur?.values && v >= 0 && /^\s+(inst |value )/.test(line.slice(0, v + 6))) {
      cur.values.push(line.slice(v + 6));
      continue;
    }
    const m = line.match(/^ {2}(\d+\.\d+\.\d+) \([^)]*\): (.*)$/);
    if (m) {
      cur = m[2].startsWith('numval:') ? { values: [] } : { error: m[2] };
      answers.set(m[1], cur);
    } else cur = null;
  }
  return answers;
}

/** One metric's answer in a dbpmda fetch output, by PMID; undefined if it is not there. */
export function answerOf(out, pmid) {
  return parseAnswers(out).get(pmid);
}

/** Log lines without their time stamp and pid prefix. */
export function logBody(text) {
  return text.split('\n').filter(Boolean).map((l) => l.replace(/^\[[^\]]*\] [^:]*: /, ''));
}

/**
 * Fetch metrics by name in one dbpmda fetch: { name: { error } | { values } },
 * plus `_out` (the text) and `_ms`; a name dbpmda does not know makes
 * every answer undefined (dbpmda refuses the whole command).
 */
export async function fetchNames(d, names, timeoutMs = 15000) {
  const r = await timed(d, `fetch ${names.join(' ')}`, timeoutMs);
  const out = { _out: r.out ?? r.error, _ms: r.ms };
  const pmids = r.out?.match(/^PMID\(s\): (.*)$/m)?.[1].trim().split(/\s+/) ?? [];
  const answers = r.out ? parseAnswers(r.out) : new Map();
  names.forEach((n, i) => { out[n] = pmids[i] ? answers.get(pmids[i]) : undefined; });
  return out;
}

/** The one value of an answer (dbpmda's text), or undefined. */
export const one = (a) => a?.values?.[0];

/**
 * Fetch `names` up to `tries` times, `gapMs` apart, until `done(answers)`;
 * the last answers. (A command's first fetch may answer PM_ERR_AGAIN when
 * the command takes longer than exec_wait.)
 */
export async function fetchUntil(d, names, done, { tries = 6, gapMs = 600 } = {}) {
  let r;
  for (let i = 0; i < tries; i++) {
    r = await fetchNames(d, names);
    if (done(r)) return r;
    await sleep(gapMs);
  }
  return r;
}

let sleeps = 0;
/**
 * A command that hangs: `sleep 100.<unique digits>`, so that its processes
 * can be told from any other; whatever of it is still running at teardown
 * is killed (a PMDA that lets commands outlive it would leave them).
 */
export function hangingCommand(t, seconds = 100) {
  const command = `sleep ${seconds}.${process.pid}${++sleeps}`;
  t.teardown(() => { for (const pid of processesMatching(command)) process.kill(pid, 'SIGKILL'); });
  return command;
}
