// seed: the three metrics of the seed fixture (a string and two int64s).
export default {
  name: 'seed',
  sources: [{ name: 'seed', strings: 1, ints: 2, arrays: 0, instances: 0, members: 0, exotic: true }],
  workloads: [{ id: 'seed', label: 'seed: 3 metrics (string, 2 int64)', names: (r) => [`${r}.seed`] }],
};
