// Issue 21, class 4: labels must not flood the log. A label set libpcp
// would refuse (more than 64 KiB of JSON, more than 255 labels, a name of
// 255 bytes or more) is bounded when metadata.json is read: what does not
// fit is dropped with one log line naming the metadata file, once -- not the
// whole JSON at every label request, and not libpcp's own 65 KB line. What
// fits is still served, and so are the labels of every other source.
import test from 'ava';
import { IS_ROOT, untrustedWorld, ensureUsers, userSource, session, size, logBody } from './users.mjs';
import { parseDesc } from '../helpers/harness.mjs';

const serial = IS_ROOT ? test.serial : test.serial.skip;
const KiB = 1024;
/** Label requests of each kind made against each hostile source. */
const N = 50;

/** Metadata of one metric `v`, with `labels` for the source and `metricLabels` for `v`. */
const V = (/** @type {{ labels?: object, metricLabels?: object }} */ { metricLabels, ...extra } = {}) => ({ ...extra, metrics: [{ name: 'v', pointer: '/v', type: 'integer', ...(metricLabels ? { labels: metricLabels } : {}) }] });

async function clusterOf(d, name) {
  return parseDesc(await d.run(`desc ${name}`)).pmid.split('.').slice(0, 2).join('.');
}

/** The log lines (bodies) that mention `text` and, past the scratch directory's name, labels. */
function linesAbout(s, text) {
  return logBody(s.logText()).filter((l) => l.includes(text) && /label/.test(l.replaceAll(s.dir, '')));
}

serial(`a 100 KB label set, 300 labels and a 300-byte label name: ${N} label requests each add at most one bounded line per problem, other sources' labels are served`, async (t) => {
  const u = ensureUsers();
  const s = untrustedWorld('adv-labels');
  // alice: a source label of 100 KB, a metric label of 100 KB, beside small ones that fit
  const huge = userSource(s, u.alice, 'huge', {
    labels: { team: 'a', blob: 'x'.repeat(100 * KiB) },
    metrics: [{ name: 'v', pointer: '/v', type: 'integer', labels: { unit_hint: 'ops', blob: 'y'.repeat(100 * KiB) } }],
  }, { v: 1 });
  // alice: 300 labels on the source and on a metric (PCP takes 254 in a set)
  const many = Object.fromEntries(Array.from({ length: 300 }, (_, k) => [`l${k}`, k]));
  const crowd = userSource(s, u.alice, 'crowd', V({ labels: many, metricLabels: many }), { v: 2 });
  // alice: a name of 300 letters (PCP's names are shorter than 255 bytes)
  const longName = userSource(s, u.alice, 'longname', V({ labels: { [`n${'x'.repeat(299)}`]: 1, short: 2 } }), { v: 3 });
  // alice: a metric label set of exactly the 65533 bytes of JSON PCP takes, and one of a byte more
  const edge = 65533 - '{"edge":""}'.length;
  userSource(s, u.alice, 'edge', { metrics: [
    { name: 'v', pointer: '/v', type: 'integer', labels: { edge: 'e'.repeat(edge) } },
    { name: 'w', pointer: '/v', type: 'integer', labels: { edge: 'f'.repeat(edge + 1) } },
  ] }, { v: 5 });
  // bob: a source whose labels are fine
  userSource(s, u.bob, 'good', V({ labels: { team: 'web' }, metricLabels: { unit_hint: 'req' } }), { v: 4 });

  const d = await session(t, s);
  await d.run('fetch json.huge.v json.crowd.v json.longname.v json.good.v');
  const clusters = {};
  for (const n of ['huge', 'crowd', 'longname', 'good']) clusters[n] = await clusterOf(d, `json.${n}.v`);
  const before = size(s.log);
  const outs = {};
  for (let i = 0; i < N; i++) {
    for (const n of ['huge', 'crowd', 'longname', 'good']) {
      outs[`cluster ${n}`] = await d.run(`label cluster ${clusters[n]}`, 20000);
      outs[`item ${n}`] = await d.run(`label item json.${n}.v`, 20000);
    }
  }
  const grown = size(s.log) - before;
  t.log(`${N} x 8 label requests: the log grew by ${grown} bytes after the first fetch; ${size(s.log)} bytes in all`);
  t.true(grown < 1 * KiB, `label requests add nothing to the log (it grew by ${grown} bytes)`);
  t.true(size(s.log) < 16 * KiB, `the whole log is ${size(s.log)} bytes`);
  for (const l of logBody(s.logText())) t.true(l.length <= 4200, `a log line of ${l.length} characters: ${l.slice(0, 200)}`);
  t.false(/x{1000}|y{1000}/.test(s.logText()), 'no label value is copied into the log');
  t.false(/pmdaAddLabels/.test(s.logText()), 'libpcp logs no refused label set of its own');

  // one line per problem, naming the metadata file
  const meta = (dir) => `${dir}/metadata.json`;
  t.is(linesAbout(s, meta(huge)).length, 2, `one line each for the source's and the metric's 100 KB label:\n${linesAbout(s, meta(huge)).join('\n')}`);
  t.is(linesAbout(s, meta(crowd)).length, 2, `one line each for the source's and the metric's 300 labels:\n${linesAbout(s, meta(crowd)).join('\n')}`);
  t.is(linesAbout(s, meta(longName)).length, 1, `one line for the long name:\n${linesAbout(s, meta(longName)).join('\n')}`);

  // what fits is served; other sources' labels are served whole
  t.regex(outs['cluster huge'], /team="a"/);
  t.regex(outs['cluster huge'], /source="huge"/);
  t.regex(outs['item huge'], /unit_hint="ops"/);
  t.regex(outs['cluster crowd'], /source="crowd"/);
  t.regex(outs['cluster crowd'], /l0=0/);
  t.regex(outs['item crowd'], /l253=253/);
  t.regex(outs['cluster longname'], /short=2/);
  const atLimit = await d.run('label item json.edge.v', 20000);
  t.true(atLimit.includes(`edge="${'e'.repeat(edge)}"`), 'a set of 65533 bytes of JSON is served whole');
  t.notRegex(await d.run('label item json.edge.w', 20000), /edge=/, 'a set of a byte more is not');
  t.regex(outs['cluster good'], /team="web"/);
  t.regex(outs['cluster good'], /source="good"/);
  t.regex(outs['item good'], /unit_hint="req"/);
  t.regex(await d.run('fetch json.good.v'), /value 4\n/, 'the PMDA answers on');
});

serial(`instance labels from the data of 100 KB each: ${N} label requests add at most one line, other instances keep their labels`, async (t) => {
  const u = ensureUsers();
  const s = untrustedWorld('adv-labels');
  const meta = {
    metrics: [{ name: 'disk', pointer: '/disks', type: 'array', index: '/name', 'instance-labels': { model: '/model' },
      metrics: [{ name: 'busy', pointer: '/busy', type: 'integer' }] }],
  };
  const dir = userSource(s, u.alice, 'disks', meta, { disks: [{ name: 'sda', model: 'X1', busy: 1 }, { name: 'sdb', model: 'z'.repeat(100 * KiB), busy: 2 }] });
  userSource(s, u.bob, 'gooddisks', meta, { disks: [{ name: 'sda', model: 'B1', busy: 3 }] });
  const d = await session(t, s);
  await d.run('fetch json.disks.disk.busy json.gooddisks.disk.busy');
  const indom = parseDesc(await d.run('desc json.disks.disk.busy')).indom;
  const goodIndom = parseDesc(await d.run('desc json.gooddisks.disk.busy')).indom;
  const before = size(s.log);
  let out = '';
  let good = '';
  for (let i = 0; i < N; i++) {
    out = await d.run(`label instances ${indom}`, 20000);
    good = await d.run(`label instances ${goodIndom}`, 20000);
  }
  const grown = size(s.log) - before;
  t.log(`${N} x 2 instance label requests: the log grew by ${grown} bytes`);
  t.true(grown < 1 * KiB, `the log grew by ${grown} bytes`);
  t.false(/z{1000}/.test(s.logText()), 'no label value is copied into the log');
  t.false(/pmdaAddLabels/.test(s.logText()), 'libpcp logs no refused label set of its own');
  const lines = linesAbout(s, dir);
  t.is(lines.length, 1, `one line about the instance labels:\n${lines.join('\n')}`);
  t.regex(out, /model="X1"/, 'the instance whose labels fit keeps them');
  t.regex(good, /model="B1"/, "bob's instances keep their labels");
});
