// Across hosts: two hosts made of network namespaces on this machine, joined
// by a veth pair (10.200.0.1 and 10.200.0.2), each with its own pmcd
// running this PMDA over its own sources. From host A, pmrep reads host B's
// json metrics live and pmlogger records them into an archive -- values
// that only B's sources have.
//
// The two pmcds are private: their own pmcd.conf, PMNS, log, socket and
// run directory, and PCP_PMDAS_DIR / PCP_VAR_DIR / PCP_LOG_DIR pointing the
// PMDA at a scratch config.json, numbering caches and log. The live pmcd is
// not touched, but the pmcd lock is held: an Install, Remove or restart of
// the live pmcd meanwhile would also signal PMDAs with our command line.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { PMDA, Scratch, SYSTEM_PATH, sleep, lockPmcd, pcpConf } from '../helpers/harness.mjs';

const NODE = fs.existsSync('/usr/bin/node') ? '/usr/bin/node' : process.execPath;
const BIG = '9007199254740995';
/**
 * A host: its namespace and address, its scratch tree, and (once its pmcd
 * is started) that pmcd's environment and log.
 * @typedef {{ ns: string, veth: string, addr: string, s: Scratch, env?: Record<string, string>, log?: string }} Host
 */
const HOSTS = [
  { ns: 'pmdajson-a', veth: 'pjveth-a', addr: '10.200.0.1' },
  { ns: 'pmdajson-b', veth: 'pjveth-b', addr: '10.200.0.2' },
];

function ip(...args) {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: SYSTEM_PATH } });
}

/** A command inside a namespace, with the system PATH and extra environment. */
function inNs(ns, cmd, args, env = {}, timeout = 60000) {
  return execFileSync('ip', ['netns', 'exec', ns, 'env', `PATH=${SYSTEM_PATH}`, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), cmd, ...args], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout,
  });
}

function tryInNs(ns, cmd, args, env) {
  try {
    return { status: 0, stdout: inNs(ns, cmd, args, env) };
  } catch (e) {
    return { status: e.status ?? -1, stdout: String(e.stdout ?? ''), stderr: String(e.stderr ?? '') };
  }
}

/** Remove a namespace of ours, ending what still runs in it first. */
function dropNamespace(ns) {
  let pids = '';
  try {
    pids = ip('netns', 'pids', ns);
  } catch {
    return; // no such namespace
  }
  for (const pid of pids.split(/\s+/).filter(Boolean)) {
    try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
  }
  try { ip('netns', 'del', ns); } catch { /* already gone */ }
}

function netnsUsable() {
  if (process.getuid() !== 0) return 'needs root';
  try {
    ip('netns', 'list');
    // listing is not enough: a container may refuse to make one
    ip('netns', 'add', 'pmda-json-probe');
    ip('netns', 'del', 'pmda-json-probe');
  } catch (e) {
    return `ip netns is unavailable: ${String(e.stderr ?? e.message).trim()}`;
  }
  return null;
}

// network namespaces (root, ip netns): skipped (ava's skip) where there are none
const noNetns = netnsUsable();
if (noNetns) console.log(`twohost: ${noNetns}: the two-host test is skipped`);
(noNetns ? test.skip : test)('pmrep and pmlogger on host A read json metrics from the pmcd of host B', async (t) => {
  const release = await lockPmcd();
  const pmcds = [];
  const scratches = [];
  t.teardown(async () => {
    for (const p of pmcds) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
    await Promise.all(pmcds.map((p) => Promise.race([p.done, sleep(5000)])));
    for (const h of HOSTS) dropNamespace(h.ns);
    try { ip('link', 'del', HOSTS[0].veth); } catch { /* went with the namespaces */ }
    for (const s of scratches) s.cleanup();
    release();
  });

  // ---- the two hosts: namespaces, a veth pair between them -----------------
  // left by a run that was killed
  for (const h of HOSTS) dropNamespace(h.ns);
  try { ip('link', 'del', HOSTS[0].veth); } catch { /* none */ }
  ip('netns', 'add', HOSTS[0].ns);
  ip('netns', 'add', HOSTS[1].ns);
  ip('link', 'add', HOSTS[0].veth, 'type', 'veth', 'peer', 'name', HOSTS[1].veth);
  for (const h of HOSTS) {
    ip('link', 'set', h.veth, 'netns', h.ns);
    ip('-n', h.ns, 'addr', 'add', `${h.addr}/24`, 'dev', h.veth);
    ip('-n', h.ns, 'link', 'set', h.veth, 'up');
    ip('-n', h.ns, 'link', 'set', 'lo', 'up');
  }

  // ---- each host's sources and pmcd -------------------------------------------
  const [a, b] = HOSTS.map(/** @returns {Host} */ (h) => {
    const s = new Scratch(`twohost-${h.ns}`);
    scratches.push(s);
    fs.chmodSync(s.src, 0o755);
    for (const d of ['run', 'log/pmcd', 'tmp', 'bin']) fs.mkdirSync(path.join(s.dir, d), { recursive: true });
    // pmcd under another path, so the live pmcd's rc script, which finds
    // pmcd processes by their path, never takes ours for the system's
    fs.symlinkSync(path.join(pcpConf('PCP_BINADM_DIR') ?? '/usr/lib/pcp/bin', 'pmcd'), path.join(s.dir, 'bin', 'pmcd'));
    fs.writeFileSync(path.join(s.dir, 'pmcd.conf'), `json\t137\tpipe\tbinary\t${NODE} ${PMDA} -d 137\n`);
    return { ...h, s };
  });
  a.s.source('site', { metrics: [{ name: 'host', pointer: '/host', type: 'string' }] }, { host: 'alpha' });
  b.s.source('remote', {
    labels: { site: 'bravo' },
    metrics: [
      { name: 'host', pointer: '/host', type: 'string' },
      { name: 'big', pointer: '/big', type: 'integer' },
      { name: 'queue', pointer: '/queues', type: 'array', index: '/name', metrics: [{ name: 'depth', pointer: '/depth', type: 'integer' }] },
    ],
  }, `{"host": "bravo", "big": ${BIG}, "queues": [{"name": "in", "depth": 3}, {"name": "out", "depth": 7}]}`);

  for (const h of [a, b]) {
    h.env = {
      PCP_RUN_DIR: path.join(h.s.dir, 'run'),
      PCP_LOG_DIR: path.join(h.s.dir, 'log'),
      PCP_TMP_DIR: path.join(h.s.dir, 'tmp'),
      PCP_VAR_DIR: h.s.var,
      PCP_PMDAS_DIR: h.s.pmdas,
    };
    h.log = path.join(h.s.dir, 'log', 'pmcd', 'pmcd.log');
    const p = /** @type {import('node:child_process').ChildProcess & { done: Promise<number | null> }} */ (spawn('ip', ['netns', 'exec', h.ns, 'env', `PATH=${SYSTEM_PATH}`, ...Object.entries(h.env).map(([k, v]) => `${k}=${v}`),
      path.join(h.s.dir, 'bin', 'pmcd'), '-f', '-A', '-c', path.join(h.s.dir, 'pmcd.conf'), '-n', h.s.pmns,
      '-l', h.log, '-s', path.join(h.s.dir, 'run', 'pmcd.socket'), '-i', h.addr], { stdio: 'ignore', cwd: path.join(h.s.dir, 'log', 'pmcd') }));
    p.done = new Promise((r) => p.on('exit', r));
    pmcds.push(p);
  }
  const pmcdLog = (h) => (fs.existsSync(h.log) ? fs.readFileSync(h.log, 'utf8') : '(no log)');

  // ready when each pmcd answers for its PMDA, over the veth from the other host
  for (const [from, to] of [[a, b], [b, a]]) {
    const deadline = Date.now() + 30000;
    for (;;) {
      const r = tryInNs(from.ns, 'pminfo', ['-h', to.addr, '-f', 'json.nsources']);
      if (r.status === 0 && /value 1/.test(r.stdout)) break;
      if (Date.now() > deadline) throw new Error(`pmcd of ${to.ns} does not answer from ${from.ns}: ${r.stderr}\n${pmcdLog(to)}`);
      await sleep(250);
    }
  }

  // each host has its own sources: B's metrics are not on A, and A's not on B
  t.regex(inNs(a.ns, 'pminfo', ['-h', b.addr, 'json']), /^json\.remote\.big$/m);
  t.notRegex(inNs(a.ns, 'pminfo', ['-h', b.addr, 'json']), /json\.site/);
  t.notRegex(inNs(a.ns, 'pminfo', ['-h', a.addr, 'json']), /json\.remote/);
  t.regex(inNs(a.ns, 'pminfo', ['-h', a.addr, '-f', 'json.site.host']), /value "alpha"/);

  // ---- live: pmrep on A, reading B ---------------------------------------------
  // pmrep 6 heads an instance's column name-instance, pmrep 7 name[instance]
  const header = (line) => line.replace(/"([^",[\]]+)\[([^",\]]*)\]"/g, '"$1-$2"');
  const csv = inNs(a.ns, 'pmrep', ['-h', b.addr, '-t', '0.5', '-s', '3', '-o', 'csv', '-r',
    'json.remote.host', 'json.remote.big', 'json.remote.queue.depth']).trimEnd().split('\n');
  t.is(header(csv[0]), 'Time,"json.remote.host","json.remote.big","json.remote.queue.depth-in","json.remote.queue.depth-out"');
  t.is(csv.length, 4, csv.join('\n'));
  for (const row of csv.slice(1)) t.is(row.slice(row.indexOf(',') + 1), `"bravo",${BIG},3,7`);
  // B's labels come along with its metrics
  t.regex(inNs(a.ns, 'pminfo', ['-h', b.addr, '-l', 'json.remote.big']), /"site":"bravo"[^\n]*"source":"remote"/);

  // ---- an archive of B's metrics, recorded on A --------------------------------
  const cfg = path.join(a.s.dir, 'pmlogger.config');
  fs.writeFileSync(cfg, 'log mandatory on 500 msec {\n    json.remote.host\n    json.remote.big\n    json.remote.queue.depth\n}\n');
  const arch = path.join(a.s.dir, 'archive', 'bravo');
  fs.mkdirSync(path.dirname(arch));
  const logger = tryInNs(a.ns, 'pmlogger', ['-h', b.addr, '-c', cfg, '-s', '4', '-t', '0.5sec', '-l', `${arch}.log`, arch], a.env);
  t.is(logger.status, 0, `${logger.stderr}\n${fs.existsSync(`${arch}.log`) ? fs.readFileSync(`${arch}.log`, 'utf8') : ''}`);
  t.regex(fs.readFileSync(`${arch}.log`, 'utf8'), new RegExp(`Starting logger for host "[^"]*" via "${b.addr.replace(/\./g, '\\.')}"`));

  const dump = inNs(a.ns, 'pmdumplog', ['-a', arch]);
  t.regex(dump, /\(json\.remote\.host\): value "bravo"\n/);
  t.regex(dump, new RegExp(`\\(json\\.remote\\.big\\): value ${BIG}\\n`));
  t.regex(dump, /\(json\.remote\.queue\.depth\):\n\s+inst \[\d+ or "in"\] value 3\n\s+inst \[\d+ or "out"\] value 7\n/);
  t.notRegex(dump, /alpha/);

  const fromArchive = inNs(a.ns, 'pmrep', ['-a', arch, '-u', '-o', 'csv', '-r', 'json.remote.host', 'json.remote.big', 'json.remote.queue.depth']).trimEnd().split('\n');
  t.is(header(fromArchive[0]), 'Time,"json.remote.host","json.remote.big","json.remote.queue.depth-in","json.remote.queue.depth-out"');
  const rows = fromArchive.slice(1).map((r) => r.slice(r.indexOf(',') + 1));
  t.true(rows.length >= 3, fromArchive.join('\n'));
  for (const row of rows) t.is(row, `"bravo",${BIG},3,7`);
});
