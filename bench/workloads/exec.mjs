// exec: the big source's data from a data-exec command (`cat`) at every fetch.
import { bigShape } from './shapes.mjs';

export default {
  name: 'exec',
  sources: [{ name: 'exec', ...bigShape, exec: true }],
  workloads: [{ id: 'exec', label: 'data-exec: big from `cat` on every fetch', names: (r) => [`${r}.exec`] }],
};
