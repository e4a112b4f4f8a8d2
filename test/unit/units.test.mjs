// Unit tests: JSON parsing with exact integers, JSON pointers, metadata
// parsing, value conversion, command splitting.
import test from 'ava';
import { parseJson, parsePointer, resolve, parseMetadata, validName, convert, splitCommand } from '../../dist/index.js';

/** @typedef {import('../../dist/format/metadata.js').Entry} Entry */

test('integers stay exact over the whole int64 range', (t) => {
  const doc = /** @type {any} */ (parseJson('{"a": 9007199254740993, "b": -9223372036854775808, "c": 9223372036854775807, "d": 12, "e": "9007199254740993", "f": [1.5e300, -0.0]}'));
  t.is(doc.a, 9007199254740993n);
  t.is(doc.b, -9223372036854775808n);
  t.is(doc.c, 9223372036854775807n);
  t.is(doc.d, 12);
  t.is(doc.e, '9007199254740993', 'digits inside strings are left alone');
  t.is(doc.f[0], 1.5e300);
});

test('long integers inside strings with escapes do not confuse the scanner', (t) => {
  const doc = /** @type {any} */ (parseJson('{"s": "a\\"12345678901234567890\\"", "n": 12345678901234567890}'));
  t.is(doc.s, 'a"12345678901234567890"');
  t.is(doc.n, 12345678901234567890n);
});

test('invalid JSON still fails', (t) => {
  t.throws(() => parseJson('{"a": 12345678901234567890'));
  t.throws(() => parseJson('{"a": 1'));
});

test('JSON pointers follow RFC 6901', (t) => {
  const doc = { foo: ['bar', 'baz'], '': 0, 'a/b': 1, 'c%d': 2, 'e^f': 3, 'g|h': 4, 'i\\j': 5, 'k"l': 6, ' ': 7, 'm~n': 8 };
  const r = (p) => resolve(parsePointer(p), doc);
  t.deepEqual(r(''), doc);
  t.deepEqual(r('/foo'), ['bar', 'baz']);
  t.is(r('/foo/0'), 'bar');
  t.is(r('/'), 0);
  t.is(r('/a~1b'), 1);
  t.is(r('/c%d'), 2);
  t.is(r('/m~0n'), 8);
  t.is(r('/ '), 7);
  t.is(r('/foo/2'), undefined, 'past the end');
  t.is(r('/foo/01'), undefined, 'leading zero is not an index');
  t.is(r('/foo/-'), undefined);
  t.is(r('/foo/0/x'), undefined, 'into a string');
  t.throws(() => parsePointer('foo'));
  t.throws(() => parsePointer('/a~2'));
});

test('metadata: valid entries are kept, invalid ones skipped with a reason', (t) => {
  const md = parseMetadata({
    prefix: 'app',
    'data-path': '/tmp/x.json',
    extra: 1,
    metrics: [
      { name: 'x', pointer: '/x', type: 'integer' },
      { name: 'bad name', pointer: '/y', type: 'integer' },
      { name: 'nopointer', type: 'integer' },
      { name: 'badtype', pointer: '/z', type: 'float' },
      { name: 'badsem', pointer: '/z', type: 'double', semantics: 'sometimes' },
      { name: 'badunits', pointer: '/z', type: 'double', units: 'furlongs' },
      { name: 'rate', pointer: '/r', type: 'double', units: 'Kbyte / sec', semantics: 'counter', description: 'Rate' },
      { name: 'arr', pointer: '/arr', type: 'array', index: '/id', metrics: [{ name: 'v', pointer: '/v', type: 'string' }, { name: 'sub', pointer: '/s', type: 'array' }] },
      // an index that is not a pointer (leaving it out is for objects' keys)
      { name: 'noindex', pointer: '/arr', type: 'array', index: 5, metrics: [] },
      { name: 'x', pointer: '/x2', type: 'integer' },
      'not an object',
    ],
  }, 'metadata.json');
  t.is(md.prefix, 'app');
  t.is(md.dataPath, '/tmp/x.json');
  const names = md.entries.map((e) => (e.kind === 'metric' ? e.metric.name : e.array.name));
  t.deepEqual(names, ['x', 'badunits', 'rate', 'arr']);
  const arr = md.entries.find((e) => e.kind === 'array').array;
  t.deepEqual(arr.members.map((m) => m.name), ['arr.v']);
  const rate = /** @type {Extract<Entry, { kind: 'metric' }>} */ (md.entries[2]).metric;
  t.deepEqual(rate.units, [1, -1, 0, 1, 3, 0], 'Kbyte / sec via pmParseUnitsStr');
  t.is(rate.description, 'Rate');
  for (const word of ['bad name', 'nopointer', 'badtype', 'badsem', 'furlongs', 'sub', 'noindex', 'duplicate', 'extra', 'not an object']) {
    t.true(md.problems.some((p) => p.includes(word)), `a problem mentions ${word}`);
  }
  t.true(md.problems.every((p) => p.startsWith('metadata.json')), 'every problem names the file');
});

test('metric names follow PCP rules; one letter is fine', (t) => {
  t.true(validName('a'));
  t.true(validName('a.b_c.d9'));
  t.false(validName('9a'));
  t.false(validName('a..b'));
  t.false(validName('a-b'));
  t.false(validName(''));
  t.false(validName('ünï'));
});

test('values convert to their PCP types, exactly', (t) => {
  t.is(convert(9007199254740993n, 'integer'), 9007199254740993n);
  t.is(convert(-3, 'integer'), -3);
  t.is(convert(true, 'integer'), 1);
  t.throws(() => convert(1.5, 'integer'));
  t.throws(() => convert(2n ** 63n, 'integer'));
  t.throws(() => convert('12', 'integer'));
  t.throws(() => convert(undefined, 'integer'));
  t.is(convert(2n ** 70n, 'double'), 2 ** 70);
  t.is(convert('ü', 'string'), 'ü');
  t.is(convert(12, 'string'), '12');
  t.throws(() => convert({}, 'string'));
});

test('data-exec commands are split like a shell would, without one', (t) => {
  t.deepEqual(splitCommand('cat "/tmp/a b.json"'), ['cat', '/tmp/a b.json']);
  t.deepEqual(splitCommand("sh -c 'echo {\"a\": 1}'"), ['sh', '-c', 'echo {"a": 1}']);
  t.deepEqual(splitCommand('a\\ b c'), ['a b', 'c']);
  t.deepEqual(splitCommand('x ""'), ['x', '']);
  t.throws(() => splitCommand('echo "unterminated'));
});
