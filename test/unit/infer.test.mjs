// pmdajson-generate's inference from samples (src/cli/infer/): how a
// sample is read, how values are typed and counters told, which member
// names instances, and which shapes become maps, nested arrays and trees.
import test from 'ava';
import fc from 'fast-check';
import { parseJson } from '../../dist/format/json.js';
import { parseSample, scalarOf } from '../../dist/cli/infer/sample.js';
import { chooseIndex } from '../../dist/cli/infer/index-key.js';
import { metadataFromSamples } from '../../dist/cli/infer/data.js';

/** @typedef {import('../../dist/cli/infer/common.js').GenArray} GenArray */
/** @type {(e: unknown) => GenArray} */
const arr = (e) => /** @type {GenArray} */ (e);

test('a sample keeps 0.00 and 1e3 as doubles, integers exact, numbers in strings told apart', (t) => {
  const doc = /** @type {any} */ (parseSample('{"a": 0.00, "b": 1, "c": "2.50", "d": [1e3, -0.5], "e": "x\\"1.5", "f": 9223372036854775807, "g": " 42 ", "h": "007"}'));
  t.deepEqual(scalarOf(doc.a), { k: 'double', v: 0 });
  t.deepEqual(scalarOf(doc.b), { k: 'int', v: 1n });
  t.deepEqual(scalarOf(doc.c), { k: 'str', v: '2.50', num: 'double' });
  t.deepEqual(scalarOf(doc.d[0]), { k: 'double', v: 1000 });
  t.deepEqual(scalarOf(doc.d[1]), { k: 'double', v: -0.5 });
  t.deepEqual(scalarOf(doc.e), { k: 'str', v: 'x"1.5' });
  t.deepEqual(scalarOf(doc.f), { k: 'int', v: 9223372036854775807n });
  t.deepEqual(scalarOf(doc.g), { k: 'str', v: ' 42 ', num: 'int', int: 42n });
  t.deepEqual(scalarOf(doc.h), { k: 'str', v: '007' }, 'no JSON number: a leading zero');
  t.deepEqual(scalarOf('9223372036854775808'), { k: 'str', v: '9223372036854775808', num: 'double' }, 'past int64');
});

test('a sample reads as parseJson does, but for the doubles kept', (t) => {
  // numbers compared as values: parseJson makes BigInts of a whole
  // document's long integers when one number is past 2^53, the sample not
  // when that number is a double kept
  const plain = (v) => {
    const s = scalarOf(v);
    if (s?.k === 'double' || s?.k === 'int') return Number.isInteger(Number(s.v)) ? BigInt(s.v) : s.v;
    if (Array.isArray(v)) return v.map(plain);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, plain(e)]));
    return v;
  };
  fc.assert(fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 3 }), (v, indent) => {
    const text = JSON.stringify(v, null, indent);
    t.deepEqual(plain(parseSample(text)), plain(parseJson(text)));
  }), { numRuns: 300 });
});

test('the index: a unique member first; else the most unique, with a pair that would do', (t) => {
  t.deepEqual(chooseIndex([[{ dev: 'a', id: 1 }, { dev: 'b', id: 2 }]]), { key: 'dev' });
  t.deepEqual(chooseIndex([[{ n: 1, cpu: 0 }, { n: 1, cpu: 1 }]]), { key: 'cpu' }, 'an integer named like an id');
  t.is(chooseIndex([[{ n: 1, v: 0 }, { n: 2, v: 1 }]]), undefined, 'other integers are values, not names');
  const c = chooseIndex([[{ t: '/a', s: 'x' }, { t: '/b', s: 'x' }, { t: '/b', s: 'y' }]]);
  t.is(c.key, 't');
  t.deepEqual(c.repeats.repeated, ['/b']);
  t.deepEqual(c.pair, ['t', 's']);
  const line = metadataFromSamples([{ fs: [{ t: '/a', s: 'x', v: 1 }, { t: '/b', s: 'x', v: 2 }, { t: '/b', s: 'y', v: 3 }] }]).problems;
  t.deepEqual(line, [
    `'fs': no member names every element uniquely; indexed by 't', which repeats ("/b"): of elements with the same 't', the last is served; 't' and 's' together would be unique, but an index is one member`,
    'one sample: no integer is guessed to be a counter (two samples or more are needed)',
  ]);
  // unique in one sample of two beats repeated in both
  const two = chooseIndex([[{ a: 'x', b: 'p' }, { a: 'y', b: 'p' }], [{ a: 'x', b: 'q' }, { a: 'x', b: 'r' }]]);
  t.is(two.key, 'a');
  t.is(two.repeats.uniqueGroups, 1);
  const words = chooseIndex([[{ f: 'CPU family:' }, { f: 'CPU(s):' }, { f: 'CPU op-mode:' }]]);
  t.deepEqual(words.repeats.repeated, ['CPU …'], 'PCP tells instances apart by their first word');
});

test('counters: an integer of each instance never down, up at every step, or once if its name counts; per instance, in any order', (t) => {
  const a = parseSample('{"d": [{"name": "x", "r": 5, "g": 3, "f": 1.5, "rx_bytes": 10, "used": 1}, {"name": "y", "r": 9, "g": 1, "f": 2.5, "rx_bytes": 10, "used": 1}]}');
  const b = parseSample('{"d": [{"name": "y", "r": 9, "g": 0, "f": 3.5, "rx_bytes": 10, "used": 2}, {"name": "x", "r": 7, "g": 4, "f": 4.5, "rx_bytes": 12, "used": 1}]}');
  const c = parseSample('{"d": [{"name": "x", "r": 8, "g": 5, "f": 0.5, "rx_bytes": 12, "used": 1}, {"name": "y", "r": 9, "g": 1, "f": 2.5, "rx_bytes": 10, "used": 2}]}');
  const { doc, problems } = metadataFromSamples([a, b, c]);
  t.deepEqual(arr(doc.metrics[0]).metrics, [
    // x went 5, 7, 8: up at every step
    { name: 'r', pointer: '/r', type: 'integer', semantics: 'counter' },
    // y went down
    { name: 'g', pointer: '/g', type: 'integer' },
    { name: 'f', pointer: '/f', type: 'double' },
    // up once, and its name counts
    { name: 'rx_bytes', pointer: '/rx_bytes', type: 'integer', semantics: 'counter' },
    // up once, never down, but its name does not count: a gauge that rose
    { name: 'used', pointer: '/used', type: 'integer' },
  ]);
  t.deepEqual(problems, []);
  // two samples: one step, so only a name that counts
  const two = metadataFromSamples([a, b]);
  t.deepEqual(arr(two.doc.metrics[0]).metrics.filter((m) => 'semantics' in m && m.semantics === 'counter').map((m) => m.name), ['rx_bytes']);
  const one = metadataFromSamples([a]);
  t.like(arr(one.doc.metrics[0]).metrics[0], { name: 'r', type: 'integer' });
  t.false('semantics' in arr(one.doc.metrics[0]).metrics[0]);
  t.deepEqual(one.problems, ['one sample: no integer is guessed to be a counter (two samples or more are needed)']);
});

test('types: numbers in strings, strings, and what clashes', (t) => {
  const { doc, problems } = metadataFromSamples([
    { n: '1', m: '1', s: 'up', x: 1, b: true, nb: '3' },
    { n: '2', m: 'n/a', s: 'down', x: 'one', b: false, nb: 4 },
  ]);
  t.deepEqual(doc.metrics, [
    { name: 'n', pointer: '/n', type: 'integer', 'numeric-strings': true },
    { name: 'm', pointer: '/m', type: 'string' },
    { name: 's', pointer: '/s', type: 'string' },
    { name: 'b', pointer: '/b', type: 'integer', semantics: 'discrete' },
    { name: 'nb', pointer: '/nb', type: 'integer', 'numeric-strings': true },
  ]);
  t.deepEqual(problems, ["skipping 'x': it holds both strings and numbers"]);
});

test('objects of one shape are an object map; of different shapes, names', (t) => {
  const { doc } = metadataFromSamples([{
    disks: { sda: { reads: 1, model: 'X' }, sdb: { reads: 2, model: 'Y' } },
    net: { rx: { bytes: 1, over_errors: 0 }, tx: { bytes: 2, collisions: 0 } },
  }]);
  t.deepEqual(doc.metrics[0], { name: 'disks', pointer: '/disks', type: 'array', metrics: [{ name: 'reads', pointer: '/reads', type: 'integer' }, { name: 'model', pointer: '/model', type: 'string' }] });
  t.deepEqual(doc.metrics.slice(1).map((m) => m.name), ['net.rx.bytes', 'net.rx.over_errors', 'net.tx.bytes', 'net.tx.collisions']);
});

test('a top-level array, and a level of one element holding arrays, read through /0', (t) => {
  const { doc } = metadataFromSamples([[{ host: 'h', runs: [{ name: 'a', v: 1 }, { name: 'b', v: 2 }] }]]);
  t.deepEqual(doc.metrics, [
    { name: 'host', pointer: '/0/host', type: 'string' },
    { name: 'runs', pointer: '/0/runs', type: 'array', index: '/name', metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] },
  ]);
  const flat = metadataFromSamples([[{ name: 'a', v: 1 }]]);
  t.like(flat.doc.metrics[0], { name: 'items', pointer: '', index: '/name' }, 'one element holding no arrays: still an array');
  const twice = metadataFromSamples([[{ host: 'h', runs: [{ name: 'a', v: 1 }] }], [{ host: 'h', runs: [] }, { host: 'i', runs: [] }]]);
  t.like(twice.doc.metrics[0], { name: 'items', pointer: '', index: '/host' }, 'two elements in one sample: an array');
  t.like(arr(twice.doc.metrics[0]).metrics[0], { name: 'runs', pointer: '/runs', type: 'array', index: '/name' });
});

test('nested arrays stop at 8 levels, trees at 64', (t) => {
  /** @type {object} */
  let v = { name: 'x', v: 1 };
  for (let i = 0; i < 9; i++) v = { name: `l${i}`, w: i, a: [v, { ...v, name: 'other' }] };
  const { doc, problems } = metadataFromSamples([{ top: [v, { ...v, name: 'o' }] }]);
  let depth = 0;
  for (let e = arr(doc.metrics[0]); e; e = arr(e.metrics.find((m) => m.type === 'array'))) depth++;
  t.is(depth, 8);
  t.true(problems.some((p) => /nested more than 8 deep/.test(p)), problems.join('\n'));
  /** @type {object} */
  let node = { id: 'n70', v: 1 };
  for (let i = 69; i >= 0; i--) node = { id: `n${i}`, v: i, kids: [node] };
  const tree = metadataFromSamples([{ t: [node] }]);
  t.like(tree.doc.metrics[0], { name: 't', index: '/id', children: '/kids', 'instance-names': 'leaf' });
  t.true(tree.problems.some((p) => /deeper than 64 levels are not served/.test(p)), tree.problems.join('\n'));
});
