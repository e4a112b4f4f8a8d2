// Slow sources served at every sample: while a data-exec command runs,
// its last output is served (up to data_max_age), the next run starts as
// soon as the last output is collected, and no fetch waits longer than
// exec_wait; with exec_block, pmdajson's way, every fetch waits.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { Scratch, session, sleep } from '../helpers/harness.mjs';

// Each output says when it was made (ns since the epoch) and which run it is.
const stampCommand = (seconds, counter) =>
  `sh -c 'sleep ${seconds}; n=$(($(cat ${counter} 2>/dev/null || echo 0) + 1)); echo $n > ${counter}; echo "{\\"made\\": $(date +%s%N), \\"run\\": $n}"'`;
const stampMetrics = [
  { name: 'made', pointer: '/made', type: 'integer' },
  { name: 'run', pointer: '/run', type: 'integer' },
];

/**
 * Fetch `name` `count` times on a fixed schedule, one every `periodMs`
 * (as pmlogger does: a slow fetch does not move the next one); for each
 * fetch, when it started and what it got.
 */
async function paced(d, names, count, periodMs) {
  const out = [];
  const t0 = Date.now();
  for (let i = 0; i < count; i++) {
    const wait = t0 + i * periodMs - Date.now();
    if (wait > 0) await sleep(wait);
    const at = Date.now();
    const r = await d.fetch(...names);
    out.push({ at, answered: Date.now(), results: Object.values(r) });
  }
  return out;
}

/**
 * The fetches that got a value, each with its output's age (ms) when the
 * fetch was sent: the PMDA looks at the age during the fetch, so an
 * output it may serve was made at most data_max_age before the fetch
 * was sent, however long a loaded machine takes to answer.
 */
function served(fetches) {
  return fetches.filter((f) => f.results[0]?.values?.length).map((f) => ({ ...f, ageMs: f.at - Number(BigInt(f.results[0].values[0].value) / 1000000n), run: Number(f.results[1]?.values?.[0]?.value) }));
}

for (const [seconds, periodMs] of [[1, 1000], [0.7, 200]]) {
  test(`a command that takes ${seconds} s, fetched every ${periodMs} ms, gets a value at 14 of 15 fetches or more, none older than data_max_age`, async (t) => {
    const s = new Scratch();
    s.config({ directory_list: [s.src], data_max_age: 3, log_user_lines: 1000, log_lines: 1000 });
    const counter = path.join(s.dir, 'runs');
    s.source('slow', { 'data-exec': stampCommand(seconds, counter), metrics: stampMetrics });
    fs.chmodSync(s.dir, 0o777);
    const d = await session(t, s);
    // as under pmcd: the PMDA, which starts a command when it finds its
    // source, has been running a moment before the first fetch
    await sleep(1000);
    const fetches = await paced(d, ['json.slow.made', 'json.slow.run'], 15, periodMs);
    const got = served(fetches);
    t.log(`values at ${got.length} of 15 fetches; ages (ms): ${got.map((g) => g.ageMs).join(' ')}; runs: ${got.map((g) => g.run).join(' ')}`);
    t.true(got.length >= 14, `a value at ${got.length} of 15 fetches`);
    for (const g of got) t.true(g.ageMs <= 3000, `a value ${g.ageMs} ms old was served (data_max_age 3 s)`);
    // every fetch answered within exec_wait, and the values move on
    for (const f of fetches) t.true(f.answered - f.at < 1000, `a fetch took ${f.answered - f.at} ms`);
    const runs = new Set(got.map((g) => g.run));
    t.true(runs.size >= Math.floor((15 * periodMs) / 1000 / seconds / 2), `only ${runs.size} different outputs were served`);
    const age = Object.values(await d.fetch('json.control.data_age'))[0];
    t.true(Number(age.values[0].value) <= 3, `json.control.data_age is ${age.values[0].value}`);
  });
}

test('an output older than data_max_age is not served: the metric answers "try again" while the next run is under way', async (t) => {
  const s = new Scratch();
  s.config({ directory_list: [s.src], data_max_age: 1.5, exec_timeout: 10, log_user_lines: 1000, log_lines: 1000 });
  const counter = path.join(s.dir, 'runs');
  // the first run is quick, every later one takes 6 s
  const cmd = `sh -c 'n=$(($(cat ${counter} 2>/dev/null || echo 0) + 1)); echo $n > ${counter}; [ $n -gt 1 ] && sleep 6; echo "{\\"made\\": $(date +%s%N), \\"run\\": $n}"'`;
  s.source('stalls', { 'data-exec': cmd, metrics: stampMetrics });
  fs.chmodSync(s.dir, 0o777);
  const d = await session(t, s);
  const fetches = await paced(d, ['json.stalls.made', 'json.stalls.run'], 12, 500);
  const got = served(fetches);
  t.log(`ages (ms): ${got.map((g) => g.ageMs).join(' ')}`);
  t.true(got.length >= 1, 'the first output was served');
  for (const g of got) t.true(g.ageMs <= 1500, `a value ${g.ageMs} ms old was served (data_max_age 1.5 s)`);
  t.regex(fetches.at(-1).results[0].error ?? '', /Try again/);
  const err = Object.values(await d.fetch('json.control.last_error'))[0];
  t.regex(err.values[0].value, /has not finished; its last output is [\d.]+ s old, older than 1\.5 s \(data_max_age\)/);
  const age = Object.values(await d.fetch('json.control.data_age'))[0];
  t.falsy(age.values?.length, 'no data age for a source with no data');
});

test("a source's data-max-age shortens config.json's", async (t) => {
  const s = new Scratch();
  s.config({ directory_list: [s.src], exec_timeout: 10, log_user_lines: 1000, log_lines: 1000 });
  const counter = path.join(s.dir, 'runs');
  const cmd = `sh -c 'n=$(($(cat ${counter} 2>/dev/null || echo 0) + 1)); echo $n > ${counter}; [ $n -gt 1 ] && sleep 6; echo "{\\"made\\": $(date +%s%N), \\"run\\": $n}"'`;
  s.source('short', { 'data-exec': cmd, 'data-max-age': 1, metrics: stampMetrics });
  fs.chmodSync(s.dir, 0o777);
  const d = await session(t, s);
  const got = served(await paced(d, ['json.short.made', 'json.short.run'], 8, 500));
  t.true(got.length >= 1);
  for (const g of got) t.true(g.ageMs <= 1000, `a value ${g.ageMs} ms old was served (data-max-age 1 s)`);
});

test('with exec_block, every fetch waits for its own run of the command, as pmdajson did', async (t) => {
  const s = new Scratch();
  s.config({ directory_list: [s.src], exec_block: true, exec_timeout: 5, log_user_lines: 1000, log_lines: 1000 });
  const counter = path.join(s.dir, 'runs');
  s.source('blocking', { 'data-exec': stampCommand(0.7, counter), metrics: stampMetrics });
  fs.chmodSync(s.dir, 0o777);
  const d = await session(t, s);
  for (let i = 0; i < 3; i++) {
    const at = Date.now();
    const [made, run] = Object.values(await d.fetch('json.blocking.made', 'json.blocking.run'));
    const took = Date.now() - at;
    t.truthy(made.values?.length, `fetch ${i + 1}: ${made.error}`);
    t.true(Number(BigInt(made.values[0].value) / 1000000n) >= at, `fetch ${i + 1} served an output made before it started`);
    t.is(run.values[0].value, String(i + 1));
    t.true(took >= 650, `fetch ${i + 1} took ${took} ms`);
  }
});

test('the data age of a file source is the time since it was last looked at', async (t) => {
  const s = new Scratch();
  s.source('file', { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }, { v: 1 });
  const d = await session(t, s);
  t.is(Object.values(await d.fetch('json.file.v'))[0].values[0].value, '1');
  await sleep(1200);
  const [age] = Object.values(await d.fetch('json.control.data_age'));
  t.true(Number(age.values[0].value) >= 1 && Number(age.values[0].value) < 5, `data_age ${age.values[0].value}`);
  await d.fetch('json.file.v');
  const [again] = Object.values(await d.fetch('json.control.data_age'));
  t.true(Number(again.values[0].value) < 0.5, `data_age ${again.values[0].value} just after a fetch`);
});
