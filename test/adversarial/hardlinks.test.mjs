// Issue 21, class 8: a hard link lends no identity. The author of an
// untrusted source is the owner of its metadata.json; a hard link to
// alice's metadata.json placed in bob's directory is an inode owned by
// alice, so without a further rule bob's commands (run.sh, relative to
// the source directory) would run as alice, under alice's source name.
// The rule: an untrusted source's metadata.json must have the owner of
// the directory that holds it; such a source is refused at discovery,
// with one log line naming the file and the reason. Root makes the links
// here, which is what fs.protected_hardlinks=0 lets any user do.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, sleep } from '../helpers/harness.mjs';
import { IS_ROOT, untrustedWorld, ensureUsers, userSource, writeAs, mkdirAs, session, fetchNames, fetchUntil, one, logBody } from './users.mjs';

const serial = IS_ROOT ? test.serial : test.serial.skip;
const CHECK = path.join(ROOT, 'dist', 'cli', 'check.js');

/**
 * alice's source, prefix alice_app, in zz_alice: its command, run.sh of
 * the source directory, prints 7. The drop box anyone may write to.
 */
function world(u) {
  const s = untrustedWorld('adv-hardlinks');
  const drop = path.join(s.dir, 'drop');
  fs.mkdirSync(drop);
  fs.chmodSync(drop, 0o1777);
  const alice = userSource(s, u.alice, 'zz_alice', {
    prefix: 'alice_app', 'data-exec': '/bin/sh run.sh', metrics: [{ name: 'v', pointer: '/v', type: 'integer' }],
  }, undefined, { files: { 'run.sh': 'printf \'{"v": 7}\'\n' } });
  return { s, drop, aliceMeta: path.join(alice, 'metadata.json') };
}

/** bob's run.sh in `dir`: writes who it runs as (`id -u`) to `witness`, and serves 666. */
function bobScript(u, dir, witness) {
  writeAs(u.bob, path.join(dir, 'run.sh'), `id -u > ${witness}\nprintf '{"v": 666}'\n`);
}

/**
 * bobScript in `dir` (its witness `witnessName` in the drop box), and a
 * hard link to alice's metadata.json beside it: { witness, link }.
 */
function linkAliceInto(u, { drop, aliceMeta }, dir, witnessName) {
  const witness = path.join(drop, witnessName);
  bobScript(u, dir, witness);
  const link = path.join(dir, 'metadata.json');
  fs.linkSync(aliceMeta, link);
  return { witness, link };
}

/** The log lines that name `file`. */
const linesNaming = (s, file) => logBody(s.logText()).filter((l) => l.includes(file));

const REASON = /is owned by pjx_alice, but its directory .* by (pjx_bob|root): a source's metadata\.json must have the owner of its directory/;

serial("a hard link to alice's metadata.json in bob's directory: refused, bob's command never runs as alice, alice keeps her name", async (t) => {
  const u = ensureUsers();
  const w = world(u);
  const { s } = w;
  // bob's directory sorts first: the first come would take alice's name
  const bobDir = mkdirAs(u.bob, path.join(s.src, 'aa_bob'));
  const { witness, link } = linkAliceInto(u, w, bobDir, 'aa_bob-ran-as');
  t.is(fs.lstatSync(link).uid, u.alice.uid, 'the link is alice\'s inode');
  const d = await session(t, s);
  const r = await fetchUntil(d, ['json.alice_app.v'], (a) => a['json.alice_app.v']?.values?.length > 0);
  t.is(one(r['json.alice_app.v']), '7', `json.alice_app.v is alice's own value:\n${r._out}`);
  for (let i = 0; i < 3; i++) await fetchNames(d, ['json.alice_app.v', 'json.nsources']);
  await sleep(300);
  t.false(fs.existsSync(witness), `bob's command never ran (as alice or anyone): ${fs.existsSync(witness) ? fs.readFileSync(witness, 'utf8') : ''}`);
  const lines = linesNaming(s, link);
  t.is(lines.length, 1, `one log line names ${link}:\n${lines.join('\n')}`);
  t.regex(lines[0] ?? '', REASON);
  t.log(lines[0]);
  t.log(`the refusal: ${Buffer.byteLength(lines[0] ?? '')} bytes of ${Buffer.byteLength(s.logText())} in the log after 4 fetches`);
});

serial("a hard link to alice's metadata.json right in the root-owned, world-writable directory: refused too", async (t) => {
  const u = ensureUsers();
  const w = world(u);
  const { s } = w;
  // the configured directory itself is a source when it holds a metadata.json
  const { witness, link } = linkAliceInto(u, w, s.src, 'top-ran-as');
  const d = await session(t, s);
  const r = await fetchUntil(d, ['json.alice_app.v'], (a) => a['json.alice_app.v']?.values?.length > 0);
  t.is(one(r['json.alice_app.v']), '7', r._out);
  await fetchNames(d, ['json.alice_app.v']);
  await sleep(300);
  t.false(fs.existsSync(witness), 'bob\'s command never ran');
  const lines = linesNaming(s, link);
  t.is(lines.length, 1, lines.join('\n'));
  t.regex(lines[0] ?? '', REASON);
});

serial("pmdajson-check, run as root on bob's directory with the link, refuses it the same way and runs nothing", (t) => {
  const u = ensureUsers();
  const w = world(u);
  const { s } = w;
  t.teardown(() => s.cleanup());
  const bobDir = mkdirAs(u.bob, path.join(s.src, 'aa_bob'));
  const { witness } = linkAliceInto(u, w, bobDir, 'checked-ran-as');
  const started = Date.now();
  const r = spawnSync(process.execPath, [CHECK, bobDir], { encoding: 'utf8', env: { ...process.env, PCP_VAR_DIR: s.var }, timeout: 60000 });
  t.log(`pmdajson-check took ${Date.now() - started} ms`);
  t.is(r.status, 1, r.stdout + r.stderr);
  t.false(fs.existsSync(witness), `bob's command never ran: ${fs.existsSync(witness) ? fs.readFileSync(witness, 'utf8') : ''}`);
  t.regex(r.stdout, REASON);
  t.regex(r.stdout, /0 sources served/);
});

serial("alice's own source stays served when someone hard-links her metadata.json elsewhere", async (t) => {
  const u = ensureUsers();
  const { s, drop, aliceMeta } = world(u);
  // a link outside any source directory: her file now has two links
  fs.linkSync(aliceMeta, path.join(drop, 'alice-meta-link'));
  t.is(fs.statSync(aliceMeta).nlink, 2);
  const d = await session(t, s);
  const r = await fetchUntil(d, ['json.alice_app.v'], (a) => a['json.alice_app.v']?.values?.length > 0);
  t.is(one(r['json.alice_app.v']), '7', `a second link does not take her source down:\n${r._out}`);
  t.deepEqual(linesNaming(s, aliceMeta).filter((l) => /owner of its directory/.test(l)), []);
});
