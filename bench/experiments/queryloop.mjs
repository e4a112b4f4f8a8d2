#!/usr/bin/env node
// The native query's run on the benchmark's big document (112 KB, 5,100
// values) in a loop, in one process: its cost with every cache warm, and
// the cost of simdjson's parse alone (a query that finds nothing), for
// comparison with what the live PMDA spends on it (docs/BENCHMARKS.md,
// issue 26). Not a benchmark against the C floor (bench/run.mjs is).
//
//   node bench/experiments/queryloop.mjs [runs=5000]
import { createRequire } from 'node:module';
import path from 'node:path';
import { dataText, sourceMetadata } from '../data.mjs';
import { bigShape } from '../workloads/shapes.mjs';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const { native } = require(path.join(ROOT, 'dist', 'pmda', 'native.js'));
const n = Number(process.argv[2] ?? 5000);

const shape = { name: 'big', ...bigShape };
const md = sourceMetadata(shape);
const text = dataText(shape, 1);
const buf = Buffer.alloc(text.length + native.QUERY_PADDING);
buf.write(text);
const tokens = (pointer) => pointer.split('/').slice(1);
const arrays = md.metrics.filter((m) => m.type === 'array');
const all = native.queryCompile({
  scalars: md.metrics.filter((m) => m.type !== 'array').map((m) => tokens(m.pointer)),
  arrays: arrays.map((a) => ({ at: tokens(a.pointer), index: a.index ? tokens(a.index) : null, members: a.metrics.map((m) => tokens(m.pointer)) })),
});
const none = native.queryCompile({ scalars: [['no such member']], arrays: [] });

function time(query) {
  for (let i = 0; i < 500; i++) native.queryRun(query, buf, text.length, true);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) native.queryRun(query, buf, text.length, true);
  const c = process.cpuUsage(c0);
  return `${((performance.now() - t0) / n * 1000).toFixed(1)} µs a run (CPU ${((c.user + c.system) / n).toFixed(1)})`;
}
console.log(`document: ${text.length} bytes, ${md.metrics.length} metrics`);
console.log(`the query of every metric: ${time(all)}`);
console.log(`simdjson's parse alone (a query that finds nothing): ${time(none)}`);
