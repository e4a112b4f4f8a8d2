// src/producer/producer.ts: a Node.js program writes a source directory; the real
// PMDA, driven by dbpmda, serves it.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Scratch, parseDesc, metricValues, session } from '../helpers/harness.mjs';
import { parseJson } from '../../dist/format/json.js';
import { parseMetadata } from '../../dist/index.js';
import { Producer, ProducerError, stringifyJson, writeFileAtomic } from '../../dist/index.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'producer-'));
/** A JSON file the producer wrote, as dynamic JSON: the tests check its shape. */
const read = (file) => /** @type {any} */ (parseJson(fs.readFileSync(file, 'utf8')));

test('stringifyJson writes bigints exactly and otherwise agrees with JSON.stringify', (t) => {
  const doc = { a: 2n ** 63n - 1n, b: -(2n ** 63n), c: [1, 2.5, 'x"y', null, true, { d: {} }], e: undefined, f: 9007199254740993n };
  const text = stringifyJson(doc);
  t.is(text, '{"a":9223372036854775807,"b":-9223372036854775808,"c":[1,2.5,"x\\"y",null,true,{"d":{}}],"f":9007199254740993}');
  const back = /** @type {any} */ (parseJson(text));
  t.is(back.a, 2n ** 63n - 1n);
  t.is(back.f, 9007199254740993n);
  const plain = { x: [1, { y: 'z' }], w: 0.1 };
  t.deepEqual(JSON.parse(stringifyJson(plain, 2)), plain);
  t.is(stringifyJson(plain, 2), JSON.stringify(plain, null, 2));
  t.throws(() => stringifyJson({ n: NaN }), { instanceOf: TypeError });
});

test('declarations are checked: names, duplicates, subtrees, options', (t) => {
  const p = new Producer(tmp());
  p.integer('a.b');
  t.throws(() => p.integer('a.b'), { instanceOf: ProducerError, message: /already declared/ });
  t.throws(() => p.double('a'), { instanceOf: ProducerError, message: /already declared/ });
  t.throws(() => p.string('a.b.c'), { instanceOf: ProducerError, message: /below metric 'a.b'/ });
  t.throws(() => p.integer('bad-name'), { instanceOf: ProducerError, message: /not a valid PCP name/ });
  t.throws(() => p.integer('9x'), { instanceOf: ProducerError });
  // @ts-expect-error: not a Semantics; the producer's own check is tested
  t.throws(() => p.integer('ok', { semantics: 'sometimes' }), { instanceOf: ProducerError, message: /semantics/ });
  t.throws(() => new Producer(tmp(), { prefix: 'my app' }), { instanceOf: ProducerError });
  const arr = p.array('disks', { index: 'name' });
  t.throws(() => arr.integer('name'), { instanceOf: ProducerError, message: /index member/ });
  arr.integer('reads');
  t.throws(() => arr.double('reads'), { instanceOf: ProducerError });
  t.throws(() => p.array('disks'), { instanceOf: ProducerError });
});

test('values are checked against their metric types', (t) => {
  const p = new Producer(tmp());
  const n = p.integer('n');
  const d = p.double('d');
  const s = p.string('s');
  t.throws(() => n.set(1.5), { instanceOf: ProducerError, message: /not an integer/ });
  t.throws(() => n.set(2 ** 60), { instanceOf: ProducerError, message: /bigint/ });
  t.throws(() => n.set(2n ** 63n), { instanceOf: ProducerError, message: /64-bit/ });
  // @ts-expect-error: a string for an integer metric, refused at run time too
  t.throws(() => n.set('1'), { instanceOf: ProducerError });
  t.throws(() => d.set(Infinity), { instanceOf: ProducerError });
  // @ts-expect-error: a number for a string metric, refused at run time too
  t.throws(() => s.set(1), { instanceOf: ProducerError });
  t.throws(() => p.set('nope', 1), { instanceOf: ProducerError, message: /no metric 'nope'/ });
  t.throws(() => p.array('a').set('i', 'm', 1), { instanceOf: ProducerError, message: /no member 'm'/ });
  n.set(2n ** 63n - 1n);
  n.set(-(2n ** 63n));
  t.pass();
});

test('add() counts exactly past 2^53', (t) => {
  const p = new Producer(tmp());
  const n = p.integer('n');
  n.set(Number.MAX_SAFE_INTEGER).add(2);
  t.is(p.data().n, 9007199254740993n);
  const a = p.array('a').integer('c');
  a.add('x', 'c', 5).add('x', 'c', 5n);
  t.is(p.data().a[0].c, 10);
});

test('write() produces metadata.json and data.json in the PMDA format, atomically', (t) => {
  const dir = path.join(tmp(), 'new', 'app');
  const p = new Producer(dir, { prefix: 'app' });
  p.integer('requests', { semantics: 'counter', units: 'count', description: 'Requests' });
  p.array('q', { description: 'queues' }).double('depth');
  p.set('requests', 7);
  p.write();
  const md = read(path.join(dir, 'metadata.json'));
  t.deepEqual(md, {
    prefix: 'app',
    metrics: [
      { name: 'requests', pointer: '/requests', type: 'integer', description: 'Requests', units: 'count', semantics: 'counter' },
      { name: 'q', pointer: '/q', type: 'array', index: '/__id', description: 'queues', metrics: [{ name: 'depth', pointer: '/depth', type: 'double' }] },
    ],
  });
  const parsed = parseMetadata(md, 'metadata.json');
  t.deepEqual(parsed.problems, [], 'the PMDA accepts it without complaint');
  t.deepEqual(read(path.join(dir, 'data.json')), { requests: 7, q: [] });
  t.deepEqual(fs.readdirSync(dir).sort(), ['data.json', 'metadata.json'], 'no temporary files are left');

  // data is replaced by rename (a new inode), metadata only when declarations change
  const ino = (f) => fs.statSync(path.join(dir, f)).ino;
  const [mdIno, dataIno] = [ino('metadata.json'), ino('data.json')];
  p.set('requests', 8).write();
  t.not(ino('data.json'), dataIno);
  t.is(ino('metadata.json'), mdIno, 'unchanged metadata is not rewritten');
  p.string('version');
  p.write();
  t.not(ino('metadata.json'), mdIno);
  t.is(read(path.join(dir, 'metadata.json')).metrics[2].name, 'version');
});

test('flush() writes the same files asynchronously', async (t) => {
  const dir = tmp();
  const p = new Producer(dir);
  p.integer('big').set(-9007199254740993n);
  await p.flush();
  t.is(read(path.join(dir, 'data.json')).big, -9007199254740993n);
  t.deepEqual(fs.readdirSync(dir).sort(), ['data.json', 'metadata.json']);
});

test('writeFileAtomic leaves the old content when the write fails', (t) => {
  const dir = tmp();
  const file = path.join(dir, 'x.json');
  fs.writeFileSync(file, 'old');
  fs.mkdirSync(path.join(dir, 'sub'));
  t.throws(() => writeFileAtomic(path.join(dir, 'sub'), 'new'));
  t.is(fs.readFileSync(file, 'utf8'), 'old');
  writeFileAtomic(file, 'new');
  t.is(fs.readFileSync(file, 'utf8'), 'new');
  t.deepEqual(fs.readdirSync(dir).sort(), ['sub', 'x.json']);
});

test('a produced source is served by the PMDA: values, types, semantics, units, instances', async (t) => {
  const s = new Scratch();
  t.teardown(() => s.cleanup());
  const p = new Producer(path.join(s.src, 'producer_dir'), { prefix: 'myapp' });
  const requests = p.integer('requests', { semantics: 'counter', units: 'count', description: 'Requests served' });
  const huge = p.integer('huge');
  const load = p.double('cpu.load', { units: 'millisec', description: 'CPU time' });
  const version = p.string('version', { semantics: 'discrete' });
  const disks = p.array('disks', { index: 'name', description: 'per disk' });
  disks.integer('reads', { semantics: 'counter', units: 'count' }).double('busy', { units: 'sec' }).string('model');
  requests.set(41).add(1);
  huge.set(2n ** 63n - 1n);
  load.set(2.5);
  version.set('1.2.3');
  disks.setInstance('sda', { reads: 9007199254740993n, busy: 0.25, model: 'SSD "fast"' });
  disks.set('nvme0n1', 'reads', 3).set('nvme0n1', 'busy', 1);
  p.write();

  const d = await session(t, s);

  const traverse = await d.run('traverse json.myapp');
  for (const name of ['requests', 'huge', 'cpu.load', 'version', 'disks.reads', 'disks.busy', 'disks.model']) {
    t.true(traverse.includes(`json.myapp.${name}\n`), name);
  }

  const desc = async (n) => parseDesc(await d.run(`desc json.myapp.${n}`));
  t.like(await desc('requests'), { type: '64-bit int', sem: 'counter', units: 'count', indom: 'PM_INDOM_NULL' });
  t.like(await desc('huge'), { type: '64-bit int', sem: 'instant' });
  t.like(await desc('cpu.load'), { type: 'double', sem: 'instant', units: 'millisec' });
  t.like(await desc('version'), { type: 'string', sem: 'discrete' });
  t.like(await desc('disks.reads'), { type: '64-bit int', sem: 'counter', units: 'count' });
  t.like(await desc('disks.busy'), { type: 'double', units: 'sec' });
  t.not((await desc('disks.reads')).indom, 'PM_INDOM_NULL');
  t.regex(await d.run('text json.myapp.requests'), /Requests served/);

  t.deepEqual(await metricValues(d, 'json.myapp.requests'), { null: '42' });
  t.deepEqual(await metricValues(d, 'json.myapp.huge'), { null: '9223372036854775807' });
  t.deepEqual(await metricValues(d, 'json.myapp.cpu.load'), { null: '2.5' });
  t.deepEqual(await metricValues(d, 'json.myapp.version'), { null: '"1.2.3"' });
  t.deepEqual(await metricValues(d, 'json.myapp.disks.reads'), { sda: '9007199254740993', nvme0n1: '3' });
  t.deepEqual(await metricValues(d, 'json.myapp.disks.busy'), { sda: '0.25', nvme0n1: '1' });
  t.deepEqual(await metricValues(d, 'json.myapp.disks.model'), { sda: '"SSD "fast""' });

  // the program carries on: new values, an instance gone, one added
  requests.add(8);
  disks.delete('nvme0n1');
  disks.setInstance('sdb', { reads: 1, busy: 0, model: 'HDD' });
  p.write();
  t.deepEqual(await metricValues(d, 'json.myapp.requests'), { null: '50' });
  t.deepEqual(await metricValues(d, 'json.myapp.disks.reads'), { sda: '9007199254740993', sdb: '1' });
});
