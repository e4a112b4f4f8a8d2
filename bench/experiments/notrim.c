/*
 * What-if: malloc_trim() made a no-op, to see what the shim's trim after
 * every big result costs. Build and use:
 *   gcc -O2 -shared -fPIC -o bench/out/notrim.so bench/experiments/notrim.c
 *   BENCH_TS_WRAPPER="/usr/bin/env LD_PRELOAD=$PWD/bench/out/notrim.so" \
 *     BENCH_PMDAS=c,ts BENCH_ONLY=big,wide BENCH_RESULTS=bench/out/notrim.json node bench/run.mjs
 */
int malloc_trim(unsigned long pad) { (void)pad; return 0; }
