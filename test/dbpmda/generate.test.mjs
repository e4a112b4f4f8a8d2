// src/cli/generate.ts: metadata.json from sample data, a JSON Schema or a ceph
// perf schema; the results served by the real PMDA through dbpmda.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Scratch, parseDesc, ROOT, SYSTEM_PATH, metricValues, session } from '../helpers/harness.mjs';
import { parseJson } from '../../dist/format/json.js';
import { metadataFromData, metadataFromCeph, guessIndex, cephParts, shellQuote } from '../../dist/cli/generate.js';
import { splitCommand } from '../../dist/pmda/commands/exec.js';

/** @typedef {import('../../dist/index.js').ArrayJson} ArrayJson */

const FIX = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const GEN = path.join(ROOT, 'dist', 'cli', 'generate.js');
const CEPH_SCHEMA = path.join(FIX, 'ceph', 'ceph_schema1.json');
const CEPH_DATA = path.join(FIX, 'ceph', 'ceph_data1.json');
const PY_CEPH = '/var/lib/pcp/pmdas/json/generate_ceph_metadata';

/** Run the generator command; { status, stdout, stderr }. */
function gen(args, opts = {}) {
  const r = spawnSync(process.execPath, [GEN, ...args], { encoding: 'utf8', cwd: opts.cwd ?? os.tmpdir(), input: opts.input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function serve(t, name, metadataText, dataText) {
  const s = new Scratch();
  t.teardown(() => s.cleanup());
  const dir = s.source(name);
  fs.writeFileSync(path.join(dir, 'metadata.json'), metadataText);
  if (dataText !== undefined) fs.writeFileSync(path.join(dir, 'data.json'), dataText);
  const d = await session(t, s);
  return { s, d, dir };
}

// ---- ceph -------------------------------------------------------------------

test('a ceph perf schema maps counter types as generate_ceph_metadata does', (t) => {
  t.deepEqual(cephParts(2), [{ member: 'sum', type: 'integer' }]);
  t.deepEqual(cephParts(10), [{ member: 'sum', type: 'integer', units: 'count' }]);
  t.deepEqual(cephParts(5), [{ member: 'sum', type: 'double' }, { member: 'avgcount', type: 'integer' }]);
  t.deepEqual(cephParts(6), [{ member: 'sum', type: 'integer' }, { member: 'avgcount', type: 'integer' }]);
  t.is(cephParts(0x10), undefined);
  const { doc, problems } = metadataFromCeph({
    osd: { stat_bytes: { type: 2 }, op_latency: { type: 5, description: 'latency of ops' } },
    'mutex-A::b': { wait: { type: 5 } },
    odd: { x: { type: 32 }, y: { nick: 'no type' } },
  });
  t.deepEqual(doc.metrics, [
    { name: 'osd.stat_bytes', pointer: '/osd/stat_bytes', type: 'integer' },
    { name: 'osd.op_latency.sum', pointer: '/osd/op_latency/sum', type: 'double', description: 'latency of ops' },
    { name: 'osd.op_latency.avgcount', pointer: '/osd/op_latency/avgcount', type: 'integer', description: 'latency of ops' },
    { name: 'mutex_A__b.wait.sum', pointer: '/mutex-A::b/wait/sum', type: 'double' },
    { name: 'mutex_A__b.wait.avgcount', pointer: '/mutex-A::b/wait/avgcount', type: 'integer' },
  ]);
  t.is(problems.length, 2);
  t.regex(problems.join('\n'), /odd\.x.*32/);
});

const pythonCeph = (() => {
  try {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pyceph-')), 'm.json');
    const r = spawnSync('python3', [PY_CEPH, '-t', '-o', out, CEPH_SCHEMA], { env: { ...process.env, PATH: SYSTEM_PATH }, encoding: 'utf8' });
    return r.status === 0 ? JSON.parse(fs.readFileSync(out, 'utf8')) : undefined;
  } catch {
    return undefined;
  }
})();

(pythonCeph ? test : test.skip)('ceph metadata is the same as pmdajson\'s generate_ceph_metadata writes', (t) => {
  const r = gen(['--from-ceph', CEPH_SCHEMA, '-q']);
  t.is(r.status, 0, r.stderr);
  const ours = JSON.parse(r.stdout);
  t.is(ours.metrics.length, pythonCeph.metrics.length);
  t.deepEqual(ours.metrics, pythonCeph.metrics);
});

test('the ceph fixture, served with its perf dump, reads the expected values', async (t) => {
  const r = gen(['--from-ceph', CEPH_SCHEMA, '--prefix', 'ceph_osd']);
  t.is(r.status, 0, r.stderr);
  t.is(r.stderr, '', 'every counter of the fixture can be described');
  const { d } = await serve(t, 'osd0', r.stdout, fs.readFileSync(CEPH_DATA, 'utf8'));
  // one assertion a value, like producer.test.mjs's, on purpose: a failure names the metric
  t.deepEqual(await metricValues(d, 'json.ceph_osd.filestore.journal_wr_bytes.sum'), { null: '1585152' });
  t.deepEqual(await metricValues(d, 'json.ceph_osd.filestore.journal_wr_bytes.avgcount'), { null: '82' });
  t.deepEqual(await metricValues(d, 'json.ceph_osd.osd.stat_bytes'), { null: '25231224832' });
  t.deepEqual(await metricValues(d, 'json.ceph_osd.filestore.journal_latency.sum'), { null: '36.417826' });
  t.like(parseDesc(await d.run('desc json.ceph_osd.filestore.journal_ops')), { type: '64-bit int', units: 'count' });
  t.like(parseDesc(await d.run('desc json.ceph_osd.filestore.journal_latency.sum')), { type: 'double' });
  const w = await metricValues(d, 'json.ceph_osd.mutex_FileJournal__write_lock.wait.avgcount');
  t.deepEqual(w, { null: '0' });
});

test('--ceph-socket quotes the socket path in data-exec', (t) => {
  t.is(shellQuote('/var/run/ceph/ceph-osd.0.asok'), '/var/run/ceph/ceph-osd.0.asok');
  const odd = "/tmp/it's here.asok";
  t.deepEqual(splitCommand(`/usr/bin/ceph --admin-daemon ${shellQuote(odd)} perf dump`), ['/usr/bin/ceph', '--admin-daemon', odd, 'perf', 'dump']);
});

// ---- sample data ----------------------------------------------------------------

const SAMPLE = `{
  "host": "db1",
  "uptime": 123456,
  "load": 0.75,
  "huge": 9223372036854775807,
  "mem": { "total": 8589934592, "free": 1073741824, "swap": { "used": 0 } },
  "disks": [
    { "name": "sda", "reads": 10, "util": 0.5, "model": "SSD" },
    { "name": "sdb", "reads": 20, "util": 1, "model": "HDD" }
  ],
  "queues": [
    { "__id": "q0", "name": "same", "depth": 3 },
    { "__id": "q1", "name": "same", "depth": 4 }
  ],
  "cpus": [ { "id": 0, "user": 5 }, { "id": 1, "user": 6 } ],
  "enabled": true,
  "tags": ["a", "b"],
  "bad-name": 1,
  "nothing": null,
  "empty": []
}`;

test('types, names and array indexes are inferred from a sample', (t) => {
  const { doc, problems } = metadataFromData(parseJson(SAMPLE));
  const byName = Object.fromEntries(doc.metrics.map((m) => [m.name, m]));
  t.deepEqual(Object.keys(byName), ['host', 'uptime', 'load', 'huge', 'mem.total', 'mem.free', 'mem.swap.used', 'disks', 'queues', 'cpus', 'enabled', 'bad_name']);
  t.is(byName.host.type, 'string');
  t.is(byName.uptime.type, 'integer');
  t.is(byName.load.type, 'double');
  t.is(byName.huge.type, 'integer');
  t.is(byName['mem.swap.used'].pointer, '/mem/swap/used');
  t.is(byName.bad_name.pointer, '/bad-name');
  t.like(byName.disks, { type: 'array', index: '/name', pointer: '/disks' });
  t.deepEqual(/** @type {ArrayJson} */ (byName.disks).metrics, [
    { name: 'reads', pointer: '/reads', type: 'integer' },
    { name: 'util', pointer: '/util', type: 'double' },
    { name: 'model', pointer: '/model', type: 'string' },
  ]);
  t.is(/** @type {ArrayJson} */ (byName.queues).index, '/__id', '__id is preferred, and a repeated name is no index');
  t.deepEqual(/** @type {ArrayJson} */ (byName.queues).metrics.map((m) => m.name), ['name', 'depth']);
  t.is(/** @type {ArrayJson} */ (byName.cpus).index, '/id', 'an integer id serves when no string member does');
  t.deepEqual(byName.enabled, { name: 'enabled', pointer: '/enabled', type: 'integer', semantics: 'discrete' }, 'a boolean is served as 1 or 0');
  const text = problems.join('\n');
  for (const what of ['tags', 'nothing', 'empty']) t.true(text.includes(`'${what}'`), what);
  t.true(text.includes("'bad-name' is named 'bad_name'"));
});

test('guessIndex prefers __id, name, id, then any unique string member', (t) => {
  t.is(guessIndex([{ id: 'a', name: 'x' }, { id: 'b', name: 'y' }]), 'name');
  t.is(guessIndex([{ dev: 'a', v: 1 }, { dev: 'b', v: 2 }]), 'dev');
  t.is(guessIndex([{ dev: 'a' }, { dev: 'a' }]), undefined);
  t.is(guessIndex([{ dev: 'a' }, { other: 'b' }]), undefined);
});

test('array members merge over elements: integers and doubles make doubles, strings and numbers clash', (t) => {
  const { doc, problems } = metadataFromData({ a: [{ name: 'x', v: 1, w: 1, only: 's' }, { name: 'y', v: 1.5, w: 'two' }] });
  t.deepEqual(/** @type {ArrayJson} */ (doc.metrics[0]).metrics, [
    { name: 'v', pointer: '/v', type: 'double' },
    { name: 'only', pointer: '/only', type: 'string' },
  ]);
  t.true(problems.some((p) => p.includes("'a.w'")));
  const none = metadataFromData({ a: [{ v: 1 }, { v: 2 }] });
  t.is(none.doc.metrics.length, 0);
  t.regex(none.problems[0], /no member names every element uniquely/);
});

test('a sample data.json round-trips through generated metadata and the PMDA', async (t) => {
  const s = new Scratch();
  t.teardown(() => s.cleanup());
  const dir = s.source('sampled');
  fs.writeFileSync(path.join(dir, 'data.json'), SAMPLE);
  const r = gen(['--from-data', 'data.json', '-o', 'metadata.json'], { cwd: dir });
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, '');
  t.deepEqual(fs.readdirSync(dir).sort(), ['data.json', 'metadata.json']);
  const d = await session(t, s);
  const base = 'json.sampled';
  t.deepEqual(await metricValues(d, `${base}.host`), { null: '"db1"' });
  t.deepEqual(await metricValues(d, `${base}.uptime`), { null: '123456' });
  t.deepEqual(await metricValues(d, `${base}.load`), { null: '0.75' });
  t.deepEqual(await metricValues(d, `${base}.mem.total`), { null: '8589934592' });
  t.deepEqual(await metricValues(d, `${base}.mem.swap.used`), { null: '0' });
  t.deepEqual(await metricValues(d, `${base}.bad_name`), { null: '1' });
  t.deepEqual(await metricValues(d, `${base}.enabled`), { null: '1' }, 'true');
  t.deepEqual(await metricValues(d, `${base}.disks.reads`), { sda: '10', sdb: '20' });
  t.deepEqual(await metricValues(d, `${base}.disks.util`), { sda: '0.5', sdb: '1' });
  t.deepEqual(await metricValues(d, `${base}.disks.model`), { sda: '"SSD"', sdb: '"HDD"' });
  t.deepEqual(await metricValues(d, `${base}.queues.depth`), { q0: '3', q1: '4' });
  t.deepEqual(await metricValues(d, `${base}.cpus.user`), { 0: '5', 1: '6' });
  t.like(parseDesc(await d.run(`desc ${base}.uptime`)), { type: '64-bit int' });
  t.like(parseDesc(await d.run(`desc ${base}.load`)), { type: 'double' });
  t.like(parseDesc(await d.run(`desc ${base}.host`)), { type: 'string' });
  t.deepEqual(await metricValues(d, `${base}.huge`), { null: '9223372036854775807' }, 'int64 stays exact');
});

// set up as the round-trip test above, on purpose: each generator case reads alone
test('--data-exec alone samples the command and writes data-exec', async (t) => {
  const s = new Scratch();
  t.teardown(() => s.cleanup());
  const dir = s.source('execd');
  fs.writeFileSync(path.join(dir, 'sample.json'), '{"a": 5, "b": {"c": "x"}}');
  const r = gen(['--data-exec', '/bin/cat sample.json', '--prefix', 'viaexec', '-o', 'metadata.json'], { cwd: dir });
  t.is(r.status, 0, r.stderr);
  const md = JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8'));
  t.deepEqual(Object.keys(md), ['prefix', 'data-exec', 'metrics']);
  t.is(md['data-exec'], '/bin/cat sample.json');
  const d = await session(t, s);
  t.deepEqual(await metricValues(d, 'json.viaexec.a'), { null: '5' });
  t.deepEqual(await metricValues(d, 'json.viaexec.b.c'), { null: '"x"' });
});

// ---- JSON Schema ------------------------------------------------------------------

test('--from-schema: the seed schema served with its data reads like stap_json did', async (t) => {
  const r = gen(['--from-schema', path.join(FIX, 'seed', 'schema.json')]);
  t.is(r.status, 0, r.stderr);
  t.is(r.stderr, '');
  const md = JSON.parse(r.stdout);
  t.is(md.prefix, 'root');
  const { d } = await serve(t, 'stap', r.stdout, fs.readFileSync(path.join(FIX, 'seed', 'data.json'), 'utf8'));
  t.deepEqual(await metricValues(d, 'json.root.xmit_count'), { null: '652046' });
  t.deepEqual(await metricValues(d, 'json.root.xmit_latency'), { null: '90' });
  t.deepEqual(await metricValues(d, 'json.root.interface'), { null: '"eth0"' });
  t.like(parseDesc(await d.run('desc json.root.xmit_count')), { type: '64-bit int', sem: 'counter', units: 'none' });
  t.like(parseDesc(await d.run('desc json.root.interface')), { type: 'string', sem: 'instant' });
  t.regex(await d.run('text json.root.xmit_count'), /number of packets for xmit device/);
});

test('--prefix overrides the schema title', (t) => {
  const r = gen(['--from-schema', path.join(FIX, 'seed', 'schema.json'), '--prefix', 'stap_net']);
  t.is(JSON.parse(r.stdout).prefix, 'stap_net');
});

test('the sample can come from standard input', (t) => {
  const r = gen(['--from-data', '-'], { input: '{"x": 1.5}' });
  t.is(r.status, 0);
  t.deepEqual(JSON.parse(r.stdout).metrics, [{ name: 'x', pointer: '/x', type: 'double' }]);
});

test('usage errors exit 2, input errors 1, and nothing is written', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gen-'));
  t.is(gen([]).status, 2);
  t.is(gen(['--from-data']).status, 2);
  t.is(gen(['--from-data', 'a', '--from-ceph', 'b']).status, 2);
  t.is(gen(['--from-data', '-', '--prefix', 'not valid'], { input: '{}' }).status, 2);
  t.is(gen(['--bogus']).status, 2);
  const missing = gen(['--from-data', 'nope.json', '-o', 'm.json'], { cwd: dir });
  t.is(missing.status, 1);
  t.regex(missing.stderr, /cannot read sample data nope\.json/);
  const garbage = gen(['--from-data', '-'], { input: '{oops' });
  t.is(garbage.status, 1);
  t.regex(garbage.stderr, /cannot parse/);
  const nothing = gen(['--from-data', '-', '-o', 'm.json'], { input: '{"flag": null}', cwd: dir });
  t.is(nothing.status, 1);
  t.regex(nothing.stderr, /no metrics/);
  t.deepEqual(fs.readdirSync(dir), []);
  const help = gen(['--help']);
  t.is(help.status, 0);
  t.regex(help.stdout, /--from-ceph FILE/);
});
