// Issue 21, class 3: JSON Schema sources must not stall the PMDA. A
// schema.json in the world-writable directory is untrusted input: its
// patterns, its "uniqueItems" and its $refs are the author's, and none of
// them may hold the PMDA past pmcd's 5 s or take another user's fetch
// with it. Each attack is a source of pjx_alice; pjx_bob's plain source is
// fetched in the same PDU.
//   (a) a "pattern" (or "patternProperties") that backtracks and that
//       V8's linear-time fallback cannot run (lookahead, backreference)
//   (b) "uniqueItems" over 200,000 untyped items (ajv compares every pair)
//   (c) $refs that double at every level: 2^20 metrics from 2.5 KB
//   (d) allOf over allOf, doubling the checks at each level: 2^30 checks
//       of one integer
import test from 'ava';
import path from 'node:path';
import { IS_ROOT, untrustedWorld, ensureUsers, userSource, session, fetchNames, pmdaPid, rss, pmidOf } from './users.mjs';

const serial = IS_ROOT ? test.serial : test.serial.skip;
/** pmcd drops an agent that takes 5 s; what every fetch must answer within. */
const PMCD_MS = 5000;
/** How long a test waits for a fetch before it counts as a hang. */
const HANG_MS = 12000;

const world = () => untrustedWorld('adv-schema');

/** A schema source of `user`: schema.json and data.json, owned by them. */
function schemaSource(s, user, name, schema, data) {
  return userSource(s, user, name, undefined, data, { files: { 'schema.json': schema } });
}

/** Bob's plain source, served beside every attack. */
function steady(s, u) {
  userSource(s, u.bob, 'steady', { metrics: [{ name: 'n', pointer: '/n', type: 'integer' }] }, { n: 7 });
  return 'json.steady.n';
}

/** Log lines (time stamps and all) that hold every one of `needles`. */
const linesWith = (s, ...needles) => s.logText().split('\n').filter((l) => needles.every((n) => l.includes(n)));

/**
 * Fetch `names` in one PDU `times` times: each answers within 5 s, bob's
 * value is served and each of `attacks` answers Try again. The fetch times.
 */
async function underAttack(t, d, bob, attacks, times = 3) {
  const ms = [];
  for (let i = 0; i < times; i++) {
    const r = await fetchNames(d, [...attacks, bob], HANG_MS);
    ms.push(Math.round(r._ms));
    if (!t.true(r._ms < PMCD_MS, `fetch ${i} took ${Math.round(r._ms)} ms:\n${String(r._out).slice(0, 500)}`)) break;
    t.deepEqual(r[bob], { values: ['7'] }, `fetch ${i}: bob's source in the same PDU has its value`);
    for (const a of attacks) t.regex(r[a]?.error ?? JSON.stringify(r[a]), /Try again/, `fetch ${i}: ${a} answers Try again`);
  }
  return ms;
}

serial('(a) a pattern with a lookahead and a patternProperties with a backreference: every fetch answers in time, the source answers Try again, one log line names the file and the keyword', async (t) => {
  const u = ensureUsers();
  const s = world();
  const bob = steady(s, u);
  // (a|a)* on 30 a's and a '!' backtracks 2^30 ways; the lookahead and the
  // backreference keep V8 from falling back to its linear-time engine
  const evil = 'a'.repeat(30) + '!';
  const look = schemaSource(s, u.alice, 'look', { type: 'object', properties: { s: { type: 'string', pattern: '^(?=a)(a|a)*$' } } }, { s: evil });
  const back = schemaSource(s, u.alice, 'back', { type: 'object', properties: { s: { type: 'string' } }, patternProperties: { '^(a|a)*\\1$': { type: 'integer' } } }, { s: 'x', [evil]: 1 });
  const d = await session(t, s);
  const ms = await underAttack(t, d, bob, ['json.look.s', 'json.back.s']);
  for (const [dir, keyword] of [[look, '"pattern"'], [back, '"patternProperties"']]) {
    const lines = linesWith(s, path.join(dir, 'schema.json'), keyword);
    t.is(lines.length, 1, `one log line names ${dir}/schema.json and ${keyword}:\n${s.logText().slice(-2000)}`);
    t.log(`${keyword}: log line ${lines[0]?.length} bytes`);
  }
  t.log(`fetch times ${ms.join(', ')} ms; the PMDA's RSS ${rss(pmdaPid(s)) >> 20} MiB`);
});

serial('(b) uniqueItems over 200,000 untyped items: every fetch answers in time, the source answers Try again, one log line names the file and uniqueItems', async (t) => {
  const u = ensureUsers();
  const s = world();
  const bob = steady(s, u);
  // no "items" type: ajv's uniqueItems compares every pair, 2*10^10 of them
  const items = Array.from({ length: 200000 }, (_, i) => (i % 2 ? i : String(i)));
  const dir = schemaSource(s, u.alice, 'uniq', { type: 'object', properties: { n: { type: 'integer' }, list: { type: 'array', uniqueItems: true } } }, { n: 1, list: items });
  // carol's 20,000 distinct objects (2*10^8 pairs for ajv's keyword) are
  // checked in linear time, well within her share of fetch_max_ms, and served
  const fit = Array.from({ length: 20000 }, (_, i) => ({ k: i, v: [i, 'x'] }));
  schemaSource(s, u.carol, 'fits', { type: 'object', properties: { n: { type: 'integer' }, list: { type: 'array', uniqueItems: true } } }, { n: 3, list: fit });
  const d = await session(t, s);
  const ms = await underAttack(t, d, bob, ['json.uniq.n']);
  const lines = linesWith(s, path.join(dir, 'schema.json'), 'uniqueItems');
  t.is(lines.length, 1, `one log line names ${dir}/schema.json and uniqueItems:\n${s.logText().slice(-2000)}`);
  const r = await fetchNames(d, ['json.fits.n', bob], HANG_MS);
  t.true(r._ms < PMCD_MS, `carol's fetch took ${Math.round(r._ms)} ms`);
  t.deepEqual(r['json.fits.n'], { values: ['3'] }, "carol's 20,000 unique items pass uniqueItems");
  t.log(`fetch times ${ms.join(', ')} ms, with 20,000 items checked ${Math.round(r._ms)} ms; the PMDA's RSS ${rss(pmdaPid(s)) >> 20} MiB; log line ${lines[0]?.length} bytes`);
});

serial('(c) a 2.5 KB schema whose $refs double at every level (2^20 metrics) and one whose $refs recurse: refused at discovery with one log line each; the PMDA answers in time and stays small', async (t) => {
  const u = ensureUsers();
  const s = world();
  const bob = steady(s, u);
  const definitions = { d20: { type: 'integer' } };
  for (let i = 0; i < 20; i++) definitions[`d${i}`] = { type: 'object', properties: { a: { $ref: `#/definitions/d${i + 1}` }, b: { $ref: `#/definitions/d${i + 1}` } } };
  const bombSchema = { type: 'object', definitions, properties: { x: { $ref: '#/definitions/d0' } } };
  t.true(JSON.stringify(bombSchema).length < 2600, 'the schema is about 2.5 KB');
  const bomb = schemaSource(s, u.alice, 'bomb', bombSchema, {});
  const loop = schemaSource(s, u.alice, 'loop', { type: 'object', definitions: { node: { type: 'object', properties: { v: { type: 'integer' }, next: { $ref: '#/definitions/node' } } } }, properties: { head: { $ref: '#/definitions/node' } } }, {});
  const started = Date.now();
  const d = await session(t, s);
  const ms = [];
  for (let i = 0; i < 3; i++) {
    const r = await fetchNames(d, [bob], HANG_MS);
    ms.push(Math.round(r._ms));
    t.true(r._ms < PMCD_MS, `fetch ${i} took ${Math.round(r._ms)} ms`);
    t.deepEqual(r[bob], { values: ['7'] }, `fetch ${i}: bob's source has its value`);
  }
  const first = Date.now() - started;
  const peak = rss(pmdaPid(s));
  t.is(await pmidOf(d, `json.bomb.x${'.a'.repeat(20)}`), undefined, 'none of the 2^20 metrics is served');
  t.is(await pmidOf(d, 'json.loop.head.v'), undefined, 'the recursive schema is not served');
  const refused = [linesWith(s, path.join(bomb, 'schema.json'), 'max_metrics'), linesWith(s, path.join(loop, 'schema.json'), 'recurse')];
  t.is(refused[0].length, 1, `one log line names ${bomb}/schema.json and max_metrics:\n${s.logText().slice(-2000)}`);
  t.is(refused[1].length, 1, `one log line names ${loop}/schema.json and its recursion:\n${s.logText().slice(-2000)}`);
  t.true(peak < 200 * 1024 * 1024, `the PMDA's RSS is ${peak >> 20} MiB`);
  t.log(`start to third answer ${first} ms, fetch times ${ms.join(', ')} ms; the PMDA's RSS ${peak >> 20} MiB; log lines ${refused.map((l) => l[0]?.length).join(' and ')} bytes`);
});

serial("(d) allOf that doubles at each of 30 levels (2^30 checks of one integer): each check stops at its author's share of fetch_max_ms; every fetch answers in time, one log line", async (t) => {
  const u = ensureUsers();
  const s = world();
  const bob = steady(s, u);
  const definitions = { d30: { type: 'integer', minimum: 0 } };
  for (let i = 0; i < 30; i++) definitions[`d${i}`] = { allOf: [{ $ref: `#/definitions/d${i + 1}` }, { $ref: `#/definitions/d${i + 1}` }] };
  const dir = schemaSource(s, u.alice, 'fanout', { type: 'object', definitions, properties: { n: { type: 'integer', allOf: definitions.d0.allOf } } }, { n: 1 });
  const d = await session(t, s);
  const ms = await underAttack(t, d, bob, ['json.fanout.n']);
  const lines = linesWith(s, path.join(dir, 'schema.json'), 'did not finish', 'fetch_max_ms');
  t.is(lines.length, 1, `one log line names ${dir}/schema.json and the time it ran out of:\n${s.logText().slice(-2000)}`);
  t.log(`fetch times ${ms.join(', ')} ms (alice's share of fetch_max_ms: 1250 ms); the PMDA's RSS ${rss(pmdaPid(s)) >> 20} MiB; log line ${lines[0]?.length} bytes`);
});
