// Once start-up is over, what it left behind is given back: the garbage
// of the first discovery (a full collection), the memory malloc holds
// free (malloc_trim), and the pages of node's own code that only
// start-up used (native/memory.cc). Done once, when the PMDA has been up
// for a few seconds; what a fetch needs comes back at its first use.
import * as v8 from 'v8';
import * as vm from 'vm';
import { native } from './native';

/** Start-up is over this long after the first discovery. */
export const SETTLE_AFTER_MS = 5000;

/** A full garbage collection. V8 gives `gc` only to contexts made after --expose-gc is set. */
function collect(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

export function settle(): void {
  collect();
  native.settle();
}
