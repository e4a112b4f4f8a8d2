// wide: ten sources of 1,000 instances x 10 members, fetched together.
export default {
  name: 'wide',
  sources: Array.from({ length: 10 }, (_, n) => ({ name: `wide${n}`, strings: 0, ints: 0, arrays: 1, instances: 1000, members: 10, exotic: false })),
  workloads: [{ id: 'wide', label: 'wide: 10 sources × 1,000 × 10', names: (r) => Array.from({ length: 10 }, (_, n) => `${r}.wide${n}`), minFetches: 2 }],
};
