#!/usr/bin/env node
// The JavaScript side of a fetch, in one process, without pmcd: an Agent
// over a scratch directory holding the benchmark's big source, its data
// replaced (renamed over) before every fetch, as in the churn workload.
// For profiling (node --cpu-prof bench/experiments/inproc.mjs) and for
// the split of a fetch's cost into its steps; not a benchmark (those are
// bench/run.mjs, against the C floor).
//
//   node bench/experiments/inproc.mjs [fetches=2000] [unchanged|one|churn|wide|many|million]
//
// INPROC_MEMORY=1 prints where the memory is after the fetches;
// INPROC_SETTLE=1 settles first (src/pmda/memory.ts) and fetches again;
// INPROC_ALL=1 makes many fetch all of its 12,000 metrics.
// INPROC_UNTRUSTED=1 lists the sources' directory in directory_list, as
// the benchmark does (then read as their authors), not the trusted list.
//
// many: 4,000 small sources, and the time of the first discovery.
// million: 100 sources of 1,000 × 10, and where the memory is after the fetches.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dataText, sourceMetadata } from '../data.mjs';
import { bigShape } from '../workloads/shapes.mjs';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const n = Number(process.argv[2] ?? 2000);
const mode = process.argv[3] ?? 'churn';

// INPROC_DIR=dir keeps the sources and numbering caches there, for a second start
const kept = process.env.INPROC_DIR;
if (kept) fs.mkdirSync(kept, { recursive: true });
const work = kept ?? fs.mkdtempSync(path.join(os.tmpdir(), 'pmda-json-inproc-'));
process.env.PCP_VAR_DIR = work; // numbering caches go here
fs.mkdirSync(path.join(work, 'config', 'pmda'), { recursive: true });
const dir = path.join(work, 'sources');
fs.mkdirSync(dir, { recursive: true });
const shapes = mode === 'many'
  ? Array.from({ length: 4000 }, (_, k) => ({ name: `many${k}`, strings: 0, ints: 3, arrays: 0, instances: 0, members: 0, exotic: false }))
  : mode === 'wide' || mode === 'million'
  ? Array.from({ length: mode === 'million' ? 100 : 10 }, (_, k) => ({ name: `wide${k}`, strings: 0, ints: 0, arrays: 1, instances: 1000, members: 10, exotic: false }))
  : [{ name: 'big', ...bigShape }];
const variants = [];
for (const s of shapes) {
  fs.mkdirSync(path.join(dir, s.name), { recursive: true });
  fs.writeFileSync(path.join(dir, s.name, 'metadata.json'), JSON.stringify(sourceMetadata(s)));
  fs.writeFileSync(path.join(dir, s.name, 'data.json'), dataText(s, 0));
}
for (let g = 1; g <= 8; g++) variants.push(dataText(shapes[0], g));

const { native } = require(path.join(ROOT, 'dist', 'pmda', 'native.js'));
const { Agent } = require(path.join(ROOT, 'dist', 'pmda', 'agent.js'));
const { loadConfig } = require(path.join(ROOT, 'dist', 'pmda', 'config.js'));
native.init({ name: 'inproc', domain: 250, logfile: path.join(work, 'log'), debug: '' });
const cfgFile = path.join(work, 'config.json');
fs.writeFileSync(cfgFile, JSON.stringify(process.env.INPROC_UNTRUSTED ? { directory_list: [dir] } : { trusted_directory_list: [dir] }));
const agent = new Agent({ root: 'json', config: loadConfig(cfgFile).config });
const t0 = performance.now();
const c0 = process.cpuUsage();
agent.discover();
agent.syncTables();
const c1 = process.cpuUsage(c0);
console.log(`first discovery of ${shapes.length} sources: ${(performance.now() - t0).toFixed(1)} ms, CPU ${((c1.user + c1.system) / 1000).toFixed(1)} ms (system ${(c1.system / 1000).toFixed(1)})`);
// many: then the first fetch of every metric, as the benchmark's startup ends with
if (mode === 'many') {
  const everyPmid = Uint32Array.from(shapes.flatMap((_, k) => [0, 1, 2].map((item) => native.pmid(k + 1, item))));
  const t2 = performance.now();
  const c2 = process.cpuUsage();
  agent.fetch(everyPmid);
  const c3 = process.cpuUsage(c2);
  console.log(`first fetch of all ${everyPmid.length} metrics: ${(performance.now() - t2).toFixed(1)} ms, CPU ${((c3.user + c3.system) / 1000).toFixed(1)} ms (system ${(c3.system / 1000).toFixed(1)})`);
}

const pmids = [];
for (let cluster = 1; cluster <= Math.min(shapes.length, mode === 'million' ? 100 : 10); cluster++) for (let item = 0; item < 200; item++) pmids.push(native.pmid(cluster, item));
// many: one metric of the last source, as the many-one workload (INPROC_ALL=1: all 12,000, as many)
const all = () => Uint32Array.from(shapes.flatMap((_, k) => [0, 1, 2].map((item) => native.pmid(k + 1, item))));
const req = mode === 'many' && process.env.INPROC_ALL ? all() : mode === 'many' ? Uint32Array.from([native.pmid(shapes.length, 0)]) : mode === 'one' ? Uint32Array.from([native.pmid(1, 0)]) : Uint32Array.from(pmids);
const target = path.join(dir, shapes[0].name, 'data.json');
const tmp = target + '.tmp';
let write = 0;
let fetch = 0;
const cpu0 = process.cpuUsage();
for (let i = 0; i < n; i++) {
  if (mode === 'churn') {
    const t0 = performance.now();
    fs.writeFileSync(tmp, variants[i % variants.length]);
    fs.renameSync(tmp, target);
    write += performance.now() - t0;
  }
  const t1 = performance.now();
  agent.fetch(req);
  fetch += performance.now() - t1;
}
const cpu = process.cpuUsage(cpu0);
if (process.env.INPROC_GC && globalThis.gc) globalThis.gc();
// INPROC_SETTLE=1: settle as the PMDA does once start-up is over (src/pmda/memory.ts), then fetch as many times again
if (process.env.INPROC_SETTLE) {
  require(path.join(ROOT, 'dist', 'pmda', 'memory.js')).settle();
  for (let i = 0; i < n; i++) agent.fetch(req);
}
if (process.env.INPROC_HEAP) (await import('node:v8')).writeHeapSnapshot(process.env.INPROC_HEAP);
if (process.env.INPROC_MAPS) fs.writeFileSync(process.env.INPROC_MAPS, fs.readFileSync('/proc/self/smaps'));
if (mode === 'million' || process.env.INPROC_MEMORY) {
  const m = process.memoryUsage();
  const roll = fs.readFileSync('/proc/self/smaps_rollup', 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(roll)?.[1] ?? NaN) / 1024;
  const mib = (b) => (b / 2 ** 20).toFixed(1);
  console.log(`memory: rss ${mib(m.rss)} MiB (anonymous ${kb('Anonymous').toFixed(1)}, file ${(kb('Rss') - kb('Anonymous')).toFixed(1)}); JS heap used ${mib(m.heapUsed)} of ${mib(m.heapTotal)}; external ${mib(m.external)} (array buffers ${mib(m.arrayBuffers)})`);
}
console.log(`${mode}: ${n} fetches, ${(fetch / n).toFixed(3)} ms a fetch, CPU ${((cpu.user + cpu.system) / 1000 / n).toFixed(3)} ms (system ${(cpu.system / 1000 / n).toFixed(3)}) (${(write / n).toFixed(3)} ms a write, not counted); rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(1)} MiB`);
if (!kept) fs.rmSync(work, { recursive: true, force: true });
