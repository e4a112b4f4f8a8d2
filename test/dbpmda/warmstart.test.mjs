// A warm start (src/pmda/sources/warmstart.ts): a restart with nothing
// changed serves what the last run served, from the kept file, without
// the walk; anything changed while the PMDA was down, a kept file that
// someone else could have written, or one that cannot be read, makes a
// cold start that serves what a walk finds.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { Scratch, Dbpmda, parseTraverse, parseDesc, parseInstances, sleep } from '../helpers/harness.mjs';

/** The first value of each answer of a fetch, in order. */
const firsts = (answers) => Object.values(answers).map((a) => a.values?.[0]?.value ?? a.error);

const META = {
  metrics: [
    { name: 'a', pointer: '/a', type: 'integer', description: 'the a of it' },
    { name: 'b', pointer: '/b', type: 'string' },
    { name: 'rows', pointer: '/rows', type: 'array', index: '/id', description: 'rows', metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] },
  ],
};
const data = (n, ids = ['x', 'y']) => ({ a: n, b: `s${n}`, rows: ids.map((id, k) => ({ id, v: n * 10 + k })) });

/** Sources s0..s{n-1}, old enough that their times tell any later change (warmstart.ts, RACY_MS). */
async function world(t, n = 6) {
  const s = new Scratch('pmda-json-warm');
  t.teardown(() => s.cleanup());
  for (let i = 0; i < n; i++) s.source(`s${i}`, META, data(i));
  await sleep(250);
  return s;
}

const keptFile = (s) => path.join(s.var, 'config', 'pmda', '137.start');

/** What a client sees: every name's PMID, descriptor, help, instances and values, and json.nsources. */
async function view(d) {
  const out = {};
  for (const n of parseTraverse(await d.run('traverse json')).filter((x) => !/^json\.(debug|control\.)/.test(x))) {
    const desc = parseDesc(await d.run(`desc ${n}`));
    const values = Object.values(await d.fetch(n))[0];
    out[n] = { desc, help: (await d.run(`text ${n}`)).trim(), values: values.values ?? values.error };
    if (desc.indom !== 'PM_INDOM_NULL') out[n].instances = parseInstances(await d.run(`instance ${desc.indom}`));
  }
  return out;
}

/**
 * Start a PMDA on `s`, run `fn` with it, close it; the log lines of that run (each run's log is new) about its start.
 * @param {Scratch} s
 * @param {(d: Dbpmda) => Promise<any>} [fn]
 */
async function run(s, fn = async () => undefined) {
  const d = new Dbpmda(s);
  await d.ready;
  let r;
  try {
    r = await fn(d);
  } finally {
    await d.close();
  }
  const lines = s.logText().split('\n');
  return { r, warm: lines.find((l) => /warm start:/.test(l)), cold: lines.find((l) => /cold start:/.test(l)), log: lines.join('\n') };
}

test('a restart with nothing changed is a warm start: the same names, PMIDs, descriptors, help and instances, and the data as it is now', async (t) => {
  const s = await world(t);
  const first = await run(s, view);
  t.is(first.warm, undefined, 'the first start walks');
  const st = fs.statSync(keptFile(s));
  t.is(st.uid, 0, 'the kept start is root\'s');
  t.is(st.mode & 0o777, 0o600, 'and no one else can read or write it');

  const second = await run(s, view);
  t.regex(second.warm ?? '', /warm start: 6 sources/, second.log);
  t.deepEqual(second.r, first.r);
  t.is(second.r['json.nsources'].values[0].value, '6');
  t.regex(second.r['json.s3.a'].help, /\[the a of it\]/);

  // data is never kept: what changed while the PMDA was down is served
  s.data('s2', data(7, ['x', 'z']));
  const third = await run(s, view);
  t.regex(third.warm ?? '', /warm start: 6 sources/, third.log);
  t.is(third.r['json.s2.a'].values[0].value, '7');
  t.deepEqual(third.r['json.s2.rows.v'].instances.map(([, name]) => name), ['x', 'z']);
  t.deepEqual(third.r['json.s2.rows.v'].values.map((v) => v.value), ['70', '71']);
  t.is(third.r['json.s2.rows.v'].desc.pmid, first.r['json.s2.rows.v'].desc.pmid);
});

test('metadata changed, a source added and one removed while the PMDA was down: a cold start serves what a walk finds', async (t) => {
  const s = await world(t);
  const first = await run(s, view);

  // in place, with the same size and modification time as before: the change time tells
  const file = path.join(s.src, 's1', 'metadata.json');
  const before = fs.statSync(file);
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, text.replace('"name": "a"', '"name": "c"'));
  fs.utimesSync(file, before.atime, before.mtime);
  t.is(fs.statSync(file).size, before.size);
  const changed = await run(s, view);
  t.is(changed.warm, undefined, changed.log);
  t.regex(changed.cold ?? '', /s1\/metadata\.json changed since it was kept/);
  t.truthy(changed.r['json.s1.c'], 'the renamed metric is served');
  t.is(changed.r['json.s1.a'], undefined, 'under its new name only');
  t.is(changed.r['json.s1.c'].values[0].value, '1');

  // the cold start kept its own: the next start is warm again
  await sleep(250);
  t.regex((await run(s)).warm ?? '', /warm start: 6 sources/);

  s.source('s9', META, data(9));
  s.remove('s0');
  await sleep(250);
  const moved = await run(s, view);
  t.regex(moved.cold ?? '', /changed since it was kept/);
  t.is(moved.r['json.s9.a'].values[0].value, '9');
  t.is(moved.r['json.s0.a'], undefined);
  t.is(moved.r['json.s5.a'].desc.pmid, first.r['json.s5.a'].desc.pmid);
});

test('numbering caches written by another agent while the PMDA was down (pmdajson shares them) make a cold start', async (t) => {
  const s = await world(t, 2);
  await run(s);
  // the metric cache of s1, written again as it was (another agent's save)
  const cache = path.join(s.var, 'config', 'pmda', '137.3');
  const text = fs.readFileSync(cache);
  fs.writeFileSync(`${cache}.new`, text);
  fs.renameSync(`${cache}.new`, cache);
  const r = await run(s, (d) => d.fetch('json.s0.a', 'json.s1.a'));
  t.regex(r.cold ?? '', /137\.3 changed since it was kept/, r.log);
  t.deepEqual(firsts(r.r), ['0', '1']);
});

test('a kept start that another user could have written, or that cannot be read, is not used', async (t) => {
  const s = await world(t, 2);
  await run(s);
  const file = keptFile(s);
  const good = fs.readFileSync(file);

  fs.chmodSync(file, 0o666);
  const writable = await run(s, (d) => d.fetch('json.s1.a'));
  t.regex(writable.cold ?? '', /137\.start is not a file of this PMDA's user that only it can write: not used/, writable.log);
  t.deepEqual(firsts(writable.r), ['1']);

  fs.writeFileSync(file, good, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  fs.chownSync(file, 65534, 65534);
  const others = await run(s, (d) => d.fetch('json.s1.a'));
  t.regex(others.cold ?? '', /not used/, others.log);

  fs.rmSync(file);
  fs.writeFileSync(file, good.subarray(0, good.length >> 1), { mode: 0o600 });
  const torn = await run(s, (d) => d.fetch('json.s0.a', 'json.s1.a'));
  t.regex(torn.cold ?? '', /cannot read .*137\.start|not a kept start/, torn.log);
  t.deepEqual(firsts(torn.r), ['0', '1']);
});

test('metadata read less than a tick after it changed is not kept: the next start walks', async (t) => {
  const s = await world(t, 2);
  await run(s);
  // a change, read by the walk of the very next PDU: its times may not
  // tell a second change made in the same tick, so it is not kept
  const r = await run(s, async (d) => {
    await d.fetch('json.s0.a');
    const began = Date.now();
    s.source('s1', { metrics: [{ name: 'n', pointer: '/a', type: 'integer' }] });
    const got = await d.fetch('json.s1.n');
    return { ms: Date.now() - began, got };
  });
  t.deepEqual(firsts(r.r.got), ['1']);
  if (r.r.ms > 80) {
    t.log(`the fetch after the change took ${r.r.ms} ms, more than the 100 ms this test needs to be under: not checked here`);
    t.pass();
    return;
  }
  t.false(fs.existsSync(keptFile(s)), 'nothing is kept');
  const next = await run(s, (d) => d.fetch('json.s1.n'));
  t.is(next.warm, undefined, next.log);
  t.deepEqual(firsts(next.r), ['1']);
});

test('after a warm start, a source added and a metadata change are found at the next PDU, before the kept sources are all made again', async (t) => {
  const s = await world(t, 3);
  await run(s);
  const r = await run(s, async (d) => {
    // (a PDU first: dbpmda's open returns once the PMDA has connected, before its start is over)
    await d.fetch('json.s1.a');
    s.source('s7', META, data(7));
    s.source('s2', { metrics: [{ name: 'z', pointer: '/a', type: 'integer' }] });
    return { a: await d.fetch('json.s7.a', 'json.s2.z', 'json.s0.a'), n: await d.fetch('json.nsources') };
  });
  t.regex(r.warm ?? '', /warm start: 3 sources/, r.log);
  t.deepEqual(firsts(r.r.a), ['7', '2', '0']);
  t.deepEqual(firsts(r.r.n), ['4']);
});
