// The dynamic namespace (native/names.cc): what the pmid, name and
// children PDUs answer, for nested names, subtrees and leaves, and with
// many sources and one source of many metrics.
import test from 'ava';
import { Scratch, parseTraverse, session } from '../helpers/harness.mjs';

/** dbpmda's `children` output: [[name, 'leaf' | 'non-leaf'], ...] in the order answered. */
const children = (text) => [...text.matchAll(/^\s+(leaf|non-leaf) (\S+)$/gm)].map((m) => [m[2], m[1]]);
/** dbpmda's `pmid` output: the PMID, or undefined. */
const pmidOf = (text) => /^\s+(\d+\.\d+\.\d+)$/m.exec(text)?.[1];
/** dbpmda's `name` output: the names. */
const namesOf = (text) => text.split('\n').slice(1).map((l) => l.trim()).filter((l) => l && !l.startsWith('Error'));

test('children, traverse, pmid and name answer for nested names, subtrees and leaves', async (t) => {
  const s = new Scratch();
  s.source('a', {
    metrics: [
      { name: 'x', pointer: '/x', type: 'integer' },
      { name: 'y.z', pointer: '/y/z', type: 'integer' },
      { name: 'y.w', pointer: '/y/w', type: 'integer' },
    ],
  }, { x: 1, y: { z: 2, w: 3 } });
  s.source('b', { prefix: 'deep.er', metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }, { v: 4 });
  const d = await session(t, s);

  // one level down, newest first (as libpcp_pmda's pmdaTree lists them), with leaf status
  t.deepEqual(children(await d.run('children json.a')), [['y', 'non-leaf'], ['x', 'leaf']]);
  t.deepEqual(children(await d.run('children json.a.y')), [['w', 'leaf'], ['z', 'leaf']]);
  t.deepEqual(children(await d.run('children json.deep')), [['er', 'non-leaf']]);
  const top = children(await d.run('children json'));
  t.deepEqual(top.filter(([, kind]) => kind === 'non-leaf').map(([n]) => n).sort(), ['a', 'control', 'deep']);
  t.true(top.some(([n, kind]) => n === 'nsources' && kind === 'leaf'));
  // a leaf has no children; a name that is not there is an error
  t.deepEqual(children(await d.run('children json.a.x')), []);
  t.regex(await d.run('children json.nope'), /Unknown metric name/);

  // every metric below a name; a metric is its own traversal
  t.deepEqual(parseTraverse(await d.run('traverse json.a')), ['json.a.x', 'json.a.y.w', 'json.a.y.z']);
  t.deepEqual(parseTraverse(await d.run('traverse json.deep')), ['json.deep.er.v']);
  t.deepEqual(parseTraverse(await d.run('traverse json.a.x')), ['json.a.x']);

  // a subtree is not a metric
  t.regex(await d.run('pmid json.a.y'), /Unknown metric name/);
  t.regex(await d.run('pmid json.zz'), /Unknown metric name/);
  // and back: a metric's PMID names it
  for (const name of ['json.a.x', 'json.a.y.z', 'json.a.y.w', 'json.deep.er.v', 'json.nsources']) {
    const pmid = pmidOf(await d.run(`pmid ${name}`));
    t.truthy(pmid, name);
    t.deepEqual(namesOf(await d.run(`name ${pmid}`)), [name]);
  }
  t.regex(await d.run('name 137.4000.1'), /Unknown or illegal metric identifier/);
});

test('with 500 sources and one source of 1,000 metrics, every metric is listed, and its PMID and name lead to each other', async (t) => {
  const s = new Scratch();
  for (let k = 0; k < 500; k++) s.source(`s${k}`, { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }, { v: k });
  const wide = {};
  for (let j = 0; j < 1000; j++) wide[`m${j}`] = j;
  s.source('wide', { metrics: Object.keys(wide).map((k) => ({ name: `g.${k}`, pointer: `/${k}`, type: 'integer' })) }, wide);
  const d = await session(t, s);

  const all = parseTraverse(await d.run('traverse json', 120000));
  t.is(all.filter((n) => /^json\.s\d+\.v$/.test(n)).length, 500);
  t.is(all.filter((n) => n.startsWith('json.wide.g.')).length, 1000);
  t.is(children(await d.run('children json.wide.g', 120000)).length, 1000);
  // a sample across both: name -> PMID -> the same name, PMIDs distinct
  const sample = ['json.s0.v', 'json.s250.v', 'json.s499.v', 'json.wide.g.m0', 'json.wide.g.m500', 'json.wide.g.m999'];
  const pmids = new Set();
  for (const name of sample) {
    const pmid = pmidOf(await d.run(`pmid ${name}`));
    t.truthy(pmid, name);
    pmids.add(pmid);
    t.deepEqual(namesOf(await d.run(`name ${pmid}`)), [name]);
  }
  t.is(pmids.size, sample.length);
  const r = Object.values(await d.fetch('json.s499.v', 'json.wide.g.m999'));
  t.deepEqual(r.map((x) => x.values?.[0]?.value), ['499', '999']);
});
