// Puts the timers of bench/experiments/sections into a copy of dist/:
// node patch.mjs DIST. Each edit names the text it expects, and fails
// loudly when the code it times has changed shape.
import fs from 'node:fs';
import path from 'node:path';

const dist = process.argv[2];
const N = 'globalThis.__now()';
const edits = [
  ['pmda/main.js', 'const answer = agent.fetch(pmids);', `const t0 = ${N}; const answer = agent.fetch(pmids); globalThis.__T('fetch JavaScript', t0);`],
  ['pmda/sources/registry.js', 'this.watcher.drain();\n', `const t0 = ${N}; this.watcher.drain(); globalThis.__T('wake: drain', t0);\n`],
  ['pmda/round.js', 'prefetch(records, src) {\n', `prefetch(records, src) { const t0 = ${N}; try { return this.prefetchTimed(records, src); } finally { globalThis.__T('read between PDUs', t0); } }\n    prefetchTimed(records, src) {\n`],
  ['pmda/round.js', 'records.prepare(src, started);', `{ const t0 = ${N}; records.prepare(src, started); globalThis.__T('  records', t0); }`],
  ['pmda/sources/source.js', 'fd = this.openIfChanged();\n            if (fd < 0)\n                return false;', `const t0 = ${N}; fd = this.openIfChanged(); globalThis.__T('  open as the author', t0);\n            if (fd < 0)\n                return false;`],
  ['pmda/sources/source.js', 'const { bytes, length } = (0, read_1.readInto)(fd, size, config.maxDataBytes, query_1.PADDING);\n            const view = query.run(bytes, length, true);', `let t1 = ${N}; const { bytes, length } = (0, read_1.readInto)(fd, size, config.maxDataBytes, query_1.PADDING); globalThis.__T('  read', t1); t1 = ${N};\n            const view = query.run(bytes, length, true); globalThis.__T('  query (parse and walk)', t1);`],
];
for (const [file, from, to] of edits) {
  const f = path.join(dist, file);
  const text = fs.readFileSync(f, 'utf8');
  if (!text.includes(from)) throw new Error(`${file}: no longer has ${JSON.stringify(from.slice(0, 60))}`);
  fs.writeFileSync(f, text.replace(from, to));
}
