// The shape of the "big" source, shared by the workloads built on it: 100
// int64 scalars and one array of 1,000 instances x 5 members, with exotic
// values (int64 edges) among them. bench/cpmda.c builds the same shape.
export const bigShape = { strings: 0, ints: 100, arrays: 1, instances: 1000, members: 5, exotic: true };
