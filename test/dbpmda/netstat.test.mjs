// examples/netstat: a live data-exec source with no systemtap, per-interface
// transmit counters from /sys/class/net, served through the real PMDA.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Scratch, parseDesc, parseInstances, ROOT, session } from '../helpers/harness.mjs';

const EXAMPLE = path.join(ROOT, 'examples', 'netstat');
const SCRIPT = path.join(EXAMPLE, 'netstat.sh');
const sysfs = (iface, counter) => BigInt(fs.readFileSync(`/sys/class/net/${iface}/statistics/${counter}`, 'utf8').trim());
const hasLo = fs.existsSync('/sys/class/net/lo/statistics/tx_bytes');

function runScript(env = {}) {
  return JSON.parse(execFileSync('/bin/sh', [SCRIPT], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', ...env } }));
}

(hasLo ? test : test.skip)('the script prints every interface with integer counters', (t) => {
  const doc = runScript();
  t.true(Array.isArray(doc.interfaces));
  const names = doc.interfaces.map((i) => i.name);
  t.deepEqual(names.sort(), fs.readdirSync('/sys/class/net').filter((n) => fs.existsSync(`/sys/class/net/${n}/statistics/tx_bytes`)).sort());
  for (const i of doc.interfaces) {
    t.true(Number.isInteger(i.tx_packets) && i.tx_packets >= 0, i.name);
    t.true(Number.isInteger(i.tx_bytes) && i.tx_bytes >= 0, i.name);
  }
});

test('odd interface names stay valid JSON; unreadable counters are skipped', (t) => {
  const net = fs.mkdtempSync(path.join(os.tmpdir(), 'sysnet-'));
  t.teardown(() => fs.rmSync(net, { recursive: true, force: true }));
  const iface = (name, packets, bytes) => {
    fs.mkdirSync(path.join(net, name, 'statistics'), { recursive: true });
    if (packets !== undefined) fs.writeFileSync(path.join(net, name, 'statistics', 'tx_packets'), `${packets}\n`);
    if (bytes !== undefined) fs.writeFileSync(path.join(net, name, 'statistics', 'tx_bytes'), `${bytes}\n`);
  };
  iface('we"ird\\name', 1, 18446744073709551615n);
  iface('half', 3);
  iface('junk', 'x', 1);
  fs.writeFileSync(path.join(net, 'bonding_masters'), 'bond0\n');
  const text = execFileSync('/bin/sh', [SCRIPT], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', NETSTAT_SYSFS: net } });
  t.deepEqual(JSON.parse(text), { interfaces: [{ name: 'we"ird\\name', tx_packets: 1, tx_bytes: 18446744073709552000 }] });
  t.regex(text, /"tx_bytes": 18446744073709551615/, 'the counter is copied digit for digit');
});

(hasLo ? test : test.skip)('the netstat example served by the PMDA shows lo with integer counters', async (t) => {
  const s = new Scratch('netstat');
  t.teardown(() => s.cleanup());
  // an untrusted directory: the command runs as nobody
  const dir = path.join(s.src, 'netstat');
  fs.mkdirSync(dir);
  for (const f of ['metadata.json', 'netstat.sh']) fs.copyFileSync(path.join(EXAMPLE, f), path.join(dir, f));
  const d = await session(t, s);

  const base = 'json.netstat.interfaces';
  const desc = parseDesc(await d.run(`desc ${base}.tx_bytes`));
  t.like(desc, { type: '64-bit int', sem: 'counter', units: 'byte' });
  t.like(parseDesc(await d.run(`desc ${base}.tx_packets`)), { type: '64-bit int', sem: 'counter', units: 'count' });
  t.not(desc.indom, 'PM_INDOM_NULL');

  const before = { bytes: sysfs('lo', 'tx_bytes'), packets: sysfs('lo', 'tx_packets') };
  const fetched = await d.fetch(`${base}.tx_bytes`, `${base}.tx_packets`);
  const after = { bytes: sysfs('lo', 'tx_bytes'), packets: sysfs('lo', 'tx_packets') };
  const instances = new Map(/** @type {Array<[inst: number, name: string]>} */ (parseInstances(await d.run(`instance ${desc.indom}`))));
  t.true([...instances.values()].includes('lo'), `instances: ${[...instances.values()].join(', ')}`);

  const [bytes, packets] = Object.values(fetched).map((r) => {
    t.falsy(r.error, r.error);
    const v = r.values.find((x) => instances.get(x.inst) === 'lo');
    t.truthy(v, 'lo has a value');
    t.regex(v.value, /^\d+$/, 'an integer');
    return BigInt(v.value);
  });
  t.true(bytes >= before.bytes && bytes <= after.bytes, `lo tx_bytes ${bytes} within [${before.bytes}, ${after.bytes}]`);
  t.true(packets >= before.packets && packets <= after.packets, `lo tx_packets ${packets} within [${before.packets}, ${after.packets}]`);
  // every interface the kernel lists is an instance
  for (const n of fs.readdirSync('/sys/class/net').filter((x) => fs.existsSync(`/sys/class/net/${x}/statistics/tx_bytes`))) {
    t.true([...instances.values()].includes(n), n);
  }
});
