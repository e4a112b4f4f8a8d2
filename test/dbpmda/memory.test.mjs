// Memory: the pages of node's own code that only start-up used are let go
// once it is over (native/memory.cc), and the PMDA serves as before, from
// the pages that come back.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { PMDA, Scratch, pmdaPid, session, waitFor, parseFetch } from '../helpers/harness.mjs';

/** Resident MiB of a process: all, and of files (its code and libraries). */
function resident(pid) {
  const roll = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(roll)?.[1]);
  return { rss: kb('Rss') / 1024, file: (kb('Rss') - kb('Anonymous')) / 1024 };
}

test('node\'s start-up pages are let go after the start, and every value is served as before', async (t) => {
  // what a node that loaded the PMDA's modules holds of files, and keeps
  const script = `require(${JSON.stringify(PMDA.replace(/main\.js$/, 'agent.js'))}); process.stdout.write(require('fs').readFileSync('/proc/self/smaps_rollup', 'utf8'))`;
  const roll = execFileSync(process.execPath, ['--max-semi-space-size=1', '-e', script], { encoding: 'utf8' });
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(roll)?.[1]);
  const loaded = (kb('Rss') - kb('Anonymous')) / 1024;

  const s = new Scratch();
  // integers beyond 2^53, exact
  const rows = Array.from({ length: 500 }, (_, i) => -9223372036854775000n + BigInt(i));
  const text = `{"n": 9223372036854775807, "rows": [${rows.map((v, i) => `{"id": "r${i}", "v": ${v}}`).join(', ')}]}`;
  s.source('mem', {
    metrics: [
      { name: 'n', pointer: '/n', type: 'integer' },
      { name: 'rows', pointer: '/rows', type: 'array', index: '/id', metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] },
    ],
  }, text);
  const d = await session(t, s);
  const pid = pmdaPid(s);
  const check = async () => {
    const r = await d.fetch('json.mem.n', 'json.mem.rows.v');
    const [n, served] = Object.values(r);
    t.deepEqual(n.values.map((v) => v.value), ['9223372036854775807']);
    t.is(served.values.length, 500);
    t.deepEqual(served.values.map((v) => BigInt(v.value)).sort((a, b) => (a < b ? -1 : 1)), rows);
  };
  await check();
  const early = resident(pid);
  t.log(`node with the PMDA's modules: ${loaded.toFixed(1)} MiB of files; the PMDA at its start: ${early.file.toFixed(1)} of ${early.rss.toFixed(1)} MiB`);

  // five seconds after the first discovery: most of them are gone
  const later = await waitFor('the start-up pages to go', () => {
    const r = resident(pid);
    return r.file < loaded - 10 ? r : undefined;
  }, 15000, 250);
  t.log(`after: ${later.file.toFixed(1)} of ${later.rss.toFixed(1)} MiB`);
  // and the ones a fetch needs come back: the answers are the same
  for (let i = 0; i < 20; i++) await check();
  const settled = resident(pid);
  t.log(`after 20 more fetches: ${settled.file.toFixed(1)} of ${settled.rss.toFixed(1)} MiB`);
  t.true(settled.file < loaded - 10, `the PMDA holds ${settled.file.toFixed(1)} MiB of files, node with its modules ${loaded.toFixed(1)}`);
});

test('after a burst of big fetches, the memory they left goes back once the PMDA rests, and the next fetch is served as before', async (t) => {
  t.timeout(600000, 'five fetches of 100,000 values, printed by dbpmda');
  const s = new Scratch();
  // 100,000 values a fetch: libpcp_pmda's value blocks, a 2 MiB fetch buffer
  const n = 10000;
  const members = Array.from({ length: 10 }, (_, k) => ({ name: `v${k}`, pointer: `/v${k}`, type: 'integer' }));
  const rows = Array.from({ length: n }, (_, i) => `{"id": "r${i}", ${members.map((m, k) => `"${m.name}": ${9223372036854000000n + BigInt(i * 10 + k)}`).join(', ')}}`);
  s.source('big', { metrics: [{ name: 'rows', pointer: '/rows', type: 'array', index: '/id', metrics: members }] }, `{"rows": [${rows.join(', ')}]}`);
  const d = await session(t, s);
  const pid = pmdaPid(s);
  const names = members.map((m) => `json.big.rows.${m.name}`);
  // dbpmda takes some 15 s to print 100,000 values, more on a loaded machine
  const check = async () => {
    const r = Object.values(parseFetch(await d.run(`fetch ${names.join(' ')}`, 120000)));
    t.is(r.length, 10);
    for (const [k, m] of r.entries()) {
      t.is(m.values.length, n);
      t.true(m.values.every((v) => (BigInt(v.value) - 9223372036854000000n) % 10n === BigInt(k)), `metric v${k}`);
    }
  };
  const anon = () => Number(/^Anonymous:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1]) / 1024;
  // after start-up has settled (src/pmda/memory.ts, SETTLE_AFTER_MS), which gives memory back too
  await check();
  await new Promise((resolve) => setTimeout(resolve, 6000));
  // the most it held while the fetches were answered (sampled as they run)
  let busy = 0;
  const sampler = setInterval(() => (busy = Math.max(busy, anon())), 5);
  try {
    for (let i = 0; i < 3; i++) await check();
  } finally {
    clearInterval(sampler);
  }
  const rested = await waitFor('the memory of the burst to go back', () => {
    const a = anon();
    return a < busy - 4 ? a : undefined;
  }, 10000, 100);
  t.log(`anonymous memory while three fetches of 100,000 values were answered: up to ${busy.toFixed(1)} MiB; at rest: ${rested.toFixed(1)} MiB`);
  await check();
});

test('a fetch of 150,000 values, whose buffer\'s pages go once the answer is sent, is exact, and so is the next one', async (t) => {
  t.timeout(600000, 'fetches of 150,000 values, printed by dbpmda');
  const s = new Scratch();
  // 150,000 values: a 2.4 MB fetch buffer, above the 2 MiB from which its pages go at once (native/memory.cc)
  const n = 15000;
  const members = Array.from({ length: 10 }, (_, k) => ({ name: `v${k}`, pointer: `/v${k}`, type: 'integer' }));
  const doc = (g) => `{"rows": [${Array.from({ length: n }, (_, i) => `{"id": "r${i}", ${members.map((m, k) => `"${m.name}": ${9223372036854000000n + BigInt(i * 10 + k) - BigInt(g)}`).join(', ')}}`).join(', ')}]}`;
  const dir = s.source('huge', { metrics: [{ name: 'rows', pointer: '/rows', type: 'array', index: '/id', metrics: members }] }, doc(0));
  const d = await session(t, s);
  const names = members.map((m) => `json.huge.rows.${m.name}`);
  for (const g of [0, 1]) {
    if (g) {
      fs.writeFileSync(path.join(dir, 'data.tmp'), doc(g));
      fs.renameSync(path.join(dir, 'data.tmp'), path.join(dir, 'data.json'));
    }
    const r = Object.values(parseFetch(await d.run(`fetch ${names.join(' ')}`, 300000)));
    t.is(r.length, 10);
    for (const [k, m] of r.entries()) {
      t.is(m.values.length, n, `v${k}, generation ${g}`);
      const want = new Set(Array.from({ length: n }, (_, i) => String(9223372036854000000n + BigInt(i * 10 + k) - BigInt(g))));
      t.true(m.values.every((v) => want.has(v.value)), `v${k}, generation ${g}: every value exact`);
      t.is(new Set(m.values.map((v) => v.inst)).size, n);
    }
  }
});

test('a fetch of a million values right after the start: exact, and the PMDA\'s high-water mark grows by at most 72 MiB (under 128 MiB with node 20)', async (t) => {
  t.timeout(900000, 'two fetches of a million values, printed by dbpmda');
  const s = new Scratch();
  // million's shape and values (bench/workloads/million.mjs): 100 sources
  // of 1,000 rows x 10 integer members (the test before has integers
  // beyond 2^53)
  const n = 1000;
  const sources = 100;
  const members = Array.from({ length: 10 }, (_, k) => ({ name: `v${k}`, pointer: `/v${k}`, type: 'integer' }));
  const value = (j, i, k) => String(i * 100000 + k * 1000 + j);
  for (let j = 0; j < sources; j++) {
    const rows = Array.from({ length: n }, (_, i) => `{"id": "r${i}", ${members.map((m, k) => `"${m.name}": ${value(j, i, k)}`).join(', ')}}`);
    s.source(`m${j}`, { metrics: [{ name: 'rows', pointer: '/rows', type: 'array', index: '/id', metrics: members }] }, `{"rows": [${rows.join(', ')}]}`);
  }
  // fetch_max_values is a million, all of this one: some room, and time to
  // parse on a loaded machine
  s.config({ directory_list: [s.src], trusted_directory_list: [s.trusted], fetch_max_values: 2000000, fetch_max_ms: 60000 });
  const d = await session(t, s);
  const pid = pmdaPid(s);
  const hwmOf = () => Number(/^VmHWM:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
  // node's start, the modules and the discovery of the 100 sources
  const started = hwmOf();
  const names = Array.from({ length: sources }, (_, j) => members.map((m) => `json.m${j}.rows.${m.name}`)).flat();
  // dbpmda prints some 40 MB a fetch: read line by line as it comes (the
  // harness's run() keeps all of it, and searches it at every chunk)
  const fetchMillion = (round) => new Promise((resolve, reject) => {
    const marker = `# million ${round}`;
    const got = [];
    let partial = '';
    const timer = setTimeout(() => reject(new Error(`no end of fetch ${round} in 600 s`)), 600000);
    const onData = (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const line of lines) {
        if (line === marker) {
          d.proc.stdout.off('data', onData);
          clearTimeout(timer);
          resolve(got);
          return;
        }
        if (/^\s{2}\d+\.\d+\.\d+ \(/.test(line)) got.push(new Map());
        const m = /^\s+inst \[(\d+) or [^\]]*\] value (.*)$/.exec(line);
        if (m && got.length) got[got.length - 1].set(Number(m[1]), m[2]);
      }
    };
    d.proc.stdout.on('data', onData);
    d.proc.stdin.write(`fetch ${names.join(' ')}\n${marker}\n`);
  });
  for (let round = 0; round < 2; round++) {
    // per metric (in the order asked), its values by instance id
    const got = await fetchMillion(round);
    t.is(got.length, sources * 10);
    for (const [x, m] of got.entries()) {
      const [j, k] = [Math.floor(x / 10), x % 10];
      t.is(m.size, n, `m${j}.v${k}, round ${round}`);
      // every row's value, once
      const want = new Set(Array.from({ length: n }, (_, i) => value(j, i, k)));
      const seen = new Set(m.values());
      t.true(seen.size === n && [...seen].every((v) => want.has(v)), `m${j}.v${k}, round ${round}: every value exact`);
    }
  }
  // libpcp_pmda's result used to take 48 bytes a value (a malloc'd block
  // per 64-bit value), and came on top of node's start-up pages: 153 MiB
  const hwm = hwmOf();
  t.log(`VmHWM after the start: ${started.toFixed(1)} MiB; after two fetches of a million values: ${hwm.toFixed(1)} MiB`);
  // what the fetches add: at most 72 MiB, so that with node 20's start
  // (about 56 MiB here) the whole stays within issue 26's 128 MiB
  t.true(hwm - started <= 72, `the fetches added ${(hwm - started).toFixed(1)} MiB to the start's ${started.toFixed(1)}`);
  // the 128 MiB themselves hold for node 20 and 22, the benchmark's; node 24 starts bigger
  if (Number(process.versions.node.split('.')[0]) <= 22) t.true(hwm <= 128, `VmHWM ${hwm.toFixed(1)} MiB`);
  else t.log(`node ${process.versions.node}: the 128 MiB of issue 26 are not checked (node 20's start is the benchmark's)`);
});
