// many: 4,000 small sources (3 integer scalars each), for the startup
// (HUP -> first good fetch of a metric of the last source, many3999, so
// that the PMDA has discovered them all) and the cost of many unchanged
// sources at every fetch: all 12,000 scalars in one fetch, and one metric
// alone. The C floor gets them as one -S option. The python pmdajson is
// left out unless BENCH_ALL_PMDAS=1. BENCH_MANY_SOURCES=n changes the
// number of sources (for what-ifs; the targets are for 4,000).
export const MANY_SOURCES = Number(process.env.BENCH_MANY_SOURCES ?? 4000);
const count = MANY_SOURCES.toLocaleString('en-US');

export default {
  name: 'many',
  pmdas: ['c', 'ts'],
  sources: Array.from({ length: MANY_SOURCES }, (_, n) => ({ name: `many${n}`, strings: 0, ints: 3, arrays: 0, instances: 0, members: 0, exotic: false })),
  workloads: [
    {
      id: 'many',
      label: `many: ${count} sources × 3 scalars`,
      names: (r) => Array.from({ length: MANY_SOURCES }, (_, n) => `${r}.many${n}`),
      minFetches: 2,
    },
    { id: 'many-one', label: `one metric with ${count} sources`, names: (r) => [`${r}.many${MANY_SOURCES - 1}.m2`] },
  ],
};
