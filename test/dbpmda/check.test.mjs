// pmdajson-check (src/cli/check.ts): what the PMDA would serve from a
// source directory, without pmcd, and every problem in the words of the
// PMDA's log -- compared here with the real PMDA's log for the same
// directory, run through dbpmda.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, Scratch, parseDesc, parseInstances, parseTraverse, session } from '../helpers/harness.mjs';
import { parseJson } from '../../dist/format/json.js';

const CHECK = path.join(ROOT, 'dist', 'cli', 'check.js');
const MAX = '9223372036854775807';

// a metadata literal shaped like pmcd/scaleout.test.mjs's META, on purpose: each file describes its own source
/** @type {import('../../dist/index.js').MetadataJson} */
const GOOD = {
  prefix: 'shop',
  labels: { team: 'web' },
  metrics: [
    { name: 'orders', pointer: '/orders', type: 'integer', semantics: 'counter', units: 'count', description: 'Orders taken' },
    { name: 'max', pointer: '/max', type: 'integer', description: 'The largest int64' },
    { name: 'version', pointer: '/version', type: 'string', semantics: 'discrete' },
    { name: 'load', pointer: '/load', type: 'double', units: 'Kbyte / sec' },
    { name: 'queue', pointer: '/queues', type: 'array', index: '/name', 'instance-labels': { kind: '/kind' },
      metrics: [{ name: 'depth', pointer: '/depth', type: 'integer', units: 'count' }] },
  ],
};
const GOOD_DATA = `{"orders": 42, "max": ${MAX}, "version": "2.0.1", "load": 1.5,
  "queues": [{"name": "in", "kind": "fifo", "depth": 3}, {"name": "out", "kind": "lifo", "depth": 7}]}`;

// one invalid entry (a pointer that is not one) and one value of the wrong type
// a metadata literal shaped like those of errors.test.mjs and serving.test.mjs: each test's metrics are its own
const BAD = {
  metrics: [
    { name: 'fine', pointer: '/fine', type: 'integer' },
    { name: 'broken', pointer: 'fine', type: 'integer' },
    { name: 'count', pointer: '/count', type: 'integer' },
    { name: 'odd', pointer: '/odd', type: 'integer', semantics: 'sometimes' },
  ],
};
const BAD_DATA = '{"fine": 1, "count": "twelve", "odd": 3}';

function check(args, env = {}) {
  const r = spawnSync(process.execPath, [CHECK, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The warnings of a PMDA log, without their time stamps and program name. */
function warnings(logText) {
  return [...logText.matchAll(/^\[[^\]]+\] pmdajson\(\d+\) (?:Warning|Error): (.*)$/gm)].map((m) => m[1]);
}

/** The text output's block for one metric: its lines up to the next metric or section. */
function block(out, name) {
  const lines = out.split('\n');
  const at = lines.indexOf(name);
  if (at < 0) throw new Error(`no ${name} in\n${out}`);
  const rest = [];
  for (const l of lines.slice(at + 1)) {
    if (!l.startsWith('    ')) break;
    rest.push(l.trim());
  }
  return rest;
}

function scratch(t, name) {
  const s = new Scratch(name);
  t.teardown(() => s.cleanup());
  return s;
}

test('a good source: exit 0, its names, types, semantics, units and values, int64 exact', (t) => {
  const s = scratch(t, 'check-good');
  const dir = s.source('shop', GOOD, GOOD_DATA);
  const r = check([dir], { PCP_VAR_DIR: s.var });
  t.is(r.status, 0, r.stdout + r.stderr);
  const names = r.stdout.split('\n').filter((l) => l.startsWith('json.'));
  t.deepEqual(names, ['json.shop.orders', 'json.shop.max', 'json.shop.version', 'json.shop.load', 'json.shop.queue.depth']);
  t.deepEqual(block(r.stdout, 'json.shop.orders'), [
    'PMID: 137.(new).(new)  Data Type: 64-bit int  InDom: PM_INDOM_NULL',
    'Semantics: counter  Units: count',
    'Help: Orders taken',
    'value 42',
  ]);
  t.true(block(r.stdout, 'json.shop.max').includes(`value ${MAX}`), r.stdout);
  t.deepEqual(block(r.stdout, 'json.shop.version').slice(1), ['Semantics: discrete  Units: none', 'value "2.0.1"']);
  t.deepEqual(block(r.stdout, 'json.shop.load').slice(1), ['Semantics: instant  Units: Kbyte / sec', 'value 1.5']);
  t.deepEqual(block(r.stdout, 'json.shop.queue.depth'), [
    'PMID: 137.(new).(new)  Data Type: 64-bit int  InDom: 137.(new)',
    'Semantics: instant  Units: count',
    'inst [(new) or "in"] value 3 labels {"kind":"fifo"}',
    'inst [(new) or "out"] value 7 labels {"kind":"lifo"}',
  ]);
  t.regex(r.stdout, /labels \{"source":"shop","source_path":"[^"]*\/shop","team":"web"\}/);
  t.regex(r.stdout, /^1 source served, 5 metrics, 0 problems$/m);
  // nothing was written to the numbering caches
  t.deepEqual(fs.readdirSync(path.join(s.var, 'config', 'pmda')), []);
});

// run as the good-source test above, on purpose: each check reads alone
test('a broken metadata entry and a wrong-typed value: exit 1, in the words of the PMDA\'s log', async (t) => {
  const s = scratch(t, 'check-bad');
  const dir = s.source('bad', BAD, BAD_DATA);
  const r = check([dir], { PCP_VAR_DIR: s.var });
  t.is(r.status, 1, r.stdout + r.stderr);
  const problems = r.stdout.split('\n').slice(r.stdout.split('\n').indexOf(`problems with ${dir}:`) + 1).filter((l) => l.startsWith('    ')).map((l) => l.trim());
  t.is(problems.length, 3, r.stdout);
  // what is still served
  t.deepEqual(r.stdout.split('\n').filter((l) => l.startsWith('json.')), ['json.bad.fine', 'json.bad.count']);
  t.true(block(r.stdout, 'json.bad.fine').includes('value 1'));
  t.true(block(r.stdout, 'json.bad.count').includes('Missing metric value(s)'));

  // the real PMDA on the same directory, through dbpmda
  const d = await session(t, s);
  t.deepEqual(parseTraverse(await d.run('traverse json.bad')), ['json.bad.count', 'json.bad.fine']);
  const fetched = Object.values(await d.fetch('json.bad.fine', 'json.bad.count'));
  t.is(fetched[1].error, 'Missing metric value(s)');
  await d.close();
  const logged = warnings(s.logText());
  t.deepEqual([...problems].sort(), [...logged].sort(), s.logText());
  t.true(problems.some((p) => p === `${dir}/metadata.json: metrics[1]: skipping metric 'broken': JSON pointer 'fine' must be empty or start with '/'`), problems.join('\n'));
  t.true(problems.some((p) => p === `${dir}/data.json: metric 'count' at pointer '/count': expected an integer, found a string`), problems.join('\n'));
});

test('--json: a document with the same names, PMIDs, types, values and problems; int64 exact', (t) => {
  const s = scratch(t, 'check-json');
  s.source('shop', GOOD, GOOD_DATA);
  const bad = s.source('bad', BAD, BAD_DATA);
  // a directory of sources, as in directory_list
  const r = check(['--json', s.src], { PCP_VAR_DIR: s.var });
  t.is(r.status, 1, r.stderr);
  t.true(r.stdout.includes(`"value": ${MAX}`), 'the int64 is written as its digits');
  const doc = /** @type {any} */ (parseJson(r.stdout));
  t.is(doc.ok, false);
  t.is(doc.domain, 137);
  t.deepEqual(doc.sources.map((x) => x.name), ['bad', 'shop']);
  const shop = doc.sources[1];
  const byName = Object.fromEntries(shop.metrics.map((m) => [m.name, m]));
  t.deepEqual(Object.keys(byName), ['json.shop.orders', 'json.shop.max', 'json.shop.version', 'json.shop.load', 'json.shop.queue.depth']);
  t.like(byName['json.shop.orders'], { type: 'integer', pcpType: '64-bit int', semantics: 'counter', units: 'count', pmid: '137.(new).(new)', indom: null, description: 'Orders taken' });
  t.deepEqual(byName['json.shop.orders'].values, [{ value: 42 }]);
  t.is(byName['json.shop.max'].values[0].value, 2n ** 63n - 1n);
  t.deepEqual(byName['json.shop.version'].values, [{ value: '2.0.1' }]);
  t.deepEqual(byName['json.shop.queue.depth'].values, [{ instance: 'in', id: '(new)', value: 3 }, { instance: 'out', id: '(new)', value: 7 }]);
  t.deepEqual(byName['json.shop.queue.depth'].instanceLabels, { in: { kind: 'fifo' }, out: { kind: 'lifo' } });
  t.like(shop.labels, { source: 'shop', team: 'web' });
  t.deepEqual(shop.problems, []);
  t.is(doc.sources[0].problems.length, 3);
  t.deepEqual(doc.problems, doc.sources[0].problems);
  t.like(doc.sources[0].metrics[1], { name: 'json.bad.count', error: 'Missing metric value(s)', values: [] });

  // the text output says the same
  const text = check([s.src], { PCP_VAR_DIR: s.var });
  t.is(text.status, 1);
  for (const p of doc.problems) t.true(text.stdout.includes(`    ${p}\n`), p);
  t.true(text.stdout.includes(bad));
});

test('PMIDs and instance ids from the caches the PMDA wrote; new names are (new); the caches stay untouched', async (t) => {
  const s = scratch(t, 'check-cache');
  s.source('other', { metrics: [{ name: 'x', pointer: '/x', type: 'integer' }] }, { x: 1 });
  const dir = s.source('shop', GOOD, GOOD_DATA);
  const d = await session(t, s);
  const real = {};
  for (const n of ['json.shop.orders', 'json.shop.max', 'json.shop.queue.depth']) real[n] = parseDesc(await d.run(`desc ${n}`));
  await d.fetch('json.shop.queue.depth');
  const instances = Object.fromEntries(parseInstances(await d.run(`instance ${real['json.shop.queue.depth'].indom}`)).map(([i, n]) => [n, i]));
  await d.close();
  const before = s.caches();

  // a metric and an instance the PMDA has not numbered yet
  const md = structuredClone(GOOD);
  md.metrics.push({ name: 'later', pointer: '/later', type: 'integer' });
  fs.writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify(md));
  fs.writeFileSync(path.join(dir, 'data.json'), GOOD_DATA.replace(']}', ', {"name": "new", "depth": 1}], "later": 5}'));

  const r = check(['--json', dir], { PCP_VAR_DIR: s.var });
  t.is(r.status, 0, r.stdout + r.stderr);
  const doc = /** @type {any} */ (parseJson(r.stdout));
  const byName = Object.fromEntries(doc.sources[0].metrics.map((m) => [m.name, m]));
  for (const [n, desc] of Object.entries(real)) t.is(byName[n].pmid, desc.pmid, n);
  t.is(byName['json.shop.queue.depth'].indom, real['json.shop.queue.depth'].indom);
  t.not(doc.sources[0].cluster, '(new)');
  t.regex(byName['json.shop.later'].pmid, /^137\.\d+\.\(new\)$/);
  t.true(byName['json.shop.later'].new);
  t.false(byName['json.shop.orders'].new);
  t.deepEqual(byName['json.shop.queue.depth'].values.map((v) => [v.instance, v.id]), [['in', instances.in], ['out', instances.out], ['new', '(new)']]);
  // the text form shows the same numbers
  const text = check([dir], { PCP_VAR_DIR: s.var });
  t.true(block(text.stdout, 'json.shop.orders')[0].startsWith(`PMID: ${real['json.shop.orders'].pmid}  `), text.stdout);
  t.true(block(text.stdout, 'json.shop.queue.depth').includes(`inst [${instances.out} or "out"] value 7 labels {"kind":"lifo"}`), text.stdout);
  // -d: another domain's caches (there are none): all new
  const other = /** @type {any} */ (parseJson(check(['--json', '-d', '200', dir], { PCP_VAR_DIR: s.var }).stdout));
  t.true(other.sources[0].metrics.every((m) => m.new && m.pmid.startsWith('200.(new).')));
  t.deepEqual(s.caches(), before, 'the checker never writes the caches');
});

test('a metric whose descriptor changed since the PMDA served it is shown as (new), with the line the PMDA logs about it', async (t) => {
  const s = scratch(t, 'check-desc');
  const dir = s.source('shop', GOOD, GOOD_DATA);
  let d = await session(t, s);
  const old = parseDesc(await d.run('desc json.shop.max')).pmid;
  await d.close();
  const records = path.join(s.var, 'config', 'pmda', '137.descriptors');
  const before = fs.readFileSync(records, 'utf8');

  const md = structuredClone(GOOD);
  md.metrics[1].type = 'double';
  fs.writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify(md));
  const r = check(['--json', dir], { PCP_VAR_DIR: s.var });
  t.is(r.status, 1, r.stdout + r.stderr);
  const doc = /** @type {any} */ (parseJson(r.stdout));
  const max = doc.sources[0].metrics.find((m) => m.name === 'json.shop.max');
  t.like(max, { new: true, type: 'double' });
  t.regex(max.pmid, /^137\.\d+\.\(new\)$/);
  t.like(doc.sources[0].metrics.find((m) => m.name === 'json.shop.orders'), { new: false });
  const said = doc.problems.filter((p) => p.includes("metric 'max' changed its type from integer to double"));
  t.is(said.length, 1, doc.problems.join('\n'));
  t.true(said[0].includes(`(the old one, ${old}, is no longer served)`), said[0]);
  t.is(fs.readFileSync(records, 'utf8'), before, 'the checker never writes the descriptor records');

  // the PMDA says the same
  d = await session(t, s);
  t.not(parseDesc(await d.run('desc json.shop.max')).pmid, old);
  t.deepEqual(warnings(s.logText()).filter((w) => w.includes("metric 'max'")), said);
});

/** Who the checker runs a command of a source written by this process as: the PMDA's rule for directory_list. */
function runsAs() {
  if (process.getuid() !== 0) return process.getuid();
  // root's metadata.json in an untrusted directory: nobody
  return Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
}

test('data-exec: the command runs as the PMDA would run it (as root: a root-owned source as nobody) with a timeout; --no-exec skips it', (t) => {
  const s = scratch(t, 'check-exec');
  const ok = s.source('cmd', { 'data-exec': `/bin/sh -c 'echo "{\\"uid\\": $(id -u), \\"big\\": ${MAX}}"'`, metrics: [
    { name: 'uid', pointer: '/uid', type: 'integer' }, { name: 'big', pointer: '/big', type: 'integer' }] });
  const r = check([ok], { PCP_VAR_DIR: s.var });
  t.is(r.status, 0, r.stdout + r.stderr);
  t.true(block(r.stdout, 'json.cmd.uid').includes(`value ${runsAs()}`), r.stdout);
  t.true(block(r.stdout, 'json.cmd.big').includes(`value ${MAX}`), r.stdout);

  const hung = s.source('hung', { 'data-exec': '/bin/sleep 30', metrics: [{ name: 'n', pointer: '/n', type: 'integer' }] });
  const started = Date.now();
  const slow = check(['-t', '0.5', hung], { PCP_VAR_DIR: s.var });
  t.true(Date.now() - started < 10000);
  t.is(slow.status, 1);
  t.regex(slow.stdout, /data-exec command '\/bin\/sleep 30' killed after 500 ms \(in [^)]*hung\)/);
  t.true(block(slow.stdout, 'json.hung.n').includes('Try again. Information not currently available'));

  const skipped = check(['--no-exec', hung], { PCP_VAR_DIR: s.var });
  t.is(skipped.status, 0, skipped.stdout);
  t.regex(skipped.stdout, /not run: --no-exec/);
});

test('a schema.json source, a directory without sources, and usage errors', (t) => {
  const s = scratch(t, 'check-misc');
  const seed = path.join(ROOT, 'test', 'fixtures', 'seed');
  const dir = s.source('stap');
  for (const f of ['schema.json', 'data.json']) fs.copyFileSync(path.join(seed, f), path.join(dir, f));
  const r = check([dir], { PCP_VAR_DIR: s.var });
  t.is(r.status, 0, r.stdout);
  t.deepEqual(block(r.stdout, 'json.root.xmit_count').slice(1), ['Semantics: counter  Units: none', 'Help: number of packets for xmit device', 'value 652046']);

  const empty = path.join(s.dir, 'empty');
  fs.mkdirSync(empty);
  const none = check([empty], { PCP_VAR_DIR: s.var });
  t.is(none.status, 1);
  t.regex(none.stdout, /no metadata\.json or schema\.json in or below .*empty: no sources/);

  // a source the name policy refuses is listed, not served, with the PMDA's words
  const bad = s.source('badname', { prefix: '9lives', metrics: [{ name: 'a', pointer: '/a', type: 'integer' }] }, { a: 1 });
  const refused = check([bad], { PCP_VAR_DIR: s.var });
  t.is(refused.status, 1);
  t.true(refused.stdout.includes(`source in ${bad}: not served\nproblems with ${bad}:\n    skipping source ${bad}: source name '9lives' is not a valid PCP name`), refused.stdout);

  t.is(check([]).status, 2);
  t.is(check(['--bogus', dir]).status, 2);
  const help = check(['--help']);
  t.is(help.status, 0);
  t.regex(help.stderr, /^Usage: pmdajson-check/);
});
