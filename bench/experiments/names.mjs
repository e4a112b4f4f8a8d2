#!/usr/bin/env node
// What handing the shim a namespace costs (native.setNames, native/names.cc):
// 4,000 sources of 3 metrics, one node of 12,000 names, 400 sources of 30,
// in the order the tables give them and reversed. Not a benchmark (the
// startup of bench/run.mjs's many phase is).
//   node bench/experiments/names.mjs
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const { native } = require(path.join(ROOT, 'dist', 'pmda', 'native.js'));
native.init({ name: 'names', domain: 250, logfile: path.join(os.tmpdir(), `pmda-json-names-${process.pid}.log`), debug: '' });
for (const [n, per] of [[4000, 3], [1, 12000], [400, 30]]) {
  const names = [];
  const ids = [];
  for (let s = 0; s < n; s++) {
    for (let m = 0; m < per; m++) {
      names.push(`jsonts.many${s}.m${m}`);
      ids.push(native.pmid((s + 1) & 0xfff, m & 0x3ff));
    }
  }
  const t0 = performance.now();
  native.setNames(names, Uint32Array.from(ids));
  const t1 = performance.now();
  native.setNames(names.slice().reverse(), Uint32Array.from(ids.slice().reverse()));
  console.log(`${n} sources x ${per} metrics: setNames ${(t1 - t0).toFixed(1)} ms, reversed ${(performance.now() - t1).toFixed(1)} ms`);
}
