#!/usr/bin/env node
// What starting a data-exec command costs the PMDA: runCommand (the
// shepherd, the command, its output collected) of /bin/true and of `cat`
// of the big document, 200 times each, from a node holding a 40 MiB heap
// as a PMDA does. Not a benchmark (that is bench/run.mjs's data-exec).
//   node bench/experiments/exec.cjs
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const ROOT = path.resolve(__dirname, '..', '..');
const { runCommand } = require(path.join(ROOT, 'dist', 'pmda', 'exec.js'));
const { ROOT: AS_ROOT } = require(path.join(ROOT, 'dist', 'pmda', 'access.js'));

async function main() {
  const { dataText } = await import(path.join(ROOT, 'bench', 'data.mjs'));
  const { bigShape } = await import(path.join(ROOT, 'bench', 'workloads', 'shapes.mjs'));
  const file = path.join(os.tmpdir(), `pmda-json-exec-${process.pid}.json`);
  fs.writeFileSync(file, dataText({ name: 'big', ...bigShape }, 3));
  const limits = { timeoutMs: 2000, maxBytes: 16 << 20, maxMemory: 4 * 2 ** 30, maxFiles: 64, maxProcesses: 256 };
  const ballast = [];
  for (let i = 0; i < 40; i++) ballast.push(Buffer.alloc(1 << 20, 1));
  for (const cmd of ['/bin/true', `/bin/cat ${file}`]) {
    for (let i = 0; i < 20; i++) runCommand(cmd, AS_ROOT, os.tmpdir(), limits);
    const n = 200;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) runCommand(cmd, AS_ROOT, os.tmpdir(), limits);
    console.log(`${cmd.split(' ')[0]}: ${((performance.now() - t0) / n).toFixed(3)} ms a command; rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB, ${ballast.length} MiB of heap`);
  }
  fs.rmSync(file);
}
main();
