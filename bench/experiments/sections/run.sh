#!/usr/bin/env bash
# Where a live PMDA's main thread spends its CPU in one workload: a copy of
# a tree's dist/ and native module, with timers around the parts of a
# fetch and of the read between PDUs (patch.mjs), run by bench/run.mjs
# beside the C floor; prints each part's CPU (the main thread's clock, per
# fetch measured or warm-up), the number of times it ran, the garbage
# collections, and each thread's CPU. Needs g++ and node's headers.
#
#   bash bench/experiments/sections/run.sh [tree=.] [workload=churn] [reps=4]
#
# The figures include the warm-up and the start; compare two trees, or two
# workloads, run the same way. Not a benchmark against the C floor
# (that is bench/run.mjs; the timers cost a little CPU themselves).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
tree=$(cd "${1:-$root}" && pwd)
workload=${2:-churn}
reps=${3:-4}
out=$(mktemp -d /tmp/pmda-json-sections.XXXXXX)
trap 'rm -rf "$out"' EXIT
g++ -O2 -shared -fPIC -I/usr/include/node "$here/threadcpu.cc" -o "$out/threadcpu.node"
mkdir -p "$out/tree"
cp -r "$tree/dist" "$tree/build" "$tree/package.json" "$out/tree/"
node "$here/patch.mjs" "$out/tree/dist"
cp "$here/preload.cjs" "$out/"
printf '{"addon": "%s"}\n' "$out/threadcpu.node" > "$out/settings.json"
chmod -R a+rX "$out"
cd "$root"
BENCH_ONLY="$workload" BENCH_PMDAS=c,ts BENCH_REPS="$reps" \
  BENCH_RESULTS="$out/results.json" BENCH_SNAPSHOT=off BENCH_TS_HOME="$out/tree" BENCH_NODE_FLAGS="-r $out/preload.cjs" \
  node bench/run.mjs > "$out/bench.log" 2>&1 || { tail -20 "$out/bench.log"; exit 1; }
node -e '
const fs = require("fs");
const [out, workload] = process.argv.slice(1);
const r = JSON.parse(fs.readFileSync(out + "/results.json", "utf8")).workloads.find((w) => w.id === workload);
console.log(`${workload}: CPU per fetch, C floor ${r.results.c.pmda_cpu_ms_per_fetch} ms, pmda-json ${r.results.ts.pmda_cpu_ms_per_fetch} ms (${r.ratios.ts.cpu_vs_c}x); p50 ${r.ratios.ts.p50_vs_c}x`);
for (const f of fs.readdirSync(out).filter((f) => f.startsWith("sections."))) {
  const s = JSON.parse(fs.readFileSync(out + "/" + f, "utf8"));
  const fetches = s.n["fetch JavaScript"] ?? 0;
  console.log(`${fetches} fetches (warm-up included); main thread, µs a fetch:`);
  for (const [k, ms] of Object.entries(s.ms)) console.log(`  ${k.padEnd(28)} ${(ms / fetches * 1000).toFixed(0).padStart(5)}   (${s.n[k]} times)`);
  console.log(`garbage collections: ${Object.entries(s.gc).map(([k, g]) => `${k} ${g.n} (${g.ms.toFixed(0)} ms)`).join(", ")}`);
  console.log(`CPU of each thread since the start, ms: ${s.threadsMs.join(", ")}`);
}' "$out" "$workload"
