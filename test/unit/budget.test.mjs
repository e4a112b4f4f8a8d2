// Budgets (src/pmda/limits/budget.ts) alone: each budget of a fetch is
// shared equally between the authors (payers) that have sources; one
// payer spending its share leaves the others theirs.
import test from 'ava';
import { DEFAULTS } from '../../dist/pmda/config.js';
import { Budgets } from '../../dist/pmda/limits/budget.js';

/** DEFAULTS with small limits, and `over` on top. */
const config = (over = {}) => ({
  ...DEFAULTS,
  fetchMaxBytes: 1000,
  maxHeldBytes: 4000,
  fetchMaxValues: 100,
  fetchMaxMs: 60,
  ...over,
});

const ALICE = 1000;
const BOB = 1001;

test('one payer with sources has each whole budget', (t) => {
  const b = new Budgets(config());
  b.begin([{ payer: ALICE, heldBytes: 0 }], 1);
  t.is(b.admit(ALICE, 1000, 0), undefined);
  t.regex(b.admit(ALICE, 1, 0) ?? '', /fetch_max_bytes shared by 1 users/);
  t.is(b.valuesLeft(ALICE), 100);
});

test('with no source at all a budget is not divided by zero', (t) => {
  const b = new Budgets(config());
  b.begin([], 1);
  t.is(b.valuesLeft(ALICE), 100);
  t.is(b.admit(ALICE, 1000, 0), undefined);
});

test('shares are divided equally between the payers that have sources, not the sources', (t) => {
  const b = new Budgets(config());
  // three sources of ALICE and one of BOB: two payers
  b.begin([
    { payer: ALICE, heldBytes: 0 },
    { payer: ALICE, heldBytes: 0 },
    { payer: ALICE, heldBytes: 0 },
    { payer: BOB, heldBytes: 0 },
  ], 1);
  t.is(b.valuesLeft(ALICE), 50);
  t.is(b.valuesLeft(BOB), 50);
  t.regex(b.why('values'), /may give 50 values a fetch \(fetch_max_values shared by 2 users\)/);
  t.regex(b.why('time'), /may take 30 ms a fetch \(fetch_max_ms shared by 2 users\)/);
});

test('admit refuses past a payer\'s share of fetch_max_bytes, with the reason; the other payer keeps its share', (t) => {
  const b = new Budgets(config());
  b.begin([{ payer: ALICE, heldBytes: 0 }, { payer: BOB, heldBytes: 0 }], 1);
  t.is(b.admit(ALICE, 300, 0), undefined);
  t.is(b.admit(ALICE, 200, 0), undefined, 'exactly the share fits');
  const why = b.admit(ALICE, 1, 0);
  t.is(typeof why, 'string');
  t.regex(why, /no room in this fetch for 1 bytes of data/);
  t.regex(why, /may read 500 bytes a fetch \(fetch_max_bytes shared by 2 users\)/);
  // BOB's share is whole
  t.is(b.admit(BOB, 500, 0), undefined);
  t.regex(b.admit(BOB, 1, 0) ?? '', /fetch_max_bytes/);
});

test('a refused admit charges nothing', (t) => {
  const b = new Budgets(config());
  b.begin([{ payer: ALICE, heldBytes: 0 }, { payer: BOB, heldBytes: 0 }], 1);
  t.truthy(b.admit(ALICE, 501, 0));
  t.is(b.admit(ALICE, 500, 0), undefined, 'the refused bytes were not counted');
});

test('admit refuses past a payer\'s share of max_held_bytes, counting what it held before and what it replaces', (t) => {
  // fetch bytes are plenty here: only the held budget binds
  const b = new Budgets(config({ fetchMaxBytes: 1e9 }));
  b.begin([{ payer: ALICE, heldBytes: 1500 }, { payer: BOB, heldBytes: 100 }], 1);
  // share 2000; ALICE holds 1500
  const why = b.admit(ALICE, 600, 0);
  t.regex(why ?? '', /600 bytes of data do not fit: its author's sources may hold 2000 bytes \(max_held_bytes shared by 2 users\)/);
  // the same 600 bytes replacing 100 held: 1500 - 100 + 600 = 2000 fits
  t.is(b.admit(ALICE, 600, 100), undefined);
  // now ALICE holds 2000: nothing more
  t.regex(b.admit(ALICE, 1, 0) ?? '', /max_held_bytes/);
  // BOB holds 100 of its own 2000
  t.is(b.admit(BOB, 1900, 0), undefined);
  t.regex(b.admit(BOB, 1, 0) ?? '', /max_held_bytes/);
});

test('release gives back held bytes, never below zero', (t) => {
  const b = new Budgets(config({ fetchMaxBytes: 1e9 }));
  b.begin([{ payer: ALICE, heldBytes: 4000 }], 1);
  t.truthy(b.admit(ALICE, 1, 0));
  b.release(ALICE, 1000);
  t.is(b.admit(ALICE, 1000, 0), undefined);
  t.truthy(b.admit(ALICE, 1, 0));
  b.release(ALICE, 1e9);
  t.is(b.admit(ALICE, 4000, 0), undefined, 'held is 0 after releasing more than held');
});

test('valuesLeft goes down with chargeValues, per payer', (t) => {
  const b = new Budgets(config());
  b.begin([{ payer: ALICE, heldBytes: 0 }, { payer: BOB, heldBytes: 0 }], 1);
  b.chargeValues(ALICE, 20);
  t.is(b.valuesLeft(ALICE), 30);
  b.chargeValues(ALICE, 30);
  t.is(b.valuesLeft(ALICE), 0);
  b.chargeValues(ALICE, 5);
  t.is(b.valuesLeft(ALICE), -5, 'overspending shows');
  t.is(b.valuesLeft(BOB), 50);
});

test('timeUp once chargeTime (and the pending time) reach the payer\'s share of fetch_max_ms', (t) => {
  const b = new Budgets(config());
  b.begin([{ payer: ALICE, heldBytes: 0 }, { payer: BOB, heldBytes: 0 }], 1);
  // share 30 ms
  t.false(b.timeUp(ALICE));
  b.chargeTime(ALICE, 20);
  t.false(b.timeUp(ALICE));
  t.false(b.timeUp(ALICE, 9));
  t.true(b.timeUp(ALICE, 10), 'with 10 ms pending, 30 ms are reached');
  b.chargeTime(ALICE, 10);
  t.true(b.timeUp(ALICE));
  t.false(b.timeUp(BOB), 'the other payer has its time');
});

test('begin starts a new fetch: what was spent is forgotten', (t) => {
  const b = new Budgets(config());
  b.begin([{ payer: ALICE, heldBytes: 0 }], 1);
  t.is(b.admit(ALICE, 1000, 0), undefined);
  b.chargeValues(ALICE, 100);
  b.chargeTime(ALICE, 60);
  t.true(b.timeUp(ALICE));
  b.begin([{ payer: ALICE, heldBytes: 0 }], 1);
  t.is(b.valuesLeft(ALICE), 100);
  t.false(b.timeUp(ALICE));
});

test('begin with the same epoch keeps the held sums (and the sources are not read); with a new one makes them again', (t) => {
  const b = new Budgets(config({ fetchMaxBytes: 1e9 }));
  b.begin([{ payer: ALICE, heldBytes: 3000 }], 7);
  t.is(b.admit(ALICE, 1000, 0), undefined);
  t.truthy(b.admit(ALICE, 1, 0), 'ALICE holds 4000');
  // the same epoch: the sums stay as admit left them, whatever the sources say
  let read = false;
  const sources = {
    *[Symbol.iterator]() {
      read = true;
      yield { payer: ALICE, heldBytes: 0 };
    },
  };
  b.begin(sources, 7);
  t.false(read, 'the sources were not summed again');
  t.truthy(b.admit(ALICE, 1, 0), 'still 4000 held');
  // a new epoch: summed again from the sources
  b.begin(sources, 8);
  t.true(read);
  t.is(b.admit(ALICE, 4000, 0), undefined, 'held is 0 again');
});

test('a new epoch counts the payers again: a payer gone gives its share back', (t) => {
  const b = new Budgets(config());
  b.begin([{ payer: ALICE, heldBytes: 0 }, { payer: BOB, heldBytes: 0 }], 1);
  t.is(b.valuesLeft(ALICE), 50);
  b.begin([{ payer: ALICE, heldBytes: 0 }, { payer: BOB, heldBytes: 0 }, { payer: 1002, heldBytes: 0 }], 1);
  t.is(b.valuesLeft(ALICE), 50, 'the same epoch: the same payers');
  b.begin([{ payer: ALICE, heldBytes: 0 }, { payer: BOB, heldBytes: 0 }, { payer: 1002, heldBytes: 0 }], 2);
  t.is(b.valuesLeft(ALICE), 33);
  b.begin([{ payer: ALICE, heldBytes: 0 }], 3);
  t.is(b.valuesLeft(ALICE), 100);
});

test('without an epoch (NaN), begin makes the sums every time', (t) => {
  const b = new Budgets(config({ fetchMaxBytes: 1e9 }));
  b.begin([{ payer: ALICE, heldBytes: 4000 }]);
  t.truthy(b.admit(ALICE, 1, 0));
  b.begin([{ payer: ALICE, heldBytes: 0 }]);
  t.is(b.admit(ALICE, 4000, 0), undefined);
});
