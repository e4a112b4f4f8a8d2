// Issue 9, contract 5: no source holds up another. A command that hangs
// costs the fetch that starts it at most exec_wait (0.5 s) and later
// fetches nothing: they answer as fast as a fetch without it, with
// PM_ERR_AGAIN for the hung source. A slow command is served at a later
// fetch, without holding up the others. (The same through the live pmcd
// is in pmcd.test.mjs.)
import test from 'ava';
import { sleep } from '../helpers/harness.mjs';
import { IS_ROOT, untrustedWorld, ensureUsers, userSource, session, fetchNames, median, one, hangingCommand } from './users.mjs';

const serial = IS_ROOT ? test.serial : test.serial.skip;
const EXEC_WAIT_MS = 500;

const world = (config = {}) => untrustedWorld('adv-isolation', config);

const V = (extra = {}) => ({ ...extra, metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] });

serial("bob's hung command does not hold up alice's source: after the first fetch, fetches of both are as fast as fetches of alice's alone", async (t) => {
  const u = ensureUsers();
  const s = world();
  userSource(s, u.alice, 'fast', V({ 'data-exec': 'cat data.json' }), { v: 42 });
  userSource(s, u.bob, 'hung', V({ 'data-exec': hangingCommand(t) }));
  const d = await session(t, s);
  const both = ['json.fast.v', 'json.hung.v'];
  const first = await fetchNames(d, both);
  t.true(first._ms < 1500, `the first fetch, which starts the hung command, took ${Math.round(first._ms)} ms (it may wait exec_wait, ${EXEC_WAIT_MS} ms)`);
  t.regex(first['json.hung.v']?.error ?? 'a value', /Try again/);
  // alice's source alone
  const alone = [];
  for (let i = 0; i < 10; i++) {
    const r = await fetchNames(d, ['json.fast.v']);
    t.is(one(r['json.fast.v']), '42');
    alone.push(r._ms);
  }
  // both, spread over 12 s: longer than any rest a hung command may be given
  const together = [];
  for (let i = 0; i < 10; i++) {
    await sleep(1200);
    const r = await fetchNames(d, both);
    t.is(one(r['json.fast.v']), '42', `fetch ${i}: alice's value`);
    t.regex(r['json.hung.v']?.error ?? 'a value', /Try again/, `fetch ${i}: the hung source answers Try again`);
    together.push(r._ms);
  }
  const fmt = (xs) => xs.map((x) => Math.round(x)).join(', ');
  t.log(`alice alone: ${fmt(alone)} ms; both: ${fmt(together)} ms`);
  t.true(median(together) <= median(alone) + 300, `median of fetches of both ${Math.round(median(together))} ms, of alice's alone ${Math.round(median(alone))} ms`);
  t.true(Math.max(...together) < 1000, `no later fetch waits for the hung command (slowest ${Math.round(Math.max(...together))} ms)`);
});

serial("a slow command (2 s, then valid JSON) is served at a later fetch without holding up the other user's source", async (t) => {
  const u = ensureUsers();
  const s = world({ exec_timeout: 5 });
  userSource(s, u.alice, 'fast', V(), { v: 42 });
  // 2 s (exec_timeout 5 s): a fetch that waited for it would take 1.5 s
  // longer than exec_wait, more than a loaded machine holds a fetch up
  userSource(s, u.bob, 'slow', V({ 'data-exec': `sh -c 'sleep 2; echo "{\\"v\\": 5}"'` }));
  const d = await session(t, s);
  const both = ['json.fast.v', 'json.slow.v'];
  let served = -1;
  const times = [];
  for (let i = 0; i < 8 && served < 0; i++) {
    if (i > 0) await sleep(600);
    const r = await fetchNames(d, both);
    times.push(Math.round(r._ms));
    t.is(one(r['json.fast.v']), '42', `fetch ${i}: alice's value`);
    t.true(r._ms < EXEC_WAIT_MS + 1000, `fetch ${i} took ${Math.round(r._ms)} ms: no fetch waits for the slow command beyond exec_wait (${EXEC_WAIT_MS} ms)`);
    if (one(r['json.slow.v']) === '5') served = i;
    else t.regex(r['json.slow.v']?.error ?? 'another value', /Try again/, `fetch ${i}: not done yet`);
  }
  t.log(`fetch times ${times.join(', ')} ms; the slow command's value was served at fetch ${served}`);
  t.true(served >= 0, 'the slow command is served within 8 fetches 0.6 s apart');
});

// set up as the tests above, on purpose: each case of hung or slow commands reads alone
serial('six users\' hung commands at once: the first fetch waits at most exec_wait, the later ones not at all', async (t) => {
  const u = ensureUsers();
  // exec_wait 1 s (exec_timeout 4 s): a later fetch that waited for the
  // hung commands would take longer than a loaded machine holds one up
  const s = world({ exec_wait: 1, exec_timeout: 4 });
  userSource(s, u.alice, 'fast', V(), { v: 42 });
  const hung = [];
  for (const who of ['alice', 'bob', 'carol']) {
    for (let k = 0; k < 2; k++) {
      userSource(s, u[who], `${who}_hung${k}`, V({ 'data-exec': hangingCommand(t) }));
      hung.push(`json.${who}_hung${k}.v`);
    }
  }
  const d = await session(t, s);
  const first = await fetchNames(d, ['json.fast.v', ...hung]);
  t.true(first._ms < 2500, `the first fetch took ${Math.round(first._ms)} ms (exec_wait 1000 ms, exec_timeout 4000 ms)`);
  const later = [];
  for (let i = 0; i < 5; i++) {
    const r = await fetchNames(d, ['json.fast.v', ...hung]);
    t.is(one(r['json.fast.v']), '42');
    for (const h of hung) t.regex(r[h]?.error ?? 'a value', /Try again/);
    later.push(Math.round(r._ms));
  }
  t.log(`first ${Math.round(first._ms)} ms, then ${later.join(', ')} ms`);
  t.true(Math.max(...later) < 700, `later fetches do not wait for hung commands (${later.join(', ')} ms; exec_wait 1000 ms)`);
});
