// Object maps: an array metric whose pointer finds a JSON object serves
// the object's members as instances, named by their keys (the shape of
// ceph, docker stats and Elasticsearch's per-device and per-node stats).
import test from 'ava';
import { Scratch, parseInstances, session } from '../helpers/harness.mjs';

const DISKS = {
  metrics: [
    {
      name: 'disks', pointer: '/disks', type: 'array', 'instance-labels': { model: '/model' },
      metrics: [
        { name: 'reads', pointer: '/stats/reads', type: 'integer', semantics: 'counter' },
        { name: 'model', pointer: '/model', type: 'string' },
      ],
    },
  ],
};

/** instance name -> value of one metric */
async function byName(d, metric, indom) {
  const [r] = Object.values(await d.fetch(metric));
  const names = new Map(/** @type {Array<[inst: number, name: string]>} */ (parseInstances(await d.run(`instance ${indom}`))));
  return Object.fromEntries((r.values ?? []).map((v) => [names.get(v.inst), v.value]));
}

test('an object at an array pointer: its members are the instances, named by their keys, nested members resolved', async (t) => {
  const s = new Scratch();
  // raw text: the int64 maximum is exact only if no JavaScript number carries it
  s.source('app', DISKS, '{"disks": {"sda": {"model": "X1", "stats": {"reads": 9223372036854775807}}, "sdb": {"model": "Y2", "stats": {"reads": 7}}}}');
  const d = await session(t, s);
  t.deepEqual(await byName(d, 'json.app.disks.reads', '137.2'), { sda: '9223372036854775807', sdb: '7' });
  t.deepEqual(await byName(d, 'json.app.disks.model', '137.2'), { sda: '"X1"', sdb: '"Y2"' });
  t.notRegex(s.logText(), /Warning/);
});

test('object members keep their instance ids when they come and go and the keys change order', async (t) => {
  const s = new Scratch();
  s.source('app', DISKS, { disks: { sda: { stats: { reads: 1 } }, sdb: { stats: { reads: 2 } } } });
  const d = await session(t, s);
  await d.fetch('json.app.disks.reads');
  const before = new Map(parseInstances(await d.run('instance 137.2')).map(([i, n]) => [n, i]));
  s.data('app', { disks: { sdc: { stats: { reads: 3 } }, sdb: { stats: { reads: 2 } } } });
  await d.fetch('json.app.disks.reads');
  s.data('app', { disks: { sdb: { stats: { reads: 5 } }, sda: { stats: { reads: 4 } }, sdc: { stats: { reads: 6 } } } });
  const [r] = Object.values(await d.fetch('json.app.disks.reads'));
  const after = new Map(parseInstances(await d.run('instance 137.2')).map(([i, n]) => [n, i]));
  t.is(after.get('sda'), before.get('sda'));
  t.is(after.get('sdb'), before.get('sdb'));
  t.is(r.values.length, 3);
  t.is(r.values.find((v) => v.inst === after.get('sda')).value, '4');
});

test("an 'index' pointer wins over the keys of an object", async (t) => {
  const s = new Scratch();
  const md = structuredClone(DISKS);
  md.metrics[0].index = '/name';
  s.source('app', md, { disks: { k1: { name: 'nvme0', stats: { reads: 1 } }, k2: { name: 'nvme1', stats: { reads: 2 } } } });
  const d = await session(t, s);
  t.deepEqual(await byName(d, 'json.app.disks.reads', '137.2'), { nvme0: '1', nvme1: '2' });
});

test('instance labels come from each member of an object map', async (t) => {
  const s = new Scratch();
  s.source('app', DISKS, { disks: { sda: { model: 'X1', stats: { reads: 1 } } } });
  const d = await session(t, s);
  await d.fetch('json.app.disks.reads');
  const out = await d.run('label instances 137.2');
  t.regex(out, /model="X1"/);
});

test('an array without an index over a JSON array serves no instances, with one log line', async (t) => {
  const s = new Scratch();
  s.source('app', DISKS, { disks: [{ stats: { reads: 1 } }] });
  const d = await session(t, s);
  for (let i = 0; i < 3; i++) {
    const [r] = Object.values(await d.fetch('json.app.disks.reads'));
    t.is(r.values?.length ?? 0, 0);
  }
  t.is(s.logText().split('\n').filter((l) => l.includes("it has no 'index'")).length, 1);
});

test('a name equal up to the first space to one an earlier document named is not served, and is logged; the earlier name keeps its id', async (t) => {
  const s = new Scratch();
  s.source('app', DISKS, { disks: { 'disk one': { stats: { reads: 1 } }, sdb: { stats: { reads: 2 } } } });
  const d = await session(t, s);
  t.deepEqual(await byName(d, 'json.app.disks.reads', '137.2'), { 'disk one': '1', sdb: '2' });
  const id = new Map(parseInstances(await d.run('instance 137.2')).map(([i, n]) => [n, i])).get('disk one');
  s.data('app', { disks: { 'disk two': { stats: { reads: 3 } }, sdb: { stats: { reads: 4 } } } });
  t.deepEqual(await byName(d, 'json.app.disks.reads', '137.2'), { sdb: '4' });
  t.regex(s.logText(), /"disk two" \('disk one' is the same up to the first space\)/);
  s.data('app', { disks: { 'disk one': { stats: { reads: 5 } } } });
  t.deepEqual(await byName(d, 'json.app.disks.reads', '137.2'), { 'disk one': '5' });
  t.is(new Map(parseInstances(await d.run('instance 137.2')).map(([i, n]) => [n, i])).get('disk one'), id);
});

test("each source's instances are its own: two sources of the same names, each with its values and its indom", async (t) => {
  const s = new Scratch();
  s.source('a', DISKS, { disks: { sda: { stats: { reads: 1 } }, sdb: { stats: { reads: 2 } } } });
  s.source('b', DISKS, { disks: { sdb: { stats: { reads: 3 } }, sdc: { stats: { reads: 4 } } } });
  const d = await session(t, s);
  const indoms = new Map();
  for (const name of ['a', 'b']) {
    const desc = await d.run(`desc json.${name}.disks.reads`);
    indoms.set(name, /InDom: (\d+\.\d+)/.exec(desc)?.[1]);
  }
  t.not(indoms.get('a'), indoms.get('b'));
  t.deepEqual(await byName(d, 'json.a.disks.reads', indoms.get('a')), { sda: '1', sdb: '2' });
  t.deepEqual(await byName(d, 'json.b.disks.reads', indoms.get('b')), { sdb: '3', sdc: '4' });
});
