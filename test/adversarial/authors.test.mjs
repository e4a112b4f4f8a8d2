// Issue 9, contract 2: a data-exec command of an untrusted source runs as
// its author -- the owner of its metadata.json (lstat), with that user's
// gid and supplementary groups -- so one user's command can do nothing to
// another user's source; trusted sources' commands run as root. Corner
// cases: a root-owned metadata.json in an untrusted directory is served as
// nobody; one owned by a uid with no passwd entry, as that uid with
// nobody's gid and no supplementary groups.
//
// And contract 9: an untrusted user learns nothing about files they cannot
// read -- a data-path at an existing and at a missing file in a root-only
// directory get the same answers and the same log lines.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IS_ROOT, untrustedWorld, GHOST_UID, ensureUsers, ghost, userSource, writeAs, session, pmidOf, fetchNames, fetchUntil, one, logBody } from './users.mjs';

const rootTest = IS_ROOT ? test : test.skip;

// prints who it runs as: uid, gid and every group (id -G)
const ID_SH = `printf '{"uid": %s, "gid": %s, "groups": "%s"}\\n' "$(id -u)" "$(id -g)" "$(id -G)"\n`;
const ID_META = (extra = {}) => ({
  'data-exec': '/bin/sh id.sh',
  metrics: [{ name: 'uid', pointer: '/uid', type: 'integer' }, { name: 'gid', pointer: '/gid', type: 'integer' }, { name: 'groups', pointer: '/groups', type: 'string' }],
  ...extra,
});
const ids = (name) => [`json.${name}.uid`, `json.${name}.gid`, `json.${name}.groups`];
const served = (names) => (r) => names.every((n) => r[n]?.values?.length > 0);

const world = (config = {}) => untrustedWorld('adv-authors', config);

/** The groups an `id -G` value lists, as numbers, sorted. */
const groupList = (a) => (one(a) ?? '""').replace(/"/g, '').trim().split(/\s+/).filter(Boolean).map(Number).sort((x, y) => x - y);

rootTest("an untrusted command runs with its author's uid, gid and supplementary groups", async (t) => {
  const u = ensureUsers();
  const s = world();
  userSource(s, u.alice, 'alice_id', ID_META(), undefined, { files: { 'id.sh': ID_SH } });
  userSource(s, u.bob, 'bob_id', ID_META(), undefined, { files: { 'id.sh': ID_SH } });
  const d = await session(t, s);
  const names = [...ids('alice_id'), ...ids('bob_id')];
  const r = await fetchUntil(d, names, served(names));
  t.is(one(r['json.alice_id.uid']), String(u.alice.uid), "alice's command runs as alice");
  t.is(one(r['json.alice_id.gid']), String(u.alice.gid), "with alice's primary group");
  t.deepEqual(groupList(r['json.alice_id.groups']), [...new Set([u.alice.gid, u.team])].sort((x, y) => x - y), 'and her supplementary group pjx_team, nothing else');
  t.is(one(r['json.bob_id.uid']), String(u.bob.uid), "bob's command runs as bob");
  t.is(one(r['json.bob_id.gid']), String(u.bob.gid));
  t.deepEqual(groupList(r['json.bob_id.groups']), [u.bob.gid], 'bob is not in pjx_team');
});

rootTest("bob's command cannot change the values of alice's sources", async (t) => {
  const u = ensureUsers();
  const s = world();
  // in /tmp itself: world-writable and sticky
  const cache = path.join(os.tmpdir(), `pjx-alice-cache-${path.basename(s.dir)}.json`);
  t.teardown(() => fs.rmSync(cache, { force: true }));
  // made before the PMDA starts: commands first run when their source is
  // found, alice's and bob's at once, and a name in /tmp that nobody holds
  // yet is anyone's to take (alice's script's own weakness, not the PMDA's)
  fs.writeFileSync(cache, '{"v": "alice"}', { mode: 0o644 });
  fs.chownSync(cache, u.alice.uid, u.alice.gid);
  // alice's command keeps its data in a file of its own in the shared
  // directory, readable by all, writable by its owner only
  const aliceExec = userSource(s, u.alice, 'alice_exec', { 'data-exec': '/bin/sh read.sh', metrics: [{ name: 'v', pointer: '/v', type: 'string' }] }, undefined, {
    files: { 'read.sh': `f=${cache}\n[ -f "$f" ] || { printf '{"v": "alice"}' > "$f"; chmod 644 "$f"; }\ncat "$f"\n` },
  });
  const aliceFile = userSource(s, u.alice, 'alice_file', { metrics: [{ name: 'v', pointer: '/v', type: 'string' }] }, { v: 'alice' });
  const targets = [
    path.join(aliceFile, 'data.json'), path.join(aliceFile, 'metadata.json'), path.join(aliceFile, 'new.json'),
    path.join(aliceExec, 'read.sh'), path.join(aliceExec, 'data.json'), cache,
  ];
  // bob's command tries to write each of them and reports how many it could
  const attack = targets.map((f) => `( printf '{"v": "bob"}' > '${f}' ) 2>/dev/null && w="$w ${f}"`).join('\n');
  userSource(s, u.bob, 'bob_attack', { 'data-exec': '/bin/sh attack.sh', metrics: [{ name: 'written', pointer: '/written', type: 'string' }] }, undefined, {
    files: { 'attack.sh': `w=''\n${attack}\nprintf '{"written": "%s"}' "$w"\n` },
  });
  const d = await session(t, s);
  const alice = ['json.alice_exec.v', 'json.alice_file.v'];
  let r = await fetchUntil(d, alice, served(alice));
  t.is(one(r['json.alice_exec.v']), '"alice"');
  t.is(one(r['json.alice_file.v']), '"alice"');
  r = await fetchUntil(d, ['json.bob_attack.written'], served(['json.bob_attack.written']));
  t.is(one(r['json.bob_attack.written']), '""', `bob's command could write none of ${targets.join(', ')}`);
  for (let i = 0; i < 3; i++) {
    r = await fetchUntil(d, alice, served(alice));
    t.is(one(r['json.alice_exec.v']), '"alice"', "alice's command still serves alice's values");
    t.is(one(r['json.alice_file.v']), '"alice"', "alice's data file still holds alice's values");
  }
  t.is(fs.readFileSync(cache, 'utf8'), '{"v": "alice"}');
  t.is(fs.statSync(cache).uid, u.alice.uid, "alice's file still belongs to alice");
  t.false(fs.existsSync(path.join(aliceFile, 'new.json')));
});

rootTest("a trusted source's command runs as root", async (t) => {
  const s = world();
  const dir = s.source('root_id', ID_META(), undefined, { under: s.trusted });
  fs.writeFileSync(path.join(dir, 'id.sh'), ID_SH);
  const d = await session(t, s);
  const r = await fetchUntil(d, ids('root_id'), served(ids('root_id')));
  t.is(one(r['json.root_id.uid']), '0');
  t.is(one(r['json.root_id.gid']), '0');
});

rootTest('a root-owned metadata.json in the untrusted directory is served as nobody: commands and reads', async (t) => {
  const u = ensureUsers();
  const s = world();
  const vault = path.join(s.dir, 'vault');
  fs.mkdirSync(vault, { mode: 0o755 });
  const secret = path.join(vault, 'root-only.json');
  fs.writeFileSync(secret, JSON.stringify({ v: 'root-secret' }), { mode: 0o600 });
  const open = path.join(vault, 'world.json');
  fs.writeFileSync(open, JSON.stringify({ v: 'anyone' }), { mode: 0o644 });
  const V = (p) => ({ 'data-path': p, metrics: [{ name: 'v', pointer: '/v', type: 'string' }] });
  // written by root, in the untrusted directory (a hard link or an
  // administrator's mistake): nothing more than nobody's rights
  const cmd = s.source('rooted_cmd', ID_META());
  fs.writeFileSync(path.join(cmd, 'id.sh'), ID_SH);
  s.source('rooted_secret', V(secret));
  s.source('rooted_open', V(open));
  const d = await session(t, s);
  const names = [...ids('rooted_cmd'), 'json.rooted_secret.v', 'json.rooted_open.v'];
  const r = await fetchUntil(d, names, served([...ids('rooted_cmd'), 'json.rooted_open.v']));
  t.is(one(r['json.rooted_cmd.uid']), String(u.nobody.uid), 'its command runs as nobody');
  t.is(one(r['json.rooted_cmd.gid']), String(u.nobody.gid), "with nobody's group");
  t.deepEqual(groupList(r['json.rooted_cmd.groups']), [u.nobody.gid], 'and no other group');
  t.is(one(r['json.rooted_open.v']), '"anyone"', 'a file nobody may read is served');
  t.regex(r['json.rooted_secret.v']?.error ?? `served ${one(r['json.rooted_secret.v'])}`, /Try again/, 'a root-only file is not');
  t.notRegex(r._out, /root-secret/);
});

rootTest('a metadata.json owned by a uid with no passwd entry: its command runs as that uid, with nobody\'s gid and no supplementary groups', async (t) => {
  const u = ensureUsers();
  const s = world();
  const stranger = ghost(GHOST_UID);
  userSource(s, stranger, 'ghost_id', ID_META(), undefined, { files: { 'id.sh': ID_SH } });
  // a file only that uid may read is its own
  userSource(s, stranger, 'ghost_file', { metrics: [{ name: 'v', pointer: '/v', type: 'string' }] });
  writeAs(stranger, path.join(s.src, 'ghost_file', 'data.json'), { v: 'ghost' }, 0o600);
  const d = await session(t, s);
  const names = [...ids('ghost_id'), 'json.ghost_file.v'];
  const r = await fetchUntil(d, names, served(names));
  t.is(one(r['json.ghost_id.uid']), String(GHOST_UID), 'the command runs as the uid that owns metadata.json');
  t.is(one(r['json.ghost_id.gid']), String(u.nobody.gid), "with the nobody account's gid");
  t.deepEqual(groupList(r['json.ghost_id.groups']), [u.nobody.gid], 'and no supplementary groups');
  t.is(one(r['json.ghost_file.v']), '"ghost"', 'its own 0600 file is read');
});

/**
 * A root-only directory in `s` holding exists.json (which anyone could
 * read, were the directory open): its path and that of a file it lacks.
 */
function rootOnlyFiles(s) {
  const vault = path.join(s.dir, 'vault');
  fs.mkdirSync(vault, { mode: 0o700 });
  fs.chmodSync(vault, 0o700);
  fs.writeFileSync(path.join(vault, 'exists.json'), JSON.stringify({ v: 'hidden' }), { mode: 0o644 });
  return { e: path.join(vault, 'exists.json'), m: path.join(vault, 'missing.json') };
}

/** Three fetches of json.<prefix>_e.v and json.<prefix>_m.v: each one's answers, { e: [...], m: [...] }. */
async function threeFetches(d, prefix) {
  const answers = { e: [], m: [] };
  for (let i = 0; i < 3; i++) {
    const r = await fetchNames(d, [`json.${prefix}_e.v`, `json.${prefix}_m.v`]);
    answers.e.push(r[`json.${prefix}_e.v`]);
    answers.m.push(r[`json.${prefix}_m.v`]);
  }
  return answers;
}

/** Text about source `k` (e or m) with its file, directory and name, and any cluster number, made the same for both. */
const normalizer = (files, dirs, prefix) => (text, k) =>
  text.split(files[k]).join('<FILE>').split(dirs[k]).join('<DIR>').split(`${prefix}_${k}`).join('<NAME>').replace(/cluster \d+/g, 'cluster N');

/** The log lines about source `k`, normalised. */
const logLines = (s, files, dirs, norm, k) => logBody(s.logText()).filter((l) => l.includes(dirs[k]) || l.includes(files[k])).map((l) => norm(l, k));

rootTest('an untrusted user learns nothing about files they cannot read: an existing and a missing file in a root-only directory look the same', async (t) => {
  const u = ensureUsers();
  const s = world();
  const meta = (p) => ({ 'data-path': p, metrics: [{ name: 'v', pointer: '/v', type: 'string' }] });
  const files = rootOnlyFiles(s);
  const dirs = { e: userSource(s, u.alice, 'probe_e', meta(files.e)), m: userSource(s, u.alice, 'probe_m', meta(files.m)) };
  const d = await session(t, s);
  const answers = await threeFetches(d, 'probe');
  t.deepEqual(answers.e, answers.m, 'the fetches answer the same');
  t.regex(answers.e[0]?.error ?? '', /Try again/);
  const ctl = await d.run('fetch json.control.last_error');
  // the control metrics' instances are the sources' clusters
  const cluster = { e: (await pmidOf(d, 'json.probe_e.v')).split('.')[1], m: (await pmidOf(d, 'json.probe_m.v')).split('.')[1] };
  const lastError = (k) => ctl.match(new RegExp(`inst \\[${cluster[k]} or [^\\]]*\\] value (.*)`))?.[1];
  const norm = normalizer(files, dirs, 'probe');
  t.truthy(lastError('e'), `json.control.last_error has the source:\n${ctl}`);
  t.is(norm(lastError('e') ?? '', 'e'), norm(lastError('m') ?? '', 'm'), 'json.control.last_error says the same');
  const lines = (k) => logLines(s, files, dirs, norm, k);
  t.true(lines('e').length > 0, 'the refusal is logged');
  t.deepEqual(lines('e'), lines('m'), 'the log lines differ only by the file name');
  t.notRegex(s.logText() + ctl, /hidden/);
});

rootTest('nor after a first good read: data.json turned into a link to an existing or a missing file in a root-only directory looks the same', async (t) => {
  const u = ensureUsers();
  const s = world();
  const meta = { metrics: [{ name: 'v', pointer: '/v', type: 'string' }] };
  const files = rootOnlyFiles(s);
  const dirs = { e: userSource(s, u.alice, 'late_e', meta, { v: 'mine' }), m: userSource(s, u.alice, 'late_m', meta, { v: 'mine' }) };
  const d = await session(t, s);
  // read once, as the author's own file: the PMDA knows its stamp now
  const first = await fetchNames(d, ['json.late_e.v', 'json.late_m.v']);
  t.is(one(first['json.late_e.v']), '"mine"');
  for (const k of ['e', 'm']) {
    const data = path.join(dirs[k], 'data.json');
    fs.rmSync(data);
    fs.symlinkSync(files[k], data);
    fs.lchownSync(data, u.alice.uid, u.alice.gid);
  }
  const answers = await threeFetches(d, 'late');
  t.deepEqual(answers.e, answers.m, 'the fetches answer the same');
  t.regex(answers.e[0]?.error ?? '', /Try again/);
  const norm = normalizer(files, dirs, 'late');
  const lines = (k) => logLines(s, files, dirs, norm, k);
  t.true(lines('e').length > 0, 'the refusal is logged');
  t.deepEqual(lines('e'), lines('m'), 'the log lines differ only by the file name');
  t.notRegex(s.logText(), /hidden/);
});
