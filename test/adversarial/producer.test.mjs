// Issue 21, class 6: the producer API run as root writes its source
// directory in the world-writable source directory, where other users
// can be first. A directory pjx_bob made beforehand, or a symbolic link
// he planted where the source directory should be, must be refused with
// an error that names the directory and the reason, and nothing may be
// written there or where the link points. The producer's own fresh
// directory still works, for root and for a user, and is served.
//
// Each producer is a real node process that loads the built package
// (dist/index.mjs), run as root or, with runuser, as pjx_bob.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ROOT } from '../helpers/harness.mjs';
import { IS_ROOT, untrustedWorld, ensureUsers, mkdirAs, writeAs, spawnAs, EXCHANGE, session, fetchUntil, one } from './users.mjs';

const rootTest = IS_ROOT ? test : test.skip;
const PROTECTED_SYMLINKS = '/proc/sys/fs/protected_symlinks';

// declares json.PREFIX.n, sets it, writes once with write() or flush();
// prints { ok } or { ok: false, name, message }
const PRODUCE = `
import { Producer } from ${JSON.stringify(`file://${ROOT}/dist/index.mjs`)};
const [dir, how, prefix, value] = process.argv.slice(1);
try {
  const p = new Producer(dir, { prefix });
  p.integer('n').set(Number(value));
  if (how === 'flush') await p.flush(); else p.write();
  console.log(JSON.stringify({ ok: true }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, name: e.constructor.name, message: e.message }));
}
`;

// writes with write() until 20 writes succeeded and 20 were refused, or
// something appeared in \`target\`, or 15 s passed; prints how many
// succeeded, how many were refused, the other errors and what is in target
const PRODUCE_LOOP = `
import fs from 'node:fs';
import * as lib from ${JSON.stringify(`file://${ROOT}/dist/index.mjs`)};
const [dir, target] = process.argv.slice(1);
const p = new lib.Producer(dir, { prefix: 'app' });
const n = p.integer('n');
const out = { ok: 0, refused: 0, errors: [], target: [] };
const end = Date.now() + 15000;
for (let i = 0; Date.now() < end && (out.ok < 20 || out.refused < 20) && out.target.length === 0; i++) {
  try {
    n.set(i);
    p.write();
    out.ok++;
  } catch (e) {
    if (e.name === 'UnsafeDirectoryError') out.refused++;
    else if (out.errors.length < 5) out.errors.push(e.message);
  }
  out.target = fs.readdirSync(target);
}
console.log(JSON.stringify(out));
`;

/**
 * Run a producer process as `user` (undefined: root); its { ok, name, message }.
 * @param {string} dir
 * @param {{ how?: string, prefix?: string, value?: number, user?: { name: string } }} [options]
 */
function produce(dir, { how = 'write', prefix = 'app', value = 42, user = undefined } = {}) {
  const argv = [process.execPath, '--input-type=module', '-e', PRODUCE, dir, how, prefix, String(value)];
  const [cmd, ...args] = user ? ['runuser', '-u', user.name, '--', ...argv] : argv;
  return JSON.parse(execFileSync(cmd, args, { encoding: 'utf8', timeout: 30000 }));
}

/** A directory outside the source directory, owned by `user` (undefined: root), mode 0755. */
function elsewhere(t, user, tag) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pjx-producer-${tag}-`));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return user ? mkdirAs(user, dir) : (fs.chmodSync(dir, 0o755), dir);
}

/** Make fs.protected_symlinks 0 for the test if it can be (restored after); whether it is 0. */
function followSymlinks(t) {
  let was;
  try {
    was = fs.readFileSync(PROTECTED_SYMLINKS, 'utf8').trim();
  } catch {
    return false;
  }
  if (was === '0') return true;
  try {
    fs.writeFileSync(PROTECTED_SYMLINKS, '0');
    t.teardown(() => fs.writeFileSync(PROTECTED_SYMLINKS, was));
    return true;
  } catch (e) {
    t.log(`fs.protected_symlinks is ${was} and cannot be set to 0 here (${e.code}): the kernel would refuse the link anyway; the producer's refusal is still checked`);
    return false;
  }
}

rootTest('a source directory pjx_bob made beforehand is refused by a root producer, which writes nothing there', (t) => {
  const u = ensureUsers();
  const s = untrustedWorld('adv-producer');
  t.teardown(() => s.cleanup());
  const bobs = mkdirAs(u.bob, path.join(s.src, 'app'));
  for (const how of ['write', 'flush']) {
    const r = produce(bobs, { how });
    t.like(r, { ok: false, name: 'UnsafeDirectoryError' }, `${how}() refuses`);
    t.true(r.message?.includes(bobs), `${how}(): the error names the directory: ${r.message}`);
    t.regex(r.message ?? '', new RegExp(`owned by uid ${u.bob.uid}`), `${how}(): and says whose it is`);
    t.deepEqual(fs.readdirSync(bobs), [], `${how}(): nothing is written into bob's directory`);
  }
  // a root-owned directory that others may write to is no better
  const open = path.join(s.src, 'open');
  fs.mkdirSync(open);
  fs.chmodSync(open, 0o1777);
  const r = produce(open);
  t.false(r.ok);
  t.true(r.message?.includes(open) && /writable by group or others/.test(r.message), r.message);
  t.deepEqual(fs.readdirSync(open), []);
});

rootTest('a symbolic link pjx_bob planted as the source directory is not followed by a root producer', (t) => {
  const u = ensureUsers();
  const s = untrustedWorld('adv-producer');
  t.teardown(() => s.cleanup());
  const follows = followSymlinks(t);
  t.log(`fs.protected_symlinks ${follows ? 'is 0: the kernel follows the link for root' : 'protects this link'}`);
  // to a directory of bob's (he would then swap the files), and to a
  // root-owned directory (where root's files would do harm): owner and
  // mode checks would pass there, only not following the link saves it
  const targets = { bob: elsewhere(t, u.bob, 'bob'), root: elsewhere(t, undefined, 'root') };
  for (const [whose, target] of Object.entries(targets)) {
    const link = path.join(s.src, `app_${whose}`);
    fs.symlinkSync(target, link);
    fs.lchownSync(link, u.bob.uid, u.bob.gid);
    for (const how of ['write', 'flush']) {
      const r = produce(link, { how });
      t.like(r, { ok: false, name: 'UnsafeDirectoryError' }, `${whose}, ${how}(): refused`);
      t.true(r.message?.includes(link) && /symbolic link/.test(r.message), `${whose}, ${how}(): the error names the link and says what it is: ${r.message}`);
      t.deepEqual(fs.readdirSync(target), [], `${whose}, ${how}(): nothing is written where the link points`);
      t.true(fs.lstatSync(link).isSymbolicLink(), 'the link is left as it is');
    }
  }
});

rootTest("a producer's own fresh source directory is made 0755, written with its owner and modes, and served", async (t) => {
  const u = ensureUsers();
  const s = untrustedWorld('adv-producer');
  const rootDir = path.join(s.src, 'rootapp');
  const bobDir = path.join(s.src, 'bobapp');
  t.like(produce(rootDir, { prefix: 'rootapp', value: 1 }), { ok: true });
  t.like(produce(rootDir, { prefix: 'rootapp', value: 42, how: 'flush' }), { ok: true }, 'and again, into the directory it made');
  t.like(produce(bobDir, { prefix: 'bobapp', value: 7, user: u.bob }), { ok: true }, 'a user producer works in the world-writable directory');
  for (const [dir, who] of [[rootDir, { uid: 0, gid: 0 }], [bobDir, u.bob]]) {
    const st = fs.lstatSync(dir);
    t.true(st.isDirectory());
    t.is(st.uid, who.uid, `${dir} is its producer's`);
    t.is(st.mode & 0o7777, 0o755, `${dir} is mode 0755`);
    t.deepEqual(fs.readdirSync(dir).sort(), ['data.json', 'metadata.json'], 'no temporary file is left');
    for (const f of ['data.json', 'metadata.json']) {
      const fst = fs.lstatSync(path.join(dir, f));
      t.true(fst.isFile());
      t.is(fst.uid, who.uid, `${f} is its producer's`);
      t.is(fst.mode & 0o7777, 0o644, `${f} is mode 0644`);
    }
  }
  const d = await session(t, s);
  const names = ['json.rootapp.n', 'json.bobapp.n'];
  const r = await fetchUntil(d, names, (a) => names.every((n) => a[n]?.values?.length > 0));
  t.is(one(r['json.rootapp.n']), '42');
  t.is(one(r['json.bobapp.n']), '7');
});

rootTest("a source directory swapped for a link after it was checked still gets root's writes, never the link's target", async (t) => {
  const u = ensureUsers();
  const s = untrustedWorld('adv-producer');
  t.teardown(() => s.cleanup());
  followSymlinks(t);
  // root's source directory sits in a directory of bob's (not sticky), so
  // bob may rename it: he swaps it, as fast as he can, with a link to a
  // directory of root's, between the producer's check and its writes
  const bobs = mkdirAs(u.bob, path.join(s.src, 'bob_parent'));
  const app = path.join(bobs, 'app');
  const decoy = path.join(bobs, 'decoy');
  const target = elsewhere(t, undefined, 'swap');
  t.like(produce(app), { ok: true });
  fs.symlinkSync(target, decoy);
  fs.lchownSync(decoy, u.bob.uid, u.bob.gid);
  const script = writeAs(u.bob, path.join(bobs, 'exchange.py'), EXCHANGE);
  spawnAs(t, u.bob, `exec python3 ${script} ${app} ${decoy}`);
  const r = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', PRODUCE_LOOP, app, target], { encoding: 'utf8', timeout: 60000 }));
  t.log(`writes while bob swaps: ${r.ok} written, ${r.refused} refused (a link at the name)`);
  t.deepEqual(r.target, [], "nothing was written where bob's link points");
  t.deepEqual(r.errors, [], 'every write either went into the checked directory or was refused');
  t.true(r.ok >= 20 && r.refused >= 20, 'the swap raced both ways');
});
