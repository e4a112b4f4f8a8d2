// Numbering (src/pmda/numbering/numbering.ts) alone: a source's instance
// numbers (InstanceNumbers: activate, the first-word clash, the bound,
// the cull, save and load), its metric numbers (metricNumbers, and the
// descriptors each item is served with: a changed one gets a new item)
// and the pmdaCache-backed NameCache, each running out with a NumberingError.
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
const { native, C } = require('../../dist/pmda/native.js');
const { InstanceNumbers, NameCache, NumberingError, metricNumbers, loadMetricNumbers, metricCacheSerial, MAX_ITEM } = require('../../dist/pmda/numbering/numbering.js');
const { parseCacheFile } = require('../../dist/pmda/numbering/cachefile.js');
const { parseDescFile, parseDescriptors, INDOM_NULL } = require('../../dist/pmda/numbering/descriptors.js');
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

// descriptors as the shim gets them: PM_TYPE_64 2, PM_TYPE_DOUBLE 5; PM_SEM_INSTANT 3, PM_SEM_COUNTER 1
/** @typedef {[number, number, number, number, number, number]} Units */
/** @type {Units} */
const NONE = [0, 0, 0, 0, 0, 0];
/** @type {Units} */
const KBYTE_PER_SEC = [1, -1, 0, 1, 3, 0];
const INT = { type: 2, sem: 3, indom: INDOM_NULL, units: NONE };
const DOUBLE = { ...INT, type: 5 };
const cacheOf = (cluster) => parseCacheFile(fs.readFileSync(fileOf(metricCacheSerial(cluster)), 'utf8')).entries.map((e) => [e.inst, e.name]);
/** The records of `cluster` in the domain's descriptors file. */
const descsOf = (cluster) => {
  const { records, problems } = parseDescriptors(fs.readFileSync(fileOf('descriptors'), 'utf8'));
  return { records: records.get(cluster) ?? new Map(), problems };
};

test('serve: a name keeps its item while its descriptor is the same; a changed one gets a new item, the old one is retired for good', (t) => {
  const cluster = 310;
  const m = metricNumbers(cluster);
  t.deepEqual(m.serve('a', INT), { item: 0 });
  t.deepEqual(m.serve('b', INT), { item: 1 });
  t.deepEqual(m.serve('a', INT), { item: 0 });
  // help text is no part of a descriptor; the units array may be another one of the same numbers
  t.deepEqual(m.serve('a', { ...INT, units: /** @type {Units} */ ([...NONE]) }), { item: 0 });
  const changed = m.serve('a', DOUBLE);
  t.is(changed.item, 2);
  t.is(changed.changed, `changed its type from integer to double: served under a new PMID ${DOMAIN}.${cluster}.2 (the old one, ${DOMAIN}.${cluster}.0, is no longer served)`);
  t.deepEqual(m.serve('a', DOUBLE), { item: 2 }, 'said once');
  t.is(m.lookup('a'), 2);
  // the retired item is never given out again, to a new name or to an old one
  t.deepEqual(m.serve('c', INT), { item: 3 });
  const units = m.serve('b', { ...INT, sem: 1, units: KBYTE_PER_SEC });
  t.is(units.item, 4);
  t.regex(units.changed, /^changed its semantics from instant to counter and its units from 'none' to 'Kbyte \/ sec': served under a new PMID \d+\.310\.4 \(the old one, \d+\.310\.1,/);
  const indom = native.indom(2 * cluster) >>> 0;
  t.regex(m.serve('c', { ...INT, indom }).changed ?? '', new RegExp(`^changed its instance domain from PM_INDOM_NULL \\(a single value\\) to ${DOMAIN}\\.620 \\(an array member\\)`));
  m.save();
  t.deepEqual(cacheOf(cluster), [[0, '~retired:0:a'], [1, '~retired:1:b'], [2, 'a'], [3, '~retired:3:c'], [4, 'b'], [5, 'c']]);
  // what each item was served with, the retired ones too
  const { records, problems } = descsOf(cluster);
  t.deepEqual(problems, []);
  t.deepEqual([...records.keys()], [0, 1, 2, 3, 4, 5]);
  t.deepEqual(records.get(0), INT);
  t.deepEqual(records.get(2), DOUBLE);
  t.deepEqual(records.get(5), { ...INT, indom });
});

test('serve on a cache pmdajson wrote (no descriptor records): every name keeps its item, nothing is said; a later change is seen', (t) => {
  const cluster = 311;
  fs.writeFileSync(fileOf(metricCacheSerial(cluster)), '2 0 1023\n0 1700000000 b\n1 1700000000 a\n2 1700000000 arr.v\n3 1700000000 arr\n');
  const m = metricNumbers(cluster);
  t.deepEqual(m.serve('a', DOUBLE), { item: 1 });
  t.deepEqual(m.serve('b', INT), { item: 0 });
  t.deepEqual(m.serve('arr.v', { ...INT, indom: native.indom(2 * cluster) >>> 0 }), { item: 2 });
  t.is(m.number('arr'), 3, 'an array\'s own name is numbered, never served');
  m.save();
  t.deepEqual([...descsOf(cluster).records.keys()], [0, 1, 2], 'the records are written');
  t.deepEqual(cacheOf(cluster), [[0, 'b'], [1, 'a'], [2, 'arr.v'], [3, 'arr']], 'pmdajson\'s lines are as they were');
  t.is(m.serve('a', INT).item, 4);
});

test('serve: a changed descriptor with no item left is a NumberingError; the name keeps its item and its descriptor', (t) => {
  const m = metricNumbers(312);
  for (let i = 0; i <= MAX_ITEM; i++) t.is(m.serve(`m${i}`, INT).item, i);
  const e = t.throws(() => m.serve('m5', DOUBLE), { instanceOf: NumberingError });
  t.regex(e.message, /^it changed its type from integer to double, and no item is left for a new PMID \(its PMID \d+\.312\.5 is not served with another descriptor\)$/);
  t.is(m.lookup('m5'), 5);
  t.deepEqual(m.serve('m5', INT), { item: 5 });
});

test('pmdaCache (the python pmdajson) reads a metric cache with retired items and keeps every number; numbers new names past them', (t) => {
  const cluster = 313;
  const m = metricNumbers(cluster);
  m.serve('a', INT);
  m.serve('b', INT);
  m.serve('a', DOUBLE);
  m.save();
  const s = metricCacheSerial(cluster);
  native.cacheResize(s, MAX_ITEM);
  native.cacheOp(s, C.PMDA_CACHE_LOAD);
  const [insts, names] = native.cacheEntries(s);
  t.deepEqual([[...insts], names.split('\0')], [[0, 1, 2], ['~retired:0:a', 'b', 'a']]);
  t.is(native.cacheStore(s, C.PMDA_CACHE_ADD, 'c'), 3);
});

test('records of version 1 (DOMAIN.SERIAL.desc beside a metric cache) are kept, read alone or in a batch: a changed descriptor gets a new item; they go into the domain\'s file, no per-source file is written', (t) => {
  for (const [cluster, load] of /** @type {Array<[number, boolean]>} */ ([[314, false], [315, true]])) {
    const s = metricCacheSerial(cluster);
    fs.writeFileSync(fileOf(s), '2 0 1023\n0 1700000000 a\n1 1700000000 b\n');
    fs.writeFileSync(`${fileOf(s)}.desc`, 'pmda-json descriptors 1\n0 2 3 null 0 0 0 0 0 0\n1 2 3 null 0 0 0 0 0 0\n');
    if (load) loadMetricNumbers([cluster]);
    const m = metricNumbers(cluster);
    t.deepEqual(m.serve('b', INT), { item: 1 });
    t.is(m.serve('a', DOUBLE).item, 2, 'a was served as an integer: as a double it gets a new item');
    m.save();
    const { records } = descsOf(cluster);
    t.deepEqual([...records.keys()], [0, 1, 2]);
    t.deepEqual(records.get(0), INT);
    t.deepEqual(records.get(2), DOUBLE);
  }
  const fresh = metricNumbers(316);
  fresh.serve('a', INT);
  fresh.save();
  t.deepEqual(descsOf(316).records.get(0), INT);
  t.false(fs.existsSync(`${fileOf(metricCacheSerial(316))}.desc`));
});

test('the domain\'s descriptors file: lines by cluster and item; lines that cannot be read are skipped and reported', (t) => {
  const { records, problems } = parseDescriptors('pmda-json descriptors 2\n3 0 2 3 null 0 0 0 0 0 0\n3 1 5 x null 0 0 0 0 0 0\n4 2 6 4 250.8 1 -1 0 2 3 0\n0 2 3 null 0 0 0 0 0 0\n');
  t.deepEqual(problems, [[3, 'illegal record'], [5, 'illegal record']]);
  t.deepEqual(records.get(3)?.get(0), INT);
  t.deepEqual(records.get(4)?.get(2), { type: 6, sem: 4, indom: native.indom(8) >>> 0, units: [1, -1, 0, 2, 3, 0] });
  t.deepEqual(parseDescriptors('pmda-json descriptors 1\n0 2 3 null 0 0 0 0 0 0\n').problems, [[1, 'illegal header']]);
});

test('a descriptors file\'s lines that cannot be read are skipped and reported; the others are read', (t) => {
  const text = 'pmda-json descriptors 1\n0 2 3 null 0 0 0 0 0 0\n1 5 x null 0 0 0 0 0 0\n2 6 4 250.8 1 -1 0 2 3 0\n3 2 3 null 0 0\n';
  const { records, problems } = parseDescFile(text);
  t.deepEqual(problems, [[3, 'illegal record'], [5, 'illegal record']]);
  t.deepEqual(records.get(0), INT);
  t.deepEqual(records.get(2), { type: 6, sem: 4, indom: native.indom(8) >>> 0, units: [1, -1, 0, 2, 3, 0] });
  t.deepEqual(parseDescFile('2 0 1023\n0 1 a\n').problems, [[1, 'illegal header']]);
});

test('the domain\'s descriptors file read a cluster at a time (DescStore) has the records that reading it whole has', (t) => {
  const { DescStore } = require('../../dist/pmda/numbering/descriptors.js');
  const text = [
    'pmda-json descriptors 2',
    '3 0 2 3 null 0 0 0 0 0 0',
    'no space here',
    ' 3 1 5 3 null 0 0 0 0 0 0',
    '4 2 6 4 250.8 1 -1 0 2 3 0',
    '3 0 5 3 null 0 0 0 0 0 0',
    '',
    '0x4 7 2 3 null 0 0 0 0 0 0',
    '12 1 2 3 null 0 0 0 0 0 0',
    '4 3 x null 0 0 0 0 0 0\r',
    '',
  ].join('\n');
  const file = path.join(dir, 'descstore.descriptors');
  fs.writeFileSync(file, text);
  const whole = parseDescriptors(text).records;
  const store = new DescStore(file);
  const plain = (m) => (m ? [...m.entries()] : []);
  for (const c of [0, 3, 4, 12]) t.deepEqual(plain(store.of(c, path.join(dir, 'none.desc'))), plain(whole.get(c)), `cluster ${c}`);
  t.deepEqual(plain(store.of(3, 'none')).map(([item, d]) => [item, d.type]), [[0, 5]], 'the last line of an item counts');
});

test('a DescStore that parsed some clusters writes every cluster back, in cluster order or not', (t) => {
  const { DescStore } = require('../../dist/pmda/numbering/descriptors.js');
  const lines = ['1 0 2 3 null 0 0 0 0 0 0', '1 1 5 3 null 0 0 0 0 0 0', '2 0 2 3 null 0 0 0 0 0 0', '7 0 6 4 250.8 1 -1 0 2 3 0', '7 3 2 3 null 0 0 0 0 0 0', '9 0 2 3 null 0 0 0 0 0 0'];
  for (const [how, order] of /** @type {Array<[string, string[]]>} */ ([['in order', lines], ['out of order', [...lines].reverse()]])) {
    const text = ['pmda-json descriptors 2', ...order, ''].join('\n');
    const file = path.join(dir, `descstore-${how.replace(/ /g, '-')}.descriptors`);
    fs.writeFileSync(file, text);
    const store = new DescStore(file);
    t.false(store.has(3), `${how}: a cluster it has no line of`);
    t.deepEqual([...store.of(7, 'none').keys()].sort(), [0, 3], `${how}: cluster 7`);
    t.true(store.has(9), `${how}: cluster 9`);
    store.of(7, 'none').set(5, store.of(7, 'none').get(0));
    store.changed();
    store.save();
    const back = parseDescriptors(fs.readFileSync(file, 'utf8'));
    t.deepEqual(back.problems, [], how);
    t.deepEqual([...back.records.keys()], [1, 2, 7, 9], `${how}: every cluster written back`);
    t.deepEqual([...back.records.get(7).keys()], [0, 3, 5], `${how}: the changed cluster`);
    t.deepEqual([...back.records.get(1).keys()], [0, 1], `${how}: a cluster never asked for`);
  }
});

test('a DescStore read a cluster at a time, in any order of asking, has the records that reading the file whole has (200 seeded files: in cluster order, shuffled, with bad lines)', (t) => {
  const { DescStore } = require('../../dist/pmda/numbering/descriptors.js');
  let seed = 26;
  const rand = (n) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  const plain = (m) => (m ? [...m.entries()].sort((a, b) => a[0] - b[0]) : []);
  for (let f = 0; f < 200; f++) {
    const lines = [];
    for (let c = 0, clusters = 1 + rand(12); c < clusters; c++) {
      const cluster = rand(40);
      for (let i = 0, items = 1 + rand(4); i < items; i++) lines.push(`${cluster} ${rand(6)} ${[2, 5][rand(2)]} 3 null 0 0 0 0 0 0`);
    }
    lines.sort((a, b) => Number(a.split(' ')[0]) - Number(b.split(' ')[0]));
    if (f % 3 === 1) lines.reverse();
    if (f % 3 === 2) for (let i = lines.length - 1; i > 0; i--) { const j = rand(i + 1); [lines[i], lines[j]] = [lines[j], lines[i]]; }
    if (f % 4 === 3) lines.splice(rand(lines.length + 1), 0, ['x 1 2 3 null 0 0 0 0 0 0', '7 1 2', ''][rand(3)]);
    const text = ['pmda-json descriptors 2', ...lines, ''].join('\n');
    const file = path.join(dir, `descstore-seeded-${f}.descriptors`);
    fs.writeFileSync(file, text);
    const whole = parseDescriptors(text).records;
    const store = new DescStore(file);
    const asked = Array.from({ length: 20 }, () => rand(42));
    for (const c of asked) {
      const want = plain(whole.get(c));
      t.deepEqual(store.has(c) ? plain(store.of(c, 'none')) : [], want, `file ${f}, cluster ${c}`);
    }
    store.changed();
    store.save();
    const back = parseDescriptors(fs.readFileSync(file, 'utf8')).records;
    t.deepEqual([...back.keys()].sort((a, b) => a - b), [...whole.keys()].sort((a, b) => a - b), `file ${f}: every cluster written back`);
    for (const c of whole.keys()) t.deepEqual(plain(back.get(c)), plain(whole.get(c)), `file ${f}, cluster ${c} written back`);
  }
});
