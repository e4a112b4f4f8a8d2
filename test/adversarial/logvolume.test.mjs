// Issue 9, contract 6: the log's volume is bounded per author and in total
// -- log_user_lines lines a minute per author (60), log_lines a minute in
// all (600), and past log_max_bytes (10 MiB) the file stops growing but
// for one line saying so. What is held back is said to be suppressed, and
// one user's flood leaves room for another user's first problem.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { IS_ROOT, untrustedWorld, ensureUsers, ghost, userSource, writeAs, session, size, fetchNames } from './users.mjs';

const serial = IS_ROOT ? test.serial : test.serial.skip;

const world = (config = {}) => untrustedWorld('adv-logvol', config);

const V = { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] };
const KiB = 1024;

/** After a flood by alice: bob's first problem still gets its line. */
async function bobStillHeard(t, s, d) {
  const u = ensureUsers();
  const dir = userSource(s, u.bob, 'bob_broken', V, '{"v": ');
  const r = await fetchNames(d, ['json.bob_broken.v']);
  t.regex(r['json.bob_broken.v']?.error ?? 'no answer', /Try again/);
  t.true(s.logText().split('\n').some((l) => l.includes(path.join(dir, 'data.json'))), "bob's first problem is logged while alice floods");
}

function grewBy(t, s, before, limit, what) {
  const grown = size(s.log) - before;
  t.log(`${what}: the log grew by ${grown} bytes`);
  t.true(grown < limit, `${what} grew the log by ${grown} bytes (bound ${limit})`);
  t.regex(s.logText(), /suppressed/, 'a line says that lines were suppressed');
}

serial('a metadata.json flipping between valid and invalid at every fetch, 300 fetches: the log grows by less than 16 KiB', async (t) => {
  const u = ensureUsers();
  const s = world();
  const dir = userSource(s, u.alice, 'flap', V, { v: 1 });
  const meta = path.join(dir, 'metadata.json');
  const d = await session(t, s);
  await d.run('fetch json.nsources');
  const before = size(s.log);
  for (let i = 0; i < 300; i++) {
    // each invalid version is invalid differently
    writeAs(u.alice, meta, i % 2 ? `{"metrics": [{"name": "v", "pointer": "/v", "type": "integer"}, ${i}` : JSON.stringify(V));
    const out = await d.run('fetch json.nsources', 10000);
    t.regex(out, /value \d+/, `fetch ${i} answered`);
  }
  grewBy(t, s, before, 16 * KiB, '300 flips of metadata.json');
  await bobStillHeard(t, s, d);
});

serial('20,000 distinct problems (20 sources x 1,000 metrics of the wrong type): the log grows by less than 64 KiB', async (t) => {
  const u = ensureUsers();
  const s = world();
  const metrics = Array.from({ length: 1000 }, (_, k) => ({ name: `m${k}`, pointer: `/m${k}`, type: 'integer' }));
  const data = Object.fromEntries(metrics.map((m, k) => [m.name, `not a number ${k}`]));
  for (let j = 0; j < 20; j++) userSource(s, u.alice, `wrong${j}`, { metrics }, data);
  const d = await session(t, s);
  await d.run('fetch json.nsources');
  const before = size(s.log);
  for (let j = 0; j < 20; j++) {
    for (let k = 0; k < 1000; k += 250) {
      const names = metrics.slice(k, k + 250).map((m) => `json.wrong${j}.${m.name}`);
      const out = await d.run(`fetch ${names.join(' ')}`, 20000);
      t.regex(out, /Missing metric value|No value/i, `source ${j}: the wrong-typed values answer no value`);
    }
  }
  grewBy(t, s, before, 64 * KiB, '20,000 wrong-typed values');
  await bobStillHeard(t, s, d);
});

serial('a source directory added and removed 100 times between fetches: the log grows by less than 32 KiB', async (t) => {
  const u = ensureUsers();
  const s = world();
  userSource(s, u.alice, 'steady', V, { v: 7 });
  const d = await session(t, s);
  await d.run('fetch json.nsources');
  const before = size(s.log);
  // a long name makes long lines: 200 characters, a valid PCP name
  const name = `churn_${'x'.repeat(194)}`;
  for (let i = 0; i < 100; i++) {
    userSource(s, u.alice, name, V, { v: i });
    t.regex(await d.run('fetch json.nsources', 10000), /value 2\n/, `iteration ${i}: the source is there`);
    fs.rmSync(path.join(s.src, name), { recursive: true, force: true });
    t.regex(await d.run('fetch json.nsources', 10000), /value 1\n/, `iteration ${i}: and gone`);
  }
  // the same closing checks as the tests above and the next test's setup, on purpose: each flood reads alone
  grewBy(t, s, before, 32 * KiB, '100 adds and removals');
  await bobStillHeard(t, s, d);
});

serial("log_user_lines: one author's 1,000 distinct problems add at most 60 lines a minute", async (t) => {
  const u = ensureUsers();
  const s = world();
  const metrics = Array.from({ length: 1000 }, (_, k) => ({ name: `m${k}`, pointer: `/m${k}`, type: 'integer' }));
  const dir = userSource(s, u.alice, 'many', { metrics }, Object.fromEntries(metrics.map((m, k) => [m.name, `nan ${k}`])));
  const d = await session(t, s);
  await d.run('fetch json.nsources');
  const before = s.logText().split('\n').filter((l) => l.includes(dir)).length;
  for (let k = 0; k < 1000; k += 250) await d.run(`fetch ${metrics.slice(k, k + 250).map((m) => `json.many.${m.name}`).join(' ')}`, 20000);
  const lines = s.logText().split('\n').filter((l) => l.includes(dir)).length - before;
  t.log(`1,000 problems of one author: ${lines} log lines about the source`);
  t.true(lines <= 61, `${lines} lines about alice's source in well under a minute (log_user_lines 60)`);
});

serial('log_lines bounds the log in total: 15 authors with 100 problems each, each within their own share, add at most about 600 lines', async (t) => {
  // authors are uids: these have no passwd entry, each is an author of its own
  const authors = Array.from({ length: 15 }, (_, k) => ghost(54400 + k));
  const s = world();
  const metrics = Array.from({ length: 100 }, (_, k) => ({ name: `m${k}`, pointer: `/m${k}`, type: 'integer' }));
  authors.forEach((a, j) => userSource(s, a, `crowd${j}`, { metrics }, Object.fromEntries(metrics.map((m, k) => [m.name, `nan ${k}`]))));
  const d = await session(t, s);
  await d.run('fetch json.nsources');
  const before = s.logText().split('\n').length;
  for (let j = 0; j < authors.length; j++) {
    t.regex(await d.run(`fetch ${metrics.map((m) => `json.crowd${j}.${m.name}`).join(' ')}`, 20000), /Missing metric value/);
  }
  const added = s.logText().split('\n').length - before;
  t.log(`15 authors x 100 problems: ${added} log lines`);
  // 600 a minute in all (15 x 60 would be 900), and a few lines saying what was suppressed
  t.true(added <= 630, `the log grew by ${added} lines (log_lines 600 a minute)`);
  t.regex(s.logText(), /suppressed/);
});

serial('past log_max_bytes the log stops growing, but for one line saying so', async (t) => {
  const u = ensureUsers();
  const limit = 32 * KiB;
  // the rate limits are set out of the way: only the size bound is tested
  const s = world({ log_max_bytes: limit, log_user_lines: 1000000, log_lines: 1000000 });
  const metrics = Array.from({ length: 1000 }, (_, k) => ({ name: `m${k}`, pointer: `/m${k}`, type: 'integer' }));
  for (let j = 0; j < 4; j++) userSource(s, u.alice, `wrong${j}`, { metrics }, Object.fromEntries(metrics.map((m, k) => [m.name, `nan ${k}`])));
  const d = await session(t, s);
  const flood = async (j) => {
    for (let k = 0; k < 1000; k += 250) await d.run(`fetch ${metrics.slice(k, k + 250).map((m) => `json.wrong${j}.${m.name}`).join(' ')}`, 20000);
  };
  await flood(0);
  await flood(1);
  const full = size(s.log);
  t.true(full <= limit + 4200, `the log is ${full} bytes (log_max_bytes ${limit}, plus one line)`);
  await flood(2);
  await flood(3);
  t.is(size(s.log), full, 'more problems add nothing once the log is full');
  t.regex(await d.run('fetch json.nsources'), /value 4\n/, 'the PMDA answers on');
});
