// Issue 23 under attack: nested arrays and trees (docs/SOURCES.md section
// 10) read from a small document by one user must not cost the PMDA, or
// another user's source, more than an array of max_instances elements.
import test from 'ava';
import { IS_ROOT, untrustedWorld, ensureUsers, userSource, session, fetchNames, pmdaPid, alive, one } from './users.mjs';

const serial = IS_ROOT ? test.serial : test.serial.skip;

const world = (config = {}) => untrustedWorld('adv-nesting', config);

const BOB = { metrics: [{ name: 'n', pointer: '/n', type: 'integer' }] };

/** Trees inside trees, `levels` deep: each level's elements are every element below the one above it. */
function treesInTrees(levels) {
  const level = (k) => ({
    name: `l${k}`, type: 'array', pointer: '/c', index: '/n', children: '/c',
    metrics: [{ name: 'v', type: 'integer', pointer: '/v' }, ...(k < levels ? [level(k + 1)] : [])],
  });
  return { metrics: [level(1)] };
}

/** A chain of `depth` elements, each the only child of the one before: 1.5 KB for 64. */
function chain(depth) {
  let doc = { n: 'x', v: 1 };
  for (let i = 0; i < depth; i++) doc = { n: 'x', v: 1, c: [doc] };
  return doc;
}

serial('trees inside trees over a 1.5 KB chain do not walk C(64, 8) elements: another user is served, the PMDA lives', async (t) => {
  const u = ensureUsers();
  const s = world();
  userSource(s, u.alice, 'nest', treesInTrees(8), chain(64));
  userSource(s, u.bob, 'bob', BOB, { n: 7 });
  const d = await session(t, s);
  const pid = pmdaPid(s);
  // unbounded, the deepest level had 4.4e9 elements: the fetch never came back
  const r = await fetchNames(d, ['json.bob.n', 'json.nest.l1.l2.l3.l4.l5.l6.l7.l8.v'], 20000);
  t.true(alive(pid), 'the PMDA is alive');
  t.is(one(r['json.bob.n']), '7', `bob's metric is served (${r._out?.slice(0, 300)})`);
  t.log(`the fetch took ${Math.round(r._ms)} ms`);
  t.true(r._ms < 15000, `the fetch took ${Math.round(r._ms)} ms`);
  t.regex(s.logText(), /array 'l1\.l2\.l3\.l4\.l5\.l6\.l7\.l8': .*max_instances/);
});
