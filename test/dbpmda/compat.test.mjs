// Differential test against the python pmdajson: the same scenario run
// through dbpmda against both PMDAs must give the same names, PMIDs,
// descriptors, help text, values, instance ids and cache files.
import test from 'ava';
import fs from 'node:fs';
import { Scratch, Dbpmda, parseFetch, parseTraverse, PYTHON_PMDA } from '../helpers/harness.mjs';

// PCP 7 removed the python pmdajson: where it is not installed there is
// nothing to compare with, and the test is skipped (not passed), saying why
const reference = fs.existsSync(PYTHON_PMDA);
if (!reference) console.log(`compat: skipped: no python pmdajson (${PYTHON_PMDA} is missing; PCP 7 removed it)`);

const A = {
  prefix: 'alpha',
  metrics: [
    { name: 'greeting', pointer: '/greeting', type: 'string', description: 'A friendly string' },
    { name: 'reads', pointer: '/counts/reads', type: 'integer', units: 'count', semantics: 'counter', description: 'Reads so far' },
    { name: 'rate', pointer: '/rate', type: 'double', units: 'Kbyte / sec', semantics: 'instant' },
    { name: 'slash_key', pointer: '/a~1b', type: 'integer', semantics: 'discrete' },
    { name: 'tilde_key', pointer: '/c~0d', type: 'integer' },
    { name: 'second', pointer: '/list/1', type: 'integer' },
  ],
};
const aData = (n) => ({ greeting: `hello ${n}`, counts: { reads: 1000 + n }, rate: 2.5 * n, 'a/b': n, 'c~d': -n, list: [0, 10 * n] });

const B = {
  prefix: 'net',
  metrics: [
    { name: 'devices', pointer: '/devices', type: 'integer' },
    {
      name: 'xmit', pointer: '/xmit', type: 'array', index: '/__id', description: 'Transmit data by device',
      metrics: [
        { name: 'count', pointer: '/count', type: 'integer', units: 'count', semantics: 'counter', description: 'Packets sent' },
        { name: 'latency', pointer: '/latency', type: 'integer', units: 'microsec' },
        { name: 'driver', pointer: '/driver', type: 'string' },
      ],
    },
  ],
};
const bData = (ids) => ({
  devices: ids.length,
  xmit: ids.map((id, i) => ({ __id: id, count: 100 * (i + 1), latency: i, driver: `drv-${id}` })),
});

const C = { metrics: [{ name: 'temp', pointer: '/t', type: 'double', description: 'Temperature' }] };

/** Everything a client could observe, as text, for one PMDA. */
async function observe(d) {
  // json.control.* is ours alone
  const names = parseTraverse(await d.run('traverse json')).filter((n) => !n.startsWith('json.control.'));
  const out = { names };
  for (const n of names) {
    const desc = await d.run(`desc ${n}`);
    const text = await d.run(`text ${n}`);
    const fetched = await d.run(`fetch ${n}`);
    const indom = desc.match(/InDom: (\d+\.\d+)/)?.[1];
    out[n] = {
      desc: desc.trim(),
      text: text.trim(),
      // errors differ in wording between the two (EAGAIN vs PM_ERR_AGAIN)
      values: Object.values(parseFetch(fetched)).map((r) => (r.error ? 'error' : r.values)),
      instances: indom ? (await d.run(`instance ${indom}`)).trim() : undefined,
    };
  }
  return out;
}

(reference ? test : test.skip)('same names, PMIDs, descriptors, help, values, instances and caches as pmdajson', async (t) => {
  const worlds = [new Scratch('ours'), new Scratch('python')];
  const [ours, py] = worlds;
  const step = async (label, change) => {
    for (const w of worlds) change(w);
    const [a, b] = await Promise.all(sessions.map((d) => observe(d)));
    t.deepEqual(a, b, label);
    return a;
  };
  // sources arrive one at a time: pmdajson numbers them in directory order
  for (const w of worlds) w.source('a', A, aData(1));
  const sessions = [new Dbpmda(ours), new Dbpmda(py, { python: true })];
  await Promise.all(sessions.map((d) => d.ready));

  let seen = await step('first source', () => {});
  t.true(seen.names.includes('json.alpha.reads'));
  t.is(seen['json.alpha.slash_key'].values[0][0].value, '1');

  seen = await step('second source', (w) => w.source('b', B, bData(['eth0', 'eth1'])));
  t.true(seen['json.net.xmit.count'].instances.includes('"eth1"'));

  await step('third source', (w) => w.source('c', C, { t: 21.5 }));
  await step('data updated', (w) => { w.data('a', aData(2)); w.data('b', bData(['eth1', 'eth2'])); });
  seen = await step('data broken', (w) => w.data('a', '{"greeting": "unfinished'));
  t.deepEqual(seen['json.alpha.reads'].values, ['error']);
  t.deepEqual(seen['json.net.xmit.count'].values[0].map((v) => v.inst), [1, 2], 'other sources keep serving');
  await step('data fixed', (w) => w.data('a', aData(3)));
  seen = await step('source removed', (w) => w.remove('c'));
  t.false(seen.names.includes('json.c.temp'));
  seen = await step('source re-added', (w) => w.source('c', C, { t: 22 }));
  t.true(seen.names.includes('json.c.temp'));
  await step('instance back', (w) => w.data('b', bData(['eth0', 'eth1', 'eth2'])));

  await Promise.all(sessions.map((d) => d.close()));
  t.deepEqual(ours.caches(), py.caches(), 'cache files');
  for (const w of worlds) w.cleanup();
});
