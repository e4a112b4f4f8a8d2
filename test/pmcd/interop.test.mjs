// The PMDA among PCP's own tools, through the live pmcd: pminfo, pmprobe,
// pmval, pmrep, pmie, pmlogger with pmdumplog and pmrep -a, pmproxy's REST
// API and pmstore -- what an administrator would run against it.
//
// The PMDA is installed with ./Install over a scratch config.json (put back
// afterwards) and taken out with ./Remove, under the cross-process pmcd
// lock for the whole file.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { ROOT, SYSTEM_PATH, pcp, sleep, pmcdScratch, restorePmcdScratch, waitFor, pcpConf, freePort } from '../helpers/harness.mjs';

const PMDAS = '/var/lib/pcp/pmdas/json';
const CONFIG = path.join(PMDAS, 'config.json');
const BIG = '9007199254740993'; // 2^53 + 1: a double would round it
const MIN = '-9223372036854775808';
const IS_ROOT = process.getuid() === 0;

function script(name) {
  return execFileSync(path.join(ROOT, name), [], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PATH: SYSTEM_PATH }, timeout: 120000 });
}

/** Run a PCP client and also return its stderr and exit status, without throwing. */
function pcpAll(cmd, args, opts = {}) {
  try {
    return { status: 0, stdout: pcp(cmd, args, opts), stderr: '' };
  } catch (e) {
    return { status: e.status ?? -1, stdout: String(e.stdout ?? ''), stderr: String(e.stderr ?? '') + (e.code ? ` (${e.code})` : '') };
  }
}

/**
 * One metric's part of pminfo's output. Metrics are separated by a blank
 * line (help text may start lines at column 0, so that cannot be used).
 */
function metricBlock(info, name) {
  const block = info.split(/\n\n(?=\S)/).find((b) => b.replace(/^\n/, '').startsWith(`${name}\n`));
  if (!block) throw new Error(`no ${name} in pminfo output:\n${info}`);
  return block;
}

/** The `labels {...}` line of pminfo -l, for one metric, parsed. */
function metricLabels(info, name) {
  const block = metricBlock(info, name);
  const m = block.match(/^ {4}labels (\{.*\})$/m);
  return m ? JSON.parse(m[1]) : undefined;
}

function instanceLabels(info, name) {
  const block = metricBlock(info, name);
  const out = {};
  for (const m of block.matchAll(/^ {4}inst \[\d+ or "([^"]*)"\] labels (\{.*\})$/gm)) out[m[1]] = JSON.parse(m[2]);
  return out;
}

function instanceValues(info, name) {
  const block = metricBlock(info, name);
  const out = {};
  for (const m of block.matchAll(/^ {4}inst \[\d+ or "([^"]*)"\] value (.*)$/gm)) out[m[1]] = m[2];
  return out;
}

/**
 * pmrep's CSV header with each instance column as name-instance: pmrep 6
 * writes "json.iop.disk.util-sda", pmrep 7 "json.iop.disk.util[sda]".
 */
function csvHeader(line) {
  return line.replace(/"([^",[\]]+)\[([^",\]]*)\]"/g, '"$1-$2"');
}

// ---- the live pmcd with the PMDA installed over scratch sources -------------------

// a metadata literal shaped like those of scaleout.test.mjs and dbpmda/control.test.mjs: each file describes its own source
const META = {
  prefix: 'iop',
  labels: { team: 'storage', tier: 2 },
  metrics: [
    { name: 'requests', pointer: '/requests', type: 'integer', semantics: 'counter', units: 'count',
      description: 'Requests served', help: 'Requests served since the\nservice started.', labels: { kind: 'traffic' } },
    { name: 'big', pointer: '/big', type: 'integer', description: 'A value above 2^53' },
    { name: 'min', pointer: '/min', type: 'integer' },
    { name: 'version', pointer: '/version', type: 'string', description: 'Service version' },
    { name: 'temp', pointer: '/temp', type: 'double', units: 'count' },
    { name: 'disk', pointer: '/disks', type: 'array', index: '/dev', description: 'Disks by device name',
      'instance-labels': { model: '/model' },
      metrics: [{ name: 'util', pointer: '/util', type: 'double', units: 'sec', description: 'Busy time' }] },
  ],
};
const DATA = `{"requests": 10, "big": ${BIG}, "min": ${MIN}, "version": "1.2.3", "temp": 42.5,
  "disks": [{"dev": "sda", "model": "X1", "util": 0.25}, {"dev": "sdb", "model": "Y2", "util": 0.5}]}`;

// a counter that moves 1000 a second: milliseconds since the epoch, from date(1)
const CLOCK = {
  prefix: 'clock',
  'data-exec': `/bin/date '+{"ms": %s%3N}'`,
  metrics: [{ name: 'ms', pointer: '/ms', type: 'integer', semantics: 'counter', units: 'count', description: 'Milliseconds since the epoch' }],
};

const ctx = {};

test.before(async () => {
  if (!IS_ROOT) return;
  const s = await pmcdScratch(ctx, CONFIG, 'interop', 0o755);
  ctx.iop = s.source('iop', META, DATA);
  ctx.clock = s.source('clock', CLOCK);
  ctx.install = script('Install');
});

test.after.always(() => {
  if (!ctx.release) return; // never had the lock: nothing of ours to undo
  try {
    ctx.pmproxy?.kill('SIGTERM');
    if (/^json\s/m.test(fs.readFileSync('/etc/pcp/pmcd/pmcd.conf', 'utf8'))) script('Remove');
  } finally {
    restorePmcdScratch(ctx, CONFIG);
  }
});

// needs root and pmcd: skipped (ava's skip) where that is not so
(IS_ROOT ? test.serial : test.serial.skip)('Install registers the PMDA and pmcd serves it', (t) => {
  t.regex(ctx.install, /Check json metrics have appeared \.\.\. \d+ metrics and \d+ values/);
  t.regex(fs.readFileSync('/etc/pcp/pmcd/pmcd.conf', 'utf8'), /^json\s+137\s+pipe\s+binary\s+\S*node --max-semi-space-size=1 \S*dist\/pmda\/main\.js -d 137/m);
});

// needs root and pmcd: skipped (ava's skip) where that is not so
(IS_ROOT ? test.serial : test.serial.skip)('pminfo -dfTl: descriptors, values, help text and labels of sources, metrics and instances', (t) => {
  const info = pcp('pminfo', ['-dfTl', 'json.iop', 'json.nsources', 'json.control']);

  t.regex(info, /^json\.iop\.requests\n\s+Data Type: 64-bit int\s+InDom: PM_INDOM_NULL 0xffffffff\n\s+Semantics: counter\s+Units: count\n/m);
  t.regex(info, /json\.iop\.requests\n[\s\S]*?Help:\nRequests served since the\nservice started\.\n\s+value 10\n/);
  t.regex(info, new RegExp(`json\\.iop\\.big\\n[\\s\\S]*?Help:\\nA value above 2\\^53\\n\\s+value ${BIG}\\n`));
  t.regex(info, new RegExp(`json\\.iop\\.min\\n[\\s\\S]*?value ${MIN}\\n`));
  t.regex(info, /json\.iop\.version\n\s+Data Type: string[\s\S]*?value "1\.2\.3"\n/);
  t.regex(info, /json\.iop\.disk\.util\n\s+Data Type: double\s+InDom: 137\.\d+ 0x[0-9a-f]+\n\s+Semantics: instant\s+Units: sec[\s\S]*?Help:\nBusy time\n\s+inst \[\d+ or "sda"\] value 0\.25\n\s+inst \[\d+ or "sdb"\] value 0\.5\n/);

  // the source's labels on every metric of it, merged with PCP's own
  const requests = metricLabels(info, 'json.iop.requests');
  t.like(requests, { agent: 'json', source: 'iop', source_path: ctx.iop, team: 'storage', tier: 2, kind: 'traffic' });
  t.truthy(requests.hostname, 'context labels are there too');
  const big = metricLabels(info, 'json.iop.big');
  t.like(big, { source: 'iop', team: 'storage', tier: 2 });
  t.false('kind' in big, 'a metric label stays on its metric');
  // instance labels from the array's instance-labels
  const disks = instanceLabels(info, 'json.iop.disk.util');
  t.like(disks, { sda: { model: 'X1', source: 'iop' }, sdb: { model: 'Y2', source: 'iop' } });

  // the PMDA's own metrics: per-source control metrics over the sources indom
  t.regex(info, /json\.nsources\n[\s\S]*?Help:\nNumber of JSON sources\n\s+value 2\n/);
  t.regex(info, /json\.control\.reload\n\s+Data Type: 64-bit int\s+InDom: 137\.0 0x22400000\n\s+Semantics: counter\s+Units: count\n[\s\S]*?pmstore json\.control\.reload/);
  t.regex(info, /json\.control\.last_error\n[\s\S]*?inst \[\d+ or "iop"\] value ""\n/);
  t.true(Number(instanceValues(info, 'json.control.fetches').iop) >= 1, 'fetches of iop are counted');
  t.like(instanceLabels(info, 'json.control.refreshes'), { iop: { source: 'iop' }, clock: { source: 'clock' } });
});

// needs root and pmcd: skipped (ava's skip) where that is not so
(IS_ROOT ? test.serial : test.serial.skip)('pmprobe -v: values and instance counts', (t) => {
  const probe = pcp('pmprobe', ['-v', 'json.iop.requests', 'json.iop.big', 'json.iop.min', 'json.iop.version', 'json.iop.disk.util', 'json.nsources', 'json.control.data_bytes']);
  t.regex(probe, /^json\.iop\.requests 1 10$/m);
  t.regex(probe, new RegExp(`^json\\.iop\\.big 1 ${BIG}$`, 'm'));
  t.regex(probe, new RegExp(`^json\\.iop\\.min 1 ${MIN}$`, 'm'));
  t.regex(probe, /^json\.iop\.version 1 "1\.2\.3"$/m);
  t.regex(probe, /^json\.iop\.disk\.util 2 0\.25 0\.5$/m);
  t.regex(probe, /^json\.nsources 1 2$/m);
  // the data file's size, for iop; the command's output, for clock
  const bytes = probe.match(/^json\.control\.data_bytes 2 (\d+) (\d+)$/m);
  t.truthy(bytes, probe);
  t.true(bytes.slice(1).map(Number).includes(Buffer.byteLength(DATA)), `data_bytes ${bytes?.slice(1)} include ${Buffer.byteLength(DATA)}`);
});

// needs root and pmcd: skipped (ava's skip) where that is not so
(IS_ROOT ? test.serial : test.serial.skip)('pmval -s 3 -t 0.5: exact int64 samples, instances as columns, a counter as a rate', (t) => {
  const big = pcp('pmval', ['-s', '3', '-t', '0.5', 'json.iop.big']);
  t.regex(big, /^semantics: instantaneous value$/m);
  t.is(big.split('\n').filter((l) => l.trim() === BIG).length, 3, big);

  const util = pcp('pmval', ['-s', '3', '-t', '0.5', 'json.iop.disk.util']);
  t.regex(util, /^units:\s+sec$/m);
  t.regex(util, /^\s+sda\s+sdb\s*$/m);
  t.is(util.split('\n').filter((l) => /^\s+0\.2500\s+0\.5000\s*$/.test(l)).length, 3, util);

  // the clock source's counter moves 1000 a second; pmval shows the rate
  const rate = pcp('pmval', ['-s', '3', '-t', '0.5', 'json.clock.ms']);
  t.regex(rate, /^semantics: cumulative counter \(converting to rate\)$/m);
  t.regex(rate, /^units:\s+count \(converting to count \/ sec\)$/m);
  const rates = rate.split('\n').filter((l) => /^\s+\d+\.?\d*\s*$/.test(l)).map(Number);
  t.is(rates.length, 3, rate);
  for (const r of rates) t.true(r > 500 && r < 2000, `rate ${r} near 1000/s:\n${rate}`);
});

// needs root and pmcd: skipped (ava's skip) where that is not so
(IS_ROOT ? test.serial : test.serial.skip)('pmrep -o csv: one column per metric and instance, exact values', (t) => {
  const csv = pcp('pmrep', ['-t', '0.5', '-s', '3', '-o', 'csv', '-r',
    'json.iop.requests', 'json.iop.big', 'json.iop.min', 'json.iop.version', 'json.iop.disk.util', 'json.iop.temp']);
  const lines = csv.trimEnd().split('\n');
  t.is(csvHeader(lines[0]), 'Time,"json.iop.requests","json.iop.big","json.iop.min","json.iop.version","json.iop.disk.util-sda","json.iop.disk.util-sdb","json.iop.temp"');
  const rows = lines.slice(1);
  t.is(rows.length, 3, csv);
  for (const row of rows) {
    t.regex(row, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,/);
    t.is(row.slice(row.indexOf(',') + 1), `10,${BIG},${MIN},"1.2.3",0.250,0.500,42.500`);
  }
  // without -r the counter is a rate: empty first, then 0 while it does not move
  const rated = pcp('pmrep', ['-t', '0.5', '-s', '2', '-o', 'csv', 'json.iop.requests']).trimEnd().split('\n');
  t.deepEqual(rated.slice(1).map((r) => r.split(',')[1]), ['', '0.000']);
});

// needs root and pmcd: skipped (ava's skip) where that is not so
(IS_ROOT ? test.serial : test.serial.skip)('pmie: rules on json metrics fire their actions, and only those that hold', async (t) => {
  const fired = path.join(ctx.s.dir, 'fired.txt');
  const rules = path.join(ctx.s.dir, 'rules.pmie');
  fs.writeFileSync(rules, [
    'delta = 0.5 sec;',
    `warm = json.iop.temp > 40 -> shell "echo warm %v >> ${fired}";`,
    `cold = json.iop.temp > 100 -> shell "echo cold %v >> ${fired}";`,
    // counters are rates in pmie: about 1000/s
    `ticking = json.clock.ms > 500 -> shell "echo ticking >> ${fired}";`,
    'hot = some_inst json.iop.disk.util > 0.4 -> print "hot disk %i";',
    '',
  ].join('\n'));
  const out = pcpAll('pmie', ['-c', rules, '-T', '+2.2sec']);
  t.is(out.status, 0, out.stderr);
  t.regex(out.stdout, /hot disk sdb/);
  t.notRegex(out.stdout, /hot disk sda/);
  // shell actions run in the background: give them a moment
  const text = await waitFor('pmie shell actions', () => {
    const f = fs.existsSync(fired) ? fs.readFileSync(fired, 'utf8') : '';
    return /warm/.test(f) && /ticking/.test(f) ? f : null;
  }, 5000);
  t.regex(text, /^warm 42\.5/m);
  t.notRegex(text, /cold/);
});

// needs root and pmcd: skipped (ava's skip) where that is not so
(IS_ROOT ? test.serial : test.serial.skip)('pmlogger records an archive that pmdumplog and pmrep -a read back', async (t) => {
  const cfg = path.join(ctx.s.dir, 'pmlogger.config');
  const arch = path.join(ctx.s.dir, 'archive', 'iop');
  fs.mkdirSync(path.dirname(arch));
  fs.writeFileSync(cfg, `log mandatory on 500 msec {
    json.iop.requests
    json.iop.big
    json.iop.min
    json.iop.version
    json.iop.disk.util
    json.control.fetches
}
`);
  const logger = spawn('pmlogger', ['-c', cfg, '-s', '7', '-t', '0.5sec', '-l', `${arch}.log`, arch], {
    env: { ...process.env, PATH: SYSTEM_PATH }, stdio: 'ignore',
  });
  const exited = new Promise((r) => logger.on('exit', r));
  // the values move half-way through the recording (and are put back
  // whatever happens, for the tests after this one)
  t.teardown(() => ctx.s.data('iop', DATA));
  await sleep(1600);
  ctx.s.data('iop', DATA.replace('"requests": 10', '"requests": 25').replace('"sda", "model": "X1", "util": 0.25', '"sda", "model": "X1", "util": 0.75'));
  const code = await Promise.race([exited, sleep(20000).then(() => 'timeout')]);
  if (code === 'timeout') logger.kill('SIGKILL');
  t.is(code, 0, fs.existsSync(`${arch}.log`) ? fs.readFileSync(`${arch}.log`, 'utf8') : 'no pmlogger log');

  const dump = pcp('pmdumplog', ['-a', arch]);
  t.regex(dump, new RegExp(`\\(json\\.iop\\.big\\): value ${BIG}\\n`));
  t.regex(dump, new RegExp(`\\(json\\.iop\\.min\\): value ${MIN}\\n`));
  t.regex(dump, /\(json\.iop\.version\): value "1\.2\.3"\n/);
  t.regex(dump, /\(json\.iop\.requests\): value 10\n/);
  t.regex(dump, /\(json\.iop\.requests\): value 25\n/);
  t.regex(dump, /\(json\.iop\.disk\.util\):\n\s+inst \[\d+ or "sda"\] value 0\.25\n\s+inst \[\d+ or "sdb"\] value 0\.5\n/);
  t.regex(dump, /\(json\.iop\.disk\.util\):\n\s+inst \[\d+ or "sda"\] value 0\.75\n/);
  // labels and help text travel with the archive
  const labels = pcp('pmdumplog', ['-e', arch]);
  t.regex(labels, /Cluster 137\.\d+ labels \(\d+ bytes\): \{[^}]*"source":"iop"[^}]*"team":"storage"[^}]*\}/);
  t.regex(labels, /InDom 137\.\d+\[\d+\] labels \(\d+ bytes\): \{"model":"X1"\}/);
  t.regex(pcp('pminfo', ['-a', arch, '-T', 'json.iop.requests']), /Help:\nRequests served since the\nservice started\./);

  // pmrep reads the records as they were logged (-u: no interpolation)
  const csv = pcp('pmrep', ['-a', arch, '-u', '-o', 'csv', '-r', 'json.iop.requests', 'json.iop.big', 'json.iop.version', 'json.iop.disk.util']);
  const lines = csv.trimEnd().split('\n');
  t.is(csvHeader(lines[0]), 'Time,"json.iop.requests","json.iop.big","json.iop.version","json.iop.disk.util-sda","json.iop.disk.util-sdb"');
  const values = lines.slice(1).map((l) => l.slice(l.indexOf(',') + 1)).filter((v) => !/^,*$/.test(v));
  t.true(values.length >= 5, csv);
  t.true(values.includes(`10,${BIG},"1.2.3",0.250,0.500`), csv);
  t.true(values.includes(`25,${BIG},"1.2.3",0.750,0.500`), csv);
  // in time order: never back from 25 to 10
  t.true(values.lastIndexOf(`10,${BIG},"1.2.3",0.250,0.500`) < values.indexOf(`25,${BIG},"1.2.3",0.750,0.500`), csv);
});

// needs root and pmcd: skipped (ava's skip) where that is not so
(IS_ROOT ? test.serial : test.serial.skip)('pmproxy REST API: /pmapi/fetch and /pmapi/metric answer json metrics', async (t) => {
  const port = await freePort();
  const redis = await freePort(); // nothing listens there: no key-value server is touched
  const dir = path.join(ctx.s.dir, 'pmproxy');
  fs.mkdirSync(dir);
  const binadm = pcpConf('PCP_BINADM_DIR') ?? '/usr/lib/pcp/bin';
  ctx.pmproxy = spawn(path.join(binadm, 'pmproxy'), ['-f', '-A', '-U', 'root', '-i', '127.0.0.1', '-p', String(port), '-r', String(redis),
    '-s', path.join(dir, 'pmproxy.socket'), '-l', path.join(dir, 'pmproxy.log')], {
    env: { ...process.env, PATH: SYSTEM_PATH }, stdio: 'ignore',
  });
  t.teardown(() => ctx.pmproxy.kill('SIGTERM'));
  // pmcd by address: where "localhost" resolves to ::1 and IPv6 is off
  // (a platform chroot's own network), pmproxy cannot reach it by name
  const url = (p) => `http://127.0.0.1:${port}${p}${p.includes('?') ? '&' : '?'}hostspec=127.0.0.1`;
  const curl = (p) => execFileSync('curl', ['-sS', '--max-time', '10', url(p)], { encoding: 'utf8' });
  // listening is not enough: until pmproxy has reached pmcd, requests are
  // answered with an error document ("cannot connect to PMCD: Try again")
  const names = 'json.iop.big,json.iop.min,json.iop.version,json.iop.disk.util,json.nsources';
  const text = await waitFor('pmproxy to answer a fetch', () => {
    const answer = curl(`/pmapi/fetch?names=${names}`);
    return answer.includes('"values"') ? answer : undefined;
    // pmproxy can take a while to listen (PCP 7 first tries the key-value server)
  }, 60000);
  // the raw JSON carries the 64-bit integers exactly (JSON.parse would round them)
  t.regex(text, new RegExp(`"name":"json\\.iop\\.big","instances":\\[\\{"instance":null,"value":${BIG}\\}\\]`));
  t.regex(text, new RegExp(`"name":"json\\.iop\\.min","instances":\\[\\{"instance":null,"value":${MIN}\\}\\]`));
  const doc = JSON.parse(text);
  const byName = Object.fromEntries(doc.values.map((v) => [v.name, v]));
  t.deepEqual(byName['json.iop.version'].instances, [{ instance: null, value: '1.2.3' }]);
  t.deepEqual(byName['json.nsources'].instances, [{ instance: null, value: 2 }]);
  t.deepEqual(byName['json.iop.disk.util'].instances.map((i) => i.value).sort(), [0.25, 0.5]);
  t.regex(byName['json.iop.big'].pmid, /^137\.\d+\.\d+$/);

  const metric = JSON.parse(curl('/pmapi/metric?names=json.iop.requests'));
  const m = metric.metrics[0];
  t.is(m.name, 'json.iop.requests');
  t.is(m.sem, 'counter');
  t.is(m.units, 'count');
  t.is(m['text-oneline'], 'Requests served');
  t.is(m['text-help'], 'Requests served since the\nservice started.');
  t.like(m.labels, { agent: 'json', source: 'iop', team: 'storage', tier: 2, kind: 'traffic' });

  // the instances, and the array's description as the instance domain's help
  // (pmproxy 6.0 does not pass instance labels on here, for any PMDA)
  const indom = JSON.parse(curl('/pmapi/indom?name=json.iop.disk.util'));
  t.deepEqual(indom.instances.map((i) => i.name).sort(), ['sda', 'sdb']);
  t.is(indom['text-oneline'], 'Disks by device name');
});

// needs root and pmcd: skipped (ava's skip) where that is not so
(IS_ROOT ? test.serial : test.serial.skip)('pmstore json.control.reload re-reads a source\'s metadata', async (t) => {
  // a metadata change that keeps the file's size and time stamp goes unnoticed...
  const file = path.join(ctx.iop, 'metadata.json');
  const before = fs.readFileSync(file, 'utf8');
  const ref = path.join(ctx.s.dir, 'metadata.ref');
  fs.copyFileSync(file, ref);
  execFileSync('touch', ['-r', file, ref]);
  const after = before.replace('"name": "temp"', '"name": "heat"');
  t.is(after.length, before.length);
  fs.writeFileSync(file, after);
  execFileSync('touch', ['-r', ref, file]); // to the nanosecond
  t.regex(pcp('pmprobe', ['json.iop.temp']), /^json\.iop\.temp 1$/m);
  t.is(pcpAll('pminfo', ['json.iop.heat']).status, 1);
  // ...until a reload is asked for, for that source's instance
  const store = pcp('pmstore', ['-i', 'iop', 'json.control.reload', '1']);
  t.regex(store, /^json\.control\.reload inst \[\d+ or "iop"\] old value=0 new value=1$/m);
  const probe = pcp('pmprobe', ['-v', 'json.iop.heat', 'json.iop.temp']);
  t.regex(probe, /^json\.iop\.heat 1 42\.5$/m);
  t.regex(probe, /^json\.iop\.temp -12357 Unknown metric name$/m);
  t.deepEqual(instanceValues(pcp('pminfo', ['-f', 'json.control.reload']), 'json.control.reload'), { iop: '1', clock: '0' });
  fs.writeFileSync(file, before);
});

// needs root and pmcd: skipped (ava's skip) where that is not so
(IS_ROOT ? test.serial : test.serial.skip)('Remove takes the PMDA out of pmcd', (t) => {
  const remove = script('Remove');
  t.regex(remove, /Culling the Performance Metrics Name Space/);
  t.notRegex(fs.readFileSync('/etc/pcp/pmcd/pmcd.conf', 'utf8'), /^json\s/m);
  t.is(pcpAll('pminfo', ['json']).status, 1, 'json metrics are gone');
});
