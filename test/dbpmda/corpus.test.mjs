// The bad-input corpus (test/corpus/cases/*.json, see test/corpus/README.md)
// through the real PMDA: each case is a source directory, many cases share
// one PMDA session under dbpmda, and every case asserts what a user would
// see -- the values served or the error answered, the names in the
// namespace, and the log line naming the file and the problem, once.
// After every batch the PMDA must still answer json.nsources and a healthy
// control source's value.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Scratch, ROOT } from '../helpers/harness.mjs';
import { Session } from '../corpus/session.mjs';
import { generate } from '../corpus/generate.mjs';

const CASES = path.join(ROOT, 'test', 'corpus', 'cases');
const BATCH = 40;
const ROUNDS = 3;
const asRoot = process.getuid() === 0;
const passwd = fs.readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':'));
/** @type {Record<string, [uid: number, gid: number]>} */
const USERS = Object.fromEntries(passwd.filter((f) => f.length > 3).map((f) => [f[0], [Number(f[2]), Number(f[3])]]));

// ---- the cases ------------------------------------------------------------

const ONLY = process.env.CORPUS_ONLY ? new RegExp(process.env.CORPUS_ONLY) : null;
const cases = fs.readdirSync(CASES).filter((f) => f.endsWith('.json') && (!ONLY || ONLY.test(f))).sort().map((f) => {
  const c = JSON.parse(fs.readFileSync(path.join(CASES, f), 'utf8'));
  c.id = f.slice(0, -5);
  c.dirname ??= c.id.replace(/[^A-Za-z0-9]+/g, '_');
  c.expect ??= {};
  if (!('source' in c.expect)) c.expect.source = c.dirname;
  return c;
});

/** Cases with the same configuration share sessions, BATCH at a time. */
function plan() {
  const groups = new Map();
  for (const c of cases) {
    if (c.root && !asRoot) continue;
    // big generated inputs go a few at a time
    const key = c.config_file !== undefined || c.config_text !== undefined ? `alone:${c.id}` : `${c.generate ? 'big:' : ''}${JSON.stringify(c.config ?? {})}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(c);
  }
  const batches = [];
  for (const [key, list] of groups) {
    const size = key.startsWith('big:') ? 7 : BATCH;
    for (let i = 0; i < list.length; i += size) batches.push(list.slice(i, i + size));
  }
  return batches;
}

// ---- building a batch's world ------------------------------------------------

function owner(name) {
  const ids = USERS[name];
  if (!ids) throw new Error(`no user ${name}`);
  return ids;
}

function fill(text, vars) {
  return text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? vars[k] : m));
}

/** Write one file spec: {json} {text} {base64} {symlink} {dir} {fifo}, with mode and owner. */
function put(file, spec, vars) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (spec.symlink !== undefined) fs.symlinkSync(fill(spec.symlink, vars), file);
  else if (spec.dir) fs.mkdirSync(file, { recursive: true });
  else if (spec.fifo) execFileSync('mkfifo', [file]);
  else if (spec.base64 !== undefined) fs.writeFileSync(file, Buffer.from(spec.base64, 'base64'));
  else if (spec.text !== undefined) fs.writeFileSync(file, fill(spec.text, vars));
  else if (spec.buffer !== undefined) fs.writeFileSync(file, spec.buffer);
  else if ('json' in spec) fs.writeFileSync(file, JSON.stringify(spec.json));
  else throw new Error(`bad file spec for ${file}: ${JSON.stringify(spec)}`);
  if (spec.mode !== undefined && spec.symlink === undefined) fs.chmodSync(file, parseInt(spec.mode, 8));
  if (spec.owner !== undefined) fs.lchownSync(file, ...owner(spec.owner));
}

function filesOf(c) {
  const files = { ...(c.files ?? {}) };
  for (const [key, name] of [['metadata', 'metadata.json'], ['data', 'data.json']]) {
    if (key in c) files[name] = { json: c[key] };
    if (`${key}_text` in c) files[name] = { text: c[`${key}_text`] };
    if (`${key}_base64` in c) files[name] = { base64: c[`${key}_base64`] };
  }
  if (c.generate) Object.assign(files, generate(c.generate));
  return files;
}

function build(s, c) {
  const under = c.trusted ? s.trusted : s.src;
  const dir = path.join(under, c.dirname);
  const vars = { dir, src: s.src, trusted: s.trusted, scratch: s.dir, outside: path.join(s.dir, 'outside', c.dirname), metadata: path.join(dir, 'metadata.json'), data: path.join(dir, 'data.json') };
  c.vars = vars;
  fs.mkdirSync(dir, { recursive: true });
  for (const [rel, spec] of Object.entries(c.outside ?? {})) put(path.join(vars.outside, rel), spec, vars);
  for (const [rel, spec] of Object.entries(filesOf(c))) put(path.join(dir, rel), spec, vars);
  if (c.owner) {
    const ids = owner(c.owner);
    const walk = (p) => {
      fs.lchownSync(p, ...ids);
      if (fs.lstatSync(p).isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    };
    for (const e of fs.readdirSync(dir)) if (!(filesOf(c)[e]?.owner)) walk(path.join(dir, e));
    fs.lchownSync(dir, ...ids);
  }
  if (c.dir_mode) fs.chmodSync(dir, parseInt(c.dir_mode, 8));
}

function writeConfig(s, batch) {
  const first = batch[0];
  const file = path.join(s.pmdas, 'json', 'config.json');
  const vars = { src: s.src, trusted: s.trusted, scratch: s.dir };
  fs.rmSync(file, { force: true });
  if (first.config_file === 'missing') return;
  if (first.config_file === 'dir') return fs.mkdirSync(file);
  if (first.config_file === 'loop') return fs.symlinkSync(file, file);
  if (first.config_text !== undefined) return fs.writeFileSync(file, fill(first.config_text, vars));
  if (first.config_base64 !== undefined) return fs.writeFileSync(file, Buffer.from(first.config_base64, 'base64'));
  const extra = JSON.parse(fill(JSON.stringify(first.config ?? {}), vars));
  // one line per problem, and the limits of one source, are what the corpus
  // checks: no rate limit or budget across sources in the way (test/adversarial)
  fs.writeFileSync(file, JSON.stringify({ directory_list: [s.src], trusted_directory_list: [s.trusted], log_user_lines: 1000000, log_lines: 1000000, max_held_bytes: 1 << 30, fetch_max_bytes: 1 << 30, fetch_max_values: 1e9, fetch_max_ms: 600000, ...extra }));
}

// ---- talking to the PMDA -------------------------------------------------------

/** Fetch names (20 per PDU); name -> { pmid, error } | { pmid, values: [{inst, value}] }. */
async function fetchAll(d, names) {
  const out = {};
  for (let i = 0; i < names.length; i += 20) {
    const chunk = names.slice(i, i + 20);
    const text = await d.run(`fetch ${chunk.join(' ')}`, 60000);
    const pmids = text.match(/^PMID\(s\): (.*)$/m)?.[1].trim().split(/\s+/) ?? [];
    const blocks = {};
    let cur = null;
    for (const line of text.split('\n')) {
      let m = line.match(/^ {2}(\d+\.\d+\.\d+) \([^)]*\): (.*)$/);
      if (m) {
        cur = m[2].startsWith('numval:') ? { pmid: m[1], values: [] } : { pmid: m[1], error: m[2] };
        blocks[m[1]] = cur;
        continue;
      }
      if (!cur?.values) continue;
      m = line.match(/^\s+inst \[(\d+) or [^\]]*\] value (.*)$/s);
      if (m) cur.values.push({ inst: Number(m[1]), value: m[2] });
      else if ((m = line.match(/^\s+value (.*)$/s))) cur.values.push({ inst: null, value: m[1] });
    }
    chunk.forEach((n, k) => { out[n] = blocks[pmids[k]] ?? { pmid: pmids[k], error: `no answer in:\n${text.slice(0, 2000)}` }; });
  }
  return out;
}

async function traverse(d) {
  const text = await d.run('traverse json', 60000);
  return new Set(text.split('\n').slice(1).map((l) => l.trim()).filter((l) => l.startsWith('json.')));
}

async function instances(d, indom) {
  const text = await d.run(`instance ${indom}`, 60000);
  return new Map([...text.matchAll(/inst: (\d+) name: "(.*)"$/gm)].map((m) => [Number(m[1]), m[2]]));
}

async function healthy(d, names) {
  const r = await fetchAll(d, ['json.nsources', ...(names.has('json.healthy.v') ? ['json.healthy.v'] : [])]);
  return { nsources: r['json.nsources'].values?.[0]?.value ?? r['json.nsources'].error, control: r['json.healthy.v']?.values?.[0]?.value ?? r['json.healthy.v']?.error };
}

// at most two PMDA sessions at once
let running = 0;
const waiting = [];
async function slot(fn) {
  while (running >= 2) await new Promise((r) => waiting.push(r));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

async function runBatch(batch) {
  return slot(async () => {
    const s = new Scratch('corpus');
    writeConfig(s, batch);
    s.source('healthy', { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }, { v: 42 }, { under: s.trusted });
    for (const c of batch) build(s, c);
    const d = new Session(s);
    try {
      await d.ready;
      const rounds = [];
      let names = new Set();
      for (let r = 0; r < ROUNDS; r++) {
        names = await traverse(d);
        // dbpmda's command parser takes names up to a few KB (a 10 MB name is in the corpus)
        const list = [...names].filter((n) => !n.startsWith('json.control.') && n.length < 4096);
        rounds.push({ names, values: await fetchAll(d, list), health: await healthy(d, names) });
      }
      const last = rounds[rounds.length - 1];
      // instance names of every indom a case's array metric lives in
      const inst = {};
      for (const c of batch) {
        for (const [m, want] of Object.entries(c.expect.values ?? {})) {
          const got = last.values[`json.${c.expect.source}.${m}`];
          if (want?.insts && got?.pmid) {
            const [dom, cluster] = got.pmid.split('.');
            const indom = `${dom}.${Number(cluster) * 2}`;
            inst[indom] ??= await instances(d, indom);
          }
        }
      }
      return { rounds, last, inst, log: s.logText(), scratch: s, alone: batch.length === 1 };
    } finally {
      await d.close();
      setTimeout(() => s.cleanup(), 1000).unref();
    }
  });
}

// ---- checking a case ---------------------------------------------------------------

/** Whether a log line names `dir` itself (not another directory that starts the same). */
const namesDir = (line, dir) => {
  for (let at = line.indexOf(dir); at >= 0; at = line.indexOf(dir, at + 1)) {
    if (!/[A-Za-z0-9_.-]/.test(line[at + dir.length] ?? '')) return true;
  }
  return false;
};
const ERRORS = { again: /Try again/, value: /Missing metric value/, pmid: /Unknown or illegal metric identifier/ };

function checkValue(t, c, r, metric, want) {
  const name = `json.${c.expect.source}.${metric}`;
  const got = r.last.values[name];
  if (!t.truthy(got, `${name} is not in the namespace; names of the source: ${[...r.last.names].filter((n) => n.startsWith(`json.${c.expect.source}.`)).join(' ') || 'none'}`)) return;
  if (typeof want === 'string') {
    t.is(got.values?.length, 1, `${name}: ${JSON.stringify(got).slice(0, 300)}`);
    t.is(got.values?.[0]?.value, want, name);
  } else if (want.error) {
    t.regex(got.error ?? `values ${JSON.stringify(got.values).slice(0, 200)}`, ERRORS[want.error], name);
  } else if (want.length !== undefined) {
    const v = got.values?.[0]?.value ?? '';
    t.is(Buffer.byteLength(v.slice(1, -1)), want.length, `${name}: served string length`);
    if (want.prefix) t.true(v.startsWith(`"${want.prefix}`), `${name} starts with ${want.prefix}`);
  } else if (want.insts) {
    const [dom, cluster] = got.pmid.split('.');
    const names = r.inst[`${dom}.${Number(cluster) * 2}`] ?? new Map();
    const served = Object.fromEntries((got.values ?? []).map((v) => [names.get(v.inst) ?? `#${v.inst}`, v.value]));
    t.deepEqual(served, want.insts, `${name}: instances and values (error: ${got.error ?? 'none'})`);
  } else if (want.count !== undefined) {
    t.is(got.values?.length ?? 0, want.count, `${name}: number of instances`);
  } else t.fail(`bad expectation for ${name}: ${JSON.stringify(want)}`);
}

function checkCase(t, c, r) {
  const e = c.expect;
  const prefix = `json.${e.source}.`;
  if (e.source === null) {
    const mine = [...r.last.names].filter((n) => n.startsWith(`json.${c.dirname}.`));
    t.deepEqual(mine, [], 'no metrics are served for this directory');
  }
  for (const [m, want] of Object.entries(e.values ?? {})) checkValue(t, c, r, m, want);
  if (e.names) {
    const served = [...r.last.names].filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length)).sort();
    t.deepEqual(served, [...e.names].sort(), 'the metrics in the namespace');
  }
  for (const m of e.absent ?? []) t.false(r.last.names.has(prefix + m), `${prefix + m} must not be served`);
  // the same answers in every round
  for (const [m] of Object.entries(e.values ?? {})) {
    const seen = r.rounds.map((x) => JSON.stringify(x.values[prefix + m]?.values ?? x.values[prefix + m]?.error));
    t.is(new Set(seen).size, 1, `${prefix + m} answers the same in every fetch`);
  }
  // the log lines about this case: those naming its directory (a case
  // alone in its session, a config.json case, owns the whole log)
  const mine = r.alone ? r.log.split('\n') : r.log.split('\n').filter((l) => namesDir(l, c.vars.dir));
  for (const line of e.log ?? []) {
    const needle = fill(line, c.vars);
    t.is(mine.filter((l) => l.includes(needle)).length, 1, `log line once: ${needle}\n--- log:\n${mine.join('\n').slice(0, 3000)}`);
  }
  for (const line of e.nolog ?? []) {
    const bad = mine.filter((l) => l.includes(fill(line, c.vars)));
    t.is(bad.length, 0, `never logged: ${line}\n${bad.join('\n').slice(0, 1000)}`);
  }
  // forged lines: nothing a source contains may start a log line of its own
  for (const start of e.no_line_starting ?? []) {
    const bad = r.log.split('\n').filter((l) => l.startsWith(start));
    t.is(bad.length, 0, `no log line starts with ${start}\n${bad.join('\n')}`);
  }
  if (e.log_bytes_max !== undefined) {
    const bytes = mine.reduce((n, l) => n + l.length + 1, 0);
    t.true(bytes <= e.log_bytes_max, `at most ${e.log_bytes_max} bytes of log about ${c.vars.dir}: ${bytes}`);
  }
  if (e.log_max !== undefined) {
    const lines = mine;
    t.true(lines.length <= e.log_max, `at most ${e.log_max} log lines name ${c.vars.dir}:\n${lines.join('\n').slice(0, 2000)}`);
  }
}

// ---- the tests ---------------------------------------------------------------------

test('the corpus has at least 200 cases, each with an expectation', (t) => {
  t.true(cases.length >= 200, `${cases.length} cases`);
  for (const c of cases) t.truthy(c.about, `${c.id} says what it is about`);
  for (const c of cases) t.true(Object.keys(c.expect).length > 1 || c.expect.source === null, `${c.id} expects something`);
});

const batches = plan();
batches.forEach((batch, i) => {
  let result;
  const run = () => (result ??= runBatch(batch));
  const where = batch.length === 1 ? batch[0].id : `${batch[0].id} .. ${batch[batch.length - 1].id}`;
  test(`batch ${i + 1} (${batch.length} cases, ${where}): the PMDA still answers`, async (t) => {
    const r = await run();
    // a case marked as a known bug may add its source or not
    const expected = 1 + batch.reduce((n, c) => n + (c.expect.sources ?? (c.expect.source === null ? 0 : 1)), 0);
    const slack = batch.filter((c) => c.bug).length;
    for (const [k, round] of r.rounds.entries()) {
      if (batch[0].control !== false) t.is(round.health.control, '42', `round ${k + 1}: json.healthy.v`);
      const n = Number(round.health.nsources);
      const want = batch[0].nsources ?? expected;
      t.true(n >= want - slack && n <= want + slack, `round ${k + 1}: json.nsources is ${round.health.nsources}, expected ${want}${slack ? ` ± ${slack}` : ''}`);
    }
    t.notRegex(r.log, /uncaught exception|Error: fetch:|Error: refresh:|Error: text:/, 'no JavaScript exception reached the shim');
  });
  for (const c of batch) {
    // "bug": a known bug, described there, not fixed yet: the case states
    // the right behaviour and is expected to fail until the fix lands
    (c.bug ? test.failing : test)(`${c.id}: ${c.about}`, async (t) => {
      const r = await run();
      checkCase(t, c, r);
    });
  }
});
