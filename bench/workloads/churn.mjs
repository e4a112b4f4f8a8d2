// churn: the big source, its data file replaced before every fetch (the
// client does it, bench/fetchbench.c -W), every value checked; and
// producer: the same source, its data file replaced every
// BENCH_PRODUCER_MS ms (250) by another process (bench/producer.mjs) while
// the client fetches as fast as it can, every value checked against the
// generations the producer writes (fetchbench -G).
import { bigShape } from './shapes.mjs';

export default {
  name: 'churn',
  sources: [{ name: 'churn', ...bigShape }],
  workloads: [
    { id: 'churn', label: 'churn: big, file replaced before every fetch', names: (r) => [`${r}.churn`], churn: true },
    { id: 'producer', label: 'producer: big, replaced by another process', names: (r) => [`${r}.churn`], producer: true },
  ],
};
