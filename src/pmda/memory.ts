// Once start-up is over, what it left behind is given back: the garbage
// of the first discovery (a full collection that also compacts the heap,
// so that the pages left half empty go back: 4 MiB with 4,000 sources), the memory malloc holds
// free (malloc_trim), and the pages of node's own code that only
// start-up used (native/memory.cc). Done once, when the PMDA has been up
// for a few seconds; what a fetch needs comes back at its first use.
import * as v8 from 'v8';
import * as vm from 'vm';
import { native } from './native';

/** Start-up is over this long after the first discovery. */
export const SETTLE_AFTER_MS = 5000;

/**
 * A full garbage collection that compacts the heap. V8 gives `gc` only to
 * contexts made after --expose-gc is set; compaction is V8's choice
 * unless the flag says every full collection, and it says so only here.
 */
function collect(): void {
  v8.setFlagsFromString('--expose-gc');
  v8.setFlagsFromString('--compact-on-every-full-gc');
  try {
    (vm.runInNewContext('gc') as () => void)();
  } finally {
    v8.setFlagsFromString('--no-compact-on-every-full-gc');
  }
}

export function settle(): void {
  collect();
  native.settle();
}
