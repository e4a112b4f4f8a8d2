// Numbering survives restarts: after any restart every name keeps its
// PMID and every instance its id, whatever order things are found in.
// (pmdajson re-numbers from scratch in discovery order and crosses them.)
import test from 'ava';
import { Scratch, Dbpmda, parseTraverse, parseDesc, parseInstances } from '../helpers/harness.mjs';

const meta = (names, array) => ({
  metrics: [
    ...names.map((n) => ({ name: n, pointer: `/${n}`, type: 'integer' })),
    ...(array ? [{ name: 'rows', pointer: '/rows', type: 'array', index: '/id', metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }] : []),
  ],
});
const data = (src, names, ids) => ({
  ...Object.fromEntries(names.map((n, i) => [n, src * 1000 + i])),
  rows: ids.map((id) => ({ id, v: src * 1000 + Number(id.slice(1)) })),
});

async function snapshot(d) {
  const names = parseTraverse(await d.run('traverse json')).filter((n) => !/^json\.(nsources|debug|control\.)/.test(n));
  const out = {};
  for (const n of names) {
    const desc = parseDesc(await d.run(`desc ${n}`));
    const values = Object.values(await d.fetch(n))[0];
    out[n] = { pmid: desc.pmid, indom: desc.indom, values: values.values };
    if (desc.indom !== 'PM_INDOM_NULL') out[n].instances = parseInstances(await d.run(`instance ${desc.indom}`));
  }
  return out;
}

/** Start a new PMDA on `s`, take its snapshot, and close it. */
async function snapshotOfNew(s) {
  const d = new Dbpmda(s);
  await d.ready;
  const snap = await snapshot(d);
  await d.close();
  return snap;
}

test('every PMID and instance id is unchanged after restarts, in any discovery order', async (t) => {
  const s = new Scratch();
  const names = ['m0', 'm1', 'm2'];
  // eight sources, found one by one, in reverse name order
  const d = new Dbpmda(s);
  await d.ready;
  for (let i = 7; i >= 0; i--) {
    s.source(`s${i}`, meta(names, i % 2 === 0), data(i, names, i % 2 === 0 ? ['i1', 'i2', 'i3'] : []));
    await d.fetch('json.nsources');
  }
  const before = await snapshot(d);
  await d.close();
  t.is(Object.keys(before).length, 8 * 3 + 4 * 1);
  t.is(before['json.s7.m0'].pmid, '137.1.0', 's7 was found first');

  // restart: all eight found at once, in sorted order
  const after = await snapshotOfNew(s);
  t.deepEqual(after, before);

  // restart again with sources gone, metadata re-ordered, instances shuffled
  s.remove('s1');
  s.remove('s2');
  s.source('s4', meta([...names].reverse(), true), data(4, names, ['i3', 'i9', 'i1']));
  const third = await snapshotOfNew(s);
  for (const [n, v] of Object.entries(third)) {
    if (!before[n]) continue;
    t.is(v.pmid, before[n].pmid, `${n} keeps its PMID`);
  }
  t.is(third['json.s4.m2'].values[0].value, '4002', 'values follow their names');
  t.deepEqual(third['json.s4.rows.v'].instances, [[0, 'i1'], [2, 'i3'], [3, 'i9']], 'old instances keep their ids, new ones get new ids');
  t.deepEqual(third['json.s4.rows.v'].values.map((v) => [v.inst, v.value]), [[0, '4001'], [2, '4003'], [3, '4009']]);
  t.is(third['json.s0.rows.v'].pmid, before['json.s0.rows.v'].pmid);
  s.cleanup();
});
