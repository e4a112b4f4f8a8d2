// The metric caches are read and written in JavaScript (src/pmda/numbering/cachefile.ts),
// without a pmdaCache indom: they must number names exactly as libpcp_pmda's
// pmdaCache does, including when the numbers run out, and each must load
// the files of the other.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmda-json-cachefile-'));
// pmdaCache finds its directory from PCP_VAR_DIR once, at its first save
process.env.PCP_VAR_DIR = dir;
const files = path.join(dir, 'config', 'pmda');
fs.mkdirSync(files, { recursive: true });
const { native, C } = require('../../dist/pmda/native.js');
const { CacheFile, parseCacheFile } = require('../../dist/pmda/numbering/cachefile.js');
const DOMAIN = 249;
native.setDomain(DOMAIN);
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

let serial = 100;

/** Number `names` with libpcp's pmdaCache (bounded by `max`), save, and return its numbers and file. */
function withPmdaCache(names, max, from) {
  const s = serial++;
  if (from) fs.writeFileSync(path.join(files, `${DOMAIN}.${s}`), from);
  native.cacheResize(s, max);
  native.cacheOp(s, C.PMDA_CACHE_LOAD);
  const numbers = names.map((n) => native.cacheStore(s, C.PMDA_CACHE_ADD, n));
  native.cacheOp(s, C.PMDA_CACHE_SAVE);
  return { numbers, text: fs.readFileSync(path.join(files, `${DOMAIN}.${s}`), 'utf8') };
}

/** The same with CacheFile. */
function withCacheFile(names, max, from) {
  const file = path.join(files, `js.${serial++}`);
  if (from) fs.writeFileSync(file, from);
  const c = new CacheFile(file, max);
  const numbers = names.map((n) => c.number(n) ?? -1);
  c.save();
  return { numbers, text: fs.readFileSync(file, 'utf8') };
}

// the times at which names were first saved differ; everything else must not
const noStamps = (text) => text.replace(/^(\d+) \d+ /gm, '$1 ');

test('new names get the numbers pmdaCache gives them, in a file of the same text', (t) => {
  const names = ['m0', 'm1', 'a0.v0', 'a0.v1', 'a0', 'name with spaces', 'é'];
  const c = withPmdaCache(names, 1023);
  const js = withCacheFile(names, 1023);
  t.deepEqual(js.numbers, c.numbers);
  t.is(noStamps(js.text), noStamps(c.text));
  t.deepEqual(js.numbers, [0, 1, 2, 3, 4, 5, 6]);
});

test('each loads the other\'s file and numbers what is new after its numbers', (t) => {
  const first = ['x', 'y', 'z'];
  const later = ['y', 'w', 'x', 'v'];
  const fromC = withPmdaCache(first, 1023);
  const fromJs = withCacheFile(first, 1023);
  t.deepEqual(withCacheFile(later, 1023, fromC.text).numbers, withPmdaCache(later, 1023, fromC.text).numbers);
  t.deepEqual(withPmdaCache(later, 1023, fromJs.text).numbers, [1, 3, 0, 4]);
  t.deepEqual(withCacheFile(later, 1023, fromJs.text).numbers, [1, 3, 0, 4]);
});

test('past the largest number, the smallest free one is taken, as pmdaCache does; then none is left', (t) => {
  // a file whose numbers have gaps, at the top of a small range
  const gappy = '2 0 7\n0 1700000000 a\n2 1700000000 b\n6 1700000000 c\n7 1700000000 d\n';
  const names = ['e', 'f', 'g', 'h', 'i', 'j'];
  const c = withPmdaCache(names, 7, gappy);
  const js = withCacheFile(names, 7, gappy);
  t.deepEqual(js.numbers.slice(0, 4), c.numbers.slice(0, 4));
  t.deepEqual(js.numbers.slice(0, 4), [1, 3, 4, 5]);
  t.is(js.numbers[4], -1, 'no number is left');
  t.is(noStamps(js.text).split('\n')[0], noStamps(c.text).split('\n')[0], 'the header says mode 1 in both');
  t.deepEqual(parseCacheFile(js.text).entries.map((e) => e.inst), [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('lines pmdaCache would refuse are skipped and reported, never thrown; the others are read', (t) => {
  t.deepEqual(parseCacheFile('9 0 10\n').problems, [[1, 'illegal header']]);
  const c = parseCacheFile('2 0 10\n0 1 a\nnot a record\n1 1 b\n2 1 [6a736f6e] "unclosed\n1 1 c\n');
  t.deepEqual(c.entries.map((e) => [e.inst, e.name]), [[0, 'a'], [1, 'b']]);
  t.deepEqual(c.problems, [[3, 'illegal record'], [5, 'illegal record'], [6, 'number 1 is given twice']]);
});

// names that pmdaCache's line cannot hold as they are (issue 21)
const HOSTILE = ['x\rA', 'y\u2028B', ' lead', '[0] eth0', '[6a736f6e] "k"', '\ttab', 'end\r', 'nl\nin', 'nul\u0000in', '', 'del\u007f', 'c1\u0085\u009b', 'lone\ud800', 'trail ', '"quoted"', 'é ☃ 𝄞'];

test('every name comes back from the file byte for byte; the file has no control character', (t) => {
  const js = withCacheFile(HOSTILE, 1023);
  t.deepEqual(js.numbers, HOSTILE.map((_, i) => i));
  const back = parseCacheFile(js.text);
  t.deepEqual(back.problems, []);
  t.deepEqual(back.entries.map((e) => e.name), HOSTILE);
  // only the newline that ends each line
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  t.notRegex(js.text.replace(/\n/g, ''), /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
  // and a CacheFile reading it numbers them the same
  t.deepEqual(withCacheFile(HOSTILE, 1023, js.text).numbers, js.numbers);
});

test('pmdaCache (the python pmdajson) reads a file with escaped names, and keeps the numbers of the plain ones', (t) => {
  const names = ['eth0', 'x\rA', 'name with spaces', ' lead'];
  const js = withCacheFile(names, 1023);
  const c = withPmdaCache(['name with spaces', 'eth0', 'new'], 1023, js.text);
  t.deepEqual(c.numbers, [2, 0, 4]);
  // what pmdaCache writes back, this reads, the escaped names included
  t.deepEqual(withCacheFile([...names, 'new'], 1023, c.text).numbers, [0, 1, 2, 3, 4]);
});

test('past a few names (a look along the list, then a map) each name keeps its number, as in pmdaCache', (t) => {
  const names = Array.from({ length: 20 }, (_, i) => `m${i}`);
  // each name twice, the second time in another order: the same number again
  const twice = [...names, ...[...names].reverse()];
  const c = withPmdaCache(twice, 1023);
  const js = withCacheFile(twice, 1023);
  t.deepEqual(js.numbers, c.numbers);
  t.deepEqual(js.numbers.slice(20), [...Array(20).keys()].reverse());
  // loaded from a file of more than a few: found by name, new ones after
  t.deepEqual(withCacheFile(['m3', 'm17', 'new'], 1023, js.text).numbers, [3, 17, 20]);
  const file = path.join(files, `js.${serial++}`);
  fs.writeFileSync(file, js.text);
  const loaded = new CacheFile(file, 1023);
  t.is(loaded.size, 20);
  t.is(loaded.lookup('m19'), 19);
  t.is(loaded.lookup('absent'), undefined);
});
