// A data file that did not change is not opened again at each fetch: once
// it has stayed the same for a second, it is kept open and checked with one fstat, while inotify reports nothing
// that may make its name lead elsewhere (src/pmda/sources/datafile.ts). Every
// way of changing the data must still show at the next fetch, and the
// files kept open must not hold on to what was deleted.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { Scratch, metricValues, pmdaPid, session, sleep, waitFor } from '../helpers/harness.mjs';

const META = { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] };
// the same length for every g below 10: a rewrite in place keeps the size
const text = (g) => `{"v": ${9223372036854775800n + BigInt(g)}}`;
const value = (g) => ({ null: String(9223372036854775800n + BigInt(g)) });

/** What the PMDA holds open below `dir`, as /proc shows it. */
function openBelow(pid, dir) {
  const out = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (target.startsWith(dir)) out.push(target);
    } catch {
      /* closed meanwhile */
    }
  }
  return out.sort();
}

/** Fetch `name` until its file is kept open: once it has stayed the same for a second. */
async function settle(d, name) {
  await d.fetch(name);
  await sleep(1100);
  return metricValues(d, name);
}

/** A session with one source, app, serving text(g), its file settled (checked to serve value(g)). */
async function settledApp(t, g) {
  const s = new Scratch();
  const dir = s.source('app', META, text(g));
  const d = await session(t, s);
  t.deepEqual(await settle(d, 'json.app.v'), value(g));
  return { s, dir, d };
}

async function refreshes(d, name) {
  return Number((await metricValues(d, 'json.control.refreshes'))[name]);
}

test('a file rewritten in place by a writer that keeps it open is seen at the next fetch', async (t) => {
  const { dir, d } = await settledApp(t, 0);
  const fd = fs.openSync(path.join(dir, 'data.json'), 'r+');
  t.teardown(() => fs.closeSync(fd));
  for (let g = 1; g <= 5; g++) {
    // no close, so no IN_CLOSE_WRITE: only the file's own times say it changed
    fs.writeSync(fd, text(g), 0);
    t.deepEqual(await metricValues(d, 'json.app.v'), value(g), `write ${g}`);
  }
});

test('a file read less than a second ago, not kept open yet, and rewritten in place is seen at the next fetch', async (t) => {
  // each fetch finds the file changed since the last: it is never kept,
  // and each time only lstat, not a new open, could say it had not changed
  const s = new Scratch();
  const dir = s.source('app', META, text(0));
  const d = await session(t, s);
  t.deepEqual(await metricValues(d, 'json.app.v'), value(0));
  const fd = fs.openSync(path.join(dir, 'data.json'), 'r+');
  t.teardown(() => fs.closeSync(fd));
  for (let g = 1; g <= 5; g++) {
    // past the file system's clock tick: the write gives the file a new time
    await sleep(30);
    fs.writeSync(fd, text(g), 0);
    t.deepEqual(await metricValues(d, 'json.app.v'), value(g), `write ${g}`);
    t.deepEqual(await metricValues(d, 'json.app.v'), value(g), `write ${g}, fetched again`);
  }
  t.is(await refreshes(d, 'app'), 6, 'read once per write');
});

test('a file written through a hard link in another directory is seen at the next fetch', async (t) => {
  const s = new Scratch();
  const dir = s.source('app', META, text(0));
  const elsewhere = path.join(s.dir, 'elsewhere');
  fs.mkdirSync(elsewhere);
  fs.linkSync(path.join(dir, 'data.json'), path.join(elsewhere, 'data.json'));
  const d = await session(t, s);
  t.deepEqual(await settle(d, 'json.app.v'), value(0));
  for (let g = 1; g <= 3; g++) {
    fs.writeFileSync(path.join(elsewhere, 'data.json'), text(g));
    t.deepEqual(await metricValues(d, 'json.app.v'), value(g), `write ${g} through the other link`);
  }
});

test('a hard link made after the file was kept, and written through, is seen at the next fetch', async (t) => {
  // the kept file's inode is watched: its events come whichever name it is written through
  const { s, dir, d } = await settledApp(t, 0);
  const elsewhere = path.join(s.dir, 'elsewhere');
  fs.mkdirSync(elsewhere);
  fs.linkSync(path.join(dir, 'data.json'), path.join(elsewhere, 'data.json'));
  t.deepEqual(await metricValues(d, 'json.app.v'), value(0));
  const fd = fs.openSync(path.join(elsewhere, 'data.json'), 'r+');
  t.teardown(() => fs.closeSync(fd));
  for (let g = 1; g <= 3; g++) {
    fs.writeSync(fd, text(g), 0);
    t.deepEqual(await metricValues(d, 'json.app.v'), value(g), `write ${g} through the later link`);
    // kept again after a second unchanged
    await sleep(1100);
    t.deepEqual(await metricValues(d, 'json.app.v'), value(g));
  }
});

test('two sources whose data files are one file (hard links) both see a write, also after one of them went', async (t) => {
  // one inode, one watch, held by both kept files
  const s = new Scratch();
  const a = s.source('a', META, text(0));
  const b = s.source('b', META);
  fs.linkSync(path.join(a, 'data.json'), path.join(b, 'data.json'));
  const d = await session(t, s);
  await d.fetch('json.a.v', 'json.b.v');
  await sleep(1100);
  await d.fetch('json.a.v', 'json.b.v');
  const fd = fs.openSync(path.join(b, 'data.json'), 'r+');
  t.teardown(() => fs.closeSync(fd));
  fs.writeSync(fd, text(1), 0);
  t.deepEqual(await metricValues(d, 'json.a.v'), value(1));
  t.deepEqual(await metricValues(d, 'json.b.v'), value(1));
  await sleep(1100);
  await d.fetch('json.a.v', 'json.b.v');
  fs.rmSync(a, { recursive: true });
  await d.fetch('json.b.v');
  await sleep(1100);
  await d.fetch('json.b.v');
  fs.writeSync(fd, text(2), 0);
  t.deepEqual(await metricValues(d, 'json.b.v'), value(2), 'the other source keeps its watch');
});

test('a data file that is a link is not kept: swapping the directory it leads into is seen', async (t) => {
  const s = new Scratch();
  const dir = s.source('app', META);
  const a = path.join(s.dir, 'a');
  const b = path.join(s.dir, 'b');
  fs.mkdirSync(a);
  fs.mkdirSync(b);
  fs.writeFileSync(path.join(a, 'data.json'), text(1));
  fs.writeFileSync(path.join(b, 'data.json'), text(2));
  fs.symlinkSync(path.join(s.dir, 'current', 'data.json'), path.join(dir, 'data.json'));
  fs.symlinkSync(a, path.join(s.dir, 'current'));
  const d = await session(t, s);
  t.deepEqual(await settle(d, 'json.app.v'), value(1));
  // nothing in the source's directory changes: only the link it leads through
  fs.symlinkSync(b, path.join(s.dir, 'current.new'));
  fs.renameSync(path.join(s.dir, 'current.new'), path.join(s.dir, 'current'));
  t.deepEqual(await metricValues(d, 'json.app.v'), value(2));
  t.deepEqual([...openBelow(pmdaPid(s), a), ...openBelow(pmdaPid(s), b)], [], 'nothing reached through a link is kept open');
});

test('a source directory replaced by another with the same metadata.json serves the new one\'s data', async (t) => {
  const { s, dir, d } = await settledApp(t, 1);
  const next = path.join(s.dir, 'next');
  fs.mkdirSync(next);
  // a hard link: the metadata is the same file, so the source is not made again
  fs.linkSync(path.join(dir, 'metadata.json'), path.join(next, 'metadata.json'));
  fs.writeFileSync(path.join(next, 'data.json'), text(2));
  fs.renameSync(dir, path.join(s.dir, 'old'));
  fs.renameSync(next, dir);
  t.deepEqual(await metricValues(d, 'json.app.v'), value(2));
});

test('an unchanged file is read once, and the PMDA keeps one descriptor per source and none of a file replaced', async (t) => {
  const s = new Scratch();
  const names = Array.from({ length: 20 }, (_, i) => `s${i}`);
  for (const n of names) s.source(n, META, text(0));
  const d = await session(t, s);
  const all = names.map((n) => `json.${n}.v`);
  await d.fetch(...all);
  await sleep(1100);
  for (let i = 0; i < 4; i++) await d.fetch(...all);
  const counts = (await metricValues(d, 'json.control.refreshes'));
  t.deepEqual(names.map((n) => Number(counts[n])), names.map(() => 1), 'five fetches, one read each');
  const pid = pmdaPid(s);
  t.is(openBelow(pid, s.src).length, names.length, 'one descriptor per source');
  // replaced files: the old ones are deleted, and must not stay allocated
  for (const n of names) {
    fs.writeFileSync(path.join(s.src, n, 'data.json.tmp'), text(3));
    fs.renameSync(path.join(s.src, n, 'data.json.tmp'), path.join(s.src, n, 'data.json'));
  }
  t.deepEqual(await metricValues(d, 'json.s7.v'), value(3));
  // (closed when the event is read, between PDUs or at the fetch)
  await waitFor('no descriptor of a deleted file', () => openBelow(pid, s.src).every((f) => !f.endsWith('(deleted)')), 5000, 50);
  t.is(await refreshes(d, 's7'), 2);
});

// (a file its untrusted author can no longer read: faults.test.mjs, "permissions changed under it")
test('a file removed is gone at the next fetch, though it was kept open', async (t) => {
  const { s, dir, d } = await settledApp(t, 1);
  fs.rmSync(path.join(dir, 'data.json'));
  const r = await d.fetch('json.app.v');
  t.truthy(Object.values(r)[0].error, 'no value once the file is gone');
  await waitFor('the descriptor closed', () => openBelow(pmdaPid(s), s.src).length === 0, 5000, 50);
});

test('sources that go and come take the places of the stamps of those gone: each keeps serving its own file', async (t) => {
  const s = new Scratch();
  // text(g) for g of 0-7: 8 and up are beyond INT64_MAX
  const names = Array.from({ length: 12 }, (_, k) => `s${k}`);
  for (const [k, n] of names.entries()) s.source(n, META, text(k % 8));
  const d = await session(t, s);
  for (const n of names) await d.fetch(`json.${n}.v`);
  await sleep(1100);
  for (const [k, n] of names.entries()) t.deepEqual(await metricValues(d, `json.${n}.v`), value(k % 8), n);
  // half of them go; as many new ones come, and take their places
  for (const n of names.filter((_, k) => k % 2 === 1)) s.remove(n);
  await d.fetch('json.s0.v');
  const fresh = Array.from({ length: 6 }, (_, k) => `n${k}`);
  for (const [k, n] of fresh.entries()) s.source(n, META, text((k + 3) % 8));
  for (const [k, n] of fresh.entries()) t.deepEqual(await metricValues(d, `json.${n}.v`), value((k + 3) % 8), n);
  // every file left changes (in place: the same size): each source shows its own
  const left = [...names.filter((_, k) => k % 2 === 0), ...fresh];
  for (const [k, n] of left.entries()) fs.writeFileSync(path.join(s.src, n, 'data.json'), text((k + 5) % 8));
  for (const [k, n] of left.entries()) t.deepEqual(await metricValues(d, `json.${n}.v`), value((k + 5) % 8), n);
  // and, unchanged, each is read no more: no two of them share a place
  const all = left.map((n) => `json.${n}.v`);
  await sleep(1100);
  await d.fetch(...all);
  const before = await metricValues(d, 'json.control.refreshes');
  for (let i = 0; i < 3; i++) await d.fetch(...all);
  const after = await metricValues(d, 'json.control.refreshes');
  t.deepEqual(left.map((n) => after[n]), left.map((n) => before[n]), 'three more fetches, no read');
});

test('a file kept open and unchanged is current whenever it is fetched: its data_age stays near 0, and it is not read again', async (t) => {
  const { d } = await settledApp(t, 2);
  const base = await refreshes(d, 'app');
  for (let i = 0; i < 3; i++) {
    await sleep(1000);
    t.deepEqual(await metricValues(d, 'json.app.v'), value(2));
    const [age] = Object.values(await d.fetch('json.control.data_age'));
    t.true(Number(age.values[0].value) < 0.9, `data_age ${age.values[0].value} s just after a fetch, ${i + 2} s after the file was kept`);
  }
  t.is(await refreshes(d, 'app'), base, 'not read again');
});
