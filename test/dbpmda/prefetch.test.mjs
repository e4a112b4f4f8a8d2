// Between PDUs: a data file replaced is read when inotify reports it, so
// the next fetch finds its values ready; but a fetch still sees the file
// as it is then, a source nobody fetches is not read, and a file
// rewritten without pause is read at most once per fetch.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { Scratch, metricValues, session, sleep, waitFor } from '../helpers/harness.mjs';

const META = { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }, { name: 'rows', pointer: '/rows', type: 'array', index: '/n', metrics: [{ name: 'x', pointer: '/x', type: 'integer' }] }] };
// generation g of the data, as text: JSON.stringify cannot write an exact int64
const text = (g) => `{"v": ${9223372036854775000n + BigInt(g)}, "rows": [{"n": "a", "x": ${g}}, {"n": "b", "x": ${-g}}]}`;

/** Replace a file the way producers do: write a temporary file, rename it over. */
function replace(file, body) {
  fs.writeFileSync(file + '.tmp', body);
  fs.renameSync(file + '.tmp', file);
}

async function refreshes(d, name) {
  const v = (await metricValues(d, 'json.control.refreshes'))[name];
  return v === undefined ? undefined : Number(v);
}

test('a replaced data file is read before the next fetch asks, and that fetch gets its values', async (t) => {
  const s = new Scratch();
  const dir = s.source('app', META, text(0));
  const d = await session(t, s);
  await d.fetch('json.app.v', 'json.app.rows.x');
  t.is(await refreshes(d, 'app'), 1);
  replace(path.join(dir, 'data.json'), text(1));
  // only control metrics are fetched meanwhile: nothing asks for app's data
  await waitFor('the data read between PDUs', async () => (await refreshes(d, 'app')) === 2, 10000, 50);
  t.deepEqual(await metricValues(d, 'json.app.v'), { null: '9223372036854775001' });
  t.deepEqual(await metricValues(d, 'json.app.rows.x'), { a: '1', b: '-1' });
  t.is(await refreshes(d, 'app'), 2, 'the fetch found the file it read before, and did not read it again');
});

test('a fetch sees the file as it is at that fetch, even when it changed after it was read between PDUs', async (t) => {
  const s = new Scratch();
  const dir = s.source('app', META, text(0));
  const d = await session(t, s);
  await d.fetch('json.app.v');
  for (let g = 1; g <= 20; g++) {
    replace(path.join(dir, 'data.json'), text(g));
    if (g % 2 === 0) await sleep(20);
    t.deepEqual(await metricValues(d, 'json.app.v'), { null: String(9223372036854775000n + BigInt(g)) }, `generation ${g}`);
  }
});

test('a source that no fetch asked for is not read between PDUs; a file rewritten without pause is read at most once per fetch', async (t) => {
  const s = new Scratch();
  const idle = s.source('idle', META, text(0));
  const busy = s.source('busy', META, text(0));
  const d = await session(t, s);
  await d.fetch('json.busy.v');
  for (let g = 1; g <= 30; g++) {
    replace(path.join(idle, 'data.json'), text(g));
    replace(path.join(busy, 'data.json'), text(g));
    await sleep(10);
  }
  await sleep(300);
  t.is(await refreshes(d, 'idle'), 0, 'never fetched: never read');
  t.is(await refreshes(d, 'busy'), 2, 'fetched once: read once at that fetch, and once since');
  t.deepEqual(await metricValues(d, 'json.busy.v'), { null: '9223372036854775030' });
});

test('a file made by a link (no write, no close) is heard of between PDUs: a metadata.json linked into a known directory makes a source, and its data file linked in is served', async (t) => {
  // between PDUs the shim wakes JavaScript only for events of directories,
  // of metadata.json and schema.json, and of the sources' data files'
  // names (native/watch.cc): links are made, not written or closed
  const s = new Scratch();
  s.source('app', META, text(0));
  const d = await session(t, s);
  await d.fetch('json.app.v');
  const dir = path.join(s.src, 'late');
  fs.mkdirSync(dir);
  const spare = path.join(s.dir, 'spare');
  fs.mkdirSync(spare);
  fs.writeFileSync(path.join(spare, 'data.json'), text(7));
  fs.writeFileSync(path.join(spare, 'metadata.json'), JSON.stringify(META));
  await d.fetch('json.app.v');
  // a hard link: only IN_CREATE, in a directory the PMDA already watches
  fs.linkSync(path.join(spare, 'data.json'), path.join(dir, 'data.json'));
  await sleep(100);
  fs.linkSync(path.join(spare, 'metadata.json'), path.join(dir, 'metadata.json'));
  await waitFor('the linked source served', async () => (await metricValues(d, 'json.late.v'))?.null === '9223372036854775007', 10000, 50);
  t.deepEqual(await metricValues(d, 'json.late.rows.x'), { a: '7', b: '-7' });
});

test('a data file with a name of its own (data-path) replaced by a temporary file is read between PDUs; the temporary file\'s events wake nothing', async (t) => {
  const s = new Scratch();
  const dir = s.source('app', { 'data-path': 'stats.json', ...META }, undefined);
  fs.writeFileSync(path.join(dir, 'stats.json'), text(0));
  const d = await session(t, s);
  t.deepEqual(await metricValues(d, 'json.app.v'), { null: '9223372036854775000' });
  t.is(await refreshes(d, 'app'), 1);
  replace(path.join(dir, 'stats.json'), text(1));
  // only control metrics are fetched meanwhile: the read is the rename's event's
  await waitFor('the data read between PDUs', async () => (await refreshes(d, 'app')) === 2, 10000, 50);
  t.deepEqual(await metricValues(d, 'json.app.v'), { null: '9223372036854775001' });
  t.is(await refreshes(d, 'app'), 2);
});
