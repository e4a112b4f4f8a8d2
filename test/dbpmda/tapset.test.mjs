// systemtap's JSON tapset: what examples/net_xmit.stp would serve in
// /proc/systemtap/MODULE/ (test/fixtures/tapset), served by the PMDA from
// a trusted directory standing in for /proc/systemtap. No systemtap needed.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Scratch, parseDesc, ROOT, metricValues, session } from '../helpers/harness.mjs';

const FIX = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'tapset');
const SCRIPT = path.join(ROOT, 'examples', 'net_xmit.stp');
const metadata = JSON.parse(fs.readFileSync(path.join(FIX, 'metadata.json'), 'utf8'));

/** A scratch PCP world whose trusted directory plays /proc/systemtap, with module `module` in it. */
function procSystemtap(t, module) {
  const s = new Scratch('tapset');
  t.teardown(() => s.cleanup());
  const dir = path.join(s.trusted, module);
  fs.mkdirSync(dir);
  for (const f of ['metadata.json', 'data.json']) fs.copyFileSync(path.join(FIX, f), path.join(dir, f));
  return { s, dir };
}

test('the fixture declares what examples/net_xmit.stp declares through the tapset', (t) => {
  const script = fs.readFileSync(SCRIPT, 'utf8');
  const calls = (fn) => [...script.matchAll(new RegExp(`${fn}\\(([^)]*)\\)`, 'g'))].map((m) => [...m[1].matchAll(/"([^"]*)"/g)].map((x) => x[1]));
  const [[prefix]] = calls('json_set_prefix');
  t.is(metadata.prefix, prefix);
  const arrays = calls('json_add_array');
  t.is(arrays.length, 1);
  const [arrayName, arrayDescription] = arrays[0];
  const entry = metadata.metrics.find((m) => m.name === arrayName);
  t.like(entry, { type: 'array', pointer: `/${arrayName}`, index: '/__id', description: arrayDescription });
  const members = calls('json_add_array_numeric_metric').filter((c) => c[0] === arrayName);
  t.deepEqual(
    entry.metrics,
    members.map(([, name, description, units]) => ({ name, pointer: `/${name}`, type: 'integer', description, ...(units ? { units } : {}) })),
  );
  // the data probe writes one element per device with exactly those members
  for (const [, name] of members) t.regex(script, new RegExp(`json_output_array_numeric_value\\("${arrayName}", dev, "${name}"`));
});

test('a systemtap module directory in a trusted directory is served through the PMDA', async (t) => {
  const { s, dir } = procSystemtap(t, 'net_xmit');
  const d = await session(t, s);
  const base = 'json.net_xmit.net_xmit_data';
  const names = (await d.run('traverse json.net_xmit')).split('\n').map((l) => l.trim()).filter((l) => l.startsWith('json.'));
  t.deepEqual(names.sort(), [`${base}.xmit_count`, `${base}.xmit_latency`]);

  const count = parseDesc(await d.run(`desc ${base}.xmit_count`));
  t.like(count, { type: '64-bit int', sem: 'instant', units: 'count' });
  t.not(count.indom, 'PM_INDOM_NULL');
  t.like(parseDesc(await d.run(`desc ${base}.xmit_latency`)), { type: '64-bit int', sem: 'instant', units: 'nanosec' });
  t.regex(await d.run(`text ${base}.xmit_count`), /Packets transmitted by the device/);

  t.deepEqual(await metricValues(d, `${base}.xmit_count`), { eth0: '352551', lo: '1204' });
  t.deepEqual(await metricValues(d, `${base}.xmit_latency`), { eth0: '1868270000', lo: '2450330' });

  // procfs data.json is made afresh at each read: new values, a new device
  fs.writeFileSync(
    path.join(dir, 'data.json'),
    '{\n  "net_xmit_data": [\n    {\n      "__id": "eth0",\n      "xmit_count": 352560,\n      "xmit_latency": 1868290000\n    },\n    {\n      "__id": "lo",\n      "xmit_count": 1204,\n      "xmit_latency": 2450330\n    },\n    {\n      "__id": "wlan0",\n      "xmit_count": 7,\n      "xmit_latency": 900\n    }\n  ]\n}\n',
  );
  t.deepEqual(await metricValues(d, `${base}.xmit_count`), { eth0: '352560', lo: '1204', wlan0: '7' });
});

test('without json_set_prefix the module name names the source', async (t) => {
  const { s, dir } = procSystemtap(t, 'stap_5e1f2a');
  const md = { ...metadata };
  delete md.prefix;
  fs.writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify(md, null, 2));
  const d = await session(t, s);
  t.deepEqual(await metricValues(d, 'json.stap_5e1f2a.net_xmit_data.xmit_count'), { eth0: '352551', lo: '1204' });
});
