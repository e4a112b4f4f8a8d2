// Scale-out with the real parts: two hosts, each a private pmcd running
// this PMDA over its own source (both named "app"); pmlogger records each
// host into an archive below a private PCP_ARCHIVE_DIR; pmproxy, in its
// timeseries mode, discovers the growing archives and loads them into a
// real key-value server (Debian's redis-server, on a private port with its
// own data directory); pmseries, pointed at that server with -h/-p, and
// pmproxy's /series REST API return the values and labels. Then the REST
// requests grafana-pcp's live ("vector") datasource makes go to the same
// pmproxy: /pmapi/context, /metric, /fetch, /indom, /children.
//
// The hosts are UTS namespaces (unshare --uts), so each pmcd has its own
// host name and with it its own "hostname" label; they listen on
// 127.0.0.1 on private ports, with their own pmcd.conf, PMNS (pmcd's own
// metrics and json), log, socket and PCP_* directories. The live pmcd is
// not touched, but the pmcd lock is held, as test/pmcd/twohost.test.mjs does: a
// Remove of the live PMDA meanwhile would signal ours too.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { PMDA, Scratch, SYSTEM_PATH, sleep, lockPmcd, waitFor, pcpConf, freePort } from '../helpers/harness.mjs';

const NODE = fs.existsSync('/usr/bin/node') ? '/usr/bin/node' : process.execPath;
const MAX = '9223372036854775807';
const IS_ROOT = process.getuid() === 0;

const BINADM = pcpConf('PCP_BINADM_DIR') ?? '/usr/lib/pcp/bin';
const PMDAS_DIR = pcpConf('PCP_PMDAS_DIR') ?? '/var/lib/pcp/pmdas';
const VAR_DIR = pcpConf('PCP_VAR_DIR') ?? '/var/lib/pcp';

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { env: { ...process.env, PATH: SYSTEM_PATH } }).status === 0;

/**
 * redis-server, installed from Debian if it is missing, the way .ci/setup
 * installs its packages (a systemctl that does nothing lets dpkg finish
 * without systemd). Returns why it cannot be had, or null.
 */
function ensureRedis() {
  if (has('redis-server')) return null;
  if (!IS_ROOT) return 'redis-server is not installed (and installing it needs root)';
  const fake = fs.mkdtempSync('/tmp/scaleout-systemctl-');
  fs.writeFileSync(path.join(fake, 'systemctl'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', PATH: `${fake}:${SYSTEM_PATH}` };
  try {
    spawnSync('apt-get', ['update', '-q'], { env, stdio: 'ignore', timeout: 120000 });
    spawnSync('apt-get', ['install', '-y', '-q', 'redis-server'], { env, stdio: 'ignore', timeout: 180000 });
    spawnSync('dpkg', ['--configure', '-a'], { env, stdio: 'ignore', timeout: 60000 });
  } finally {
    fs.rmSync(fake, { recursive: true, force: true });
  }
  return has('redis-server') ? null : 'redis-server is not installed and apt-get could not install it';
}

const why = !IS_ROOT ? 'needs root (private pmcds in UTS namespaces, pmproxy -U root)'
  : !has('unshare') ? 'needs unshare(1) for the hosts\' UTS namespaces'
  : ensureRedis();

function run(cmd, args, env = {}, timeout = 30000) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: SYSTEM_PATH, ...env }, timeout });
}

function tryRun(cmd, args, env = {}) {
  try {
    return { status: 0, stdout: run(cmd, args, env) };
  } catch (e) {
    return { status: e.status ?? -1, stdout: String(e.stdout ?? ''), stderr: String(e.stderr ?? e.message) };
  }
}

/** @typedef {import('node:child_process').ChildProcess & { done: Promise<number | NodeJS.Signals> }} LoggedProcess */

/** A process whose `done` settles with its exit code, or the signal that ended it. @returns {LoggedProcess} */
function spawnLogged(cmd, args, env) {
  const p = /** @type {LoggedProcess} */ (spawn(cmd, args, { env: { ...process.env, PATH: SYSTEM_PATH, ...env }, stdio: 'ignore' }));
  p.done = new Promise((r) => p.on('exit', (code, signal) => r(code ?? signal)));
  return p;
}

const tail = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').slice(-20).join('\n') : `(no ${file})`);

// ---- the sources: one per host, both named "app" ---------------------------------

// a metadata literal shaped like interop.test.mjs's and check.test.mjs's: each file describes its own source
const META = {
  prefix: 'app',
  labels: { team: 'storage' },
  metrics: [
    { name: 'requests', pointer: '/requests', type: 'integer', semantics: 'counter', units: 'count', description: 'Requests served' },
    { name: 'big', pointer: '/big', type: 'integer', description: 'The largest int64' },
    { name: 'version', pointer: '/version', type: 'string', semantics: 'discrete', description: 'Service version' },
    { name: 'disk', pointer: '/disks', type: 'array', index: '/dev', description: 'Disks by device name', 'instance-labels': { model: '/model' },
      metrics: [{ name: 'reads', pointer: '/reads', type: 'integer', semantics: 'counter', units: 'count', description: 'Reads' }] },
  ],
};
const data = (requests, big, version, disks) =>
  `{"requests": ${requests}, "big": ${big}, "version": "${version}", "disks": [${disks.map(([dev, model, reads]) => `{"dev": "${dev}", "model": "${model}", "reads": ${reads}}`).join(', ')}]}`;
const ALPHA = data(10, MAX, '1.2.3', [['sda', 'X1', 5], ['sdb', 'Y2', 7]]);
const ALPHA_LATER = data(25, MAX, '1.2.3', [['sda', 'X1', 6], ['sdb', 'Y2', 7]]);
const BRAVO = data(700, 1, '2.0.0', [['nvme0n1', 'Z9', 3]]);

/** pmcd's own PMNS with json added: pmproxy's contexts want pmcd.* (labels, host name). */
function pmns() {
  const text = fs.readFileSync(path.join(VAR_DIR, 'pmns', 'root_pmcd'), 'utf8');
  const out = text.replace(/root\s*\{\s*pmcd\s*\}/, 'root {\n\tpmcd\n\tjson\t137:*:*\n}');
  if (out === text) throw new Error('unexpected root_pmcd');
  return out;
}

const ctx = { hosts: [], procs: [], scratches: [] };

/** pmseries against the private key-value server. */
const pmseries = (...args) => run('pmseries', ['-h', '127.0.0.1', '-p', String(ctx.redisPort), ...args]);

/** pmseries output: { sid: [{ time, value, instance }] } for a query with samples. */
function seriesValues(text) {
  const out = {};
  let cur;
  for (const line of text.split('\n')) {
    let m = line.match(/^([0-9a-f]{40})$/);
    if (m) {
      cur = out[m[1]] = [];
      continue;
    }
    m = line.match(/^\s+\[([^\]]+)\] (.*?)(?: ([0-9a-f]{40}))?$/);
    if (m && cur) cur.push({ time: m[1], value: m[2], instance: m[3] });
  }
  return out;
}

const sids = (text) => text.split('\n').map((l) => l.trim()).filter((l) => /^[0-9a-f]{40}$/.test(l));

// without the parts, say why, and skip every test (ava reports them as skipped)
const serial = why ? test.serial.skip : test.serial;
if (why) {
  console.log(`scaleout: skipping the scale-out tests: ${why}`);
} else {
  test.before(async () => {
    ctx.release = await lockPmcd();
    const base = new Scratch('scaleout');
    ctx.scratches.push(base);
    ctx.base = base;
    ctx.archives = path.join(base.dir, 'archives');
    ctx.tmp = path.join(base.dir, 'tmp');
    fs.mkdirSync(ctx.archives);
    fs.mkdirSync(ctx.tmp);

    // the key-value server: private port, own data directory, nothing saved
    ctx.redisPort = await freePort();
    const redisDir = path.join(base.dir, 'redis');
    fs.mkdirSync(redisDir);
    ctx.procs.push(spawnLogged('redis-server', ['--port', String(ctx.redisPort), '--bind', '127.0.0.1', '--dir', redisDir,
      '--save', '', '--appendonly', 'no', '--logfile', path.join(redisDir, 'redis.log')]));
    await waitFor('redis-server', () => /PONG/.test(tryRun('redis-cli', ['-h', '127.0.0.1', '-p', String(ctx.redisPort), 'ping']).stdout));

    // two hosts, each a pmcd in its own UTS namespace, with its own source
    for (const [name, doc] of [['alpha', ALPHA], ['bravo', BRAVO]]) {
      const s = new Scratch(`scaleout-${name}`);
      ctx.scratches.push(s);
      fs.chmodSync(s.src, 0o755);
      for (const d of ['run', 'log/pmcd', 'tmp', 'bin']) fs.mkdirSync(path.join(s.dir, d), { recursive: true });
      // pmcd under another path, so the live pmcd's rc script never takes ours for the system's
      fs.symlinkSync(path.join(BINADM, 'pmcd'), path.join(s.dir, 'bin', 'pmcd'));
      fs.writeFileSync(path.join(s.dir, 'pmcd.conf'),
        `pmcd\t2\tdso\tpmcd_init\t${path.join(PMDAS_DIR, 'pmcd', 'pmda_pmcd.so')}\njson\t137\tpipe\tbinary\t${NODE} ${PMDA} -d 137\n`);
      fs.writeFileSync(s.pmns, pmns());
      const dir = s.source('app', META, doc);
      const port = await freePort();
      const env = {
        PCP_RUN_DIR: path.join(s.dir, 'run'),
        PCP_LOG_DIR: path.join(s.dir, 'log'),
        PCP_TMP_DIR: path.join(s.dir, 'tmp'),
        PCP_VAR_DIR: s.var,
        PCP_PMDAS_DIR: s.pmdas,
      };
      const log = path.join(s.dir, 'log', 'pmcd', 'pmcd.log');
      const pmcd = [path.join(s.dir, 'bin', 'pmcd'), '-f', '-A', '-c', path.join(s.dir, 'pmcd.conf'), '-n', s.pmns, '-l', log,
        '-s', path.join(s.dir, 'run', 'pmcd.socket'), '-i', '127.0.0.1', '-p', String(port)].join(' ');
      ctx.procs.push(spawnLogged('unshare', ['--uts', 'sh', '-c', `hostname ${name} && exec ${pmcd}`], env));
      const host = { name, s, dir, port, spec: `127.0.0.1:${port}`, env, log };
      ctx.hosts.push(host);
      await waitFor(`the pmcd of ${name}`, () => /value "?\w/.test(tryRun('pminfo', ['-h', host.spec, '-f', 'json.app.version']).stdout)).catch((e) => {
        throw new Error(`${e.message}\n${tail(log)}`);
      });
    }

    // pmproxy in timeseries mode: discovers archives below PCP_ARCHIVE_DIR, loads them into redis.
    // It watches the directories there when it starts and finds new archives in them (here, of
    // two directories made at the same moment after it had started, one was missed)
    for (const h of ctx.hosts) {
      h.archive = path.join(ctx.archives, h.name, 'app');
      fs.mkdirSync(path.dirname(h.archive));
    }
    ctx.httpPort = await freePort();
    const pmproxyDir = path.join(base.dir, 'pmproxy');
    fs.mkdirSync(pmproxyDir);
    const conf = path.join(pmproxyDir, 'pmproxy.conf');
    fs.writeFileSync(conf, [
      '[pmproxy]', 'pcp.enabled = true', 'http.enabled = true', 'redis.enabled = true', 'secure.enabled = false', '',
      '[redis]', 'enabled = true', `servers = 127.0.0.1:${ctx.redisPort}`, '',
      '[discover]', 'enabled = true', '',
      '[pmseries]', 'enabled = true', '',
      '[pmsearch]', 'enabled = false', '',
    ].join('\n'));
    ctx.pmproxyLog = path.join(pmproxyDir, 'pmproxy.log');
    ctx.procs.push(spawnLogged(path.join(BINADM, 'pmproxy'), ['-f', '-A', '-U', 'root', '-c', conf, '-i', '127.0.0.1', '-p', String(ctx.httpPort),
      '-s', path.join(pmproxyDir, 'pmproxy.socket'), '-l', ctx.pmproxyLog], {
      // the pmloggers' PCP_TMP_DIR, as on one central host
      PCP_ARCHIVE_DIR: ctx.archives, PCP_RUN_DIR: pmproxyDir, PCP_TMP_DIR: ctx.tmp, PCP_LOG_DIR: pmproxyDir,
    }));
    await waitFor('pmproxy', () => ctx.http('/pmapi/context?hostspec=' + ctx.hosts[0].spec).status === 200).catch((e) => {
      throw new Error(`${e.message}\n${tail(ctx.pmproxyLog)}`);
    });

    // a pmlogger per host, as a central pmlogger farm runs them; alpha's counter moves half-way
    const cfg = path.join(base.dir, 'pmlogger.config');
    fs.writeFileSync(cfg, 'log mandatory on 500 msec {\n    json.app\n}\n');
    const loggers = ctx.hosts.map((h) => {
      const arch = h.archive;
      return spawnLogged('pmlogger', ['-h', h.spec, '-c', cfg, '-s', '8', '-t', '0.5sec', '-l', `${arch}.log`, arch], {
        PCP_TMP_DIR: ctx.tmp, PCP_RUN_DIR: ctx.tmp,
      });
    });
    ctx.procs.push(...loggers);
    await sleep(1800);
    const tmp = path.join(ctx.hosts[0].dir, '.data.json');
    fs.writeFileSync(tmp, ALPHA_LATER);
    fs.renameSync(tmp, path.join(ctx.hosts[0].dir, 'data.json'));
    const codes = await Promise.all(loggers.map((l) => Promise.race([l.done, sleep(20000).then(() => 'timeout')])));
    ctx.loggerCodes = codes;

    // loaded: alpha's last requests value and bravo's values are in redis
    await waitFor('pmproxy to load the archives into redis', () => {
      const a = Object.values(seriesValues(pmseries('json.app.requests{hostname=="alpha"}[samples:20]')))[0] ?? [];
      const b = Object.values(seriesValues(pmseries('json.app.requests{hostname=="bravo"}[samples:20]')))[0] ?? [];
      // and bravo's array too: pmproxy loads an archive's series one after another
      const disk = sids(pmseries('json.app.disk.reads{hostname=="bravo"}'));
      return a.some((v) => v.value === '25') && b.length > 0 && disk.length > 0;
    }, 20000).catch((e) => {
      const listing = tryRun('find', [ctx.archives, '-ls']).stdout;
      throw new Error(`${e.message}\n${tail(ctx.pmproxyLog)}\n${listing}\n${tryRun('pmseries', ['-h', '127.0.0.1', '-p', String(ctx.redisPort), 'json.app.requests']).stdout}`);
    });
  });

  ctx.http = (p) => {
    const r = spawnSync('curl', ['-sS', '--max-time', '10', '-w', '\n%{http_code}', `http://127.0.0.1:${ctx.httpPort}${p}`], { encoding: 'utf8' });
    const out = r.stdout ?? '';
    const at = out.lastIndexOf('\n');
    return { status: Number(out.slice(at + 1)), text: out.slice(0, at) };
  };

  test.after.always(async () => {
    for (const p of ctx.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
    await Promise.all(ctx.procs.map((p) => Promise.race([p.done, sleep(5000)])));
    for (const p of ctx.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const s of ctx.scratches) s.cleanup();
    ctx.release?.();
  });
}

serial('pmlogger recorded both hosts; pmseries finds their json series in redis, one per host, told apart by hostname', (t) => {
  t.deepEqual(ctx.loggerCodes, [0, 0], ctx.hosts.map((h) => tail(`${h.archive}.log`)).join('\n'));
  const all = sids(pmseries('json.app.requests'));
  t.is(all.length, 2, 'the same metric name on two hosts: two series');
  const alpha = sids(pmseries('json.app.requests{hostname=="alpha"}'));
  const bravo = sids(pmseries('json.app.requests{hostname=="bravo"}'));
  t.is(alpha.length, 1);
  t.is(bravo.length, 1);
  t.deepEqual([...alpha, ...bravo].sort(), [...all].sort());
  // the source's path tells them apart as well
  t.deepEqual(sids(pmseries(`json.app.requests{source_path=="${ctx.hosts[1].dir}"}`)), bravo);
  // each host's series comes from its own archive: the series' source is that archive
  for (const [h, [sid]] of [[ctx.hosts[0], alpha], [ctx.hosts[1], bravo]]) {
    const source = pmseries('-a', sid).match(/Source: ([0-9a-f]{40})/)?.[1];
    t.truthy(source);
    const context = pmseries('-S', source).match(/Context: (.*)$/m)?.[1].split(', ').sort();
    t.deepEqual(context, [h.archive, h.name].sort());
  }
});

serial('pmseries: the counter\'s values over time, exact int64, strings, and an array\'s instances', (t) => {
  const req = Object.values(seriesValues(pmseries('json.app.requests{hostname=="alpha"}[samples:20]')))[0];
  const seen = new Set(req.map((v) => v.value));
  t.true(seen.has('10') && seen.has('25'), [...seen].join(' '));
  // newest first: once 25, never 10 again
  const values = req.map((v) => v.value);
  t.true(values.lastIndexOf('25') < values.indexOf('10'), values.join(' '));
  t.deepEqual(Object.values(seriesValues(pmseries('json.app.big{hostname=="alpha"}[samples:2]')))[0].map((v) => v.value), [MAX, MAX]);
  t.deepEqual(Object.values(seriesValues(pmseries('json.app.big{hostname=="bravo"}[samples:1]')))[0].map((v) => v.value), ['1']);
  t.deepEqual(Object.values(seriesValues(pmseries('json.app.version{hostname=="bravo"}[samples:1]')))[0].map((v) => v.value), ['"2.0.0"']);

  const [disk] = sids(pmseries('json.app.disk.reads{hostname=="alpha"}'));
  t.truthy(disk);
  const insts = pmseries('-i', disk);
  const names = Object.fromEntries([...insts.matchAll(/inst \[(\d+) or "([^"]+)"\] series ([0-9a-f]{40})/g)].map((m) => [m[3], m[2]]));
  t.deepEqual(Object.values(names).sort(), ['sda', 'sdb']);
  const last = Object.values(seriesValues(pmseries('json.app.disk.reads{hostname=="alpha"}[samples:1]')))[0];
  t.deepEqual(Object.fromEntries(last.map((v) => [names[v.instance], v.value])), { sda: '6', sdb: '7' });
  const [nvme] = sids(pmseries('json.app.disk.reads{hostname=="bravo"}'));
  t.regex(pmseries('-i', nvme), /inst \[\d+ or "nvme0n1"\]/);
});

serial('pmseries: the labels of json series -- hostname, source, source_path, the source\'s own, and instance labels', (t) => {
  for (const h of ctx.hosts) {
    const [sid] = sids(pmseries(`json.app.requests{hostname=="${h.name}"}`));
    const desc = pmseries('-a', sid);
    t.regex(desc, /PMID: 137\.\d+\.\d+/);
    t.regex(desc, /Data Type: 64-bit int {2}InDom: PM_INDOM_NULL/);
    t.regex(desc, /Semantics: counter {2}Units: count/);
    const labels = JSON.parse(desc.match(/labels (\{.*\})/)[1]);
    t.like(labels, { agent: 'json', hostname: h.name, source: 'app', source_path: h.dir, team: 'storage' });
  }
  const [disk] = sids(pmseries('json.app.disk.reads{hostname=="alpha"}'));
  const inst = pmseries('-l', disk);
  t.regex(inst, /inst \[\d+ or "sda"\] labels \{[^}]*"hostname":"alpha"[^}]*"model":"X1"/);
  t.regex(inst, /inst \[\d+ or "sdb"\] labels \{[^}]*"model":"Y2"/);
});

serial('pmproxy\'s /series REST API (grafana-pcp\'s redis datasource): query, values as exact strings, labels', (t) => {
  const q = ctx.http(`/series/query?expr=${encodeURIComponent('json.app.big{hostname=="alpha"}')}`);
  t.is(q.status, 200, q.text);
  const [sid] = JSON.parse(q.text);
  t.regex(sid, /^[0-9a-f]{40}$/);
  const v = ctx.http(`/series/values?series=${sid}&samples=1`);
  t.true(v.text.includes(`"value":"${MAX}"`), v.text);
  const l = JSON.parse(ctx.http(`/series/labels?series=${sid}`).text);
  t.like(l[0].labels, { hostname: 'alpha', source: 'app', source_path: ctx.hosts[0].dir });
});

serial('grafana-pcp\'s live ("vector") datasource requests: /pmapi/context, metric, fetch, indom, children; int64 exact', (t) => {
  for (const h of ctx.hosts) {
    // as PmApiService.createContext: hostspec and polltimeout
    const c = ctx.http(`/pmapi/context?hostspec=${encodeURIComponent(h.spec)}&polltimeout=30`);
    t.is(c.status, 200, c.text);
    const context = JSON.parse(c.text);
    t.true(Number.isInteger(context.context));
    t.is(context.labels.hostname, h.name);
    const id = context.context;

    const m = ctx.http(`/pmapi/${id}/metric?names=json.app.requests,json.app.big,json.app.version,json.app.disk.reads`);
    t.is(m.status, 200, m.text);
    const metrics = Object.fromEntries(JSON.parse(m.text).metrics.map((x) => [x.name, x]));
    t.like(metrics['json.app.requests'], { type: '64', sem: 'counter', units: 'count', 'text-oneline': 'Requests served' });
    t.like(metrics['json.app.requests'].labels, { agent: 'json', hostname: h.name, source: 'app', source_path: h.dir, team: 'storage' });
    t.like(metrics['json.app.version'], { type: 'string', sem: 'discrete' });
    t.regex(metrics['json.app.disk.reads'].indom, /^137\.\d+$/);
    // the live metric is the series pmproxy loaded from the archive
    t.deepEqual([metrics['json.app.requests'].series], sids(pmseries(`json.app.requests{hostname=="${h.name}"}`)));

    const f = ctx.http(`/pmapi/${id}/fetch?names=json.app.requests,json.app.big,json.app.version,json.app.disk.reads`);
    t.is(f.status, 200, f.text);
    if (h.name === 'alpha') {
      // the raw text carries the int64 exactly (JSON.parse would round it)
      t.regex(f.text, new RegExp(`"name":"json\\.app\\.big","instances":\\[\\{"instance":null,"value":${MAX}\\}\\]`));
    }
    const values = Object.fromEntries(JSON.parse(f.text).values.map((x) => [x.name, x.instances]));
    t.deepEqual(values['json.app.requests'], [{ instance: null, value: h.name === 'alpha' ? 25 : 700 }]);
    t.deepEqual(values['json.app.version'], [{ instance: null, value: h.name === 'alpha' ? '1.2.3' : '2.0.0' }]);

    const i = ctx.http(`/pmapi/${id}/indom?name=json.app.disk.reads`);
    t.is(i.status, 200, i.text);
    const indom = JSON.parse(i.text);
    t.is(indom['text-oneline'], 'Disks by device name');
    const byId = Object.fromEntries(indom.instances.map((x) => [x.instance, x.name]));
    t.deepEqual(Object.values(byId).sort(), h.name === 'alpha' ? ['sda', 'sdb'] : ['nvme0n1']);
    t.deepEqual(values['json.app.disk.reads'].map((x) => [byId[x.instance], x.value]).sort(), h.name === 'alpha' ? [['sda', 6], ['sdb', 7]] : [['nvme0n1', 3]]);

    const ch = JSON.parse(ctx.http(`/pmapi/${id}/children?prefix=json.app`).text);
    t.deepEqual(ch.leaf.sort(), ['big', 'requests', 'version']);
    t.deepEqual(ch.nonleaf, ['disk']);
  }
});
