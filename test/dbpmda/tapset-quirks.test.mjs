// systemtap's JSON tapset as it really is (test/fixtures/tapset-quirks/,
// byte for byte what tapset/linux/json.stp and json.stpm write): string
// values without escapes, arrays with no elements left out, output cut
// at the procfs buffer's 8 KiB. Each is served as far as it is valid,
// with one log line however many fetches meet it.
//
// /proc/systemtap/MODULE/data.json is made afresh at every read; here the
// file is replaced (a new inode) before every fetch, so the PMDA reads and
// parses it again each time, as it does procfs files.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Scratch, parseDesc, parseInstances, parseTraverse, session } from '../helpers/harness.mjs';

const FIX = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'tapset-quirks');
const fixture = (name) => fs.readFileSync(path.join(FIX, name, 'data.json'), 'utf8');
const METRICS = ['json.fileopen.opens', 'json.fileopen.last_file', 'json.fileopen.procs.opens'];
const AGAIN = 'Try again. Information not currently available';
const FETCHES = 20;
// An array's metrics answer "try again" too, also when the data has been
// invalid since the first read and the array has never had instances
// (pmdaFetch asks for no value of an empty indom; native/fetch.cc
// turns such a metric's empty answer into its record's error).
const ARRAY_AGAIN = 'an array metric of a source whose data is invalid answers "try again" like the others, also before its array ever had instances';

/** A scratch world whose trusted directory plays /proc/systemtap, with module fileopen serving `name`'s files. */
async function module(t, name) {
  const s = new Scratch('tapset-quirks');
  const dir = path.join(s.trusted, 'fileopen');
  fs.mkdirSync(dir);
  for (const f of ['metadata.json', 'data.json']) fs.copyFileSync(path.join(FIX, name, f), path.join(dir, f));
  const d = await session(t, s);
  const pmids = {};
  for (const n of METRICS) pmids[n] = parseDesc(await d.run(`desc ${n}`)).pmid;
  return { s, d, dir, pmids };
}

let serial = 0;
/** data.json made afresh, as a procfs read makes it. */
function regenerate(dir, text) {
  const tmp = path.join(dir, `.data.${process.pid}.${serial++}`);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, path.join(dir, 'data.json'));
}

/** Fetch every metric `times` times, data.json regenerated before each; the last answer, by name. */
async function fetchAll(m, text, times = FETCHES) {
  let last;
  for (let i = 0; i < times; i++) {
    regenerate(m.dir, text);
    last = await m.d.fetch(...METRICS);
  }
  return Object.fromEntries(METRICS.map((n) => [n, last[m.pmids[n]]]));
}

/** The log's warnings, without time stamps. */
function warnings(s) {
  return [...s.logText().matchAll(/^\[[^\]]+\] pmdajson\(\d+\) (?:Warning|Error): (.*)$/gm)].map((x) => x[1]);
}

/** The names and descriptors of the module: the metadata is served whatever the data. */
async function assertMetadataServed(t, m) {
  t.deepEqual(parseTraverse(await m.d.run('traverse json.fileopen')), [...METRICS].sort());
  t.like(parseDesc(await m.d.run('desc json.fileopen.opens')), { type: '64-bit int', sem: 'instant', units: 'count' });
  t.like(parseDesc(await m.d.run('desc json.fileopen.last_file')), { type: 'string' });
  t.regex(await m.d.run('text json.fileopen.procs.opens'), /Files opened by the process/);
}

test('the fixtures are what the tapset writes: the good one is JSON, the quirky ones as described', (t) => {
  const meta = JSON.parse(fs.readFileSync(path.join(FIX, 'good', 'metadata.json'), 'utf8'));
  t.is(meta.prefix, 'fileopen');
  for (const name of ['unescaped-quote', 'unescaped-backslash', 'missing-array', 'truncated']) {
    t.is(fs.readFileSync(path.join(FIX, name, 'metadata.json'), 'utf8'), fs.readFileSync(path.join(FIX, 'good', 'metadata.json'), 'utf8'), name);
  }
  t.like(JSON.parse(fixture('good')), { opens: 1834, last_file: '/etc/hosts' });
  t.throws(() => JSON.parse(fixture('unescaped-quote')));
  t.true(fixture('unescaped-quote').includes('"last_file": "/home/ann/say "hi".txt"'));
  t.throws(() => JSON.parse(fixture('unescaped-backslash')));
  t.true(fixture('unescaped-backslash').includes('"last_file": "/srv/share/C:\\Users\\ann"'));
  t.deepEqual(JSON.parse(fixture('missing-array')), { opens: 0, last_file: '' });
  // 8191 bytes and the NUL fill the tapset's buffer of 8192
  t.is(Buffer.byteLength(fixture('truncated')), 8191);
  t.throws(() => JSON.parse(fixture('truncated')));
});

/** The source's plain metrics answered "try again", its metadata is served, and one log line says data.json could not be parsed. */
async function assertUnparsed(t, m, got) {
  t.is(got['json.fileopen.opens'].error, AGAIN);
  t.is(got['json.fileopen.last_file'].error, AGAIN);
  await assertMetadataServed(t, m);
  const lines = warnings(m.s);
  t.is(lines.length, 1, lines.join('\n'));
  t.regex(lines[0], new RegExp(`^cannot parse data file ${m.dir}/data\\.json: `));
}

for (const [name, shown] of [['unescaped-quote', 'an unescaped quote'], ['unescaped-backslash', 'an unescaped backslash']]) {
  test(`${shown} in a string value: the source answers "try again", one log line in ${FETCHES} fetches, and comes back with the next good read`, async (t) => {
    const m = await module(t, name);
    const got = await fetchAll(m, fixture(name));
    await assertUnparsed(t, m, got);

    // the next read has no such string: everything is served again
    const good = await fetchAll(m, fixture('good'), 2);
    t.deepEqual(good['json.fileopen.opens'].values, [{ inst: null, value: '1834' }]);
    t.deepEqual(good['json.fileopen.last_file'].values, [{ inst: null, value: '"/etc/hosts"' }]);
    t.is(good['json.fileopen.procs.opens'].values.length, 2);
    t.is(warnings(m.s).length, 1, 'being readable again is not a warning');
    // the array's metric answered "try again" too
    t.is(got['json.fileopen.procs.opens'].error, AGAIN, ARRAY_AGAIN);
  });
}

test(`a missing array (no elements, left out): its metric answers no values, the rest are served; one log line in ${FETCHES} fetches`, async (t) => {
  const m = await module(t, 'missing-array');
  const got = await fetchAll(m, fixture('missing-array'));
  t.deepEqual(got['json.fileopen.opens'].values, [{ inst: null, value: '0' }]);
  t.deepEqual(got['json.fileopen.last_file'].values, [{ inst: null, value: '""' }]);
  // numval 0, no error: dbpmda says "No values returned!"
  t.is(got['json.fileopen.procs.opens'].error, 'No values returned!', JSON.stringify(got['json.fileopen.procs.opens']));
  await assertMetadataServed(t, m);
  const lines = warnings(m.s);
  t.is(lines.length, 1, lines.join('\n'));
  t.regex(lines[0], /array 'procs'/);

  // processes open files: the array appears, its instances are served
  const good = await fetchAll(m, fixture('good'), 2);
  const indom = parseDesc(await m.d.run('desc json.fileopen.procs.opens')).indom;
  const names = new Map(/** @type {Array<[inst: number, name: string]>} */ (parseInstances(await m.d.run(`instance ${indom}`))));
  t.deepEqual(Object.fromEntries(good['json.fileopen.procs.opens'].values.map((v) => [names.get(v.inst), v.value])), { bash: '12', sshd: '3' });
});

test(`data.json cut at the tapset's 8 KiB: the source answers "try again", the metadata is served, one log line in ${FETCHES} fetches`, async (t) => {
  const m = await module(t, 'truncated');
  const got = await fetchAll(m, fixture('truncated'));
  await assertUnparsed(t, m, got);
  // every read failed, and was counted
  const errors = Object.values(await m.d.fetch('json.control.parse_errors'))[0];
  t.true(errors.values.some((v) => Number(v.value) >= FETCHES), JSON.stringify(errors));
  t.is(got['json.fileopen.procs.opens'].error, AGAIN, ARRAY_AGAIN);
});
