#!/usr/bin/env node
// The high-water mark (VmHWM) of a PMDA under dbpmda, without pmcd, by
// stage: after its start, its first fetch, a burst of fetches before it
// settles (SETTLE_AFTER_MS), and fetches after (the mark reset through
// /proc/PID/clear_refs once settled). For when pmcd is not free to run
// bench/run.mjs; not a benchmark.
//
//   node bench/experiments/peak.mjs [seed|big|one|wide|million] [churn=0|1] [node flags...]
//
// churn=1 replaces the first source's data before every fetch; N1 and N2
// (environment) are the fetches before and after it settles (20, 50).
import fs from 'node:fs';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
const WT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const { Scratch } = await import(`${WT}/test/helpers/harness.mjs`);
const { dataText, sourceMetadata } = await import(`${WT}/bench/data.mjs`);
const { bigShape } = await import(`${WT}/bench/workloads/shapes.mjs`);
const mode = process.argv[2] ?? 'big';
const churn = Number(process.argv[3] ?? 0);
const flags = process.argv.slice(4);
const shapes = mode === 'seed' ? [{ name: 'seed', strings: 1, ints: 2, arrays: 0, instances: 0, members: 0, exotic: true }]
  : mode === 'million' ? Array.from({ length: 100 }, (_, n) => ({ name: `million${n}`, strings: 0, ints: 0, arrays: 1, instances: 1000, members: 10, exotic: false }))
  : mode === 'wide' ? Array.from({ length: 10 }, (_, n) => ({ name: `wide${n}`, strings: 0, ints: 0, arrays: 1, instances: 1000, members: 10, exotic: false }))
  : [{ name: 'big', ...bigShape }];
const s = new Scratch('i26m');
for (const sh of shapes) s.source(sh.name, sourceMetadata(sh), dataText(sh, 0), { under: s.trusted });
const names = shapes.flatMap((sh) => [...Array.from({ length: sh.strings }, (_, j) => `json.${sh.name}.s${j}`), ...Array.from({ length: sh.ints }, (_, j) => `json.${sh.name}.m${j}`), ...Array.from({ length: sh.members }, (_, k) => `json.${sh.name}.a0.v${k}`)]);
const one = mode === 'one';
const proc = spawn('dbpmda', ['-n', s.pmns, '-e'], { cwd: s.dir, env: s.env, stdio: ['pipe', 'pipe', 'inherit'] });
let tail = ''; let wake;
proc.stdout.on('data', (d) => { tail = (tail + d).slice(-200); wake?.(); });
let seq = 0;
async function run(cmd) {
  const m = `# done ${++seq}\n`;
  proc.stdin.write(`${cmd}\n${m}`);
  while (!tail.includes(m)) await new Promise((r) => { wake = r; });
}
const PMDA = `${WT}/dist/pmda/main.js`;
const t0 = Date.now();
await run(`open pipe ${process.execPath} --max-semi-space-size=1 ${flags.join(' ')} ${PMDA} -l ${s.log}`);
const pid = Number(execFileSync('pgrep', ['-f', `main.js -l ${s.log}`], { encoding: 'utf8' }).trim().split('\n')[0]);
const st = () => { const t = fs.readFileSync(`/proc/${pid}/status`, 'utf8'); const kb = (k) => Number(t.match(new RegExp(`${k}:\\s+(\\d+)`))[1]) / 1024; return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') }; };
const f = (x) => x.toFixed(1);
const show = (what) => { const m = st(); console.log(`${String(Date.now() - t0).padStart(6)} ms ${what.padEnd(28)} rss ${f(m.rss)} hwm ${f(m.hwm)} anon ${f(m.anon)} file ${f(m.file)}`); };
const reset = () => fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
show('open');
const req = one ? 'fetch json.big.m3' : `fetch ${names.join(' ')}`;
const target = path.join(s.trusted, shapes[0].name, 'data.json');
const variants = churn ? Array.from({ length: 8 }, (_, g) => dataText(shapes[0], g + 1)) : [];
async function burst(k) {
  for (let i = 0; i < k; i++) {
    if (churn) { fs.writeFileSync(target + '.tmp', variants[i % 8]); fs.renameSync(target + '.tmp', target); }
    await run(req);
  }
}
await run(req); show('first fetch');
await burst(Number(process.env.N1 ?? 20)); show('fetches before settle');
while (Date.now() - t0 < 6500) await new Promise((r) => setTimeout(r, 100));
show('settled (hwm since start)'); reset();
await burst(Number(process.env.N2 ?? 50)); show('fetches after settle');
await new Promise((r) => setTimeout(r, 1000)); show('rest 1 s (hwm since settle)');
proc.stdin.end('quit\n');
await new Promise((r) => proc.on('exit', r));
s.cleanup();
