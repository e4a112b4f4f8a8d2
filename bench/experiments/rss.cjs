// RSS of node with nothing, with the native module, with all of dist/:
//   node --expose-gc bench/experiments/rss.cjs bare|addon|modules [dist dir]
const path = require('path');
const mode = process.argv[2] ?? 'modules';
const dist = path.resolve(process.argv[3] ?? 'bench/out/snapshot/dist');
if (mode === 'addon') require(path.join(dist, '..', 'build', 'Release', 'pmda_json.node'));
if (mode === 'modules') require(path.join(dist, 'agent.js'));
setTimeout(() => {
  if (global.gc) global.gc();
  const m = process.memoryUsage();
  console.log(`${mode}: rss ${(m.rss / 2 ** 20).toFixed(1)} MiB, heap used ${(m.heapUsed / 2 ** 20).toFixed(1)} MiB`);
}, 300);
