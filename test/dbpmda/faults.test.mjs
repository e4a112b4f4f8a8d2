// Fault injection against a running PMDA (one dbpmda session each): data
// files rewritten non-atomically during a fetch loop, source directories
// deleted and recreated mid-fetch, permissions changed under it, the log
// on a full file system or on /dev/full. Every fetch must answer -- a
// value, or PM_ERR_AGAIN / an unknown PMID while a source is in flux --
// within its timeout; the PMDA must never crash or hang, and must serve
// the right value once things settle.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { Scratch, pmdaPid, sleep } from '../helpers/harness.mjs';
import { Session } from '../corpus/session.mjs';

const asRoot = process.getuid() === 0;

/** Can a tmpfs be mounted here (as root, outside a container that forbids it)? Tried once, at load. */
function tmpfsMountable() {
  if (!asRoot) return false;
  const dir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'faults-probe-'));
  const runs = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
  try {
    return runs('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', dir]) && runs('umount', [dir]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
const canMountTmpfs = tmpfsMountable();
if (!canMountTmpfs) console.log('faults: no tmpfs can be mounted here: the full-file-system test is skipped');
/** @type {[number, number]} */
const nobody = /** @type {[number, number]} */ (fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:')).split(':').slice(2, 4).map(Number));
const V = { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] };

/** A Scratch whose source steady serves 7: what a fault elsewhere must leave served. */
function steadyScratch() {
  const s = new Scratch('faults');
  s.source('steady', V, { v: 7 });
  return s;
}

/** A Scratch with the trusted source tr serving 5, then steady: { s, dir } (tr's directory). */
function trustedScratch() {
  const s = new Scratch('faults');
  const dir = s.source('tr', V, { v: 5 }, { under: s.trusted });
  s.source('steady', V, { v: 7 });
  return { s, dir };
}

/** A dbpmda session (test/corpus/session.mjs; `opts`: args, inheritFd), closed and cleaned up with the test. */
async function session(t, s, opts = {}) {
  const d = new Session(s, opts);
  t.teardown(async () => {
    await d.close();
    s.cleanup();
  });
  await d.ready;
  return d;
}

/** One fetch by name or PMID: { value } | { error } | { pmid-unknown }; throws if dbpmda hangs or dies. */
async function fetchOne(d, what) {
  const out = await d.run(`fetch ${what}`, 15000);
  const v = out.match(/^\s+value (.*)$/m);
  if (v) return { value: v[1], out };
  const e = out.match(/^\s+\d+\.\d+\.\d+ \([^)]*\): (.*)$/m);
  if (e) return { error: e[1], out };
  return { other: out };
}

/** A child process running `code` (a function body, as text) until killed. */
function background(t, code, env = {}) {
  const p = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } });
  t.teardown(() => p.kill('SIGKILL'));
  return p;
}

const count = (text, needle) => text.split(needle).length - 1;

// needs root: skipped (ava's skip) where that is not so
(asRoot ? test.serial : test.serial.skip)('a data file rewritten non-atomically in small chunks: every fetch answers a whole value or PM_ERR_AGAIN', async (t) => {
  const s = new Scratch('faults');
  const dir = s.source('flap', { metrics: [{ name: 'n', pointer: '/n', type: 'integer' }, { name: 'pad', pointer: '/pad', type: 'string' }] }, { n: 0, pad: '' });
  s.source('steady', V, { v: 7 });
  const d = await session(t, s);
  const file = path.join(dir, 'data.json');
  // the writer: truncate, then write the next version 64 bytes at a time, 1 ms apart
  background(t, `
    const fs = require('fs');
    const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    for (let n = 1; ; n++) {
      const text = JSON.stringify({ n, pad: 'x'.repeat(1500) });
      const fd = fs.openSync(process.env.FILE, 'w');
      for (let i = 0; i < text.length; i += 64) { fs.writeSync(fd, text.slice(i, i + 64)); pause(1); }
      fs.closeSync(fd);
      pause(Math.floor(Math.random() * 5));
    }`, { FILE: file });
  // the writer takes a moment to start: wait for its first version
  for (let w = 0; w < 500 && !(Number((await fetchOne(d, 'json.flap.n')).value) >= 1); w++) await sleep(10);
  let last = -1;
  let values = 0;
  let again = 0;
  const started = Date.now();
  // at least 200 fetches, and on until both a whole and a half-written file were met
  for (let i = 0; i < 200 || (!(values > 0 && again > 0) && i < 5000); i++) {
    const r = await fetchOne(d, 'json.flap.n json.steady.v');
    t.truthy(r.value !== undefined || r.error, `fetch ${i} answered:\n${r.out ?? r.other}`);
    const steady = r.out.match(/137\.\d+\.\d+ \(<noname>\): numval: 1[^\n]*\n\s+value 7/);
    t.truthy(steady, `fetch ${i}: the other source still answers 7`);
    const flap = r.out.split('\n').find((l, k, a) => /^\s+137\.\d+\.0 /.test(l) && !a[k + 1]?.includes('value 7'));
    if (/Try again/.test(flap ?? '')) again++;
    else {
      const n = Number(r.value);
      t.true(Number.isInteger(n) && n >= last, `fetch ${i}: a whole version, never an older one (${n} after ${last})`);
      last = n;
      values++;
    }
  }
  const elapsed = Date.now() - started;
  const lines = s.logText().split('\n').filter((l) => l.includes(file));
  t.log(`${values + again} fetches in ${elapsed} ms: ${values} values, ${again} PM_ERR_AGAIN, ${lines.length} log lines about the file`);
  t.true(values > 0 && again > 0, 'the fetches did meet the file both whole and half-written');
  // a file that keeps going bad and good is not logged at every fetch: a
  // few lines, the last saying the rest is held back
  t.true(lines.length <= 6, `${lines.length} log lines about a flapping file:\n${lines.slice(0, 10).join('\n')}`);
  t.regex(lines[lines.length - 1] ?? '', /held back/);
});

test.serial('source directories deleted and recreated mid-fetch: every fetch answers, the PMID stays', async (t) => {
  const s = new Scratch('faults');
  s.source('churn', V, { v: 1 });
  s.source('steady', V, { v: 7 });
  const d = await session(t, s);
  const pmid = (await d.run('pmid json.churn.v')).match(/PMID: (\S+)/)?.[1] ?? (await d.run('fetch json.churn.v')).match(/PMID\(s\): (\S+)/)[1];
  const steady = (await d.run('fetch json.steady.v')).match(/PMID\(s\): (\S+)/)[1];
  const writer = background(t, `
    const fs = require('fs');
    const path = require('path');
    const dir = path.join(process.env.SRC, 'churn');
    const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    for (let n = 2; ; n++) {
      fs.rmSync(dir, { recursive: true, force: true });
      pause(Math.floor(Math.random() * 4));
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify(${JSON.stringify(V)}));
      pause(Math.floor(Math.random() * 3));
      fs.writeFileSync(path.join(dir, 'data.json'), JSON.stringify({ v: n }));
      pause(Math.floor(Math.random() * 6));
    }`, { SRC: s.src });
  const kinds = {};
  const removals = () => count(s.logText(), "removed source 'churn'");
  for (let i = 0; i < 200 || (removals() === 0 && i < 5000); i++) {
    const r = await fetchOne(d, `${pmid} ${steady}`);
    const kind = r.value !== undefined && !/Try again|Unknown/.test(r.out.split('\n').find((l) => l.includes(pmid)) ?? '') ? 'value' : /Try again/.test(r.out) ? 'again' : /Unknown or illegal metric identifier/.test(r.out) ? 'no such pmid' : 'other';
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    t.not(kind, 'other', `fetch ${i}:\n${r.out ?? r.other}`);
    t.regex(r.out, /value 7/, `fetch ${i}: the other source still answers`);
    if (i % 25 === 0) t.regex(await d.run('traverse json', 15000), /json\.steady\.v/);
  }
  writer.kill('SIGKILL');
  await new Promise((r) => writer.on('exit', r));
  s.source('churn', V, { v: 99 });
  const removed = count(s.logText(), "removed source 'churn'");
  t.log(`200 fetches: ${JSON.stringify(kinds)}; the source was removed and added back ${removed} times`);
  t.true(removed > 0, 'the fetches did see the directory gone');
  const after = await d.run(`fetch ${pmid}`);
  t.regex(after, /value 99/, 'once the directory settles, the same PMID serves its value');
});

test.serial('permissions changed under it: a trusted directory made group-writable is dropped, and served again when fixed', async (t) => {
  const { s, dir } = trustedScratch();
  const d = await session(t, s);
  const pmid = (await d.run('fetch json.tr.v')).match(/PMID\(s\): (\S+)/)[1];
  const steady = (await d.run('fetch json.steady.v')).match(/PMID\(s\): (\S+)/)[1];
  t.regex(await d.run(`fetch ${pmid}`), /value 5/);
  for (let round = 0; round < 3; round++) {
    fs.chmodSync(dir, 0o775);
    const out = await d.run(`fetch ${pmid} ${steady}`);
    t.regex(out, /Unknown or illegal metric identifier/, 'a group-writable trusted source is not served');
    t.regex(out, /value 7/);
    fs.chmodSync(dir, 0o755);
    t.regex(await d.run(`fetch ${pmid}`), /value 5/, 'served again, under the same PMID');
  }
  t.is(count(s.logText(), `skipping trusted source ${dir}: ${dir} must be owned by root`), 3, 'logged each time it became unsafe');
});

// discovery's problem keys survive the removal of the source they concern
// needs root: skipped (ava's skip) where that is not so
(asRoot ? test.serial : test.serial.skip)('a trusted directory turning unsafe is logged once, also when a name lookup and a fetch follow', async (t) => {
  const { s, dir } = trustedScratch();
  const d = await session(t, s);
  t.regex(await d.run('fetch json.tr.v'), /value 5/);
  fs.chmodSync(dir, 0o775);
  t.regex(await d.run('fetch json.steady.v'), /value 7/);
  t.regex(await d.run('fetch json.steady.v'), /value 7/);
  t.is(count(s.logText(), `skipping trusted source ${dir}`), 1);
});

// needs root: skipped (ava's skip) where that is not so
(asRoot ? test.serial : test.serial.skip)('permissions changed under it: an untrusted data file its owner cannot read answers PM_ERR_AGAIN until fixed', async (t) => {
  const s = new Scratch('faults');
  const dir = s.source('own', V, { v: 3 });
  for (const f of ['', 'metadata.json', 'data.json']) fs.chownSync(path.join(dir, f), ...nobody);
  const d = await session(t, s);
  const data = path.join(dir, 'data.json');
  for (let round = 0; round < 3; round++) {
    t.regex(await d.run('fetch json.own.v'), new RegExp(`value ${3 + round * 3}\n`));
    // the owner cannot read it any more, and it changes: what it says now is not served
    fs.chmodSync(data, 0o000);
    fs.writeFileSync(data, JSON.stringify({ v: 4 + round * 3 }));
    t.regex(await d.run('fetch json.own.v'), /Try again/);
    // a directory its owner cannot search
    fs.chmodSync(data, 0o644);
    fs.chmodSync(dir, 0o600);
    fs.writeFileSync(data, JSON.stringify({ v: 5 + round * 3 }) + ' ');
    t.regex(await d.run('fetch json.own.v'), /Try again/);
    fs.chmodSync(dir, 0o755);
    fs.writeFileSync(data, JSON.stringify({ v: 6 + round * 3 }));
  }
  t.regex(await d.run('fetch json.own.v'), /value 12\n/);
});

// needs a tmpfs mounted (root): skipped (ava's skip) where none can be
(canMountTmpfs ? test.serial : test.serial.skip)('the log on a full file system: the PMDA keeps answering while it cannot log', async (t) => {
  const s = new Scratch('faults');
  const logdir = path.join(s.dir, 'logfs');
  fs.mkdirSync(logdir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', logdir], { stdio: 'ignore' });
  s.source('steady', V, { v: 7 });
  const d = new Session(s, { args: ['-l', path.join(logdir, 'json.log')] });
  t.teardown(async () => {
    await d.close();
    try { execFileSync('umount', ['-l', logdir], { stdio: 'ignore' }); } catch { /* gone */ }
    s.cleanup();
  });
  await d.ready;
  t.regex(await d.run('fetch json.steady.v'), /value 7/);
  // fill it up
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${path.join(logdir, 'fill')}`, 'bs=4096'], { stdio: 'ignore' });
  } catch { /* ENOSPC: full */ }
  t.is(fs.statfsSync(logdir).bavail, 0, 'the log file system is full');
  // many distinct problems, each wanting a log line
  for (let i = 0; i < 40; i++) s.source(`broken${i}`, { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }, { name: `bad-${i}`, pointer: '/v', type: 'integer' }] }, '{"v": ');
  for (let round = 0; round < 5; round++) {
    const names = Array.from({ length: 40 }, (_, i) => `json.broken${i}.v`);
    for (let i = 0; i < names.length; i += 20) t.regex(await d.run(`fetch ${names.slice(i, i + 20).join(' ')}`, 15000), /Try again/);
    t.regex(await d.run('fetch json.steady.v json.nsources'), /value 7[\s\S]*value 41/);
  }
  // room again: the PMDA logs again
  fs.rmSync(path.join(logdir, 'fill'));
  s.source('late', V, '[');
  t.regex(await d.run('fetch json.late.v'), /Try again/);
  t.regex(fs.readFileSync(path.join(logdir, 'json.log'), 'utf8'), /cannot parse data file .*late/, 'logging resumes when there is room');
});

test.serial('the log on /dev/full or in a directory that does not exist: the PMDA keeps answering', async (t) => {
  for (const logfile of ['/dev/full', '/nonexistent/dir/json.log']) {
    const s = steadyScratch();
    for (let i = 0; i < 10; i++) s.source(`broken${i}`, V, '{');
    const d = await session(t, s, { args: ['-l', logfile] });
    for (let round = 0; round < 3; round++) {
      t.regex(await d.run('fetch json.steady.v json.broken0.v json.broken9.v json.nsources'), /value 7[\s\S]*Try again[\s\S]*Try again[\s\S]*value 11/, `log ${logfile}, round ${round + 1}`);
    }
  }
});

// BUG (agent.ts/source.ts, for the lead): each data-exec source gets its
// own exec_timeout, one after the other within one fetch, so N hung
// commands hold a fetch N x exec_timeout; pmcd gives an agent 5 s before
// it drops it, so with the default 2 s three hung untrusted sources take
// the whole PMDA out. Proposed: one budget of exec_timeout per PDU for all
// commands, and a command that timed out is not run again for a while.
test.serial('many sources with hung commands in one fetch cannot hold it beyond one exec_timeout', async (t) => {
  const s = new Scratch('faults');
  s.config({ directory_list: [s.src], trusted_directory_list: [s.trusted], exec_timeout: 0.5 });
  for (let i = 0; i < 6; i++) s.source(`hung${i}`, { 'data-exec': 'sleep 30', ...V });
  s.source('steady', V, { v: 7 });
  const d = await session(t, s);
  const started = Date.now();
  const out = await d.run(`fetch ${Array.from({ length: 6 }, (_, i) => `json.hung${i}.v`).join(' ')} json.steady.v`, 30000);
  const elapsed = Date.now() - started;
  t.regex(out, /value 7/);
  t.true(elapsed < 1500, `six hung commands held one fetch for ${elapsed} ms (exec_timeout 500 ms): with the default 2 s, three hung sources exceed pmcd's 5 s and the whole PMDA is dropped`);
});

// BUG (discovery.ts / native watch, for the lead): the walk puts an
// inotify watch on every directory below the configured ones, and
// max_user_watches is per user -- the PMDA runs as root, so an untrusted
// user creating directories in the world-writable directory spends root's
// watches, which systemd and other root daemons need. Proposed: watch at
// most a few thousand directories and walk (with a log line, once) beyond.
test.serial('20,000 empty directories from an untrusted user do not take 20,000 of root\'s inotify watches', async (t) => {
  const s = steadyScratch();
  const wide = path.join(s.src, 'wide');
  fs.mkdirSync(wide);
  for (let i = 0; i < 20000; i++) fs.mkdirSync(path.join(wide, `d${i}`));
  const d = await session(t, s);
  t.regex(await d.run('fetch json.steady.v'), /value 7/);
  const pid = pmdaPid(s);
  let watches = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      watches += (fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8').match(/^inotify wd:/gm) ?? []).length;
    } catch { /* closed meanwhile */ }
  }
  t.true(watches <= 8192, `the PMDA holds ${watches} inotify watches (max_user_watches is ${fs.readFileSync('/proc/sys/fs/inotify/max_user_watches', 'utf8').trim()} for all of root)`);
});

// BUG (schema.ts / pmda.ts, for the lead): a schema.json in an untrusted
// directory is compiled by ajv, "pattern" included, and V8's backtracking
// regexp engine runs it over the data: '^(a+)+$' against 25 a's and a b
// holds the whole PMDA for about a second, 27 for 6 s (pmcd drops it), 35
// for hours. Proposed: ajv with unicodeRegExp: false, and
// v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks')
// first thing in pmda.ts (verified: the same test then takes 1 ms; the
// linear engine does not take /u regexps), or no "pattern" /
// "patternProperties" for untrusted schemas.
test.serial('a schema.json pattern that backtracks catastrophically cannot hold a fetch', async (t) => {
  const s = steadyScratch();
  const dir = path.join(s.src, 'redos');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'schema.json'), JSON.stringify({ type: 'object', title: 'redos', properties: { generation: { type: 'integer' }, data: { type: 'object', properties: { s: { type: 'string', pattern: '^(a+)+$' }, n: { type: 'integer' } } } } }));
  // 40 a's and a b: some 2^39 backtracking steps, hours, without V8's
  // linear-time fallback (src/pmda/main.ts); the first fetch also loads
  // and compiles the schema, a few hundred ms on a slow machine
  fs.writeFileSync(path.join(dir, 'data.json'), JSON.stringify({ generation: 1, data: { s: `${'a'.repeat(40)}b`, n: 1 } }));
  const d = await session(t, s);
  const started = Date.now();
  t.regex(await d.run('fetch json.redos.n json.steady.v', 60000), /value 7/);
  const elapsed = Date.now() - started;
  t.log(`the first fetch took ${elapsed} ms`);
  t.true(elapsed < 3000, `one fetch took ${elapsed} ms`);
});

// BUG (native/pmda_json.cc childExec, for the lead): a data-exec command
// gets every descriptor the PMDA has without close-on-exec -- whatever
// pmcd (or its own parent) left open, like the pipe at fd 200 here -- and
// an untrusted one runs as nobody with it. Proposed: close everything
// above 2 in the child before execve (close_range(3, ~0U, 0), or a loop
// up to sysconf(_SC_OPEN_MAX) where close_range is missing).
test.serial('a data-exec command gets no descriptor but stdin, stdout and stderr', async (t) => {
  const s = new Scratch('faults');
  s.source('fds', { 'data-exec': `sh -c 'printf "{\\"s\\": \\""; for f in /proc/$$/fd/*; do printf "%s " "\${f##*/}"; done; printf "\\"}"'`, metrics: [{ name: 's', pointer: '/s', type: 'string' }] });
  const d = await session(t, s, { inheritFd: 200 });
  // 3 is the shell reading /proc/$$/fd for the glob
  t.regex(await d.run('fetch json.fds.s'), /value "0 1 2 3 "\n/);
});

// BUG (discovery.ts, for the lead): beyond the 4096 watched directories
// every fetch walks the whole tree, and nothing bounds the tree: 20,000
// empty directories from an untrusted user cost about 400 ms a fetch
// here, 30,000 some 600 ms, and some 250,000 would pass pmcd's 5 s.
// Proposed: bound the walk (say 10,000 directories, then stop with a log
// line), or walk a bounded slice per fetch and resume at the next.
test.serial('30,000 empty directories from an untrusted user cannot slow every fetch', async (t) => {
  t.timeout(120000);
  const s = steadyScratch();
  for (let k = 0; k < 2; k++) {
    const wide = path.join(s.src, `wide${k}`);
    fs.mkdirSync(wide);
    for (let i = 0; i < 15000; i++) fs.mkdirSync(path.join(wide, `d${i}`));
  }
  const d = await session(t, s);
  t.regex(await d.run('fetch json.steady.v', 60000), /value 7/);
  const times = [];
  for (let i = 0; i < 3; i++) {
    const started = Date.now();
    t.regex(await d.run('fetch json.steady.v', 60000), /value 7/);
    times.push(Date.now() - started);
  }
  t.true(Math.min(...times) < 300, `fetches took ${times.join(', ')} ms`);
});

// the walk's budget is shared out per tree: one tree can only hide itself
test.serial('one user\'s 10,000 directories do not hide another user\'s source', async (t) => {
  const s = new Scratch('faults');
  const flood = path.join(s.src, 'aaaa');
  fs.mkdirSync(flood);
  for (let i = 0; i < 10050; i++) fs.mkdirSync(path.join(flood, `d${i}`));
  s.source('zzzz', V, { v: 9 });
  const d = await session(t, s);
  t.regex(await d.run('fetch json.nsources'), /value 1\n/, 'the other source is served');
});
