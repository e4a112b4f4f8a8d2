// The records of a fetch (src/pmda/records/records.ts) alone, with the
// Encoder that writes them and the decoder that reads them back, for real
// sources whose data.json is read: write and keep, the copy of a kept
// record for unchanged data, isolate, begin, and the values budget.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmda-json-records-'));
// the sources' metric and instance numbers are cache files under PCP_VAR_DIR
process.env.PCP_VAR_DIR = dir;
fs.mkdirSync(path.join(dir, 'config', 'pmda'), { recursive: true });
const { native, C } = require('../../dist/pmda/native.js');
const { DEFAULTS } = require('../../dist/pmda/config.js');
const { Source } = require('../../dist/pmda/sources/source.js');
const { readMetadata } = require('../../dist/pmda/sources/describe.js');
const { ROOT } = require('../../dist/pmda/sources/access.js');
const { Budgets } = require('../../dist/pmda/limits/budget.js');
const { Records } = require('../../dist/pmda/records/records.js');
const { Encoder } = require('../../dist/pmda/records/encoder.js');
const { decodeRecord } = require('../../dist/pmda/records/decoder.js');
native.setDomain(252);
/** PM_IN_NULL as a record holds it (an int32). */
const NULL = C.PM_IN_NULL | 0;
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

// shaped like bench/soak.mjs's goodMeta only by chance: each covers the types it exercises
const METRICS = [
  { name: 'v', pointer: '/v', type: 'integer' },
  { name: 's', pointer: '/s', type: 'string' },
  { name: 'd', pointer: '/d', type: 'double' },
  { name: 'arr', pointer: '/arr', type: 'array', index: '/name', metrics: [{ name: 'n', pointer: '/n', type: 'integer' }] },
];
const DATA = { v: 42, s: 'hi', d: 1.5, arr: [{ name: 'a', n: 1 }, { name: 'b', n: 2 }, { name: 'c', n: 3 }] };

let cluster = 1;
/**
 * A trusted source with this data.json, attached (its metrics numbered).
 * @param {object} [data]
 */
function source(data = DATA) {
  const d = path.join(dir, `s${cluster}`);
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, 'metadata.json'), JSON.stringify({ metrics: METRICS }));
  fs.writeFileSync(path.join(d, 'data.json'), JSON.stringify(data));
  const desc = /** @type {any} */ (readMetadata(d));
  const src = new Source(d, true, ROOT, path.basename(d), desc.md, desc.stamp);
  src.attach(cluster++, 1023);
  return src;
}

/** The served metric of `src` named `name` ('arr.n' for a member). */
const metric = (src, name) => [...src.metrics.values()].find((m) => m.spec.name === name);

const config = (over = {}) => ({ ...DEFAULTS, ...over });

/** An Encoder, Budgets and Records over them, and a fetch of metrics. */
function fetcher(cfg = config()) {
  const enc = new Encoder();
  const budgets = new Budgets(cfg);
  const records = new Records(enc, budgets, cfg);
  let round = 0;
  // which records the Encoder was given as copies (the real copy is made)
  const copies = new Set();
  const copy = enc.copy.bind(enc);
  enc.copy = (i, ...rest) => {
    copies.add(i);
    copy(i, ...rest);
  };
  return {
    enc,
    budgets,
    records,
    /**
     * One fetch of `wanted` ([source, metric name] pairs): the sources
     * refreshed, each record written, then kept (unless `keep` is false).
     * Returns the buffer (a copy) and whether each record was copied from a kept one.
     */
    fetch(wanted, { keep = true } = {}) {
      round++;
      const sources = [...new Set(wanted.map(([s]) => s))];
      budgets.begin(sources, NaN);
      records.begin(wanted.length);
      for (const s of sources) s.refresh(round, cfg, (bytes, held) => budgets.admit(s.payer, bytes, held));
      copies.clear();
      wanted.forEach(([s, name], i) => {
        const m = metric(s, name);
        records.isolate(i, s, m, () => records.write(i, s, m, performance.now()));
      });
      if (keep) records.keep();
      return { buf: Buffer.from(enc.finish()), copied: wanted.map((_, i) => copies.has(i)) };
    },
  };
}

/** Each record of `buf`, decoded as the types of `wanted`. */
const decoded = (buf, wanted) => wanted.map(([s, name], i) => decodeRecord(buf, i, metric(s, name).spec.type));

/** The bytes of the i-th record of `buf` (to the next record, or the end). */
function recordBytes(buf, i, n) {
  const at = buf.readUInt32LE(i * 4);
  const end = i + 1 < n ? buf.readUInt32LE((i + 1) * 4) : buf.length;
  return buf.subarray(at, end);
}

const ALL = (src) => [[src, 'v'], [src, 's'], [src, 'd'], [src, 'arr.n']];

test('write encodes each record from the source\'s data; keep keeps it for the data version it came from', (t) => {
  const f = fetcher();
  const src = source();
  const wanted = ALL(src);
  const { buf } = f.fetch(wanted, { keep: false });
  t.deepEqual(decoded(buf, wanted), [
    { values: [[NULL, 42]] },
    { values: [[NULL, 'hi']] },
    { values: [[NULL, 1.5]] },
    { values: [[0, 1], [1, 2], [2, 3]] },
  ]);
  t.is(metric(src, 'v').cached, undefined, 'nothing is kept before keep()');
  f.records.keep();
  for (const [, name] of wanted) {
    const m = metric(src, name);
    t.truthy(m.cached, name);
    t.is(m.cachedVersion, src.version, name);
  }
});

test('a second fetch of unchanged data copies the kept records: the same bytes, the values budget charged', (t) => {
  const f = fetcher();
  const src = source();
  const wanted = ALL(src);
  const first = f.fetch(wanted);
  t.deepEqual(first.copied, [false, false, false, false]);
  const version = src.version;
  const second = f.fetch(wanted);
  t.is(src.version, version, 'the data was not read again');
  t.deepEqual(second.copied, [true, true, true, true]);
  t.deepEqual(decoded(second.buf, wanted), decoded(first.buf, wanted));
  for (let i = 0; i < wanted.length; i++) t.deepEqual(recordBytes(second.buf, i, 4), recordBytes(first.buf, i, 4));
  // 1 + 1 + 1 + 3 values, copied or not
  t.is(f.budgets.valuesLeft(src.payer), DEFAULTS.fetchMaxValues - 6);
  // copyKept itself: true, and the record is the kept one
  f.records.begin(1);
  t.true(f.records.copyKept(0, src, metric(src, 'arr.n')));
  t.deepEqual(decodeRecord(f.enc.finish(), 0, 'integer'), { values: [[0, 1], [1, 2], [2, 3]] });
});

test('the records of a new version of the data are not copies: they are written again', (t) => {
  const f = fetcher();
  const src = source();
  const wanted = ALL(src);
  f.fetch(wanted);
  const version = src.version;
  // a file of another size: certainly another version
  fs.writeFileSync(path.join(src.dir, 'data.json'), JSON.stringify({ ...DATA, v: 7, s: 'new', arr: [{ name: 'b', n: 20 }, { name: 'd', n: 40 }] }));
  const { buf, copied } = f.fetch(wanted);
  t.true(src.version > version);
  t.deepEqual(copied, [false, false, false, false]);
  t.deepEqual(decoded(buf, wanted), [
    { values: [[NULL, 7]] },
    { values: [[NULL, 'new']] },
    { values: [[NULL, 1.5]] },
    // b keeps its instance number, d is new
    { values: [[1, 20], [3, 40]] },
  ]);
});

test('copyKept answers false for a metric with no record kept, or one kept for another version', (t) => {
  const f = fetcher();
  const src = source();
  f.records.begin(1);
  t.false(f.records.copyKept(0, src, metric(src, 'v')), 'none kept');
  f.fetch([[src, 'v']]);
  src.version++;
  f.records.begin(1);
  t.false(f.records.copyKept(0, src, metric(src, 'v')), 'kept for another version');
});

test('isolate: work that throws leaves its record PM_ERR_AGAIN, the records before and after it intact, and sets the source\'s data aside', (t) => {
  const f = fetcher();
  const good = source();
  const bad = source();
  const r = f.records;
  for (const s of [good, bad]) s.refresh(1, config(), () => undefined);
  f.budgets.begin([good, bad]);
  r.begin(3);
  r.isolate(0, good, metric(good, 'arr.n'), () => r.write(0, good, metric(good, 'arr.n'), performance.now()));
  r.isolate(1, bad, metric(bad, 's'), () => {
    // half a record written, then a throw: it is all dropped
    r.write(1, bad, metric(bad, 's'), performance.now());
    throw new Error('boom');
  });
  r.isolate(2, good, metric(good, 'v'), () => r.write(2, good, metric(good, 'v'), performance.now()));
  r.keep();
  const buf = f.enc.finish();
  t.deepEqual(decodeRecord(buf, 0, 'integer'), { values: [[0, 1], [1, 2], [2, 3]] });
  t.deepEqual(decodeRecord(buf, 1, 'string'), { error: C.PM_ERR_AGAIN });
  t.deepEqual(decodeRecord(buf, 2, 'integer'), { values: [[NULL, 42]] });
  t.regex(bad.dataError ?? '', /metadata\.json: cannot serve metric 's': boom$/);
  t.is(bad.view, undefined);
  t.is(good.dataError, undefined);
  // what the throwing work wrote is not kept; the others' records are
  t.is(metric(bad, 's').cached, undefined);
  t.is(metric(good, 'v').cachedVersion, good.version);
  // the data set aside: the source's other metrics answer "try again" too
  r.begin(1);
  r.write(0, bad, metric(bad, 'v'), performance.now());
  t.deepEqual(decodeRecord(f.enc.finish(), 0, 'integer'), { error: C.PM_ERR_AGAIN });
});

test('begin drops the records a fetch wrote and never kept: the next fetch\'s keep() does not keep them', (t) => {
  const f = fetcher();
  const a = source();
  const b = source();
  f.fetch([[a, 'v'], [a, 'arr.n']], { keep: false });
  f.fetch([[b, 'v']]);
  t.is(metric(a, 'v').cached, undefined);
  t.is(metric(a, 'arr.n').cached, undefined);
  t.is(metric(b, 'v').cachedVersion, b.version);
  // so a's next fetch writes its records again
  const { copied, buf } = f.fetch([[a, 'v']]);
  t.deepEqual(copied, [false]);
  t.deepEqual(decodeRecord(buf, 0, 'integer'), { values: [[NULL, 42]] });
});

test('past the author\'s values budget a record answers PM_ERR_AGAIN, and is not kept', (t) => {
  // 4 values a fetch: the array's 3, then 1 scalar
  const f = fetcher(config({ fetchMaxValues: 4 }));
  const src = source();
  const wanted = [[src, 'arr.n'], [src, 'v'], [src, 'd'], [src, 's']];
  const { buf } = f.fetch(wanted);
  t.deepEqual(decoded(buf, wanted), [
    { values: [[0, 1], [1, 2], [2, 3]] },
    { values: [[NULL, 42]] },
    { error: C.PM_ERR_AGAIN },
    { error: C.PM_ERR_AGAIN },
  ]);
  t.is(f.budgets.valuesLeft(src.payer), 0);
  t.truthy(metric(src, 'v').cached);
  t.is(metric(src, 'd').cached, undefined, 'a record over budget is not kept');
  // an array that does not fit what is left: the whole record
  const g = fetcher(config({ fetchMaxValues: 2 }));
  const other = source();
  t.deepEqual(decodeRecord(g.fetch([[other, 'arr.n']]).buf, 0, 'integer'), { error: C.PM_ERR_AGAIN });
});

test('a kept record is not copied past the values budget: it answers PM_ERR_AGAIN, and stays kept', (t) => {
  const cfg = config({ fetchMaxValues: 3 });
  const f = fetcher(cfg);
  const src = source();
  t.deepEqual(decodeRecord(f.fetch([[src, 'arr.n']]).buf, 0, 'integer'), { values: [[0, 1], [1, 2], [2, 3]] });
  const { buf, copied } = f.fetch([[src, 'v'], [src, 'arr.n']]);
  t.deepEqual(copied, [false, false]);
  t.deepEqual(decodeRecord(buf, 0, 'integer'), { values: [[NULL, 42]] });
  t.deepEqual(decodeRecord(buf, 1, 'integer'), { error: C.PM_ERR_AGAIN }, '3 values kept, 2 left');
  // the kept record itself stays for a fetch that has room
  const again = f.fetch([[src, 'arr.n']]);
  t.deepEqual(again.copied, [true]);
  t.deepEqual(decodeRecord(again.buf, 0, 'integer'), { values: [[0, 1], [1, 2], [2, 3]] });
});

test('values are converted to the metric\'s type, strings cut to max_string_bytes at a whole character; a value that cannot be is PM_ERR_VALUE', (t) => {
  const f = fetcher(config({ maxStringBytes: 4 }));
  const src = source({ ...DATA, v: 'not a number', s: 'héllo', d: 3 });
  const wanted = [[src, 'v'], [src, 's'], [src, 'd']];
  t.deepEqual(decoded(f.fetch(wanted).buf, wanted), [
    { error: C.PM_ERR_VALUE },
    { values: [[NULL, 'hél']] },
    { values: [[NULL, 3]] },
  ]);
});

test('a source whose data cannot be read answers PM_ERR_AGAIN for each of its metrics', (t) => {
  const f = fetcher();
  const src = source();
  fs.writeFileSync(path.join(src.dir, 'data.json'), '{"v": ');
  const wanted = [[src, 'v'], [src, 'arr.n']];
  t.deepEqual(decoded(f.fetch(wanted).buf, wanted), [{ error: C.PM_ERR_AGAIN }, { error: C.PM_ERR_AGAIN }]);
  t.regex(src.dataError ?? '', /cannot parse data file/);
});
