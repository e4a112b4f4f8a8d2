// The Debian package as an administrator meets it, on the live pmcd: the
// .deb built from this checkout (packaging/deb.sh) is installed with dpkg;
// its tools are on PATH with their manual pages; its Install refuses a
// config.json that does not parse, warns of a directory that does not
// exist and says which configuration it keeps; its pmieconf rule fires for
// a broken source when pmlogger logs only its pmlogconf group; and a purge
// leaves nothing of it behind.
//
// Under the pmcd lock for the whole file. What it changes is put back in
// the end: the configuration (and its link), the numbering caches, the
// log and the name space file; the package is purged again, or installed
// again if it was installed before.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { ROOT, SYSTEM_PATH, Scratch, lockPmcd, pcpConf, sleep } from '../helpers/harness.mjs';

const NAME = 'pcp-pmda-json';
// no hyphenation in manual pages (groff 1.23 and later break words at line ends)
const ENV = { ...process.env, PATH: SYSTEM_PATH, LC_ALL: 'C', LANG: 'C', MANWIDTH: '80', MANROFFOPT: '-rHY=0', DEBIAN_FRONTEND: 'noninteractive' };
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { env: ENV }).status === 0;
const why = process.getuid() !== 0 ? 'needs root (dpkg, Install, the live pmcd)'
  : !has('dpkg-deb') ? 'needs dpkg (a Debian system)'
  : !has('man') ? 'needs man(1)'
  : undefined;
const serial = why ? test.serial.skip : test.serial;

const conf = (name, fallback) => pcpConf(name) ?? fallback;
const PMDAS = path.join(conf('PCP_PMDAS_DIR', '/var/lib/pcp/pmdas'), 'json');
const SPLIT = Boolean(pcpConf('PCP_PMDASADM_DIR')) && pcpConf('PCP_PMDASADM_DIR') !== pcpConf('PCP_PMDAS_DIR');
const CONFIG = SPLIT ? path.join(conf('PCP_SYSCONF_DIR', '/etc/pcp'), 'json', 'config.json') : path.join(PMDAS, 'config.json');
const LINK = path.join(PMDAS, 'config.json');
const VAR = conf('PCP_VAR_DIR', '/var/lib/pcp');
const CACHES = path.join(VAR, 'config', 'pmda');
const LOGS = ['json.log', 'json.log.prev'].map((f) => path.join(conf('PCP_LOG_DIR', '/var/log/pcp'), 'pmcd', f));
const PMNS = path.join(VAR, 'pmns', 'json');
const PMCDCONF = conf('PCP_PMCDCONF_PATH', '/etc/pcp/pmcd/pmcd.conf');
const BIN = conf('PCP_BIN_DIR', '/usr/bin');

/** Run a command; its status and output, never throwing. */
function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: ENV, timeout: 180000, ...opts });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
const install = () => sh(path.join(PMDAS, 'Install'), [], { cwd: PMDAS });
const installed = () => sh('dpkg-query', ['-W', '-f=${Status}', NAME]).stdout.includes('install ok installed');
const jsonLine = () => fs.readFileSync(PMCDCONF, 'utf8').split('\n').find((l) => /^json\s/.test(l));
const caches = () => (fs.existsSync(CACHES) ? fs.readdirSync(CACHES).filter((f) => f.startsWith('137.')) : []);

/** A file's content, or whether it is a link, to put it back as it was. */
function save(p) {
  try {
    const st = fs.lstatSync(p);
    return st.isSymbolicLink() ? { link: fs.readlinkSync(p) } : { data: fs.readFileSync(p), mode: st.mode & 0o7777 };
  } catch {
    return null;
  }
}
function restore(p, s) {
  fs.rmSync(p, { force: true });
  if (!s) return;
  fs.mkdirSync(path.dirname(p), { recursive: true });
  if (s.link) fs.symlinkSync(s.link, p);
  else fs.writeFileSync(p, s.data, { mode: s.mode });
}

const ctx = {};

test.before(async () => {
  if (why) return;
  ctx.release = await lockPmcd();
  ctx.was = { installed: installed(), line: jsonLine() };
  ctx.saved = new Map([CONFIG, LINK, PMNS, ...LOGS].map((p) => [p, save(p)]));
  ctx.caches = new Map(caches().map((f) => [f, fs.readFileSync(path.join(CACHES, f))]));
  // a source served all along (as nobody: its metadata.json is root's)
  ctx.scratch = new Scratch('deb');
  fs.chmodSync(ctx.scratch.src, 0o755);
  ctx.source = ctx.scratch.source('pkg', { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }, '{"v": 9007199254740993}');
  ctx.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmda-json-deb-'));
  fs.chmodSync(ctx.dir, 0o755);
  const built = sh('bash', [path.join(ROOT, 'packaging', 'deb.sh'), ctx.dir], { cwd: ROOT });
  if (built.status !== 0) throw new Error(`deb.sh failed:\n${built.out}`);
  ctx.deb = path.join(ctx.dir, fs.readdirSync(ctx.dir).find((f) => f.endsWith('.deb')));
  const i = sh('dpkg', ['-i', ctx.deb]);
  if (i.status !== 0) throw new Error(`dpkg -i failed:\n${i.out}`);
  ctx.files = sh('dpkg', ['-L', NAME]).stdout.split('\n').filter(Boolean);
});

test.after.always(() => {
  if (!ctx.release) return; // never had the lock: nothing of ours to undo
  try {
    if (installed()) sh('dpkg', ['--purge', NAME]);
    if (ctx.was.installed && ctx.deb) sh('dpkg', ['-i', ctx.deb]);
    for (const [p, s] of ctx.saved) restore(p, s);
    for (const f of caches()) fs.rmSync(path.join(CACHES, f), { force: true });
    for (const [f, data] of ctx.caches) fs.writeFileSync(path.join(CACHES, f), data);
    fs.rmSync(ctx.dir, { recursive: true, force: true });
    ctx.scratch?.cleanup();
  } finally {
    ctx.release();
  }
});

serial('pmdajson-check and pmdajson-generate are on PATH with manual pages, and generate_ceph_metadata is where pmdajson had it', (t) => {
  for (const tool of ['pmdajson-check', 'pmdajson-generate']) {
    t.is(sh('sh', ['-c', `command -v ${tool}`]).stdout.trim(), path.join(BIN, tool));
    t.true(ctx.files.includes(path.join(BIN, tool)), `${tool} is the package's`);
    const page = sh('man', [tool]);
    t.is(page.status, 0, page.out);
    t.is(page.stderr, '', 'man says nothing on standard error');
    t.regex(page.stdout, new RegExp(`^NAME\\n\\s+${tool}\\s+- `, 'm'));
  }
  t.regex(sh('pmdajson-check', ['--help']).stderr, /^Usage: pmdajson-check /);
  t.regex(sh('pmdajson-generate', ['--help']).stdout, /^Usage: pmdajson-generate /);
  const page = sh('man', ['pmdajson']);
  t.is(page.stderr, '', 'man pmdajson says nothing on standard error (the python page is diverted to a name man accepts)');
  t.regex(page.stdout.replace(/\s+/g, ' '), /NAME pmdajson - JavaScript Object Notation \(JSON\) performance metrics domain agent \(PMDA\)/);
  t.regex(page.stdout.replace(/\s+/g, ' '), /SEE ALSO pmdajson-check\(1\), pmdajson-generate\(1\)/);
  t.regex(page.stdout.replace(/\s+/g, ' '), /\/usr\/share\/doc\/pcp-pmda-json\/SECURITY\.md/);
  t.true(ctx.files.includes('/usr/share/doc/pcp-pmda-json/SECURITY.md'), 'the SECURITY.md the page cites is installed');

  // the checker, installed, on a source (run as root: as nobody, the author of a root-owned source)
  const checked = sh('pmdajson-check', [ctx.source]);
  t.is(checked.status, 0, checked.out);
  t.regex(checked.stdout, /^json\.pkg\.v\n[\s\S]*?value 9007199254740993$/m);

  // generate_ceph_metadata -t SCHEMA, in pmdajson's place: metadata.json here, as pmdajson-generate writes it
  const cwd = fs.mkdtempSync(path.join(ctx.dir, 'ceph-'));
  const schema = path.join(ROOT, 'test', 'fixtures', 'ceph', 'ceph_schema1.json');
  const old = sh(path.join(PMDAS, 'generate_ceph_metadata'), ['-t', schema], { cwd });
  t.is(old.status, 0, old.out);
  const generated = sh('pmdajson-generate', ['--from-ceph', schema]);
  t.deepEqual(JSON.parse(fs.readFileSync(path.join(cwd, 'metadata.json'), 'utf8')), JSON.parse(generated.stdout));
  t.regex(sh(path.join(PMDAS, 'generate_ceph_metadata'), []).stderr, /^Usage: generate_ceph_metadata \[-v\] \[-o FILE\] ADMIN_SOCKET/);
});

serial('Install refuses a config.json that does not parse, and leaves pmcd as it was', (t) => {
  const before = fs.readFileSync(PMCDCONF, 'utf8');
  fs.mkdirSync(path.dirname(CONFIG), { recursive: true });
  fs.writeFileSync(CONFIG, '{"directory_list": [\n');
  const r = install();
  t.is(r.status, 1, r.out);
  t.regex(r.out, new RegExp(`^Error: cannot parse ${CONFIG}: `, 'm'));
  t.regex(r.out, new RegExp(`nothing done, pmcd is left as it was: fix ${CONFIG} first`));
  t.notRegex(r.out, /Check json metrics have appeared/);
  t.is(fs.readFileSync(PMCDCONF, 'utf8'), before, 'pmcd.conf is unchanged');
});

serial('Install warns of a listed directory that does not exist, says it keeps the configuration, and the PMDA logs the directory once', async (t) => {
  const missing = path.join(ctx.scratch.dir, 'not-made-yet');
  fs.writeFileSync(CONFIG, JSON.stringify({ directory_list: [ctx.scratch.src, missing] }));
  const r = install();
  t.is(r.status, 0, r.out);
  t.regex(r.out, new RegExp(`^Keeping the configuration ${CONFIG}$`, 'm'));
  t.regex(r.out, new RegExp(`^Warning: ${CONFIG}: directory_list entry ${missing} does not exist: no source is found there until it is made$`, 'm'));
  t.regex(r.out, /Check json metrics have appeared \.\.\. \d+ metrics and \d+ values/);
  // one space between arguments: "-d 137 -c CONFIG"
  t.regex(jsonLine(), new RegExp(`/dist/pmda/main\\.js -d 137 -c ${CONFIG}$`));
  t.is(sh('pminfo', ['-f', 'json.pkg.v']).stdout.trim().split('\n').pop().trim(), 'value 9007199254740993');
  for (let i = 0; i < 3; i++) sh('pminfo', ['-f', 'json']);
  await sleep(200);
  const log = fs.readFileSync(LOGS[0], 'utf8');
  t.is(log.split(`directory_list entry ${missing} does not exist`).length - 1, 1, log);
});

(SPLIT ? serial : test.serial.skip)('with only $PCP_SYSCONF_DIR/json/config.json left (PCP 6 upgraded to 7), Install says it keeps that configuration', (t) => {
  fs.rmSync(LINK, { force: true });
  const r = install();
  t.is(r.status, 0, r.out);
  t.regex(r.out, new RegExp(`^Keeping the configuration ${CONFIG}, an earlier install's$`, 'm'));
  t.regex(r.out, new RegExp(`^Linked ${LINK} to ${CONFIG}$`, 'm'));
  t.is(fs.readlinkSync(LINK), CONFIG);
});

serial('the pmieconf rule fires for a broken source, and only for it, with only the pmlogconf group logging', async (t) => {
  const s = ctx.scratch;
  s.source('broken', { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }, '{"v": ');
  const work = fs.mkdtempSync(path.join(ctx.dir, 'pmie-'));
  // the package's pmlogconf group alone, and its pmieconf rule with PCP's global actions
  const groups = path.join(work, 'groups');
  fs.mkdirSync(path.join(groups, 'json'), { recursive: true });
  fs.copyFileSync(path.join(VAR, 'config', 'pmlogconf', 'json', 'summary'), path.join(groups, 'json', 'summary'));
  const rules = path.join(work, 'rules');
  fs.mkdirSync(path.join(rules, 'json'), { recursive: true });
  fs.copyFileSync(path.join(VAR, 'config', 'pmieconf', 'json', 'source_errors'), path.join(rules, 'json', 'source_errors'));
  fs.cpSync(path.join(VAR, 'config', 'pmieconf', 'global'), path.join(rules, 'global'), { dereference: true, recursive: true });

  const logconf = path.join(work, 'pmlogger.config');
  const lc = sh('pmlogconf', ['-c', '-q', '-d', groups, logconf]);
  t.is(lc.status, 0, lc.out);
  t.regex(fs.readFileSync(logconf, 'utf8'), /^log advisory on default \{\n\tjson\n\}$/m);
  const pmie = path.join(work, 'pmie.config');
  for (const args of [['global', 'syslog_action', 'no'], ['global', 'user_action', 'yes'], ['json.source_errors', 'delta', '1 sec'], ['json.source_errors', 'holdoff', '0 sec']]) {
    const r = sh('pmieconf', ['-r', rules, '-f', pmie, 'modify', ...args]);
    t.is(r.status, 0, r.out);
  }

  // pmlogger samples every second; pmie evaluates the rule alongside
  const logger = spawn('pmlogger', ['-c', logconf, '-t', '1sec', '-T', '12sec', '-l', path.join(work, 'pmlogger.log'), path.join(work, 'archive')], { env: ENV, stdio: 'ignore' });
  await sleep(1000);
  const rule = sh('pmie', ['-c', pmie, '-T', '10sec'], { timeout: 30000 });
  logger.kill('SIGTERM');
  t.regex(rule.stdout, /^JSON PMDA source keeps failing .*err\/s\[broken\]@/m, `pmie printed:\n${rule.out}`);
  t.notRegex(rule.stdout, /\[pkg\]/, 'a good source does not fire it');
});

serial('purge removes what the package and Install made, says so, and gives back the python pmdajson\'s files', (t) => {
  t.true(caches().length > 0, 'Install made numbering caches');
  t.true(fs.existsSync(LOGS[0]), 'the PMDA wrote its log');
  const made = [...LOGS, PMNS, CONFIG, LINK].filter((p) => save(p));
  const r = sh('dpkg', ['--purge', NAME]);
  t.is(r.status, 0, r.out);
  t.false(installed());
  t.is(jsonLine(), undefined, 'pmcd.conf has no json line');

  // every file of the package is gone, or is another package's (the python pmdajson's, given back)
  const owner = (p) => {
    const q = sh('dpkg-query', ['-S', p]);
    return q.status === 0 ? q.stdout.split(':')[0] : undefined;
  };
  for (const p of ctx.files) {
    let st;
    try {
      st = fs.lstatSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) continue;
    t.truthy(owner(p), `${p} is left, and no package's`);
    t.not(owner(p), NAME);
  }
  t.is(sh('dpkg-divert', ['--list', `*`]).stdout.split('\n').filter((l) => l.endsWith(` by ${NAME}`)).length, 0, 'no diversion is left');

  // what Install made: removed unless another package has it (PCP 6's pcp has pmdajson's config.json and its link)
  t.deepEqual(caches(), [], 'the numbering caches are gone');
  t.regex(r.out, new RegExp(`^${NAME}: removed the numbering caches ${CACHES}/137\\.\\* \\(\\d+ files\\)$`, 'm'));
  for (const p of made) {
    const theirs = owner(p);
    if (theirs) {
      t.truthy(save(p), `${p} (${theirs}'s) is kept`);
      t.regex(r.out, new RegExp(`^${NAME}: kept ${p} \\(${theirs}'s\\)$`, 'm'));
    } else {
      t.is(save(p), null, `${p} is gone`);
      // (Remove, run first, takes the name space file away itself)
      if (p !== PMNS) t.regex(r.out, new RegExp(`^${NAME}: removed ${p}$`, 'm'));
    }
  }
  // the python pmdajson's files are back where the pcp package has them
  for (const p of ctx.files.filter((f) => /\/(Install|Remove|README|generate_ceph_metadata)$/.test(f))) {
    if (owner(p)) t.false(fs.readFileSync(p, 'utf8').includes('pmda-json'), `${p} is the python pmdajson's again`);
  }
});
