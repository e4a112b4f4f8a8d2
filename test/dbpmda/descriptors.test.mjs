// A PMID's descriptor never changes (issue 23): a metric whose type,
// semantics, units or instance domain changes in its metadata.json while
// the PMDA runs is served under a new PMID, its old PMID is no longer
// served, and the log says so once; a restart keeps the new numbering.
// Help text is no part of the descriptor.
import test from 'ava';
import { Scratch, Dbpmda, parseDesc, parseInstances } from '../helpers/harness.mjs';

const UNKNOWN = /Unknown or illegal metric identifier/;

/**
 * The metric's desc and its values (by instance name, or null), through dbpmda.
 * @param {Dbpmda} d
 * @param {string} name
 */
async function served(d, name) {
  const desc = parseDesc(await d.run(`desc ${name}`));
  const r = Object.values(await d.fetch(name))[0];
  /** @type {Map<number, string>} */
  const names = new Map(desc.indom?.startsWith('PM_INDOM_NULL') ? [] : /** @type {Array<[number, string]>} */ (parseInstances(await d.run(`instance ${desc.indom}`))));
  const values = Object.fromEntries((r?.values ?? []).map((v) => [v.inst === null ? null : names.get(v.inst), v.value]));
  return { ...desc, error: r ? r.error : 'no result', values };
}

/** The log lines about metrics served under a new PMID. */
const renumbered = (s) => s.logText().split('\n').filter((l) => /served under a new PMID/.test(l));

async function start(s) {
  const d = new Dbpmda(s);
  await d.ready;
  return d;
}

test('integer to double: a new PMID with the double, the old PMID unknown, one log line; the same after a restart', async (t) => {
  const s = new Scratch();
  t.teardown(() => s.cleanup());
  const meta = (xType, description = 'x', more = {}) => ({ metrics: [{ name: 'x', pointer: '/x', type: xType, description, ...more }, { name: 'y', pointer: '/y', type: 'integer' }] });
  s.source('app', meta('integer'), { x: 4, y: 1 });
  let d = await start(s);
  t.teardown(() => d.close());
  const before = await served(d, 'json.app.x');
  t.is(before.type, '64-bit int');
  t.deepEqual(before.values, { null: '4' });
  const y = (await served(d, 'json.app.y')).pmid;

  s.source('app', meta('double'), { x: 3.5, y: 1 });
  const after = await served(d, 'json.app.x');
  t.is(after.type, 'double');
  t.deepEqual(after.values, { null: '3.5' });
  t.not(after.pmid, before.pmid, 'a new PMID');
  t.regex(await d.run(`fetch ${before.pmid}`), UNKNOWN);
  t.regex(await d.run(`desc ${before.pmid}`), UNKNOWN);
  t.is((await served(d, 'json.app.y')).pmid, y, 'an unchanged metric keeps its PMID');
  const lines = renumbered(s);
  t.is(lines.length, 1, lines.join('\n'));
  t.true(lines[0].includes(`${s.src}/app/metadata.json: metric 'x' changed its type from integer to double: served under a new PMID ${after.pmid} (the old one, ${before.pmid}, is no longer served)`), lines[0]);

  // new help text and labels are no descriptor change: same PMID, no line
  s.source('app', meta('double', 'x, in a new word', { help: 'Longer help', labels: { team: 'web' } }), { x: 3.5, y: 1 });
  t.regex(await d.run('text json.app.x'), /in a new word/);
  t.regex(await d.run('text json.app.x'), /Longer help/);
  t.is((await served(d, 'json.app.x')).pmid, after.pmid);
  t.is(renumbered(s).length, 1);
  await d.close();

  // a restart keeps the new numbering, and logs nothing about it again
  d = await start(s);
  const again = await served(d, 'json.app.x');
  t.is(again.pmid, after.pmid);
  t.is(again.type, 'double');
  t.deepEqual(again.values, { null: '3.5' });
  t.regex(await d.run(`fetch ${before.pmid}`), UNKNOWN);
  t.is(renumbered(s).length, 0, 'the restarted PMDA says nothing');
  // the old item is never given to another name
  s.source('app', { metrics: [...meta('double').metrics, { name: 'z', pointer: '/z', type: 'integer' }] }, { x: 3.5, y: 1, z: 9 });
  const z = await served(d, 'json.app.z');
  t.deepEqual(z.values, { null: '9' });
  t.not(z.pmid, before.pmid);
  t.regex(await d.run(`fetch ${before.pmid}`), UNKNOWN);
});

test('semantics and units changes: each metric gets a new PMID, with one log line each', async (t) => {
  const s = new Scratch();
  t.teardown(() => s.cleanup());
  const meta = (sem, units) => ({ metrics: [{ name: 'ops', pointer: '/ops', type: 'integer', semantics: sem }, { name: 'used', pointer: '/used', type: 'integer', units }] });
  s.source('app', meta('counter', 'Kbyte'), { ops: 10, used: 5 });
  const d = await start(s);
  t.teardown(() => d.close());
  const ops = await served(d, 'json.app.ops');
  const used = await served(d, 'json.app.used');
  t.is(ops.sem, 'counter');
  t.is(used.units, 'Kbyte');

  s.source('app', meta('instant', 'Mbyte'), { ops: 11, used: 6 });
  const ops2 = await served(d, 'json.app.ops');
  const used2 = await served(d, 'json.app.used');
  t.is(ops2.sem, 'instant');
  t.deepEqual(ops2.values, { null: '11' });
  t.is(used2.units, 'Mbyte');
  t.deepEqual(used2.values, { null: '6' });
  t.not(ops2.pmid, ops.pmid);
  t.not(used2.pmid, used.pmid);
  t.not(ops2.pmid, used2.pmid);
  for (const old of [ops.pmid, used.pmid]) t.regex(await d.run(`fetch ${old}`), UNKNOWN);
  const lines = renumbered(s);
  t.is(lines.length, 2, lines.join('\n'));
  t.true(lines.some((l) => l.includes(`metric 'ops' changed its semantics from counter to instant: served under a new PMID ${ops2.pmid} (the old one, ${ops.pmid}`)), lines.join('\n'));
  t.true(lines.some((l) => l.includes(`metric 'used' changed its units from 'Kbyte' to 'Mbyte': served under a new PMID ${used2.pmid} (the old one, ${used.pmid}`)), lines.join('\n'));
});

test('a single-valued metric that becomes an array member (its instance domain changes) gets a new PMID, and back again another', async (t) => {
  const s = new Scratch();
  t.teardown(() => s.cleanup());
  const scalar = { metrics: [{ name: 'rows.v', pointer: '/v', type: 'integer' }] };
  const array = { metrics: [{ name: 'rows', pointer: '/rows', type: 'array', index: '/id', metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }] };
  s.source('app', scalar, { v: 7, rows: [{ id: 'a', v: 1 }, { id: 'b', v: 2 }] });
  const d = await start(s);
  t.teardown(() => d.close());
  const one = await served(d, 'json.app.rows.v');
  t.is(one.indom, 'PM_INDOM_NULL');
  t.deepEqual(one.values, { null: '7' });

  s.source('app', array);
  const many = await served(d, 'json.app.rows.v');
  t.regex(many.indom, /^137\.\d+$/);
  t.deepEqual(many.values, { a: '1', b: '2' });
  t.not(many.pmid, one.pmid);
  t.regex(await d.run(`fetch ${one.pmid}`), UNKNOWN);
  let lines = renumbered(s);
  t.is(lines.length, 1, lines.join('\n'));
  t.true(lines[0].includes(`metric 'rows.v' changed its instance domain from PM_INDOM_NULL (a single value) to ${many.indom} (an array member): served under a new PMID ${many.pmid} (the old one, ${one.pmid}, is no longer served)`), lines[0]);

  // back to a single value: neither old PMID comes back, a third one serves it
  s.source('app', scalar);
  const back = await served(d, 'json.app.rows.v');
  t.is(back.indom, 'PM_INDOM_NULL');
  t.deepEqual(back.values, { null: '7' });
  t.not(back.pmid, one.pmid);
  t.not(back.pmid, many.pmid);
  for (const old of [one.pmid, many.pmid]) t.regex(await d.run(`fetch ${old}`), UNKNOWN);
  lines = renumbered(s);
  t.is(lines.length, 2, lines.join('\n'));
});

test('with no item left for a new PMID, the changed metric is not served, with a log line; put back, it is served under its old PMID', async (t) => {
  const s = new Scratch();
  t.teardown(() => s.cleanup());
  // max_metrics (1023) metrics take items 0-1022: one item (1023) is left
  const names = Array.from({ length: 1023 }, (_, i) => `m${i}`);
  const meta = (doubles) => ({ metrics: names.map((n) => ({ name: n, pointer: `/${n}`, type: doubles.includes(n) ? 'double' : 'integer' })) });
  const data = Object.fromEntries(names.map((n, i) => [n, i]));
  s.source('app', meta([]), data);
  const d = await start(s);
  t.teardown(() => d.close());
  const m0 = (await served(d, 'json.app.m0')).pmid;
  const m1 = (await served(d, 'json.app.m1')).pmid;

  s.source('app', meta(['m0']));
  t.is((await served(d, 'json.app.m0')).pmid, m0.replace(/\d+$/, '1023'), 'the last item');
  s.source('app', meta(['m0', 'm1']));
  t.notRegex(await d.run('desc json.app.m1'), /Data Type/);
  t.regex(await d.run(`fetch ${m1}`), UNKNOWN);
  t.deepEqual((await served(d, 'json.app.m2')).values, { null: '2' }, 'the others are served');
  const skipped = s.logText().split('\n').filter((l) => l.includes("skipping metric 'm1'"));
  t.is(skipped.length, 1, s.logText());
  t.true(skipped[0].includes(`${s.src}/app/metadata.json: skipping metric 'm1': it changed its type from integer to double, and no item is left for a new PMID (its PMID ${m1} is not served with another descriptor)`), skipped[0]);

  s.source('app', meta(['m0']));
  const back = await served(d, 'json.app.m1');
  t.is(back.pmid, m1);
  t.is(back.type, '64-bit int');
  t.deepEqual(back.values, { null: '1' });
});
