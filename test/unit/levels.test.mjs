// Unit tests of the walk over a nested array's or a tree's elements
// (src/pmda/data/levels.ts): which elements, the instance name of each,
// and the first problem met. Served: test/dbpmda/nested.test.mjs.
import test from 'ava';
import { parseMetadata } from '../../dist/index.js';
import { withNested } from '../../dist/format/metadata.js';
import { Walk } from '../../dist/pmda/data/levels.js';
import { queryFor } from '../../dist/pmda/data/query.js';

/** The arrays of metadata of these metrics, nested ones too, by name. */
function arrays(metrics) {
  const md = parseMetadata({ metrics }, 'metadata.json');
  return new Map(md.entries.flatMap((e) => (e.kind === 'array' ? withNested(e.array) : [])).map((a) => [a.name, a]));
}

const SIZE = { name: 'size', type: 'integer', pointer: '/size' };
const LSBLK = {
  name: 'dev', type: 'array', pointer: '/blockdevices', index: '/name', metrics: [
    SIZE,
    { name: 'part', type: 'array', pointer: '/children', index: '/name', metrics: [SIZE] },
  ],
};

/** The instance names a Walk gives each element of `spec` in `doc`, and its problem. */
function walk(spec, doc) {
  const w = new Walk(spec, doc);
  return { names: w.values.map((_, e) => w.nameOf(e)), problem: w.problem, found: w.found };
}

test('a walk names nested elements by their levels, and says why an element has no name', (t) => {
  const part = arrays([LSBLK]).get('dev.part');
  const doc = { blockdevices: [
    { name: 'sda', children: [{ name: 'sda1' }, { name: 'sda2' }] },
    { name: 'loop0' },
    { name: 'sr0', children: null },
    { size: 1, children: [{ name: 'lost' }] },
    { name: 'sdb', children: [{ name: 'sdb1' }, { size: 2 }] },
  ] };
  const r = walk(part, doc);
  t.deepEqual(r.names, ['sda/sda1', 'sda/sda2', 'sdb/sdb1']);
  t.is(r.found, 'array');
  t.is(r.problem, "element 3 of 'dev' has no string or number at index pointer '/name'");
  t.is(walk(part, { blockdevices: { sda: {} } }).problem, "member \"sda\" of 'dev' has no string or number at index pointer '/name'");
  t.is(walk(part, { blockdevices: [{ name: 'sda', children: 'none' }] }).problem, "no array or object at pointer '/children' in 'sda'");
  t.is(walk(part, {}).found, 'none');
});

test('a tree: every element at every depth, named by its path or, leaf, by itself; 64 levels deep at most', (t) => {
  const tree = { name: 't', type: 'array', pointer: '/t', index: '/n', children: '/c', metrics: [{ name: 'v', type: 'integer', pointer: '/v' }] };
  const all = arrays([tree, { ...tree, name: 'leaf', 'instance-names': 'leaf' }]);
  const doc = { t: [{ n: '/', c: [{ n: '/boot', c: [{ n: '/boot/efi' }] }, { n: '/home' }] }, { n: '/srv' }] };
  t.deepEqual(walk(all.get('t'), doc).names, ['/', '///boot', '///boot//boot/efi', '///home', '/srv']);
  t.deepEqual(walk(all.get('leaf'), doc).names, ['/', '/boot', '/boot/efi', '/home', '/srv']);
  let deep = { n: 'x70' };
  for (let i = 69; i >= 1; i--) deep = { n: `x${i}`, c: [deep] };
  const r = walk(all.get('leaf'), { t: [deep] });
  t.is(r.names.length, 64);
  t.is(r.names[63], 'x64');
  t.is(r.problem, "elements below 'x64' are deeper than 64 levels of '/c', and not served");
});

test('a walk whose time is up stops within 1,024 elements, says so, and keeps what it found; with time, it finds every one', (t) => {
  const tree = arrays([{ name: 't', type: 'array', pointer: '/t', index: '/n', children: '/c', metrics: [{ name: 'v', type: 'integer', pointer: '/v' }] }]).get('t');
  const doc = { t: Array.from({ length: 5000 }, (_, i) => ({ n: `e${i}` })) };
  const late = new Walk(tree, doc, Infinity, performance.now() - 1);
  t.true(late.values.length > 0 && late.values.length < 1024, `${late.values.length} elements found`);
  t.is(late.nameOf(0), 'e0');
  t.regex(late.problem, /^walking its levels took longer than its author's share of this fetch \(fetch_max_ms/);
  const timely = new Walk(tree, doc, Infinity, performance.now() + 60000);
  t.is(timely.values.length, 5000);
  t.is(timely.problem, '');
});

test("an inner array without 'index' over an object is named by its keys; an empty name is no name", (t) => {
  const a = arrays([{ name: 'host', type: 'array', pointer: '/hosts', index: '/n', metrics: [
    { name: 'disk', type: 'array', pointer: '/disks', metrics: [SIZE] },
  ] }]).get('host.disk');
  const r = walk(a, { hosts: [{ n: 'db1', disks: { sda: { size: 1 }, sdb: { size: 2 } } }, { n: '', disks: { sdc: {} } }] });
  t.deepEqual(r.names, ['db1/sda', 'db1/sdb']);
  t.is(r.problem, "element 1 of 'host' has an empty instance name");
  t.is(walk(a, { hosts: [{ n: 'db1', disks: [{ size: 1 }] }] }).problem, "element 0 of 'host.disk' in 'db1' has no instance name: 'host.disk' has no 'index', and only an object's members are named by their keys");
});

test("a source with a nested array or a tree compiles no query: its documents go to JavaScript's parser", (t) => {
  const all = arrays([LSBLK, { name: 'flat', type: 'array', pointer: '/f', index: '/n', metrics: [SIZE] }, { name: 'tree', type: 'array', pointer: '/t', index: '/n', children: '/c', metrics: [SIZE] }]);
  const served = (list) => list.flatMap((a, i) => a.members.map((spec) => ({ spec, arrayAt: i, slot: 0 })));
  const flat = [all.get('flat')];
  const q = queryFor(served(flat), flat);
  t.truthy(q);
  q.free();
  for (const list of [[all.get('dev'), all.get('dev.part')], [all.get('flat'), all.get('tree')]]) t.is(queryFor(served(list), list), undefined);
});
