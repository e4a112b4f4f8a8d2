// Issue 21, classes 1 and 2: what one user's instance names do to the
// instance cache file, and so to every source after a restart of the PMDA.
// An attacker (pjx_bob) serves names that pmdaCache's line format cannot
// hold as they are (a carriage return, U+2028, a leading space, a leading
// "[0] " that reads as a key); a victim (pjx_alice) serves a plain
// metric. After the restart, one fetch PDU asks for both.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { IS_ROOT, untrustedWorld, ensureUsers, userSource, session, closeSession, fetchNames, pmidOf, one } from './users.mjs';
import { parseFetch } from '../helpers/harness.mjs';

const serial = IS_ROOT ? test.serial : test.serial.skip;

/** Names that pmdaCache's "NUMBER STAMP [KEY] NAME" line does not give back as they are. */
const HOSTILE = ['x\rA', 'y\u2028B', 'z\u2029C', ' lead', '[0] eth0', '\ttab', 'end\r', 'nl\nin', '"quoted"', 'del\u007f', 'c1\u0085\u009b'];

const ROWS = { metrics: [{ name: 'rows', pointer: '/rows', type: 'array', index: '/i', metrics: [{ name: 'x', pointer: '/x', type: 'integer' }] }] };
const VICTIM = { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] };

/** The attacker's document: each name's value is its place in HOSTILE plus 1000. */
const rows = (names) => JSON.stringify({ rows: names.map((i, k) => ({ i, x: 1000 + k })) });

/** value -> instance id, from one fetch of json.atk.rows.x. */
async function idsByValue(d) {
  const out = await d.run('fetch json.atk.rows.x');
  const r = Object.values(parseFetch(out))[0];
  if (!r?.values) return { error: r?.error ?? out.slice(0, 300) };
  return Object.fromEntries(r.values.map((v) => [v.value, v.inst]));
}

function world(t) {
  const u = ensureUsers();
  const s = untrustedWorld('adv-restart');
  t.teardown(() => s.cleanup());
  userSource(s, u.bob, 'atk', ROWS, rows(HOSTILE));
  userSource(s, u.alice, 'vic', VICTIM, { v: 111 });
  return { u, s };
}

/** A dbpmda session on `s` whose teardown leaves the scratch world for the next one. */
async function start(t, s) {
  return session(t, s, { cleanup: false });
}

serial('a restart after hostile instance names: the victim keeps its value in every PDU, and the attacker cannot bind it to its record', async (t) => {
  const { s } = world(t);
  let d = await start(t, s);
  const before = await fetchNames(d, ['json.vic.v', 'json.atk.rows.x']);
  t.is(one(before['json.vic.v']), '111', 'the victim is served before the restart');
  t.truthy(before['json.atk.rows.x']?.values, 'the attacker is served before the restart');
  await closeSession(d);

  // the restart: a new PMDA reads the caches written by the first
  d = await start(t, s);
  const times = [];
  for (let n = 0; n < 4; n++) {
    // the victim's metric first, then the attacker's, then the victim's again: one PDU
    const r = await fetchNames(d, ['json.vic.v', 'json.atk.rows.x', 'json.vic.v']);
    times.push(Math.round(r._ms));
    t.is(one(r['json.vic.v']), '111', `fetch ${n} after the restart: the victim's metric answers its own value (${r._out?.slice(0, 400)})`);
    t.falsy(r['json.vic.v']?.error, `fetch ${n}: the victim's metric answers no error`);
  }
  // the whole namespace at once, as pminfo -f json asks
  const all = await d.run('fetch json.vic.v json.atk.rows.x json.nsources');
  t.notRegex(all, /PDU|Try again.*\n.*Try again.*\n.*Try again/, 'a fetch of everything is answered');
  t.regex(all, /value 111/);
  // the log has no raw control character from the names, and no line repeated at every fetch
  const log = fs.readFileSync(s.log);
  t.false(log.includes(0x0d), 'no raw carriage return in the log');
  t.false(log.includes(Buffer.from('\u2028')), 'no raw U+2028 in the log');
  t.log(`fetches after the restart: ${times.join(', ')} ms; json.log ${log.length} bytes`);
  const lines = log.toString('utf8').split('\n').filter((l) => /137\.\d+/.test(l) && /illegal|cannot read|skipp/i.test(l));
  t.true(lines.length <= 1, `at most one line about the cache file: ${JSON.stringify(lines)}`);
});

serial('every instance name the PMDA serves comes back from its cache file: ids do not move across a restart', async (t) => {
  const { s } = world(t);
  let d = await start(t, s);
  const before = await idsByValue(d);
  t.falsy(before.error, `served before the restart: ${before.error}`);
  const cluster = Number((await pmidOf(d, 'json.atk.rows.x')).split('.')[1]);
  await closeSession(d);
  const file = path.join(s.var, 'config', 'pmda', `137.${2 * cluster}`);
  t.true(fs.existsSync(file), 'the attacker\'s instance cache was written');

  // the restart, with the attacker's names in the opposite order: a fresh
  // numbering would give them other ids
  fs.writeFileSync(path.join(s.src, 'atk', 'data.json'), rows([...HOSTILE].reverse()).replace(/"x":1(\d{3})/g, (_m, k) => `"x":${1000 + HOSTILE.length - 1 - Number(k)}`));
  d = await start(t, s);
  const after = await idsByValue(d);
  t.falsy(after.error, `served after the restart: ${after.error}`);
  for (let k = 0; k < HOSTILE.length; k++) {
    t.is(after[String(1000 + k)], before[String(1000 + k)], `${JSON.stringify(HOSTILE[k])} keeps its instance id`);
  }
  // no name added twice to the file: one line per name, plus the header
  const text = fs.readFileSync(file, 'utf8');
  const served = Object.keys(before).length;
  t.true(served >= HOSTILE.length - 1, `${served} of the ${HOSTILE.length} names are served (a newline is refused)`);
  t.is(text.trimEnd().split('\n').length, 1 + served, `one line per name served:\n${JSON.stringify(text)}`);
});

serial('a cache file with a line that cannot be read: logged once, skipped, the other names keep their ids and every source answers', async (t) => {
  const { s } = world(t);
  let d = await start(t, s);
  const before = await idsByValue(d);
  t.falsy(before.error);
  const cluster = Number((await pmidOf(d, 'json.atk.rows.x')).split('.')[1]);
  await closeSession(d);
  const file = path.join(s.var, 'config', 'pmda', `137.${2 * cluster}`);
  // a line that no writer of this format makes, between good ones
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.splice(2, 0, 'garbage\r\u2028 line');
  fs.writeFileSync(file, lines.join('\n'));
  d = await start(t, s);
  for (let n = 0; n < 3; n++) {
    const r = await fetchNames(d, ['json.vic.v', 'json.atk.rows.x']);
    t.is(one(r['json.vic.v']), '111', `fetch ${n}: the victim answers`);
    t.truthy(r['json.atk.rows.x']?.values, `fetch ${n}: the attacker's source answers too`);
  }
  const after = await idsByValue(d);
  for (let k = 0; k < HOSTILE.length; k++) t.is(after[String(1000 + k)], before[String(1000 + k)], `${JSON.stringify(HOSTILE[k])} keeps its id`);
  const log = fs.readFileSync(s.log, 'utf8');
  t.log(`json.log ${Buffer.byteLength(log)} bytes after 4 fetches`);
  const about = log.split('\n').filter((l) => l.includes(file));
  t.is(about.length, 1, `one log line names the cache file: ${JSON.stringify(about)}`);
  t.false(Buffer.from(log).includes(0x0d), 'the bad line is logged escaped');
});
