// Unit tests of issue 23's metadata keys: arrays nested in arrays,
// trees ("children", "instance-names"), and value mapping ("map",
// "numeric-strings"): what is kept, what is refused and why, and what a
// value becomes. The elements of nested arrays and trees:
// test/unit/levels.test.mjs; the PMDA serving them: test/dbpmda/nested.test.mjs.
import test from 'ava';
import { parseMetadata, parseJson } from '../../dist/index.js';
import { withNested } from '../../dist/format/metadata.js';
import { mapValue } from '../../dist/format/valuemap.js';

/** @typedef {import('../../dist/format/metadata.js').ArraySpec} ArraySpec */
/** @typedef {import('../../dist/format/metadata.js').MetricSpec} MetricSpec */

const FILE = 'metadata.json';

/** The array of entry `i`. */
const arrayAt = (md, i) => /** @type {ArraySpec} */ (md.entries[i].kind === 'array' ? md.entries[i].array : undefined);

/** Metadata of these metrics: its entries by name (metrics, arrays at every depth, their members), and its problems. */
function parse(metrics) {
  const md = parseMetadata({ metrics }, FILE);
  const arrays = md.entries.flatMap((e) => (e.kind === 'array' ? withNested(e.array) : []));
  /** @type {Map<string, any>} */
  const all = new Map();
  for (const e of md.entries) if (e.kind === 'metric') all.set(e.metric.name, e.metric);
  for (const a of arrays) for (const x of [a, ...a.members]) all.set(x.name, x);
  return { md, all, problems: md.problems };
}

const LSBLK = {
  name: 'dev', type: 'array', pointer: '/blockdevices', index: '/name', metrics: [
    { name: 'size', type: 'integer', pointer: '/size', units: 'byte' },
    { name: 'part', type: 'array', pointer: '/children', index: '/name', 'instance-labels': { fs: '/fstype' }, metrics: [
      { name: 'size', type: 'integer', pointer: '/size', units: 'byte' },
      { name: 'lv', type: 'array', pointer: '/children', metrics: [{ name: 'size', type: 'integer', pointer: '/size' }] },
    ] },
    { name: 'rota', type: 'integer', pointer: '/rota' },
  ],
};

test('an array inside an array is an array of its own, named below it, with the levels it is inside', (t) => {
  const { md, all, problems } = parse([LSBLK]);
  t.deepEqual(problems, []);
  t.is(md.entries.length, 1);
  const dev = arrayAt(md, 0);
  t.deepEqual(dev.members.map((m) => m.name), ['dev.size', 'dev.rota']);
  t.deepEqual(withNested(dev).map((a) => a.name), ['dev', 'dev.part', 'dev.part.lv']);
  const part = all.get('dev.part');
  t.deepEqual(part.members.map((m) => m.name), ['dev.part.size']);
  t.is(part.pointer.text, '/children');
  t.is(part.index.text, '/name');
  t.deepEqual(part.instanceLabels.map(([k, p]) => [k, p.text]), [['fs', '/fstype']]);
  t.deepEqual(part.outer.map((l) => [l.name, l.pointer.text, l.index?.text]), [['dev', '/blockdevices', '/name']]);
  const lv = all.get('dev.part.lv');
  t.deepEqual(lv.outer.map((l) => l.name), ['dev', 'dev.part']);
  t.is(lv.index, undefined, 'no index: object keys name its elements');
  t.is(dev.outer, undefined);
  t.is(dev.children, undefined);
});

test('an array as pmdajson knew it parses as it did: no key of the new ones appears', (t) => {
  const { md } = parse([{ name: 'a', type: 'array', pointer: '/a', index: '/n', metrics: [{ name: 'v', type: 'integer', pointer: '/v' }] }]);
  const a = arrayAt(md, 0);
  t.deepEqual(Object.keys(a).sort(), ['description', 'index', 'members', 'name', 'pointer']);
  t.deepEqual(Object.keys(a.members[0]).sort(), ['description', 'name', 'pointer', 'sem', 'type', 'units']);
});

test('arrays nest 8 levels deep at most: the 9th is skipped, the 8 above it kept', (t) => {
  let inner = { name: 'l9', type: 'array', pointer: '/c', metrics: [{ name: 'v', type: 'integer', pointer: '/v' }] };
  for (let i = 8; i >= 1; i--) inner = { name: `l${i}`, type: 'array', pointer: '/c', metrics: [{ name: 'v', type: 'integer', pointer: '/v' }, inner] };
  const { all, problems } = parse([inner]);
  t.true(all.has('l1.l2.l3.l4.l5.l6.l7.l8.v'));
  t.false(all.has('l1.l2.l3.l4.l5.l6.l7.l8.l9'));
  t.deepEqual(problems, [`${FILE}: metrics[0].metrics[1].metrics[1].metrics[1].metrics[1].metrics[1].metrics[1].metrics[1].metrics[1]: skipping array 'l1.l2.l3.l4.l5.l6.l7.l8.l9': arrays nest at most 8 levels deep`]);
});

test('a nested array whose names are taken is skipped, its siblings kept', (t) => {
  const { all, problems } = parse([
    { name: 'dev.part', type: 'integer', pointer: '/x' },
    { name: 'dev', type: 'array', pointer: '/d', index: '/n', metrics: [
      { name: 'size', type: 'integer', pointer: '/size' },
      { name: 'part', type: 'array', pointer: '/p', index: '/n', metrics: [{ name: 'size', type: 'integer', pointer: '/size' }] },
      { name: 'q.size', type: 'integer', pointer: '/qs' },
      { name: 'q', type: 'array', pointer: '/q', index: '/n', metrics: [{ name: 'size', type: 'integer', pointer: '/size' }] },
      { name: 'r', type: 'array', pointer: '/r', index: '/n', metrics: [{ name: 'size', type: 'integer', pointer: '/size' }] },
    ] },
  ]);
  t.deepEqual([...all.keys()].sort(), ['dev', 'dev.part', 'dev.q.size', 'dev.r', 'dev.r.size', 'dev.size']);
  t.is(all.get('dev.part').type, 'integer', 'the metric named first keeps the name');
  t.deepEqual(problems, [
    `${FILE}: metrics[1].metrics[3]: skipping array 'dev.q': duplicate metric 'dev.q.size'`,
    `${FILE}: metrics[1]: skipping array 'dev.part' in array 'dev': a metric of that name exists`,
  ]);
});

test("trees: 'children' and 'instance-names', and what is refused", (t) => {
  const fs = { name: 'fs', type: 'array', pointer: '/filesystems', index: '/target', children: '/children', 'instance-names': 'leaf', metrics: [{ name: 'used', type: 'integer', pointer: '/used' }] };
  const { all, problems } = parse([
    fs,
    { ...fs, name: 'path', 'instance-names': 'path' },
    { ...fs, name: 'plain', 'instance-names': undefined },
    { ...fs, name: 'bad1', 'instance-names': 'full' },
    { ...fs, name: 'bad2', children: undefined },
    { ...fs, name: 'bad3', children: 7 },
    { ...fs, name: 'bad4', children: 'children' },
    { ...fs, name: 'bad5', children: '' },
    { name: 'bad6', type: 'integer', pointer: '/x', children: '/c' },
    { name: 'bad7', type: 'integer', pointer: '/x', 'instance-names': 'leaf' },
  ]);
  t.true(all.get('fs').leafNames);
  t.is(all.get('fs').children.text, '/children');
  t.is(all.get('path').leafNames, undefined);
  t.is(all.get('plain').leafNames, undefined);
  t.true(all.has('plain.used'));
  t.deepEqual(problems, [
    `${FILE}: metrics[3]: skipping array 'bad1': 'instance-names' is "full", not "path" or "leaf"`,
    `${FILE}: metrics[4]: skipping array 'bad2': 'instance-names' is only for arrays with 'children'`,
    `${FILE}: metrics[5]: skipping array 'bad3': 'children' is not a string`,
    `${FILE}: metrics[6]: skipping array 'bad4': children JSON pointer 'children' must be empty or start with '/'`,
    `${FILE}: metrics[7]: skipping array 'bad5': children must not be the empty pointer`,
    `${FILE}: metrics[8]: skipping metric 'bad6': 'children' is only for arrays`,
    `${FILE}: metrics[9]: skipping metric 'bad7': 'instance-names' is only for arrays`,
  ]);
});

test("'map' and 'numeric-strings' are kept on integer and double metrics; bad ones skip their metric", (t) => {
  const many = Object.fromEntries(Array.from({ length: 1025 }, (_, i) => [`k${i}`, i]));
  const md = parseMetadata(parseJson(JSON.stringify({ metrics: [
    { name: 'state', type: 'integer', pointer: '/s', semantics: 'discrete', map: { up: 1, down: 0, true: 1, null: -1 } },
    { name: 'cpus', type: 'integer', pointer: '/c', 'numeric-strings': true },
    { name: 'mhz', type: 'double', pointer: '/m', 'numeric-strings': true, map: { '-': 0.5 } },
    { name: 'off', type: 'integer', pointer: '/o', 'numeric-strings': false },
    { name: 'bad1', type: 'string', pointer: '/b', map: { a: 1 } },
    { name: 'bad2', type: 'integer', pointer: '/b', map: { a: 1.5 } },
    { name: 'bad3', type: 'integer', pointer: '/b', map: { a: '1' } },
    { name: 'bad4', type: 'integer', pointer: '/b', map: [1] },
    { name: 'bad5', type: 'integer', pointer: '/b', map: many },
    { name: 'bad6', type: 'double', pointer: '/b', 'numeric-strings': 'yes' },
    { name: 'bad7', type: 'string', pointer: '/b', 'numeric-strings': true },
    { name: 'arr', type: 'array', pointer: '/a', index: '/n', metrics: [{ name: 'st', type: 'integer', pointer: '/st', map: { up: 1 } }] },
  ] }).replace('"up":1,', '"up":1,"big":9223372036854775807,')), FILE);
  const m = new Map(md.entries.flatMap((e) => (e.kind === 'metric' ? [[e.metric.name, e.metric]] : e.array.members.map((x) => [x.name, x]))));
  t.deepEqual([...m.keys()], ['state', 'cpus', 'mhz', 'off', 'arr.st']);
  t.deepEqual([...m.get('state').mapping.map], [['up', 1], ['big', 9223372036854775807n], ['down', 0], ['true', 1], ['null', -1]]);
  t.false(m.get('state').mapping.numericStrings);
  t.deepEqual(m.get('cpus').mapping, { numericStrings: true });
  t.is(m.get('mhz').mapping.map.get('-'), 0.5);
  t.is(m.get('off').mapping, undefined, 'false alone asks nothing');
  t.true(m.get('arr.st').mapping.map.has('up'));
  t.deepEqual(md.problems, [
    `${FILE}: metrics[4]: skipping metric 'bad1': 'map' is only for integer and double metrics`,
    `${FILE}: metrics[5]: skipping metric 'bad2': 'map' gives "a" 1.5, not a 64-bit integer`,
    `${FILE}: metrics[6]: skipping metric 'bad3': 'map' gives "a" "1", not a 64-bit integer`,
    `${FILE}: metrics[7]: skipping metric 'bad4': 'map' is not an object`,
    `${FILE}: metrics[8]: skipping metric 'bad5': 'map' has 1025 keys, more than 1024`,
    `${FILE}: metrics[9]: skipping metric 'bad6': 'numeric-strings' is not true or false`,
    `${FILE}: metrics[10]: skipping metric 'bad7': 'numeric-strings' is only for integer and double metrics`,
  ]);
});

test('a mapped value: the map first, then numeric-strings; numbers as they are; what has no number throws, naming it', (t) => {
  const map = new Map([['up', 1], ['down', 0], ['true', 7], ['null', -1], ['12', 99]]);
  const both = { map, numericStrings: true };
  t.is(mapValue('up', { map, numericStrings: false }), 1);
  t.is(mapValue(true, both), 7, 'true by its JSON text');
  t.is(mapValue(null, both), -1);
  t.is(mapValue('12', both), 99, 'the map before numeric-strings');
  t.is(mapValue(' 3400.0000\n', both), 3400);
  t.is(mapValue('9007199254740993', both), 9007199254740993n, 'exact beyond 2^53');
  t.is(mapValue('-9223372036854775808', { numericStrings: true }), -9223372036854775808n);
  t.is(mapValue(5, both), 5, 'a number is a number');
  t.is(mapValue(9223372036854775807n, both), 9223372036854775807n);
  t.is(mapValue(undefined, both), undefined);
  t.is(mapValue(false, { numericStrings: true }), false, 'without a map, a boolean is left to the usual 1/0');
  t.is(mapValue('x', { numericStrings: false }), 'x', 'nothing asked: nothing done');
  t.throws(() => mapValue(false, both), { message: "false is not in its 'map'" });
  t.throws(() => mapValue('degraded', { map, numericStrings: false }), { message: `"degraded" is not in its 'map'` });
  t.throws(() => mapValue('n/a', both), { message: `"n/a" is not in its 'map' and not a number` });
  t.throws(() => mapValue('0x10', { numericStrings: true }), { message: `"0x10" is not a number` });
  t.throws(() => mapValue('1 2', { numericStrings: true }));
  t.throws(() => mapValue('', { numericStrings: true }));
  const long = `a\n${'b'.repeat(100)}`;
  t.throws(() => mapValue(long, { map, numericStrings: false }), { message: `${JSON.stringify(`${long.slice(0, 64)}...`)} is not in its 'map'` }, 'escaped, cut to 64 characters');
});
