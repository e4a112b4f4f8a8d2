// A first-class PCP citizen: labels, help, and the control metrics over
// the instance domain of sources, with reload on pmstore.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { Scratch, parseDesc, parseInstances, session } from '../helpers/harness.mjs';

const META = {
  prefix: 'app',
  labels: { team: 'storage', tier: 2 },
  metrics: [
    { name: 'ops', pointer: '/ops', type: 'integer', semantics: 'counter', description: 'Operations', help: 'Operations completed\nsince the start.', labels: { unit_hint: 'ops' } },
    { name: 'disk', pointer: '/disks', type: 'array', index: '/name', description: 'Disks by device name', 'instance-labels': { model: '/model', ssd: '/ssd' },
      metrics: [{ name: 'busy', pointer: '/busy', type: 'double' }] },
  ],
};
const DATA = { ops: 5, disks: [{ name: 'sda', model: 'X1', ssd: true, busy: 0.5 }, { name: 'sdb', model: 'Y2', ssd: false, busy: 0.25 }] };

/** A session serving app (META, DATA), fetched once: { s, dir, d }. */
async function appSession(t) {
  const s = new Scratch();
  const dir = s.source('app', META, DATA);
  const d = await session(t, s);
  await d.fetch('json.app.ops');
  return { s, dir, d };
}

test('labels: agent, source name and path, metadata labels, metric labels, instance labels', async (t) => {
  const { dir, d } = await appSession(t);
  t.regex(await d.run('label domain'), /agent="json"/);
  const cluster = parseDesc(await d.run('desc json.app.ops')).pmid.split('.').slice(0, 2).join('.');
  const cl = await d.run(`label cluster ${cluster}`);
  t.regex(cl, /source="app"/);
  t.regex(cl, new RegExp(`source_path="${dir}"`));
  t.regex(cl, /team="storage"/);
  t.regex(cl, /tier=2/);
  t.regex(await d.run('label item json.app.ops'), /unit_hint="ops"/);
  const indom = parseDesc(await d.run('desc json.app.disk.busy')).indom;
  const il = await d.run(`label instances ${indom}`);
  t.regex(il, /model="X1"/);
  t.regex(il, /ssd=true/);
  t.regex(il, /model="Y2"/);
});

test('help: description one-line, help long, indom help from the array description', async (t) => {
  const s = new Scratch();
  s.source('app', META, DATA);
  const d = await session(t, s);
  const text = await d.run('text json.app.ops');
  t.regex(text, /\[Operations\]/);
  t.regex(text, /Operations completed\nsince the start\./);
  const indom = parseDesc(await d.run('desc json.app.disk.busy')).indom;
  t.regex(await d.run(`text indom ${indom}`), /\[Disks by device name\]/);
  t.regex(await d.run('text json.control.reload'), /pmstore/);
});

test('control metrics count fetches, refreshes and errors per source, and show the last error', async (t) => {
  const s = new Scratch();
  s.source('app', META, DATA);
  const bad = s.source('bad', { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }, '{"v": ');
  const d = await session(t, s);
  for (let i = 0; i < 3; i++) await d.fetch('json.app.ops', 'json.bad.v');
  const indom = parseDesc(await d.run('desc json.control.fetches')).indom;
  const insts = parseInstances(await d.run(`instance ${indom}`));
  t.deepEqual(insts.map((i) => i[1]).sort(), ['app', 'bad']);
  const byName = (r) => Object.fromEntries(Object.values(r)[0].values.map((v) => [insts.find((i) => i[0] === v.inst)[1], v.value]));
  const fetches = byName(await d.fetch('json.control.fetches'));
  t.is(fetches.app, '3');
  t.is(fetches.bad, '3');
  t.is(byName(await d.fetch('json.control.refreshes')).app, '1', 'an unchanged file is parsed once');
  t.is(byName(await d.fetch('json.control.parse_errors')).bad, '3');
  t.regex(byName(await d.fetch('json.control.last_error')).bad, new RegExp(`cannot parse data file ${path.join(bad, 'data.json')}`));
  t.is(byName(await d.fetch('json.control.last_error')).app, '""');
  t.is(Number(byName(await d.fetch('json.control.data_bytes')).app), Buffer.byteLength(JSON.stringify(DATA, null, 2)));
  t.true(Number(byName(await d.fetch('json.control.refresh_time')).app) >= 0);
});

test('pmstore to control.reload re-reads metadata; to debug turns debug logging on', async (t) => {
  const { s, dir, d } = await appSession(t);
  // a metadata change that keeps size and mtime would go unnoticed without a reload
  const file = path.join(dir, 'metadata.json');
  const st = fs.statSync(file);
  const changed = JSON.stringify({ ...META, metrics: [...META.metrics, { name: 'z', pointer: '/ops', type: 'integer' }] }, null, 2);
  fs.writeFileSync(file, changed);
  fs.utimesSync(file, st.atime, st.mtime);
  t.notRegex(await d.run('store json.control.reload "1"'), /Error/);
  t.is(Object.values(await d.fetch('json.app.z'))[0].values[0].value, '5');
  t.regex(await d.run('fetch json.control.reload'), /value 1/);
  await d.run('store json.debug "1"');
  t.regex(await d.run('fetch json.debug'), /value 1/);
  t.regex(s.logText(), /debug logging on/);
});
