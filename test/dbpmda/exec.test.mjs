// data-exec: commands run without a shell, as nobody unless trusted, and
// never longer than the configured timeout.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { Scratch, session } from '../helpers/harness.mjs';

const uidMeta = (cmd) => ({ 'data-exec': cmd, metrics: [{ name: 'uid', pointer: '/uid', type: 'integer' }, { name: 'gid', pointer: '/gid', type: 'integer' }] });
const idCommand = `sh -c 'echo "{\\"uid\\": $(id -u), \\"gid\\": $(id -g)}"'`;
const nobody = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:')).split(':');
const asRoot = process.getuid() === 0;

// needs root: skipped (ava's skip) where that is not so
(asRoot ? test : test.skip)('untrusted commands run as nobody, trusted ones as root', async (t) => {
  const s = new Scratch();
  s.source('untrusted', uidMeta(idCommand));
  s.source('mine', uidMeta(idCommand), undefined, { under: s.trusted });
  const d = await session(t, s);
  const [u, g, tu] = Object.values(await d.fetch('json.untrusted.uid', 'json.untrusted.gid', 'json.mine.uid'));
  t.is(u.values[0].value, nobody[2]);
  t.is(g.values[0].value, nobody[3]);
  t.is(tu.values[0].value, '0');
});

// needs root: skipped (ava's skip) where that is not so
(asRoot ? test : test.skip)('trusted sources must be root-owned and not group or world writable, checked at every discovery', async (t) => {
  const s = new Scratch();
  const dir = s.source('lax', uidMeta(idCommand), undefined, { under: s.trusted });
  fs.chmodSync(dir, 0o777);
  const d = await session(t, s);
  t.regex(await d.run('fetch json.lax.uid'), /Unknown metric name|\^ at or near here/);
  t.regex(s.logText(), new RegExp(`skipping trusted source ${dir}: ${dir} must be owned by root and not group or world-writable`));
  fs.chmodSync(dir, 0o755);
  t.is(Object.values(await d.fetch('json.lax.uid'))[0].values[0].value, '0');
  fs.chmodSync(path.join(dir, 'metadata.json'), 0o666);
  t.notRegex(await d.run('fetch json.nsources'), /value 1/, 'a trusted source whose metadata becomes writable is dropped');
});

test('a hung command is killed at exec_timeout, and only the first fetch waits for it, at most exec_wait', async (t) => {
  const s = new Scratch();
  // exec_timeout long enough that a loaded machine's first fetch still
  // finds the command (started when the source was found) running; an
  // exec_wait of 1 s tells a fetch that waits for the command from one
  // that a loaded machine holds up for a few hundred ms
  s.config({ directory_list: [s.src], exec_timeout: 4, exec_wait: 1, log_user_lines: 1000, log_lines: 1000 });
  s.source('hang', { 'data-exec': 'sleep 30', metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] });
  s.source('quick', { 'data-exec': `echo '{"v": 42}'`, metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] });
  const d = await session(t, s);
  let start = Date.now();
  const [h, q] = Object.values(await d.fetch('json.hang.v', 'json.quick.v'));
  let elapsed = Date.now() - start;
  t.regex(h.error, /Try again/);
  t.is(q.values[0].value, '42');
  t.true(elapsed < 2500, `one fetch with a hung command took ${elapsed} ms (exec_wait 1000 ms, exec_timeout 4000 ms)`);
  t.regex(s.logText(), /data-exec command 'sleep 30' takes longer than 1000 ms \(exec_wait\)/);
  await new Promise((r) => setTimeout(r, 4200));
  // killed at exec_timeout; the next fetches do not wait for it, and it rests
  for (let i = 0; i < 3; i++) {
    start = Date.now();
    const [h2, q2] = Object.values(await d.fetch('json.hang.v', 'json.quick.v'));
    elapsed = Date.now() - start;
    t.regex(h2.error, /Try again/);
    t.is(q2.values[0].value, '42');
    t.true(elapsed < 700, `fetch ${i + 2} took ${elapsed} ms (exec_wait 1000 ms)`);
  }
  t.regex(s.logText(), /data-exec command 'sleep 30' killed after 4000 ms/);
});

test('a command that leaves a child holding its output open cannot hold the fetch', async (t) => {
  const s = new Scratch();
  s.config({ directory_list: [s.src], exec_timeout: 0.5 });
  s.source('orphan', { 'data-exec': `sh -c 'sleep 30 & echo "{\\"v\\": 1}"'`, metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] });
  const d = await session(t, s);
  for (let i = 0; i < 2; i++) {
    const start = Date.now();
    const [o] = Object.values(await d.fetch('json.orphan.v'));
    const elapsed = Date.now() - start;
    t.truthy(o.error || o.values, 'answered');
    t.true(elapsed < 1500, `took ${elapsed} ms`);
  }
});

test('a failing command is logged once with its status; its output is still used', async (t) => {
  const s = new Scratch();
  s.source('fails', { 'data-exec': `sh -c 'echo "{\\"v\\": 3}"; exit 4'`, metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] });
  s.source('missing', { 'data-exec': '/nonexistent/cmd', metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] });
  const d = await session(t, s);
  for (let i = 0; i < 3; i++) {
    const [f, m] = Object.values(await d.fetch('json.fails.v', 'json.missing.v'));
    t.is(f.values[0].value, '3');
    t.regex(m.error, /Try again/);
  }
  const log = s.logText();
  t.is(log.split('exited with status 4').length - 1, 1);
  t.is(log.split("cannot run data-exec command '/nonexistent/cmd'").length - 1, 1);
});

/** Pids of the command servers (native/shepherd.cc, --serve) of the PMDA below `dbpmda`. */
function commandServers(dbpmda) {
  const out = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let argv;
    try {
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!argv[0]?.endsWith('pmdajson-shepherd') || argv[1] !== '--serve') continue;
    // its parent, the PMDA, is dbpmda's child
    let pmdaParent;
    try {
      pmdaParent = fs.readFileSync(`/proc/${argv[2]}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1];
    } catch {
      continue;
    }
    // the server is the PMDA's child; a shepherd it forked (same command line) is not
    let parent;
    try {
      parent = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1];
    } catch {
      continue;
    }
    if (Number(pmdaParent) === dbpmda && parent === argv[2]) out.push(Number(pid));
  }
  return out;
}

test('the command server starts at the first command, is started again if it dies, and goes with the PMDA', async (t) => {
  const s = new Scratch();
  s.source('plain', { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }, { v: 1 });
  const d = await session(t, s);
  const dbpmda = d.proc.pid;
  t.is(Object.values(await d.fetch('json.plain.v'))[0].values[0].value, '1');
  t.deepEqual(commandServers(dbpmda), [], 'no server before the first command');
  // a source's command first runs when the source is found
  s.source('seven', { 'data-exec': `echo '{"v": 7}'`, metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] });
  t.is(Object.values(await d.fetch('json.seven.v'))[0].values[0].value, '7');
  const [first] = commandServers(dbpmda);
  t.truthy(first, 'one server after the first command');
  t.deepEqual(commandServers(dbpmda), [first]);
  process.kill(first, 'SIGKILL');
  for (let i = 0; i < 50 && fs.existsSync(`/proc/${first}/cmdline`) && fs.readFileSync(`/proc/${first}/cmdline`, 'utf8') !== ''; i++) await new Promise((r) => setTimeout(r, 20));
  // the next command finds the server gone and starts another
  t.is(Object.values(await d.fetch('json.seven.v'))[0].values[0].value, '7');
  const again = commandServers(dbpmda);
  t.is(again.length, 1);
  t.not(again[0], first);
  await d.close();
  for (let i = 0; i < 100 && fs.existsSync(`/proc/${again[0]}`); i++) await new Promise((r) => setTimeout(r, 20));
  t.false(fs.existsSync(`/proc/${again[0]}`), 'the server is gone with its PMDA');
});
