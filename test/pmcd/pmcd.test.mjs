// End to end through a live pmcd: Install, pminfo -dfT, pmprobe -v, pmrep,
// Remove -- the way an administrator meets this PMDA.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ROOT, Scratch, SYSTEM_PATH, pcp, sleep, lockPmcd } from '../helpers/harness.mjs';

const PMDAS = '/var/lib/pcp/pmdas/json';
const CONFIG = path.join(PMDAS, 'config.json');

function run(script) {
  return execFileSync(path.join(ROOT, script), [], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PATH: SYSTEM_PATH }, timeout: 120000 });
}

// needs root and pmcd: skipped (ava's skip) where that is not so
(process.getuid() === 0 ? test.serial : test.serial.skip)('Install, query with pminfo, pmprobe and pmrep, Remove', async (t) => {
  const release = await lockPmcd();
  const s = new Scratch('pmcd');
  fs.chmodSync(s.src, 0o755);
  const saved = fs.existsSync(CONFIG) ? fs.readFileSync(CONFIG) : null;
  t.teardown(() => {
    if (saved) fs.writeFileSync(CONFIG, saved);
    s.cleanup();
    release();
  });
  fs.mkdirSync(PMDAS, { recursive: true });
  fs.writeFileSync(CONFIG, JSON.stringify({ directory_list: [s.src] }));
  s.source('e2e', {
    metrics: [
      { name: 'requests', pointer: '/requests', type: 'integer', semantics: 'counter', units: 'count', description: 'Requests served' },
      { name: 'big', pointer: '/big', type: 'integer' },
      { name: 'version', pointer: '/version', type: 'string' },
      { name: 'disk', pointer: '/disk', type: 'array', index: '/dev', metrics: [{ name: 'util', pointer: '/util', type: 'double', units: 'sec', description: 'Busy time' }] },
    ],
  }, '{"requests": 10, "big": 9007199254740993, "version": "1.2.3", "disk": [{"dev": "sda", "util": 0.25}, {"dev": "sdb", "util": 0.5}]}');

  const install = run('Install');
  t.regex(install, /Check json metrics have appeared \.\.\. \d+ metrics and \d+ values/);
  t.regex(fs.readFileSync('/etc/pcp/pmcd/pmcd.conf', 'utf8'), /^json\s+137\s+pipe\s+binary\s+\S*node --max-semi-space-size=1 \S*dist\/pmda\/main\.js -d 137/m);

  const info = pcp('pminfo', ['-dfT', 'json.e2e']);
  t.regex(info, /json\.e2e\.requests\n\s+Data Type: 64-bit int\s+InDom: PM_INDOM_NULL 0xffffffff\n\s+Semantics: counter\s+Units: count\nHelp:\nRequests served\n\s+value 10/);
  t.regex(info, /json\.e2e\.big\n[\s\S]*?value 9007199254740993/);
  t.regex(info, /json\.e2e\.version\n[\s\S]*?value "1\.2\.3"/);
  t.regex(info, /json\.e2e\.disk\.util\n\s+Data Type: double\s+InDom: 137\.\d+ 0x[0-9a-f]+\n\s+Semantics: instant\s+Units: sec[\s\S]*?inst \[0 or "sda"\] value 0\.25\n\s+inst \[1 or "sdb"\] value 0\.5/);

  const probe = pcp('pmprobe', ['-v', 'json.e2e.requests', 'json.e2e.disk.util', 'json.nsources']);
  t.regex(probe, /^json\.e2e\.requests 1 10$/m);
  t.regex(probe, /^json\.e2e\.disk\.util 2 0\.25 0\.5$/m);
  t.regex(probe, /^json\.nsources 1 1$/m);

  // pmrep samples twice a second; the counter moves between samples
  const rep = pcp('pmrep', ['-t', '0.5', '-s', '3', '-o', 'csv', '-r', 'json.e2e.requests', 'json.e2e.big'], {});
  t.regex(rep, /^Time,"json\.e2e\.requests","json\.e2e\.big"/m);
  t.regex(rep, /,10,9007199254740993$/m);

  s.data('e2e', '{"requests": 25, "big": -9223372036854775808, "version": "1.2.4", "disk": [{"dev": "sdb", "util": 0.75}]}');
  await sleep(50);
  const probe2 = pcp('pmprobe', ['-v', 'json.e2e.requests', 'json.e2e.big', 'json.e2e.disk.util']);
  t.regex(probe2, /^json\.e2e\.requests 1 25$/m);
  t.regex(probe2, /^json\.e2e\.big 1 -9223372036854775808$/m);
  t.regex(probe2, /^json\.e2e\.disk\.util 1 0\.75$/m);

  const remove = run('Remove');
  t.regex(remove, /Culling the Performance Metrics Name Space/);
  t.notRegex(fs.readFileSync('/etc/pcp/pmcd/pmcd.conf', 'utf8'), /^json\s/m);
  t.throws(() => pcp('pminfo', ['json']), undefined, 'json metrics are gone');
});
