// big: one source of 5,100 values, unchanged between fetches; fetched
// whole, and one metric of it alone.
import { bigShape } from './shapes.mjs';

export default {
  name: 'big',
  sources: [{ name: 'big', ...bigShape }],
  workloads: [
    { id: 'big', label: 'big: 100 scalars + 1,000 × 5 array', names: (r) => [`${r}.big`] },
    { id: 'one', label: 'one metric from big', names: (r) => [`${r}.big.m3`] },
  ],
};
