#!/usr/bin/env node
// Parse cost of the big data document (the benchmark's rules): JSON.parse
// against pmda-json's exact-int64 parseJson, with and without integer
// literals of 16 digits or more, and the cost of the pre-scan alone.
//   node bench/experiments/parsebench.mjs [dist dir, default bench/out/snapshot/dist]
import { createRequire } from 'node:module';
import path from 'node:path';
const require = createRequire(import.meta.url);
const dist = path.resolve(process.argv[2] ?? 'bench/out/snapshot/dist');
const { parseJson } = require(path.join(dist, 'json.js'));
const INT64_MAX = 2n ** 63n - 1n, INT64_MIN = -(2n ** 63n);
function text(exotic) {
  const parts = [];
  for (let j = 0; j < 100; j++) parts.push(`"m${j}": ${exotic && j === 0 ? 9007199254740993n : exotic && j === 1 ? INT64_MAX : exotic && j === 2 ? INT64_MIN : BigInt(j) * 1000n}`);
  const rows = [];
  for (let i = 0; i < 1000; i++) {
    const f = [`"name": "i${i}"`];
    for (let k = 0; k < 5; k++) f.push(`"v${k}": ${exotic && k === 4 ? (1n << 60n) + BigInt(i) * 1000n : BigInt(i) * 100000n + BigInt(k) * 1000n}`);
    rows.push(`{${f.join(', ')}}`);
  }
  parts.push(`"a0": [\n  ${rows.join(',\n  ')}\n]`);
  return `{\n${parts.join(',\n')}\n}\n`;
}
function time(label, fn, n = 300) {
  for (let i = 0; i < 30; i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  console.log(label.padEnd(40), (Number(process.hrtime.bigint() - t0) / 1e6 / n).toFixed(3), 'ms');
}
function digitRun(s) {
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) { if (++run >= 16) return true; } else run = 0;
  }
  return false;
}
for (const exotic of [false, true]) {
  const t = text(exotic);
  console.log(`--- ${exotic ? 'with' : 'without'} integers beyond 2^53 (${t.length} bytes)`);
  time('JSON.parse', () => JSON.parse(t));
  time('parseJson (pmda-json)', () => parseJson(t));
  time('/\\d{16,}/.test', () => /\d{16,}/.test(t));
  time('a byte loop looking for 16 digits', () => digitRun(t));
}
