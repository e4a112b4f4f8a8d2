#!/usr/bin/env node
// Summarise a V8 .cpuprofile (node --cpu-prof): busy time, then the top
// functions by self time and by inclusive time, as shares of busy time.
//
//   node bench/profile-summary.mjs file.cpuprofile [top=25] [fetches]
//
// With `fetches` (the number of fetch PDUs the profile covers) times are
// also shown per fetch.
import fs from 'node:fs';
import path from 'node:path';

const [file, topArg, fetchesArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/profile-summary.mjs file.cpuprofile [top] [fetches]');
  process.exit(1);
}
const top = Number(topArg ?? 25);
const fetches = fetchesArg ? Number(fetchesArg) : 0;
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));

const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const key = (n) => {
  const f = n.callFrame;
  const name = f.functionName || '(anonymous)';
  if (!f.url) return name;
  return `${name} ${path.basename(f.url)}:${f.lineNumber + 1}`;
};
const IDLE = new Set(['(idle)', '(program)', '(garbage collector)']);

const self = new Map();
const incl = new Map();
// milliseconds: busy (of which GC and native "program"), and idle
let busy = 0, gc = 0, program = 0, idle = 0;
for (let i = 0; i < prof.samples.length; i++) {
  const dt = (prof.timeDeltas[i] ?? 0) / 1000; // ms
  const n = byId.get(prof.samples[i]);
  const k = key(n);
  if (k === '(idle)') { idle += dt; continue; }
  busy += dt;
  if (k === '(garbage collector)') gc += dt;
  if (k === '(program)') program += dt;
  self.set(k, (self.get(k) ?? 0) + dt);
  const seen = new Set();
  for (let id = n.id; id !== undefined; id = parent.get(id)) {
    const kk = key(byId.get(id));
    if (seen.has(kk) || kk === '(root)') continue;
    seen.add(kk);
    incl.set(kk, (incl.get(kk) ?? 0) + dt);
  }
}

const wall = (prof.endTime - prof.startTime) / 1000;
const per = (ms) => (fetches ? `  ${((ms * 1000) / fetches).toFixed(1).padStart(7)} µs/fetch` : '');
const pct = (ms) => `${((100 * ms) / busy).toFixed(1).padStart(5)}%`;
console.log(`${path.basename(file)}: ${wall.toFixed(0)} ms profiled, ${busy.toFixed(0)} ms busy (GC ${gc.toFixed(0)} ms, native/"program" ${program.toFixed(0)} ms), ${idle.toFixed(0)} ms idle${fetches ? `, ${fetches} fetches` : ''}`);
console.log('\nself time');
for (const [k, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(ms)} ${ms.toFixed(1).padStart(9)} ms${per(ms)}  ${k}`);
console.log('\ninclusive time');
for (const [k, ms] of [...incl].filter(([k]) => !IDLE.has(k)).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(ms)} ${ms.toFixed(1).padStart(9)} ms${per(ms)}  ${k}`);
