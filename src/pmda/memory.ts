// Memory given back when the PMDA is at rest. Once start-up is over,
// what it left behind: the garbage of the first discovery (a full
// collection that also compacts the heap, so that the pages left half
// empty go back: 4 MiB with 4,000 sources), the memory malloc holds free
// (malloc_trim), and the pages of node's own code that only start-up
// used (native/memory.cc); done once, when the PMDA has been up for a few
// seconds, and what a fetch needs comes back at its first use. And after
// each burst of big fetches, what they left (fetched()).
import * as v8 from 'v8';
import * as vm from 'vm';
import { native } from './native';

/** Start-up is over this long after the first discovery. */
export const SETTLE_AFTER_MS = 5000;

/** V8's gc(), from a context made after --expose-gc was set (V8 gives it to no other). */
let gc: (() => void) | undefined;

/**
 * A full garbage collection that compacts the heap: compaction is V8's
 * choice unless the flag says every full collection, and it says so
 * only here.
 */
function collect(): void {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  v8.setFlagsFromString('--compact-on-every-full-gc');
  try {
    gc();
  } finally {
    v8.setFlagsFromString('--no-compact-on-every-full-gc');
  }
}

export function settle(): void {
  collect();
  native.settle();
}

/** A fetch's buffer above this size makes it a big fetch (some 4,000 values). */
const BIG_FETCH_BYTES = 64 * 1024;
/** A burst of big fetches is over once none came for this long. */
export const REST_AFTER_MS = 250;
let restTimer: NodeJS.Timeout | undefined;

/**
 * A fetch answered with `bytes` of buffer. After a burst of big ones,
 * once none came for REST_AFTER_MS, the memory they left is given back:
 * the garbage (a compacting collection), what malloc holds free (the
 * value blocks libpcp_pmda made) and the fetch buffer's pages past its
 * first 64 KiB (native/memory.cc). Never on the fetch path, and once
 * for a burst: a client that fetches every 250 ms or faster keeps it all.
 */
export function fetched(bytes: number): void {
  if (bytes <= BIG_FETCH_BYTES) return;
  if (restTimer) restTimer.refresh();
  else restTimer = setTimeout(rest, REST_AFTER_MS).unref();
}

function rest(): void {
  restTimer = undefined;
  collect();
  native.rest();
}
