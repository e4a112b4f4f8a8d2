// The native query (native/query.cc, native/queryrun.cc, through src/pmda/data/query.ts) answers
// as the JavaScript parse does (src/pmda/data/view.ts's TreeView): for random
// documents, with duplicate keys, int64 edges, numbers beyond 64 bits,
// object maps with array-index keys, escapes, and pointers that find
// nothing; and it leaves to JavaScript what it cannot take.
import test from 'ava';
import fc from 'fast-check';
import { parseJson } from '../../dist/format/json.js';
import { parsePointer } from '../../dist/format/pointer.js';
import { Query } from '../../dist/pmda/data/query.js';
import { TreeView, AN_ARRAY, AN_OBJECT } from '../../dist/pmda/data/view.js';

const KEYS = ['a', 'b', 'name', 'v', '0', '7', '10', 'x/y', 'm~n', '', 'é', '__proto__'];
const NUMBERS = ['0', '-0', '1', '-1', '12', '1.5', '-2.25e3', '1e2', '9007199254740991', '9007199254740993', '-9007199254740993', '9223372036854775807', '-9223372036854775808', '9223372036854775808', '18446744073709551615', '123456789012345678901234567890', '1e400', '0.1'];
const STRINGS = ['"s"', '""', '"a\\"b"', '"\\u00e9\\n"', '"9007199254740993"', '"\\ud83d\\ude00"', '"x y"'];

/** JSON text of depth at most `d`, with duplicate keys now and then. */
const textOf = (d) => fc.oneof(
  fc.constantFrom(...NUMBERS, ...STRINGS, 'true', 'false', 'null'),
  ...(d > 0 ? [
    fc.array(textOf(d - 1), { maxLength: 5 }).map((xs) => `[${xs.join(',')}]`),
    fc.array(fc.tuple(fc.constantFrom(...KEYS), textOf(d - 1)), { maxLength: 6 }).map((kv) => `{${kv.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  ] : []),
);

const pointerOf = fc.array(fc.constantFrom(...KEYS, '1', '2', '-'), { maxLength: 3 }).map((ts) => parsePointer(ts.map((t) => '/' + t.replace(/~/g, '~0').replace(/\//g, '~1')).join('')));

/**
 * What a value shows a metric: arrays and objects as their kind, -0 as 0
 * (docs/PARSING.md), an integer the same whether it came as a number or a
 * BigInt (the JavaScript parse makes every integer of 16 digits a BigInt
 * in a document with one beyond 2^53).
 */
function shown(v) {
  if (typeof v === 'bigint' && Number.isSafeInteger(Number(v))) return Number(v);
  if (v === AN_ARRAY || Array.isArray(v)) return 'an array';
  if (v === AN_OBJECT || (v !== null && typeof v === 'object')) return 'an object';
  if (v === 0) return 0;
  return v;
}

function answers(view, arrays, scalars) {
  const out = { scalars: scalars.map((m) => shown(view.scalar(m))), arrays: [] };
  arrays.forEach(({ spec, members }, a) => {
    const found = view.found(a);
    const rows = [];
    const n = found === 'array' || found === 'map' ? view.count(a) : 0;
    for (let e = 0; e < n; e++) {
      rows.push({
        key: found === 'map' ? view.key(a, e) : undefined,
        index: spec.index ? shown(view.index(a, e)) : undefined,
        members: members.map((m) => shown(view.member(a, e, m))),
        labels: (spec.instanceLabels ?? []).map((_, j) => shown(view.label(a, e, j))),
      });
    }
    out.arrays.push({ found, rows });
  });
  return out;
}

test('the query finds what the JavaScript parse finds, or leaves the document to it', (t) => {
  let parsedNatively = 0;
  let leftToJs = 0;
  fc.assert(fc.property(
    textOf(3),
    fc.array(pointerOf, { maxLength: 4 }),
    fc.array(fc.tuple(pointerOf, fc.option(pointerOf), fc.array(pointerOf, { maxLength: 3 }), fc.array(pointerOf, { maxLength: 2 })), { maxLength: 2 }),
    (/** @type {string} */ text, scalarPointers, arraySpecs) => {
      let doc;
      try {
        doc = parseJson(text);
      } catch {
        return; // not JSON for JavaScript either (1e400 is: Infinity)
      }
      // only the parts of a metric and an array that a view looks at
      /** @type {any[]} */
      const scalars = scalarPointers.map((pointer) => ({ spec: { pointer }, slot: 0 }));
      /** @type {any[]} */
      const arrays = arraySpecs.map(([pointer, index, ms, labels], a) => ({
        spec: { name: `a${a}`, pointer, index: index ?? undefined, instanceLabels: labels.map((p, j) => [`l${j}`, p]) },
        members: ms.map((p) => ({ spec: { pointer: p }, arrayAt: a, slot: 0 })),
      }));
      const query = new Query(scalars, arrays);
      try {
        const buf = Buffer.from(text);
        const view = query.run(buf, buf.length, false);
        if (!view) {
          leftToJs++;
          return;
        }
        parsedNatively++;
        const tree = new TreeView(doc, arrays.map((x) => x.spec));
        t.deepEqual(answers(view, arrays, scalars), answers(tree, arrays, scalars), text);
      } finally {
        query.free();
      }
    },
  ), { numRuns: 3000 });
  t.log(`${parsedNatively} documents answered by the query, ${leftToJs} left to JavaScript`);
  t.true(parsedNatively > 1000);
  t.true(leftToJs > 10);
});

test('documents the query leaves to JavaScript: beyond 64 bits, beyond double range, lone surrogates, invalid UTF-8, too deep, not JSON', (t) => {
  const query = new Query([/** @type {any} */ ({ spec: { pointer: parsePointer('/a') }, slot: 0 })], []);
  const run = (/** @type {Buffer} */ bytes) => query.run(bytes, bytes.length, false);
  t.truthy(run(Buffer.from('{"a": 18446744073709551615}')), 'uint64 is taken');
  for (const text of ['{"a": 123456789012345678901234567890}', '{"a": 1e400}', '{"a": "\\ud800"}', '{"a": 1', '{"a": tru}', '['.repeat(5000) + ']'.repeat(5000)]) {
    t.is(run(Buffer.from(text)), undefined, text.slice(0, 40));
  }
  t.is(run(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])), undefined, 'invalid UTF-8');
  query.free();
});

test('a byte order mark is skipped, and a padded buffer is read in place', (t) => {
  const query = new Query([/** @type {any} */ ({ spec: { pointer: parsePointer('/a') }, slot: 0 })], []);
  const text = Buffer.from('\ufeff{"a": 9223372036854775807}');
  const padded = Buffer.alloc(text.length + 64, 0x20);
  text.copy(padded);
  const view = query.run(padded, text.length, true);
  t.is(view?.scalar(/** @type {any} */ ({ slot: 0 })), 9223372036854775807n);
  // two are not JSON for JavaScript: that document is left to it (simdjson 4 would skip both)
  const two = Buffer.from('\ufeff\ufeff{"a": 1}');
  t.is(query.run(two, two.length, false), undefined);
  query.free();
});
