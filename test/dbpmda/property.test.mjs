// Property-based tests (fast-check) over what an untrusted source can put
// in front of the PMDA: any JSON text as data, any JSON object as
// metadata. The library functions either answer or fail with their
// documented errors (SyntaxError from parseJson, PointerError from
// parsePointer, ValueError from convert; parseMetadata never throws and
// reports problems instead), integers are exact over the int64 range,
// and a PMDA fed random sources through dbpmda keeps answering.
import test from 'ava';
import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { parseJson, parsePointer, resolve, parseMetadata, validName, convert } from '../../dist/index.js';
import { PointerError } from '../../dist/format/pointer.js';
import { ValueError } from '../../dist/pmda/records/encoder.js';
import { Scratch } from '../helpers/harness.mjs';
import { Session } from '../corpus/session.mjs';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 1000);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

// ---- arbitraries ------------------------------------------------------------------

/** Integer literals of any length, the kind that takes the exact-integer path. */
const bigIntText = fc.oneof(
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }).map(String),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
  fc.stringMatching(/^-?[1-9][0-9]{15,60}$/),
);

/** JSON text: any JSON value, pretty or not, with long integers spliced in, nested deep or not. */
const jsonText = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.jsonValue(), fc.constantFrom(undefined, 1, '\t')).map(([v, sp]) => JSON.stringify(v, null, sp)) },
  { weight: 2, arbitrary: fc.tuple(fc.jsonValue(), fc.array(bigIntText, { maxLength: 5 })).map(([v, ints]) => JSON.stringify({ v, ints: 0 }).replace('"ints":0', `"ints":[${ints.join(',')}]`)) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 20000 }), fc.oneof(bigIntText, fc.constant('1'), fc.constant('"s"')), fc.boolean()).map(([depth, inner, obj]) => (obj ? '{"a":'.repeat(depth) + inner + '}'.repeat(depth) : '['.repeat(depth) + inner + ']'.repeat(depth))) },
);

/** Text that is often almost JSON: JSON tokens, long digit runs and junk glued together. */
const nearJsonText = fc.array(fc.constantFrom('{', '}', '[', ']', '"', ':', ',', ' ', '\\', '-', '.', 'e', 'a', '1', '0', 'true', 'null', '"k"', '1234567890123456789', '-9223372036854775809', '\ufeff', '\u0000', '\n'), { maxLength: 40 }).map((a) => a.join(''));

/** Metric names: valid ones, and the ways they go wrong. */
const metricName = fc.oneof(
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,8}(\.[A-Za-z][A-Za-z0-9_]{0,8}){0,2}$/),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('', 'a..b', '.a', '1a', '_x', 'a b', 'ä', 'constructor', '__proto__', 'a\u0000b', 'x'.repeat(300)),
);
const pointerText = fc.oneof(
  fc.array(fc.oneof(fc.stringMatching(/^[a-z0-9]{0,4}$/), fc.constantFrom('~0', '~1', '-', '01', '__proto__', 'length')), { maxLength: 4 }).map((a) => (a.length ? '/' + a.join('/') : '')),
  fc.string({ maxLength: 8 }),
);
const anyJson = fc.jsonValue({ maxDepth: 2 });
const metricSpec = fc.record({
  name: fc.oneof({ weight: 4, arbitrary: metricName }, { weight: 1, arbitrary: anyJson }),
  pointer: fc.oneof({ weight: 4, arbitrary: pointerText }, { weight: 1, arbitrary: anyJson }),
  type: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('integer', 'double', 'string', 'array') }, { weight: 1, arbitrary: fc.oneof(fc.constantFrom('constructor', 'toString', '__proto__', 'Integer', ''), anyJson) }),
  units: fc.oneof(fc.constantFrom('count', 'Kbyte / sec', 'furlongs', ''), anyJson),
  semantics: fc.oneof(fc.constantFrom('counter', 'instant', 'discrete', 'rate', 'constructor'), anyJson),
  description: fc.oneof(fc.string({ maxLength: 20 }), anyJson),
  help: fc.oneof(fc.string({ maxLength: 20 }), anyJson),
  index: fc.oneof(pointerText, anyJson),
}, { requiredKeys: [] });
const arraySpec = fc.record({
  name: metricName,
  pointer: pointerText,
  type: fc.constant('array'),
  index: fc.oneof({ weight: 4, arbitrary: pointerText }, { weight: 1, arbitrary: anyJson }),
  metrics: fc.oneof({ weight: 4, arbitrary: fc.array(metricSpec, { maxLength: 4 }) }, { weight: 1, arbitrary: anyJson }),
}, { requiredKeys: ['type'] });
const metadataDoc = fc.oneof(
  { weight: 6, arbitrary: fc.record({
    prefix: fc.oneof(metricName, anyJson),
    'data-path': fc.oneof(fc.constantFrom('data.json', '', '.', '../x', '/dev/null'), anyJson),
    metrics: fc.oneof({ weight: 5, arbitrary: fc.array(fc.oneof({ weight: 3, arbitrary: metricSpec }, { weight: 1, arbitrary: arraySpec }, { weight: 1, arbitrary: anyJson }), { maxLength: 8 }) }, { weight: 1, arbitrary: anyJson }),
    surprise: anyJson,
  }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.jsonValue() },
);

/** A source for the PMDA: mostly valid metadata over matching data, with one thing often wrong. */
const valueText = fc.oneof(fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)), bigIntText, fc.constantFrom('1e400', '-0', '0.5', '"12"', 'true', 'null'));
const instName = fc.oneof(fc.stringMatching(/^[a-z]{1,6}$/), fc.integer({ min: -5, max: 1000 }).map(String), fc.constantFrom('null', '{}', '""', '"a b"', '"a c"', '1.5', '12345678901234567890', '"x\\u0000y"'));
const typeName = fc.constantFrom('integer', 'double', 'string');
const pmdaSource = fc.record({
  types: fc.tuple(fc.constant('integer'), fc.constant('integer'), typeName, typeName, typeName),
  values: fc.tuple(...[0, 1].map(() => fc.oneof({ weight: 4, arbitrary: fc.bigInt({ min: INT64_MIN, max: INT64_MAX }).map(String) }, { weight: 1, arbitrary: valueText })), valueText, valueText, valueText),
  memberType: typeName,
  rows: fc.array(fc.tuple(instName, valueText), { maxLength: 6 }),
  junkEntry: fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.oneof(metricSpec, arraySpec, anyJson) }),
  junkData: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.oneof(nearJsonText, jsonText) }),
}).map(({ types, values, memberType, rows, junkEntry, junkData }) => {
  /** @type {unknown[]} metadata entries, and maybe one junk entry of any JSON */
  const metrics = types.map((type, i) => ({ name: `k${i}`, pointer: `/k${i}`, type }));
  metrics.push({ name: 'arr', pointer: '/arr', type: 'array', index: '/id', metrics: [{ name: 'x', pointer: '/x', type: memberType }] });
  if (junkEntry !== null) metrics.splice(2, 0, junkEntry);
  const data = junkData ?? `{${values.map((v, i) => `"k${i}": ${v}`).join(', ')}, "arr": [${rows.map(([id, x]) => `{"id": ${/^[a-z]/.test(id) ? JSON.stringify(id) : id}, "x": ${x}}`).join(', ')}]}`;
  // what the PMDA must serve: k0 and k1 (before any junk entry) when they hold an int64 as an integer metric
  const expect = {};
  if (junkData === null) {
    for (const i of [0, 1]) {
      if (types[i] === 'integer' && /^-?\d+$/.test(values[i]) && BigInt(values[i]) >= INT64_MIN && BigInt(values[i]) <= INT64_MAX) expect[`k${i}`] = String(BigInt(values[i]));
    }
  }
  return [{ metrics }, data, expect];
});

// ---- helpers ---------------------------------------------------------------------------

/** JSON.parse's value and parseJson's agree: a BigInt is the double JSON.parse rounds to (no recursion: documents nest deep). */
function sameValue(exactDoc, roundedDoc) {
  const stack = [[exactDoc, roundedDoc]];
  while (stack.length > 0) {
    const [exact, rounded] = stack.pop();
    if (typeof exact === 'bigint') {
      if (typeof rounded !== 'number' || Number(exact) !== rounded) return false;
    } else if (typeof exact === 'number') {
      if (!Object.is(exact, rounded)) return false;
    } else if (exact === null || typeof exact !== 'object') {
      if (exact !== rounded) return false;
    } else if (Array.isArray(exact)) {
      if (!Array.isArray(rounded) || exact.length !== rounded.length) return false;
      exact.forEach((v, i) => stack.push([v, rounded[i]]));
    } else {
      if (typeof rounded !== 'object' || rounded === null || Array.isArray(rounded)) return false;
      const a = Object.keys(exact);
      if (a.length !== Object.keys(rounded).length) return false;
      for (const k of a) {
        if (!Object.prototype.hasOwnProperty.call(rounded, k)) return false;
        stack.push([exact[k], rounded[k]]);
      }
    }
  }
  return true;
}

function allPointers(doc, max = 50) {
  const out = [''];
  const walk = (v, p, depth) => {
    if (out.length >= max || depth > 6 || typeof v !== 'object' || v === null) return;
    for (const [k, w] of Object.entries(v)) {
      const q = `${p}/${String(k).replace(/~/g, '~0').replace(/\//g, '~1')}`;
      out.push(q);
      walk(w, q, depth + 1);
    }
  };
  walk(doc, '', 0);
  return out;
}

// ---- (a) any JSON as data ------------------------------------------------------------

test('parseJson agrees with JSON.parse on any JSON text, integers beyond 2^53 exact', (t) => {
  fc.assert(fc.property(jsonText, (text) => {
    const exact = parseJson(text);
    return sameValue(exact, JSON.parse(text));
  }), { numRuns: RUNS });
  t.pass();
});

test('parseJson accepts exactly what JSON.parse accepts, and fails only with SyntaxError', (t) => {
  fc.assert(fc.property(fc.oneof(nearJsonText, fc.string({ maxLength: 40 }), fc.fullUnicodeString({ maxLength: 20 })), (text) => {
    let expected;
    try {
      expected = { value: JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) };
    } catch {
      expected = { error: true };
    }
    try {
      const v = parseJson(text);
      return !expected.error && sameValue(v, expected.value);
    } catch (e) {
      return expected.error === true && e instanceof SyntaxError && !/"/.test(e.message);
    }
  }), { numRuns: RUNS * 3 });
  t.pass();
});

test('pointers and conversions over any document fail only with their documented errors', (t) => {
  fc.assert(fc.property(jsonText, pointerText, (text, extra) => {
    const doc = parseJson(text);
    for (const p of [...allPointers(doc), extra, `${extra}/0`, '/0/0/0']) {
      let ptr;
      try {
        ptr = parsePointer(p);
      } catch (e) {
        if (!(e instanceof PointerError)) throw e;
        continue;
      }
      const v = resolve(ptr, doc);
      for (const type of /** @type {const} */ (['integer', 'double', 'string'])) {
        try {
          const c = convert(v, type);
          if (type === 'integer' && !(typeof c === 'bigint' ? c >= INT64_MIN && c <= INT64_MAX : Number.isSafeInteger(c))) return false;
          if (type === 'double' && typeof c !== 'number') return false;
          if (type === 'string' && typeof c !== 'string') return false;
        } catch (e) {
          if (!(e instanceof ValueError)) throw e;
        }
      }
    }
    return true;
  }), { numRuns: RUNS });
  t.pass();
});

// ---- (b) integers ---------------------------------------------------------------------

test('any int64 written as JSON text comes back exactly, wherever it sits', (t) => {
  fc.assert(fc.property(fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), fc.constantFrom('{"v": %}', '{"v":%}', '[%]', '{"a": [1, {"v": %}]}', ' %\n', '{"s": "12345678901234567890", "v": %}'), (n, shape) => {
    const text = shape.replace('%', String(n));
    const doc = parseJson(text);
    const where = shape.startsWith('[') ? '/0' : shape.startsWith(' ') ? '' : shape.includes('"a"') ? '/a/1/v' : '/v';
    const c = convert(resolve(parsePointer(where), doc), 'integer');
    return BigInt(c) === n;
  }), { numRuns: RUNS * 3 });
  t.pass();
});

test('integers outside int64 are refused as integers, never wrapped', (t) => {
  fc.assert(fc.property(fc.oneof(fc.bigInt({ min: INT64_MAX + 1n, max: 10n ** 30n }), fc.bigInt({ min: -(10n ** 30n), max: INT64_MIN - 1n })), (n) => {
    const v = resolve(parsePointer('/v'), parseJson(`{"v": ${n}}`));
    try {
      convert(v, 'integer');
      return false;
    } catch (e) {
      return e instanceof ValueError && /outside the 64-bit integer range/.test(e.message);
    }
  }), { numRuns: RUNS });
  t.pass();
});

// ---- (c) any metadata -----------------------------------------------------------------

test('parseMetadata never throws; every entry it keeps is servable, every entry it drops is reported', (t) => {
  fc.assert(fc.property(metadataDoc, (doc) => {
    // through the text, as the PMDA reads it
    const md = parseMetadata(parseJson(JSON.stringify(doc)), '/x/metadata.json');
    if (!Array.isArray(md.problems) || !md.problems.every((p) => typeof p === 'string' && p.startsWith('/x/metadata.json'))) return false;
    const names = new Set();
    for (const e of md.entries) {
      const specs = e.kind === 'metric' ? [e.metric] : e.array.members;
      if (e.kind === 'array') {
        if (!validName(e.array.name) || names.has(e.array.name)) return false;
        names.add(e.array.name);
      }
      for (const m of specs) {
        if (!validName(m.name) || !['integer', 'double', 'string'].includes(m.type)) return false;
        if (names.has(m.name)) return false; // one metric per name
        names.add(m.name);
        if (typeof m.pointer.text !== 'string' || !Array.isArray(m.pointer.tokens)) return false;
      }
    }
    // each metrics[i] that is not kept has a problem line naming it
    const list = doc !== null && typeof doc === 'object' && !Array.isArray(doc) && Array.isArray(doc.metrics) ? doc.metrics : [];
    const kept = md.entries.length;
    const dropped = list.length - kept;
    const named = new Set(md.problems.map((p) => p.match(/metrics\[(\d+)\]: skipping/)?.[1]).filter(Boolean));
    return dropped <= named.size;
  }), { numRuns: RUNS * 2 });
  t.pass();
});

// ---- (d) random sources through the real PMDA ----------------------------------------------

test('a PMDA fed 30 random sources a session keeps answering', async (t) => {
  t.timeout(120000);
  const sources = fc.oneof({ weight: 4, arbitrary: pmdaSource }, { weight: 1, arbitrary: fc.tuple(metadataDoc, fc.oneof(jsonText, nearJsonText)) });
  const sessions = fc.sample(fc.array(sources, { minLength: 30, maxLength: 30 }), { numRuns: 3, seed: Number(process.env.PROPERTY_SEED ?? 20261128) });
  for (const [k, list] of sessions.entries()) {
    const s = new Scratch('property');
    s.source('healthy', { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }, { v: 42 }, { under: s.trusted });
    let checked = 0;
    list.forEach(([md, data], i) => {
      const dir = path.join(s.src, `r${i}`);
      fs.mkdirSync(dir);
      // a prefix that names another source is fine; one that is the control's is not wanted here
      if (md && typeof md === 'object' && !Array.isArray(md) && md.prefix === 'healthy') delete md.prefix;
      fs.writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify(md));
      fs.writeFileSync(path.join(dir, 'data.json'), data.length > 1e6 ? data.slice(0, 1e6) : data);
    });
    const d = new Session(s);
    try {
      await d.ready;
      for (let round = 0; round < 2; round++) {
        const names = (await d.run('traverse json')).split('\n').map((l) => l.trim()).filter((n) => n.startsWith('json.') && !n.startsWith('json.control.') && n.length < 4096);
        for (let i = 0; i < names.length; i += 20) {
          const out = await d.run(`fetch ${names.slice(i, i + 20).join(' ')}`);
          t.regex(out, /numpmid: \d+/, `session ${k + 1}: fetch of ${names.slice(i, i + 20).join(' ')} answered:\n${out.slice(0, 500)}`);
        }
        for (const [i, [, , expect]] of list.entries()) {
          for (const [m, want] of Object.entries(expect ?? {})) {
            const out = await d.run(`fetch json.r${i}.${m}`);
            t.regex(out, new RegExp(`value ${want}\\n`), `session ${k + 1}: json.r${i}.${m} serves exactly ${want}`);
            checked++;
          }
        }
        if (round === 0) t.log(`session ${k + 1}: ${names.length} metrics served, ${checked} integers checked`);
        const control = await d.run('fetch json.healthy.v json.nsources');
        t.regex(control, /value 42/, `session ${k + 1}, round ${round + 1}: the control source answers`);
      }
      t.notRegex(s.logText(), /uncaught exception|Error: fetch:|Error: refresh:|Error: text:/, `session ${k + 1}: no exception reached the shim`);
    } finally {
      await d.close();
      s.cleanup();
    }
  }
});
