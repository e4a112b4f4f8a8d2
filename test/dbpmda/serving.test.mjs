// Serving sources through dbpmda: values and types, int64 edges, names,
// arrays, sources that come and go, freshness.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { Scratch, parseDesc, parseInstances, parseTraverse, session } from '../helpers/harness.mjs';

const value = async (d, name) => {
  const r = Object.values(await d.fetch(name))[0];
  return r.error ?? r.values.map((v) => v.value).join(',');
};

// a metadata literal shaped like the other tests' (errors.test.mjs, check.test.mjs): each test's metrics are its own
test('int64 edge values are exact; doubles and UTF-8 strings come through', async (t) => {
  const s = new Scratch();
  s.source('edge', {
    metrics: [
      { name: 'above53', pointer: '/a', type: 'integer' },
      { name: 'min', pointer: '/b', type: 'integer' },
      { name: 'max', pointer: '/c', type: 'integer' },
      { name: 'negsmall', pointer: '/d', type: 'integer' },
      { name: 'dbl', pointer: '/e', type: 'double' },
      { name: 'str', pointer: '/f', type: 'string' },
    ],
  }, '{"a": 9007199254740993, "b": -9223372036854775808, "c": 9223372036854775807, "d": -5, "e": 0.1, "f": "grüße ✓"}');
  const d = await session(t, s);
  t.is(await value(d, 'json.edge.above53'), '9007199254740993');
  t.is(await value(d, 'json.edge.min'), '-9223372036854775808');
  t.is(await value(d, 'json.edge.max'), '9223372036854775807');
  t.is(await value(d, 'json.edge.negsmall'), '-5');
  t.is(await value(d, 'json.edge.dbl'), '0.1');
  t.is(await value(d, 'json.edge.str'), '"grüße ✓"');
  t.is(parseDesc(await d.run('desc json.edge.max')).type, '64-bit int');
  t.is(parseDesc(await d.run('desc json.edge.dbl')).type, 'double');
  t.is(parseDesc(await d.run('desc json.edge.str')).type, 'string');
});

test('one-letter names work, dotted names make subtrees', async (t) => {
  const s = new Scratch();
  s.source('x', { metrics: [{ name: 'a', pointer: '/a', type: 'integer' }, { name: 'b.c', pointer: '/b/c', type: 'integer' }] }, { a: 1, b: { c: 2 } });
  const d = await session(t, s);
  t.is(await value(d, 'json.x.a'), '1');
  t.is(await value(d, 'json.x.b.c'), '2');
  t.deepEqual(parseTraverse(await d.run('traverse json.x')), ['json.x.a', 'json.x.b.c']);
});

test('arrays become one instance domain per source, named by the index value', async (t) => {
  const s = new Scratch();
  s.source('net', {
    metrics: [{
      name: 'dev', pointer: '/dev', type: 'array', index: '/name',
      metrics: [{ name: 'tx', pointer: '/tx', type: 'integer', semantics: 'counter', units: 'count' }],
    }],
  }, { dev: [{ name: 'eth0', tx: 5 }, { name: 'lo', tx: 9 }, { name: 'wlan 0', tx: 1 }] });
  const d = await session(t, s);
  const desc = parseDesc(await d.run('desc json.net.dev.tx'));
  t.is(desc.sem, 'counter');
  t.is(desc.units, 'count');
  t.deepEqual(parseInstances(await d.run(`instance ${desc.indom}`)), [[0, 'eth0'], [1, 'lo'], [2, 'wlan 0']]);
  const r = Object.values(await d.fetch('json.net.dev.tx'))[0];
  t.deepEqual(r.values, [{ inst: 0, value: '5' }, { inst: 1, value: '9' }, { inst: 2, value: '1' }]);
  // an instance that goes away is not reported; when it returns it has its old id
  s.data('net', { dev: [{ name: 'lo', tx: 10 }, { name: 'eth1', tx: 3 }] });
  t.deepEqual(Object.values(await d.fetch('json.net.dev.tx'))[0].values, [{ inst: 1, value: '10' }, { inst: 3, value: '3' }]);
  s.data('net', { dev: [{ name: 'eth0', tx: 6 }] });
  t.deepEqual(Object.values(await d.fetch('json.net.dev.tx'))[0].values, [{ inst: 0, value: '6' }]);
  t.deepEqual(parseInstances(await d.run(`instance ${desc.indom}`)), [[0, 'eth0']]);
});

test('sources that appear, change and disappear are reflected at the next fetch', async (t) => {
  const s = new Scratch();
  const d = await session(t, s);
  t.is(await value(d, 'json.nsources'), '0');
  s.source('one', { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }, { v: 1 });
  t.is(await value(d, 'json.nsources'), '1');
  t.is(await value(d, 'json.one.v'), '1');
  s.data('one', { v: 2 });
  t.is(await value(d, 'json.one.v'), '2');
  // nested deeper in the tree, with its own prefix
  s.source('deep/er/two', { prefix: 'second', metrics: [{ name: 'w', pointer: '/w', type: 'integer' }] }, { w: 7 });
  t.is(await value(d, 'json.second.w'), '7');
  // metadata edited while running: new metrics appear, old keep their PMIDs
  const pmid = parseDesc(await d.run('desc json.one.v')).pmid;
  s.source('one', { metrics: [{ name: 'u', pointer: '/u', type: 'integer' }, { name: 'v', pointer: '/v', type: 'integer' }] }, { u: 5, v: 3 });
  t.is(await value(d, 'json.one.u'), '5');
  t.is(parseDesc(await d.run('desc json.one.v')).pmid, pmid);
  s.remove('one');
  t.is(await value(d, 'json.nsources'), '1');
  t.regex(await d.run('fetch json.second.w'), /value 7/);
  t.notRegex(await d.run('desc json.one.v'), /Data Type/);
});

test('an unchanged data file is not parsed again; a changed one is', async (t) => {
  const s = new Scratch();
  const dir = s.source('f', { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }, '{"v": 1}');
  const file = path.join(dir, 'data.json');
  const d = await session(t, s);
  const refreshes = async () => Number(Object.values((await d.fetch('json.control.refreshes')))[0]?.values?.[0]?.value);
  for (let i = 0; i < 5; i++) t.is(await value(d, 'json.f.v'), '1');
  t.is(await refreshes(), 1, 'five fetches of an unchanged file: one read');
  // (a write that keeps the size and puts the mtime back is not seen by a
  // fetch, as in pmdajson, unless the PMDA read it between PDUs when
  // inotify reported it: test/dbpmda/prefetch.test.mjs)
  fs.writeFileSync(file, '{"v": 33}');
  t.is(await value(d, 'json.f.v'), '33');
  t.is(await value(d, 'json.f.v'), '33');
  t.is(await refreshes(), 2, 'one more read for the change');
});

test('data-path, relative to the source or absolute', async (t) => {
  const s = new Scratch();
  const dir = s.source('p', { 'data-path': 'sub/values.json', metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] });
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'values.json'), '{"v": 4}');
  const abs = path.join(s.dir, 'elsewhere.json');
  fs.writeFileSync(abs, '{"v": 8}');
  s.source('q', { 'data-path': abs, metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] });
  const d = await session(t, s);
  t.is(await value(d, 'json.p.v'), '4');
  t.is(await value(d, 'json.q.v'), '8');
});

test('-r and -d serve under another root name and domain, with their own caches', async (t) => {
  const s = new Scratch();
  fs.writeFileSync(s.pmns, 'root {\n\tjsonalt\t245:*:*\n}\n');
  s.source('one', { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }, { v: 11 });
  const d = await session(t, s, { args: ['-r', 'jsonalt', '-d', '245'] });
  t.is(await value(d, 'jsonalt.one.v'), '11');
  t.is(parseDesc(await d.run('desc jsonalt.one.v')).pmid, '245.1.0');
  await d.close();
  t.deepEqual(Object.keys(s.caches()).sort(), ['245.0', '245.1']);
});
