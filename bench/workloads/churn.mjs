// churn: the big source, its data file replaced before every fetch (the
// client does it, bench/fetchbench.c -W), every value checked.
import { bigShape } from './shapes.mjs';

export default {
  name: 'churn',
  sources: [{ name: 'churn', ...bigShape }],
  workloads: [{ id: 'churn', label: 'churn: big, file replaced before every fetch', names: (r) => [`${r}.churn`], churn: true }],
};
