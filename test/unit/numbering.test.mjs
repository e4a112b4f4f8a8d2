// Numbering (src/pmda/numbering/numbering.ts) alone: a source's instance
// numbers (InstanceNumbers: activate, the first-word clash, the bound,
// the cull, save and load), its metric numbers (metricNumbers) and the
// pmdaCache-backed NameCache, each running out with a NumberingError.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

const require = createRequire(import.meta.url);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmda-json-numbering-'));
// pmdaCache and the cache files find their directory from PCP_VAR_DIR once
process.env.PCP_VAR_DIR = dir;
const files = path.join(dir, 'config', 'pmda');
fs.mkdirSync(files, { recursive: true });
const { native } = require('../../dist/pmda/native.js');
const { InstanceNumbers, NameCache, NumberingError, metricNumbers, metricCacheSerial, MAX_ITEM } = require('../../dist/pmda/numbering/numbering.js');
const { parseCacheFile } = require('../../dist/pmda/numbering/cachefile.js');
const DOMAIN = 250;
native.setDomain(DOMAIN);
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

// one cache per serial: each test its own
let serial = 1000;
const next = () => (serial += 2);
const fileOf = (s) => path.join(files, `${DOMAIN}.${s}`);
const WIDE = { max: 1000, cullSeconds: 3600 };

test('activate numbers new names from 0 and keeps the numbers of names it saw before, when they come back', (t) => {
  const n = new InstanceNumbers(next(), 1000);
  t.deepEqual(n.activate(['a', 'b', 'c'], WIDE), []);
  t.deepEqual([n.lookup('a'), n.lookup('b'), n.lookup('c')], [0, 1, 2]);
  // b leaves the data, d comes: d is new, a and c keep theirs
  t.deepEqual(n.activate(['c', 'd', 'a'], WIDE), []);
  t.deepEqual([n.lookup('a'), n.lookup('c'), n.lookup('d')], [0, 2, 3]);
  t.is(n.lookup('b'), 1, 'a name out of the data keeps its number');
  // b comes back with it
  n.activate(['b'], WIDE);
  t.is(n.lookup('b'), 1);
  t.is(n.size, 4);
  t.deepEqual([...n.entries()], [[0, 'a'], [1, 'b'], [2, 'c'], [3, 'd']]);
});

test('names equal up to the first space are refused, with the reason; the first keeps its number', (t) => {
  const n = new InstanceNumbers(next(), 1000);
  const refused = n.activate(['eth0 up', 'eth0 down', 'lo', 'lo x', 'wlan0 a b', 'wlan0'], WIDE);
  t.deepEqual(refused, [
    ['eth0 down', '\'eth0 up\' is the same up to the first space'],
    ['lo x', '\'lo\' is the same up to the first space'],
    ['wlan0', '\'wlan0 a b\' is the same up to the first space'],
  ]);
  t.is(n.lookup('eth0 up'), 0);
  t.is(n.lookup('eth0 down'), undefined);
  t.is(n.lookup('lo x'), undefined);
  t.is(n.size, 3);
  // names differing before their first space are not a clash
  t.deepEqual(n.activate(['eth0 up', 'eth1 up', 'eth00'], WIDE), []);
  t.is(n.lookup('eth1 up'), 3);
});

test('a name out of the data still stops its first word being reused (it keeps its number for when it comes back)', (t) => {
  const n = new InstanceNumbers(next(), 1000);
  n.activate(['disk sda'], WIDE);
  n.activate(['other'], WIDE);
  const refused = n.activate(['disk sdb'], WIDE);
  t.is(refused.length, 1);
  t.regex(refused[0][1], /'disk sda' is the same up to the first space/);
});

test('at max_cached_instances, room is made by forgetting the names seen longest ago, never names in the data', async (t) => {
  const n = new InstanceNumbers(next(), 1000);
  const bound = { max: 4, cullSeconds: 3600 };
  n.activate(['a', 'b', 'c'], bound);
  await sleep(5);
  n.activate(['a', 'c'], bound); // b last seen now
  await sleep(5);
  n.activate(['c'], bound); // a last seen now, after b
  await sleep(5);
  // 3 known, 2 new, 4 at most: one goes, the one seen longest ago (b, though listed after a)
  t.deepEqual(n.activate(['c', 'd', 'e'], bound), []);
  t.is(n.lookup('b'), undefined, 'b was seen longest ago');
  t.is(n.lookup('a'), 0);
  t.is(n.lookup('c'), 2);
  t.is(n.size, 4);
  t.not(n.lookup('d'), undefined);
  t.not(n.lookup('e'), undefined);
});

test('past max_cached_instances with every name in the data, the new ones are refused with the reason', (t) => {
  const n = new InstanceNumbers(next(), 1000);
  const bound = { max: 2, cullSeconds: 3600 };
  const refused = n.activate(['a', 'b', 'c', 'd'], bound);
  t.deepEqual(refused.map((r) => r[0]), ['c', 'd']);
  t.regex(refused[0][1], /already has 2 instance names \(max_cached_instances\)/);
  t.deepEqual([n.lookup('a'), n.lookup('b')], [0, 1]);
  t.is(n.size, 2);
});

test('cull forgets the names out of the data for longer than instance_cull_seconds, and only those', async (t) => {
  const n = new InstanceNumbers(next(), 1000);
  n.activate(['old', 'kept', 'recent'], WIDE);
  n.activate(['kept', 'recent'], WIDE); // old leaves now
  await sleep(60);
  n.activate(['kept'], WIDE); // recent leaves now
  t.is(n.cull(0.04), 1, 'old was idle 60 ms, past 40 ms; recent was not');
  t.is(n.lookup('old'), undefined);
  t.is(n.lookup('recent'), 2);
  t.is(n.lookup('kept'), 1);
  await sleep(60);
  t.is(n.cull(0.04), 1);
  t.is(n.lookup('recent'), undefined);
  t.is(n.lookup('kept'), 1, 'a name in the data is never culled');
  // a culled name is new when it comes back
  n.activate(['kept', 'old'], WIDE);
  t.is(n.size, 2);
  t.not(n.lookup('old'), undefined);
});

test('activate culls by its bound\'s cullSeconds too', async (t) => {
  const n = new InstanceNumbers(next(), 1000);
  const bound = { max: 1000, cullSeconds: 0.02 };
  n.activate(['gone', 'here'], bound);
  n.activate(['here'], bound);
  await sleep(80);
  n.activate(['here', 'new'], bound);
  t.is(n.lookup('gone'), undefined);
  t.is(n.lookup('here'), 1);
});

test('save, then a new InstanceNumbers on the same serial reads the same numbers back', (t) => {
  const s = next();
  const n = new InstanceNumbers(s, 1000);
  n.activate(['x', 'y z', 'w\rq'], WIDE);
  n.activate(['y z', 'v'], WIDE);
  n.save();
  t.true(fs.existsSync(fileOf(s)), `saved as ${DOMAIN}.${s}`);
  const back = new InstanceNumbers(s, 1000);
  t.deepEqual([...back.entries()], [[0, 'x'], [1, 'y z'], [2, 'w\rq'], [3, 'v']]);
  t.is(back.lookup('w\rq'), 2);
  // what it loaded it keeps: the first-word rule and the next number
  const refused = back.activate(['y other', 'u'], WIDE);
  t.deepEqual(refused.map((r) => r[0]), ['y other']);
  t.is(back.lookup('u'), 4);
  // and a name of another serial is not there
  t.is(new InstanceNumbers(next(), 1000).lookup('x'), undefined);
});

test('names read from the file count as seen when it was loaded: a cull before any activate forgets them once old enough', async (t) => {
  const s = next();
  const n = new InstanceNumbers(s, 1000);
  n.activate(['p', 'q'], WIDE);
  n.save();
  const back = new InstanceNumbers(s, 1000);
  t.is(back.cull(3600), 0);
  await sleep(60);
  t.is(back.cull(0.03), 2);
  t.is(back.size, 0);
});

// numbered name by name like the NameCache test below, on purpose: each kind of cache spells out its own numbers
test('metricNumbers: one per cluster, a name keeps its item, saved to the cluster\'s metric cache file', (t) => {
  const cluster = 300;
  const m = metricNumbers(cluster);
  t.is(metricNumbers(cluster), m, 'one per cluster');
  t.is(m.number('a'), 0);
  t.is(m.number('arr.v'), 1);
  t.is(m.number('a'), 0);
  t.is(m.lookup('arr.v'), 1);
  t.is(m.lookup('absent'), undefined);
  t.is(m.size, 2);
  m.save();
  const text = fs.readFileSync(fileOf(metricCacheSerial(cluster)), 'utf8');
  t.deepEqual(parseCacheFile(text).entries.map((e) => [e.inst, e.name]), [[0, 'a'], [1, 'arr.v']]);
  t.not(metricNumbers(cluster + 1), m);
  t.is(metricNumbers(cluster + 1).lookup('a'), undefined);
});

test('metricNumbers: items run out past MAX_ITEM with a NumberingError; numbered names keep theirs', (t) => {
  const m = metricNumbers(301);
  for (let i = 0; i <= MAX_ITEM; i++) t.is(m.number(`m${i}`), i);
  const e = t.throws(() => m.number('one.too.many'), { instanceOf: NumberingError });
  t.regex(e.message, /cannot number 'one.too.many' in cache \d+: no number is left/);
  t.is(m.number('m7'), 7);
  t.is(m.lookup('one.too.many'), undefined);
});

// numbered name by name like the metricNumbers test above, on purpose: each kind of cache spells out its own numbers
test('NameCache (pmdaCache): a name keeps its number; past its max a NumberingError', (t) => {
  const s = next() + 1;
  const c = new NameCache(s, 2);
  t.is(c.number('a'), 0);
  t.is(c.number('b'), 1);
  t.is(c.number('a'), 0);
  t.is(c.number('c'), 2);
  const e = t.throws(() => c.number('d'), { instanceOf: NumberingError });
  t.regex(e.message, new RegExp(`cannot number 'd' in cache ${s}`));
  t.is(c.size, 3);
  c.save();
  t.deepEqual(parseCacheFile(fs.readFileSync(fileOf(s), 'utf8')).entries.map((x) => x.name), ['a', 'b', 'c']);
});
