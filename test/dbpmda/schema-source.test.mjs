// The original systemtap-bridge format: a source directory with a JSON
// Schema and {"generation": N, "data": {...}} documents, no metadata.json.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Scratch, parseDesc, session } from '../helpers/harness.mjs';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'seed');
const seedSchema = JSON.parse(fs.readFileSync(path.join(fixtures, 'schema.json'), 'utf8'));

/** The descriptors of pminfo-df.txt, as { name: {type, sem, units} }. */
function expectedFromFixture() {
  const text = fs.readFileSync(path.join(fixtures, 'pminfo-df.txt'), 'utf8');
  const out = {};
  for (const m of text.matchAll(/^stap_json\.root\.(\S+)\nData Type: (.*?) InDom: \S+ \S+\nSemantics: (\S+) Units: (.*)$/gm)) {
    out[m[1]] = { type: m[2], sem: m[3], units: m[4].trim() };
  }
  return out;
}

test("the seed schema and data give the seed's descriptors and the data's values", async (t) => {
  const s = new Scratch();
  const dir = s.source('stap');
  fs.copyFileSync(path.join(fixtures, 'schema.json'), path.join(dir, 'schema.json'));
  fs.copyFileSync(path.join(fixtures, 'data.json'), path.join(dir, 'data.json'));
  const d = await session(t, s);
  const expected = expectedFromFixture();
  t.deepEqual(Object.keys(expected).sort(), ['interface', 'xmit_count', 'xmit_latency']);
  const data = JSON.parse(fs.readFileSync(path.join(fixtures, 'data.json'), 'utf8')).data;
  for (const [name, want] of Object.entries(expected)) {
    const desc = parseDesc(await d.run(`desc json.root.${name}`));
    t.deepEqual({ type: desc.type, sem: desc.sem, units: desc.units }, want, name);
    const v = Object.values(await d.fetch(`json.root.${name}`))[0].values[0].value;
    t.is(v, typeof data[name] === 'string' ? JSON.stringify(data[name]) : String(data[name]));
  }
  t.regex(await d.run('text json.root.xmit_count'), /number of packets for xmit device/);
});

test('a document that fails its schema is logged once with the path; invalid members are not served', async (t) => {
  const s = new Scratch();
  const dir = s.source('stap');
  fs.writeFileSync(path.join(dir, 'schema.json'), JSON.stringify(seedSchema));
  s.data('stap', '{"generation": 1, "data": {"interface": "eth0", "xmit_count": "many", "xmit_latency": 7}}');
  const d = await session(t, s);
  for (let i = 0; i < 3; i++) {
    const [c, l, n] = Object.values(await d.fetch('json.root.xmit_count', 'json.root.xmit_latency', 'json.root.interface'));
    t.truthy(c.error, 'the invalid member has no value');
    t.is(l.values[0].value, '7');
    t.is(n.values[0].value, '"eth0"');
  }
  const log = s.logText();
  t.is(log.split('/data/xmit_count must be integer').length - 1, 1, log);
});

// set up as the test above, on purpose: each schema case reads alone
test('a new generation brings the new schema: new metrics appear without a restart', async (t) => {
  const s = new Scratch();
  const dir = s.source('stap');
  fs.writeFileSync(path.join(dir, 'schema.json'), JSON.stringify(seedSchema));
  s.data('stap', '{"generation": 1, "data": {"interface": "eth0", "xmit_count": 1, "xmit_latency": 2}}');
  const d = await session(t, s);
  t.is(Object.values(await d.fetch('json.root.xmit_count'))[0].values[0].value, '1');
  const pmid = parseDesc(await d.run('desc json.root.xmit_count')).pmid;
  const next = structuredClone(seedSchema);
  next.properties.data.properties.xmit_errors = { type: 'integer', description: 'transmit errors' };
  fs.writeFileSync(path.join(dir, 'schema.json'), JSON.stringify(next));
  s.data('stap', '{"generation": 2, "data": {"interface": "eth0", "xmit_count": 3, "xmit_latency": 2, "xmit_errors": 9007199254740993}}');
  await d.fetch('json.nsources');
  t.is(Object.values(await d.fetch('json.root.xmit_errors'))[0].values[0].value, '9007199254740993');
  t.is(parseDesc(await d.run('desc json.root.xmit_count')).pmid, pmid, 'old metrics keep their PMIDs');
  t.is(parseDesc(await d.run('desc json.root.xmit_errors')).sem, 'counter');
});
