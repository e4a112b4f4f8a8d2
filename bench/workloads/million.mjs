// million: 100 sources of one array of 1,000 instances x 10 integer
// members, 1,000,000 values, all fetched together in one fetch (the wide
// shape, ten times over). The C floor gets them as one -S option. The
// python pmdajson (seconds per fetch) is left out unless BENCH_ALL_PMDAS=1.
export const MILLION_SOURCES = 100;

export default {
  name: 'million',
  pmdas: ['c', 'ts'],
  sources: Array.from({ length: MILLION_SOURCES }, (_, n) => ({ name: `million${n}`, strings: 0, ints: 0, arrays: 1, instances: 1000, members: 10, exotic: false })),
  workloads: [
    {
      id: 'million',
      label: 'million: 100 sources × 1,000 × 10',
      names: (r) => Array.from({ length: MILLION_SOURCES }, (_, n) => `${r}.million${n}`),
      minFetches: 2,
    },
  ],
};
