// Loaded into the PMDA with node -r (bench/experiments/sections/run.sh):
// globalThis.__T(name, t0) adds the main thread's CPU since t0 (from
// globalThis.__now()) to `name`; garbage collections are counted by kind;
// every second, and at exit, all of it (and each thread's CPU from /proc)
// goes to sections.PID.json beside this file. run.sh copies it, with
// settings.json (the addon's path), into a scratch directory: pmcd starts
// the PMDA with its own environment, not the benchmark's.
const fs = require('fs');
const path = require('path');
const { PerformanceObserver, constants } = require('perf_hooks');

const now = require(require('./settings.json').addon);
const out = __dirname;
const P = { ms: {}, n: {}, gc: {} };
globalThis.__now = now;
globalThis.__T = (name, t0) => {
  P.ms[name] = (P.ms[name] ?? 0) + now() - t0;
  P.n[name] = (P.n[name] ?? 0) + 1;
};
const kinds = { [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major', [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak' };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const g = (P.gc[kinds[e.detail?.kind] ?? 'other'] ??= { n: 0, ms: 0 });
    g.n++;
    g.ms += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
function threads() {
  return fs.readdirSync('/proc/self/task').map((t) => {
    const stat = fs.readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 1000 / 100; // ms, at 100 ticks a second
  });
}
const dump = () => fs.writeFileSync(path.join(out, `sections.${process.pid}.json`), JSON.stringify({ ...P, threadsMs: threads() }));
setInterval(dump, 1000).unref();
process.on('exit', dump);
