#!/usr/bin/env node
// The producer of the `producer` workload (bench/workloads/producer.mjs):
// another process that keeps replacing a source's data.json while the
// client fetches, the way a real data producer would. Every `ms`
// milliseconds it copies the next variant file to a temporary file beside
// the target and renames it over the target, cycling through the variants
// in order (generation 1, 2, ..., 8, 1, ...).
//
//   node bench/producer.mjs target.json ms g:variant-file ...
//
// It writes the first variant at once, then prints "ready" on stdout (so
// that bench/run.mjs starts the client only when the file holds one of the
// variants); on SIGTERM or SIGINT it stops, prints {"writes": n} and exits.
import fs from 'node:fs';

const [target, msText, ...specs] = process.argv.slice(2);
const ms = Number(msText);
if (!target || !(ms > 0) || specs.length === 0) {
  process.stderr.write('usage: producer.mjs target.json ms g:variant-file ...\n');
  process.exit(2);
}
const variants = specs.map((spec) => {
  const colon = spec.indexOf(':');
  return { gen: Number(spec.slice(0, colon)), file: spec.slice(colon + 1) };
});
const tmp = `${target}.producer${process.pid}`;
let writes = 0;

function write() {
  const v = variants[writes % variants.length];
  fs.copyFileSync(v.file, tmp);
  fs.chmodSync(tmp, 0o644);
  fs.renameSync(tmp, target);
  writes++;
}

write();
process.stdout.write('ready\n');
const timer = setInterval(write, ms);

function stop() {
  clearInterval(timer);
  fs.rmSync(tmp, { force: true });
  process.stdout.write(`${JSON.stringify({ writes })}\n`);
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
