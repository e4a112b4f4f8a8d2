// Memory given back when the PMDA is at rest. Once start-up is over,
// what it left behind: the garbage of the first discovery (a full
// collection that also compacts the heap, so that the pages left half
// empty go back: 4 MiB with 4,000 sources), the memory malloc holds free
// (malloc_trim), and the pages of node's own code that only start-up
// used (native/memory.cc); done once, when the PMDA has been up for a few
// seconds (or at a huge fetch, if one comes first), and what a fetch needs
// comes back at its first use. And after each burst of big fetches, what
// they left (fetched()).
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

/** Start-up's pages are gone: settle() ran, or a huge fetch came first. */
let shed = false;

/**
 * Start-up's pages go first, then the garbage and what malloc holds free:
 * a compacting collection takes pages of its own before it gives the old
 * ones back, and on top of start-up's they made the peak (3 MiB more).
 */
export function settle(): void {
  native.settle();
  shed = true;
  collect();
  native.rest();
}

/** A fetch's buffer above this size makes it a big fetch (some 4,000 values). */
const BIG_FETCH_BYTES = 64 * 1024;
/** Above this size a huge one (65,536 values: wide's 100,000 and more). */
const HUGE_FETCH_BYTES = 1024 * 1024;
/** A burst of big fetches is over once none came for this long. */
export const REST_AFTER_MS = 250;
let restTimer: NodeJS.Timeout | undefined;

/**
 * A fetch answered with `bytes` of buffer. After a burst of big ones,
 * once none came for REST_AFTER_MS, the memory they left is given back:
 * the garbage (a compacting collection), what malloc holds free (the
 * value sets libpcp_pmda made) and the fetch buffer's pages past its
 * first 64 KiB (native/memory.cc). Never on the fetch path (but for a
 * huge fetch's shed, 5-10 ms once), and once for a burst: a client that
 * fetches every 250 ms or faster keeps it all.
 */
export function fetched(bytes: number): void {
  if (bytes <= BIG_FETCH_BYTES) return;
  // a huge fetch before start-up is over: its result, some 50 MiB for a
  // million values, is built on top of start-up's pages unless they go now
  if (bytes > HUGE_FETCH_BYTES && !shed) {
    native.settle();
    shed = true;
  }
  if (restTimer) restTimer.refresh();
  else restTimer = setTimeout(rest, REST_AFTER_MS).unref();
}

function rest(): void {
  restTimer = undefined;
  // before start-up is over, settle() collects: a compacting collection
  // now would take its new pages on top of start-up's (4 MiB of big's peak)
  if (shed) collect();
  native.rest();
}
