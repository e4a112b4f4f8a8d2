// A warm start against a user who changes their source while the PMDA is
// down and hides it: the metadata rewritten in place with the same size,
// its modification time put back (touch -d, as the user), and another
// user's source made beside it. Only the change time, which no user can
// set, tells: the start must be cold, and serve what a walk finds.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { IS_ROOT, untrustedWorld, ensureUsers, userSource, session, closeSession, fetchNames, one, execAs, waitUntil } from './users.mjs';
import { sleep } from '../helpers/harness.mjs';

const serial = IS_ROOT ? test.serial : test.serial.skip;

const META = (name) => ({ metrics: [{ name, pointer: '/v', type: 'integer' }] });

/** A first run that serves `expected` (name: value), and keeps a warm start as it stops. */
async function firstRun(t, s, expected) {
  const d = await session(t, s, { cleanup: false });
  const got = await fetchNames(d, Object.keys(expected));
  for (const [name, value] of Object.entries(expected)) t.is(one(got[name]), value);
  await closeSession(d);
  // (the PMDA keeps it as it exits, after dbpmda has gone)
  t.true(await waitUntil(() => fs.existsSync(path.join(s.var, 'config', 'pmda', '137.start')), 5000), 'a warm start was kept');
}

serial('a source rewritten while the PMDA is down, with its size and modification time put back by its author, makes a cold start', async (t) => {
  const u = ensureUsers();
  const s = untrustedWorld('adv-warm');
  t.teardown(() => s.cleanup());
  userSource(s, u.alice, 'vic', META('v'), { v: 111 });
  // the attacker's name is as long as the one it will be renamed to
  userSource(s, u.bob, 'atk', META('old'), { v: 222 });
  await sleep(250);

  await firstRun(t, s, { 'json.vic.v': '111', 'json.atk.old': '222' });

  // as bob: rewrite in place (same inode, same size), then put the
  // modification time back to the nanosecond, from a file of bob's own
  // outside the source (a new file in its directory would show there)
  const file = path.join(s.src, 'atk', 'metadata.json');
  const was = fs.statSync(file, { bigint: true });
  const text = fs.readFileSync(file, 'utf8').replace('"old"', '"new"');
  execAs(u.bob, `ref=$(mktemp) && touch -r ${file} $ref && printf '%s' '${text.replace(/'/g, "'\\''")}' > ${file} && touch -m -r $ref ${file} && rm $ref`);
  const after0 = fs.statSync(file, { bigint: true });
  t.is(after0.mtimeNs, was.mtimeNs, 'the modification time is as it was');
  t.is(after0.ino, was.ino);
  t.is(after0.size, was.size);
  t.is(fs.readFileSync(file, 'utf8'), text);
  await sleep(250);

  const d = await session(t, s, { cleanup: false });
  const after = await fetchNames(d, ['json.vic.v', 'json.atk.new']);
  await closeSession(d);
  const log = s.logText();
  t.notRegex(log, /warm start:/);
  t.regex(log, /cold start: .*atk\/metadata\.json changed since it was kept/);
  t.is(one(after['json.atk.new']), '222', 'the new metadata is served');
  t.is(one(after['json.vic.v']), '111', 'the other user\'s source is as it was');
  t.regex(log, /added source 'atk' .* as pjx_bob/);
});

// What a write through a descriptor held open tells no one: the file's
// change time. pjx_bob holds his metadata.json open across the restart,
// and right after a warm start rewrites it through that descriptor,
// without closing it (no inotify event), to claim the name of root's
// trusted source, which is not made yet; then he fetches his own metric,
// so that his source is made first.
const HOLDER = `
import os, sys, time
path, go, text = sys.argv[1], sys.argv[2], sys.argv[3]
fd = os.open(path, os.O_RDWR)
print('open', flush=True)
while not os.path.exists(go):
    time.sleep(0.01)
os.ftruncate(fd, 0)
os.pwrite(fd, text.encode(), 0)
print('written', flush=True)
time.sleep(600)
`;

serial('a source rewritten through a descriptor held open, right after a warm start, cannot take the name of a source not made yet', async (t) => {
  const u = ensureUsers();
  const s = untrustedWorld('adv-warm-held');
  t.teardown(() => s.cleanup());
  const vic = path.join(s.trusted, 'vic');
  fs.mkdirSync(vic, { mode: 0o755 });
  fs.writeFileSync(path.join(vic, 'metadata.json'), JSON.stringify(META('v')));
  fs.writeFileSync(path.join(vic, 'data.json'), JSON.stringify({ v: 111 }));
  userSource(s, u.bob, 'zzz', META('v'), { v: 222 });
  await sleep(250);

  await firstRun(t, s, { 'json.vic.v': '111', 'json.zzz.v': '222' });

  const go = path.join(s.dir, 'go');
  const claim = JSON.stringify({ prefix: 'vic', ...META('v') });
  // in a process group of its own, killed whole at teardown (runuser does not pass SIGKILL on)
  const holder = spawn('runuser', ['-u', u.bob.name, '--', '/usr/bin/python3', '-c', HOLDER, path.join(s.src, 'zzz', 'metadata.json'), go, claim], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  t.teardown(() => {
    try { process.kill(-holder.pid, 'SIGKILL'); } catch { /* gone */ }
  });
  let said = '';
  holder.stdout.on('data', (c) => { said += c; });
  t.true(await waitUntil(() => said.includes('open'), 5000), 'pjx_bob holds his metadata open');

  const d = await session(t, s, { cleanup: false });
  // a name PDU: the start is over (and made no source)
  await d.run('desc json.zzz.v');
  fs.writeFileSync(go, '');
  t.true(await waitUntil(() => said.includes('written'), 5000), 'pjx_bob rewrote it, still holding it open');
  const his = await fetchNames(d, ['json.zzz.v']);
  const vicNow = await fetchNames(d, ['json.vic.v']);
  await closeSession(d);
  const log = s.logText();
  t.regex(log, /warm start: 2 sources/);
  t.is(one(vicNow['json.vic.v']), '111', 'root\'s trusted source keeps its name and PMID');
  t.not(one(his['json.zzz.v']), '222', 'pjx_bob\'s old name is not served from his new metadata');
  t.regex(log, /skipping source .*\/src\/zzz: a source named 'vic' already exists/);
  t.notRegex(log, /added source 'vic' from .*\/src\/zzz/);
});
