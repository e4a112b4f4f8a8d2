// src/format/schema.ts and validate.ts: JSON Schema sources (the stap_json format) as metadata,
// and ajv validation of their data documents.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { C } from '../../dist/pmda/native.js';
import { parseJson } from '../../dist/format/json.js';
import { metadataFromSchema, schemaToMetadataJson, schemaTooLarge } from '../../dist/format/schema.js';
import {
  compileSchema,
  schemaGeneration,
  isInvalid,
  pruneInvalid,
  withoutBigInts,
  SchemaError,
  SchemaBoundError,
  CheckBoundError,
} from '../../dist/format/validate.js';

const FIX = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const seedSchema = parseJson(fs.readFileSync(path.join(FIX, 'seed', 'schema.json'), 'utf8'));
const seedData = parseJson(fs.readFileSync(path.join(FIX, 'seed', 'data.json'), 'utf8'));

const metrics = (md) => Object.fromEntries(md.entries.filter((e) => e.kind === 'metric').map((e) => [e.metric.name, e.metric]));
const arrays = (md) => Object.fromEntries(md.entries.filter((e) => e.kind === 'array').map((e) => [e.array.name, e.array]));
const SEM = { counter: C.PM_SEM_COUNTER, instant: C.PM_SEM_INSTANT, discrete: C.PM_SEM_DISCRETE };
const obj = (properties, extra = {}) => ({ type: 'object', properties, ...extra });
const wrap = (properties, extra = {}) => obj({ generation: { type: 'integer' }, data: obj(properties) }, extra);

// a line-by-line parser shaped like pmcd/scaleout.test.mjs's seriesValues(), over other output
/** pminfo -df output as { name: { type, sem } }, names below the source. */
function pminfoDf(text) {
  const out = {};
  let cur;
  for (const line of text.split('\n')) {
    if (/^stap_json\.root\./.test(line)) out[(cur = line.trim().replace(/^stap_json\.root\./, ''))] = {};
    const t = line.match(/Data Type: (.*?)\s+InDom/);
    if (t && cur) out[cur].type = t[1];
    const s = line.match(/Semantics: (\S+)/);
    if (s && cur) out[cur].sem = s[1];
  }
  return out;
}

test('the seed schema gives the metrics stap_json showed in pminfo -df', (t) => {
  const md = metadataFromSchema(seedSchema, 'schema.json');
  t.deepEqual(md.problems, []);
  t.is(md.prefix, 'root', 'the schema title names the source');
  const expected = pminfoDf(fs.readFileSync(path.join(FIX, 'seed', 'pminfo-df.txt'), 'utf8'));
  t.deepEqual(Object.keys(expected).sort(), ['interface', 'xmit_count', 'xmit_latency']);
  const m = metrics(md);
  t.deepEqual(Object.keys(m).sort(), Object.keys(expected).sort());
  const pcpType = { integer: '64-bit int', string: 'string', double: 'double' };
  const pcpSem = { [C.PM_SEM_COUNTER]: 'counter', [C.PM_SEM_INSTANT]: 'instant' };
  for (const [name, want] of Object.entries(expected)) {
    t.is(pcpType[m[name].type], want.type, name);
    t.is(pcpSem[m[name].sem], want.sem, name);
    t.is(m[name].pointer.text, `/data/${name}`);
  }
  t.is(m.xmit_count.description, 'number of packets for xmit device');
  t.is(m.interface.description, 'network xmit device');
});

test('numbers are doubles with instant semantics', (t) => {
  const md = metadataFromSchema(wrap({ load: { type: 'number', description: 'load average' } }), 's');
  const m = metrics(md).load;
  t.is(m.type, 'double');
  t.is(m.sem, C.PM_SEM_INSTANT);
  t.is(m.description, 'load average');
});

test('nested objects become dotted names with nested pointers', (t) => {
  const md = metadataFromSchema(
    wrap({ net: obj({ tx: obj({ bytes: { type: 'integer' }, dev: { type: 'string' } }), up: { type: 'integer' } }) }),
    's',
  );
  t.deepEqual(md.problems, []);
  const m = metrics(md);
  t.deepEqual(Object.keys(m), ['net.tx.bytes', 'net.tx.dev', 'net.up']);
  t.is(m['net.tx.bytes'].pointer.text, '/data/net/tx/bytes');
  t.deepEqual(m['net.tx.bytes'].pointer.tokens, ['data', 'net', 'tx', 'bytes']);
  t.is(m['net.up'].pointer.text, '/data/net/up');
});

test('an array of objects becomes an array indexed by /__id, its index not a member', (t) => {
  const md = metadataFromSchema(
    wrap({
      net_xmit_data: {
        type: 'array',
        description: 'per device',
        items: obj({ __id: { type: 'string' }, xmit_count: { type: 'integer' }, xmit_latency: { type: 'number' }, q: obj({ len: { type: 'integer' } }) }),
      },
    }),
    's',
  );
  t.deepEqual(md.problems, []);
  const a = arrays(md).net_xmit_data;
  t.truthy(a);
  t.is(a.pointer.text, '/data/net_xmit_data');
  t.is(a.index.text, '/__id');
  t.is(a.description, 'per device');
  t.deepEqual(a.members.map((m) => [m.name, m.pointer.text, m.type]), [
    ['net_xmit_data.xmit_count', '/xmit_count', 'integer'],
    ['net_xmit_data.xmit_latency', '/xmit_latency', 'double'],
    ['net_xmit_data.q.len', '/q/len', 'integer'],
  ]);
});

test('x-pcp-index chooses the index member of an array', (t) => {
  const md = metadataFromSchema(
    wrap({ disks: { type: 'array', 'x-pcp-index': 'name', items: obj({ name: { type: 'string' }, reads: { type: 'integer' } }) } }),
    's',
  );
  const a = arrays(md).disks;
  t.is(a.index.text, '/name');
  t.deepEqual(a.members.map((m) => m.name), ['disks.reads']);
});

test('x-pcp-units and x-pcp-semantics override the defaults', (t) => {
  const md = metadataFromSchema(
    wrap({
      bytes: { type: 'integer', 'x-pcp-units': 'byte', 'x-pcp-semantics': 'instant' },
      rate: { type: 'number', 'x-pcp-units': 'Kbyte / sec', 'x-pcp-semantics': 'counter' },
      state: { type: 'string', 'x-pcp-semantics': 'discrete' },
    }),
    's',
  );
  t.deepEqual(md.problems, []);
  const m = metrics(md);
  t.is(m.bytes.sem, SEM.instant);
  t.deepEqual(m.bytes.units, [1, 0, 0, 0, 0, 0]);
  t.is(m.rate.sem, SEM.counter);
  t.deepEqual(m.rate.units, [1, -1, 0, 1, 3, 0]);
  t.is(m.state.sem, SEM.discrete);
});

test('bad keyword values are reported and the metric is kept with defaults', (t) => {
  const md = metadataFromSchema(wrap({ n: { type: 'integer', 'x-pcp-units': 'furlongs', 'x-pcp-semantics': 'sometimes' } }), 'my.json');
  const m = metrics(md).n;
  t.truthy(m);
  t.is(m.sem, SEM.counter);
  t.deepEqual(m.units, [0, 0, 0, 0, 0, 0]);
  t.true(md.problems.some((p) => p.startsWith('my.json') && p.includes('x-pcp-semantics')));
  t.true(md.problems.some((p) => p.includes('furlongs')));
});

test('what cannot be served is reported; valid siblings are kept', (t) => {
  const md = metadataFromSchema(
    wrap({
      ok: { type: 'integer' },
      flag: { type: 'boolean' },
      samples: { type: 'array', items: { type: 'integer' } },
      'bad-name': { type: 'integer' },
      '9lives': { type: 'string' },
      either: { type: ['integer', 'string'] },
      maybe: { type: ['integer', 'null'] },
      outer: { type: 'array', items: obj({ inner: { type: 'array', items: obj({ x: { type: 'integer' } }) }, y: { type: 'integer' } }) },
    }),
    'f.json',
  );
  t.deepEqual(Object.keys(metrics(md)), ['ok', 'maybe']);
  t.deepEqual(arrays(md).outer.members.map((m) => m.name), ['outer.y']);
  const text = md.problems.join('\n');
  for (const name of ['flag', 'samples', 'bad-name', '9lives', 'either', 'outer.inner']) t.true(text.includes(`'${name}'`), `${name} is reported:\n${text}`);
  t.is(md.problems.length, 6);
});

test('x-pcp-name renames a property whose name PCP cannot use', (t) => {
  const md = metadataFromSchema(wrap({ 'rx-bytes': { type: 'integer', 'x-pcp-name': 'rx_bytes' } }), 's');
  t.deepEqual(md.problems, []);
  t.is(metrics(md).rx_bytes.pointer.text, '/data/rx-bytes');
});

test('pointers escape ~ and / in member names', (t) => {
  const md = metadataFromSchema(wrap({ 'a/b~c': { type: 'integer', 'x-pcp-name': 'abc' } }), 's');
  t.is(metrics(md).abc.pointer.text, '/data/a~1b~0c');
  t.deepEqual(metrics(md).abc.pointer.tokens, ['data', 'a/b~c']);
});

test('a schema without a data property describes the root object', (t) => {
  const md = metadataFromSchema(obj({ a: { type: 'integer' }, b: obj({ c: { type: 'string' } }) }, { title: 'plain' }), 's');
  t.is(md.prefix, 'plain');
  t.deepEqual(Object.entries(metrics(md)).map(([n, m]) => [n, m.pointer.text]), [['a', '/a'], ['b.c', '/b/c']]);
});

test('local $ref and $defs are followed', (t) => {
  const schema = {
    $defs: { counter: { type: 'integer', description: 'a counter', 'x-pcp-units': 'count' } },
    definitions: { dev: obj({ __id: { type: 'string' }, n: { $ref: '#/$defs/counter' } }) },
    ...wrap({ total: { $ref: '#/$defs/counter' }, devs: { type: 'array', items: { $ref: '#/definitions/dev' } }, broken: { $ref: '#/nowhere' } }),
  };
  const md = metadataFromSchema(schema, 's');
  const m = metrics(md);
  t.is(m.total.description, 'a counter');
  t.deepEqual(m.total.units, [0, 0, 1, 0, 0, 0]);
  t.deepEqual(arrays(md).devs.members.map((x) => x.name), ['devs.n']);
  t.is(md.problems.length, 1);
  t.regex(md.problems[0], /#\/nowhere/);
});

test('an invalid title is reported and leaves the directory name in charge', (t) => {
  const md = metadataFromSchema(wrap({ a: { type: 'integer' } }, { title: 'My Script' }), 's');
  t.is(md.prefix, undefined);
  t.true(md.problems.some((p) => p.includes('My Script')));
  t.is(metadataFromSchema(wrap({ a: { type: 'integer' } }, { title: 'x', 'x-pcp-prefix': 'net' }), 's').prefix, 'net');
});

test('x-pcp-data-exec and x-pcp-data-path become data-exec and data-path', (t) => {
  const md = metadataFromSchema(wrap({ a: { type: 'integer' } }, { 'x-pcp-data-exec': '/bin/cat /proc/x', 'x-pcp-data-path': 'd.json' }), 's');
  t.is(md.dataExec, '/bin/cat /proc/x');
  t.is(md.dataPath, 'd.json');
});

test('a schema that is not an object, or has nothing to serve, is a problem', (t) => {
  t.true(metadataFromSchema([], 'x.json').problems.some((p) => p.includes('x.json')));
  const md = metadataFromSchema(wrap({ f: { type: 'boolean' } }), 'x.json');
  t.is(md.entries.length, 0);
  t.true(md.problems.some((p) => p.includes('no metrics')));
});

test('schemaToMetadataJson writes the prefix first, then metrics', (t) => {
  const { doc } = schemaToMetadataJson(seedSchema, 's');
  t.deepEqual(Object.keys(doc), ['prefix', 'metrics']);
  t.deepEqual(doc.metrics[1], {
    name: 'xmit_count',
    pointer: '/data/xmit_count',
    type: 'integer',
    description: 'number of packets for xmit device',
    semantics: 'counter',
  });
});

// ---- validation ----------------------------------------------------------------

test('the seed data document is valid against its schema', (t) => {
  t.deepEqual(compileSchema(seedSchema)(seedData), { ok: true, message: '', invalid: [] });
});

test('type errors name the member, with ajv path-level messages', (t) => {
  const check = compileSchema(seedSchema)({ generation: 2, data: { interface: 'eth0', xmit_count: 'lots', xmit_latency: 1.5 } });
  t.false(check.ok);
  t.true(check.message.includes('/data/xmit_count must be integer'), check.message);
  t.true(check.message.includes('/data/xmit_latency must be integer'), check.message);
  t.deepEqual(check.invalid.sort(), ['/data/xmit_count', '/data/xmit_latency']);
});

test('a missing required member and an extra member are named as invalid', (t) => {
  const check = compileSchema(seedSchema)({ generation: 2, data: { interface: 'eth0', xmit_count: 1, extra: 2 } });
  t.false(check.ok);
  t.deepEqual(check.invalid.sort(), ['/data/extra', '/data/xmit_latency']);
  t.true(check.message.includes("must have required property 'xmit_latency'"));
  t.false(isInvalid('/data/xmit_count', check.invalid));
  t.false(isInvalid('/data/interface', check.invalid));
});

test('integers beyond 2^53 (BigInt) validate as integers, bounds still apply', (t) => {
  const check = compileSchema(seedSchema);
  const big = /** @type {any} */ (parseJson('{"generation": 3, "data": {"interface": "eth0", "xmit_count": 18446744073709551615, "xmit_latency": 9223372036854775807}}'));
  t.is(typeof big.data.xmit_count, 'bigint');
  t.deepEqual(check(big), { ok: true, message: '', invalid: [] });
  const negative = parseJson('{"generation": 3, "data": {"interface": "eth0", "xmit_count": -9223372036854775808, "xmit_latency": 1}}');
  const r = check(negative);
  t.false(r.ok);
  t.deepEqual(r.invalid, ['/data/xmit_count']);
  t.regex(r.message, /\/data\/xmit_count must be >= 0/);
  const bounded = compileSchema(wrap({ n: { type: 'integer', maximum: 9007199254740991 } }));
  t.false(bounded(parseJson('{"generation": 1, "data": {"n": 90071992547409910000}}')).ok);
  t.true(bounded(parseJson('{"generation": 1, "data": {"n": 1234567890123456}}')).ok);
  const str = compileSchema(wrap({ s: { type: 'string' } }));
  t.deepEqual(str(parseJson('{"generation": 1, "data": {"s": 12345678901234567890}}')).invalid, ['/data/s']);
});

test('withoutBigInts leaves BigInt-free documents untouched and does not modify its input', (t) => {
  const doc = { a: [1, { b: 'x' }], c: null };
  t.is(withoutBigInts(doc), doc);
  /** @type {{ a: [number, { b: bigint }], c: { d: number } }} */
  const big = { a: [1, { b: 2n ** 60n }], c: { d: 1 } };
  const copy = /** @type {any} */ (withoutBigInts(big));
  t.not(copy, big);
  t.is(copy.a[1].b, 2 ** 60);
  t.is(big.a[1].b, 2n ** 60n);
  t.is(copy.c, big.c, 'parts without BigInts are shared');
});

test('errors inside array elements point at the element member', (t) => {
  const check = compileSchema(
    wrap({ devs: { type: 'array', items: obj({ __id: { type: 'string' }, n: { type: 'integer' } }, { required: ['__id'] }) } }),
  );
  const r = check({ generation: 1, data: { devs: [{ __id: 'a', n: 1 }, { __id: 'b', n: 'x' }, { n: 3 }] } });
  t.false(r.ok);
  t.deepEqual(r.invalid.sort(), ['/data/devs/1/n', '/data/devs/2/__id']);
  t.true(isInvalid('/data/devs/1/n', r.invalid));
  t.false(isInvalid('/data/devs/0/n', r.invalid));
  t.false(isInvalid('/data/devs/10/n', r.invalid), 'a prefix of digits is not an ancestor');
});

test('a document that is not an object invalidates everything', (t) => {
  const r = compileSchema(seedSchema)([1, 2]);
  t.false(r.ok);
  t.deepEqual(r.invalid, ['']);
  t.true(isInvalid('/data/interface', r.invalid));
});

test('our x-pcp keywords and unknown formats do not stop compilation', (t) => {
  const check = compileSchema(wrap({ b: { type: 'integer', 'x-pcp-units': 'byte', 'x-pcp-semantics': 'counter', format: 'weird' } }, { 'x-pcp-prefix': 'p' }));
  t.true(check({ generation: 1, data: { b: 1 } }).ok);
});

test('draft 2020-12 and draft-04 schemas compile', (t) => {
  const s2020 = { $schema: 'https://json-schema.org/draft/2020-12/schema', ...wrap({ a: { $ref: '#/$defs/n' } }), $defs: { n: { type: 'integer' } } };
  const v = compileSchema(s2020);
  t.true(v({ generation: 1, data: { a: 2 } }).ok);
  t.deepEqual(v({ generation: 1, data: { a: 'x' } }).invalid, ['/data/a']);
  const s04 = { $schema: 'http://json-schema.org/draft-04/schema#', ...wrap({ a: { type: 'integer' } }) };
  t.false(compileSchema(s04)({ generation: 1, data: { a: 'x' } }).ok);
});

test('a schema ajv cannot compile throws SchemaError', (t) => {
  t.throws(() => compileSchema({ type: 'object', properties: { a: { type: 'no-such-type' } } }), { instanceOf: SchemaError });
  t.throws(() => compileSchema('nope'), { instanceOf: SchemaError });
});

test('pruneInvalid drops exactly the failed members, keeping their siblings', (t) => {
  const schema = wrap({
    n: { type: 'integer' },
    s: { type: 'string' },
    devs: { type: 'array', items: obj({ __id: { type: 'string' }, r: { type: 'integer' }, w: { type: 'integer' } }, { required: ['__id'] }) },
  });
  const doc = { generation: 1, data: { n: 'x', s: 'ok', devs: [{ __id: 'a', r: 1, w: 2 }, { __id: 'b', r: 'bad', w: 3 }, { r: 4 }] } };
  const check = compileSchema(schema)(doc);
  const pruned = /** @type {any} */ (pruneInvalid(doc, check.invalid));
  // (a missing member is absent anyway: the element without __id stays, and has no instance name)
  t.deepEqual(pruned, { generation: 1, data: { s: 'ok', devs: [{ __id: 'a', r: 1, w: 2 }, { __id: 'b', w: 3 }, { r: 4 }] } });
  t.deepEqual(/** @type {any} */ (pruneInvalid(doc, ['/data/devs/1', '/data/n'])).data.devs.map((d) => d.__id), ['a', undefined], 'a whole element is dropped');
  t.is(doc.data.n, 'x', 'the input is not modified');
  t.is(pruned.data.devs[0], doc.data.devs[0], 'untouched parts are shared');
  t.is(pruneInvalid(doc, []), doc);
  t.is(pruneInvalid(doc, ['']), undefined);
  t.deepEqual(pruneInvalid({ 'a/b': 1, c: 2 }, ['/a~1b']), { c: 2 });
});

test('schemaGeneration reads the generation of a data document', (t) => {
  t.is(schemaGeneration(seedData), 1);
  t.is(schemaGeneration(parseJson('{"generation": 12345678901234567890, "data": {}}')), 12345678901234567890n);
  t.is(schemaGeneration({ data: {} }), undefined);
  t.is(schemaGeneration([1]), undefined);
  t.is(schemaGeneration(undefined), undefined);
});

// ---- bounds on untrusted schemas (issue 21, class 3) ----

test('a pattern the linear-time engine cannot run is refused, naming the keyword and where it is', (t) => {
  const look = t.throws(() => compileSchema(obj({ s: { type: 'string', pattern: '^(?=a)(a|a)*$' } })), { instanceOf: SchemaBoundError });
  t.regex(look.message, /"pattern" "\^\(\?=a\)\(a\|a\)\*\$" at #\/properties\/s\/pattern/);
  const back = t.throws(() => compileSchema({ type: 'object', patternProperties: { '(a)\\1': { type: 'integer' } } }), { instanceOf: SchemaBoundError });
  t.regex(back.message, /"patternProperties" .* at #\/patternProperties/);
  t.throws(() => compileSchema(obj({ h: { type: 'string', pattern: '^[0-9a-f]{64}$' } })), { instanceOf: SchemaBoundError }, 'counted repetition beyond 16');
  t.throws(() => compileSchema(obj({ s: { type: 'string', pattern: '(' } })), { instanceOf: SchemaError }, 'a broken pattern is still an invalid schema');
});

test('a pattern that backtracks but the linear-time engine can run answers at once', (t) => {
  const v = compileSchema(obj({ s: { type: 'string', pattern: '^(a|a)*$' }, id: { type: 'string', pattern: '^[0-9a-f]{1,16}$' } }));
  const started = performance.now();
  const check = v({ s: 'a'.repeat(30) + '!', id: 'beef' });
  t.true(performance.now() - started < 1000, `took ${Math.round(performance.now() - started)} ms`);
  t.deepEqual(check.invalid, ['/s']);
});

test('uniqueItems finds equal items whatever their members\' order, tells 1 from "1", and refuses more items than its bound', (t) => {
  const v = compileSchema(obj({ a: { type: 'array', uniqueItems: true } }), { maxUniqueItems: 1000, maxUniqueChars: 1e6, maxMs: 2500 });
  t.true(v({ a: [1, '1', [1], { x: 1 }, null, true] }).ok);
  const dup = v({ a: [{ x: 1, y: [2, { z: 3, w: 4 }] }, 5, { y: [2, { w: 4, z: 3 }], x: 1 }] });
  t.false(dup.ok);
  t.deepEqual(dup.invalid, ['/a']);
  t.regex(dup.message, /items ## 0 and 2 are identical/);
  t.throws(() => v({ a: Array.from({ length: 1001 }, (_, i) => i) }), { instanceOf: CheckBoundError, message: /"uniqueItems" over an array of 1001 items, more than 1000/ });
  t.throws(() => v({ a: Array.from({ length: 100 }, (_, i) => 'x'.repeat(20000) + i) }), { instanceOf: CheckBoundError, message: /more than 1000000 characters/ });
});

test('a check that takes longer than it is given stops there, whatever the schema', (t) => {
  const definitions = { d30: { type: 'integer' } };
  for (let i = 0; i < 30; i++) definitions[`d${i}`] = { allOf: [{ $ref: `#/definitions/d${i + 1}` }, { $ref: `#/definitions/d${i + 1}` }] };
  const v = compileSchema({ definitions, ...obj({ n: { $ref: '#/definitions/d0' } }) });
  const started = performance.now();
  const e = t.throws(() => v({ n: 1 }, 200), { instanceOf: CheckBoundError });
  const ms = performance.now() - started;
  t.true(e.timedOut);
  t.true(ms < 1000, `stopped after ${Math.round(ms)} ms`);
  t.true(v({ x: 1 }, 200).ok, 'the validator still works afterwards');
});

test('$refs are counted before a schema is walked: doubling beyond max_metrics and recursion are refused, sharing is not', (t) => {
  const definitions = { d20: { type: 'integer' } };
  for (let i = 0; i < 20; i++) definitions[`d${i}`] = obj({ a: { $ref: `#/definitions/d${i + 1}` }, b: { $ref: `#/definitions/d${i + 1}` } });
  const bomb = { definitions, ...obj({ x: { $ref: '#/definitions/d0' } }) };
  const started = performance.now();
  t.regex(schemaTooLarge(bomb, 'bomb.json', 1023) ?? '', /^bomb\.json: refused: .* more than 1023 metrics \(max_metrics\)/);
  t.true(performance.now() - started < 100);
  t.is(schemaTooLarge(bomb, 'bomb.json', 1 << 22), undefined, '2^21 properties fit a limit of 2^22');
  const { doc, problems } = schemaToMetadataJson(bomb, 'bomb.json', 1023);
  t.deepEqual(doc.metrics, []);
  t.is(problems.length, 1);
  const loop = { definitions: { node: obj({ v: { type: 'integer' }, next: { $ref: '#/definitions/node' } }) }, ...obj({ head: { $ref: '#/definitions/node' } }) };
  t.regex(schemaTooLarge(loop, 'loop.json', 1023) ?? '', /recurse/);
  // a tree of arrays is not recursion: arrays inside arrays are not walked
  const tree = { definitions: { n: { type: 'array', items: obj({ name: { type: 'string' }, kids: { $ref: '#/definitions/n' } }) } }, ...obj({ root: { $ref: '#/definitions/n' } }) };
  t.is(schemaTooLarge(tree, 'tree.json', 1023), undefined);
  const shared = { definitions: { c: { type: 'integer' } }, ...obj({ a: { $ref: '#/definitions/c' }, b: { $ref: '#/definitions/c' }, c: { $ref: '#/definitions/c' } }) };
  t.is(schemaTooLarge(shared, 'shared.json', 3), undefined);
  t.deepEqual(Object.keys(metrics(metadataFromSchema(shared, 'shared.json', 3))).sort(), ['a', 'b', 'c']);
});
