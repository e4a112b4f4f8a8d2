// Issue 21, class 7: pmdajson-check run as root on an untrusted source.
// An administrator who checks a user's source must not hand that user
// root: the checker, run as root, treats a source the way the PMDA treats
// one in directory_list -- its data-exec command runs as the author (the
// owner of its metadata.json), under the PMDA's shepherd and limits, and
// its files are opened as the author.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT } from '../helpers/harness.mjs';
import { IS_ROOT, untrustedWorld, ensureUsers, userSource } from './users.mjs';

const rootTest = IS_ROOT ? test : test.skip;
const CHECK = path.join(ROOT, 'dist', 'cli', 'check.js');

/** Run the built pmdajson-check as root (this process) on `args`. */
function check(s, args) {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [CHECK, ...args], { encoding: 'utf8', env: { ...process.env, PCP_VAR_DIR: s.var }, timeout: 60000 });
  return { status: r.status, out: r.stdout + r.stderr, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

/** A world with a drop box anyone may write to, and a directory only root may write to. */
function world(t) {
  const s = untrustedWorld('adv-checker');
  t.teardown(() => s.cleanup());
  const drop = path.join(s.dir, 'drop');
  fs.mkdirSync(drop);
  fs.chmodSync(drop, 0o1777);
  const vault = path.join(s.dir, 'vault');
  fs.mkdirSync(vault, { mode: 0o755 });
  return { s, drop, vault };
}

/**
 * A source of `user`'s: its command writes `id -u` to a file in the drop
 * box, tries to write into root's directory, and prints its uid as data.
 */
function userCommand(s, user, drop, vault, name) {
  const witness = path.join(drop, `${name}-ran-as`);
  const pwned = path.join(vault, `${name}-pwned`);
  const script = `id -u > ${witness}\n( : > ${pwned} ) 2>/dev/null\nprintf '{"uid": %s}' "$(id -u)"\n`;
  const dir = userSource(s, user, name, { 'data-exec': '/bin/sh run.sh', metrics: [{ name: 'uid', pointer: '/uid', type: 'integer' }] }, undefined, { files: { 'run.sh': script } });
  return { dir, witness, pwned };
}

rootTest("root checks bob's source: its data-exec runs as bob, never as root", async (t) => {
  const u = ensureUsers();
  const { s, drop, vault } = world(t);
  const { dir, witness, pwned } = userCommand(s, u.bob, drop, vault, 'bob_check');
  const r = check(s, [dir]);
  t.is(r.status, 0, r.out);
  t.true(fs.existsSync(witness), `the command ran:\n${r.out}`);
  t.is(fs.readFileSync(witness, 'utf8').trim(), String(u.bob.uid), 'the command ran as bob (id -u), not as root');
  t.is(fs.statSync(witness).uid, u.bob.uid, 'the file it wrote is bob\'s');
  t.false(fs.existsSync(pwned), "it could not write in root's directory");
  t.regex(r.out, new RegExp(`^json\\.bob_check\\.uid\\n(?: {4}.*\\n)*? {4}value ${u.bob.uid}$`, 'm'), 'and the checker shows the value bob\'s command printed');
  t.log(`pmdajson-check on bob's source took ${Math.round(r.ms)} ms`);
});

rootTest('root checks the whole world-writable directory (the man page example): every command runs as its own author', async (t) => {
  const u = ensureUsers();
  const { s, drop, vault } = world(t);
  const bob = userCommand(s, u.bob, drop, vault, 'bob_all');
  const carol = userCommand(s, u.carol, drop, vault, 'carol_all');
  // root's own source in the untrusted directory: served as nobody, as the PMDA serves it
  const rooted = path.join(s.src, 'rooted_all');
  fs.mkdirSync(rooted);
  fs.writeFileSync(path.join(rooted, 'metadata.json'), JSON.stringify({ 'data-exec': '/bin/sh run.sh', metrics: [{ name: 'uid', pointer: '/uid', type: 'integer' }] }));
  fs.writeFileSync(path.join(rooted, 'run.sh'), `id -u > ${drop}/rooted-ran-as\nprintf '{"uid": %s}' "$(id -u)"\n`);
  const r = check(s, [s.src]);
  t.is(r.status, 0, r.out);
  t.is(fs.readFileSync(bob.witness, 'utf8').trim(), String(u.bob.uid), "bob's command ran as bob");
  t.is(fs.readFileSync(carol.witness, 'utf8').trim(), String(u.carol.uid), "carol's command ran as carol");
  t.is(fs.readFileSync(path.join(drop, 'rooted-ran-as'), 'utf8').trim(), String(u.nobody.uid), 'a root-owned source in the untrusted directory ran as nobody');
  t.false(fs.existsSync(bob.pwned) || fs.existsSync(carol.pwned), "no command could write in root's directory");
});

rootTest("root checks bob's source whose data-path is a root-only file: refused as bob would be, no byte of it shown", async (t) => {
  const u = ensureUsers();
  const { s, vault } = world(t);
  const secret = path.join(vault, 'secret.json');
  fs.writeFileSync(secret, '{"v": "root-secret-7e1f"}', { mode: 0o600 });
  const dir = userSource(s, u.bob, 'bob_peek', { 'data-path': secret, metrics: [{ name: 'v', pointer: '/v', type: 'string' }] });
  const r = check(s, [dir]);
  t.is(r.status, 1, r.out);
  t.notRegex(r.out, /root-secret-7e1f/);
  t.regex(r.out, new RegExp(`cannot read data file ${secret} as ${u.bob.name}, the owner of [^:]*: permission denied`));
});
