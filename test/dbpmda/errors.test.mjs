// Errors never stop the PMDA: bad metadata entries are skipped, a broken
// source answers PM_ERR_AGAIN while the others serve, and every problem is
// logged once, naming the file and what is wrong.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { Scratch, metricValues, session } from '../helpers/harness.mjs';

const count = (text, needle) => text.split(needle).length - 1;
const ok = { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] };

// a metadata literal shaped like those of serving.test.mjs and check.test.mjs: each test's metrics are its own
test('an invalid metadata entry is skipped with one log line; its siblings are served', async (t) => {
  const s = new Scratch();
  const dir = s.source('m', {
    metrics: [
      { name: 'good', pointer: '/good', type: 'integer' },
      { name: 'bad-name', pointer: '/x', type: 'integer' },
      { name: 'worse', pointer: '/x', type: 'complex' },
      { name: 'also_good', pointer: '/s', type: 'string' },
    ],
  }, { good: 1, s: 'yes' });
  const d = await session(t, s);
  for (let i = 0; i < 3; i++) {
    const r = await d.fetch('json.m.good', 'json.m.also_good');
    t.deepEqual(Object.values(r).map((x) => x.values[0].value), ['1', '"yes"']);
  }
  const log = s.logText();
  const file = path.join(dir, 'metadata.json');
  t.is(count(log, `${file}: metrics[1]: skipping metric with invalid name 'bad-name'`), 1);
  t.is(count(log, `${file}: metrics[2]: skipping metric 'worse': unknown type "complex"`), 1);
});

test('a broken data file answers PM_ERR_AGAIN until fixed, logged once, others keep serving', async (t) => {
  const s = new Scratch();
  const dir = s.source('broken', ok, '{"v": 1');
  s.source('fine', ok, { v: 2 });
  const d = await session(t, s);
  for (let i = 0; i < 5; i++) {
    const r = await d.fetch('json.broken.v', 'json.fine.v');
    const [b, f] = Object.values(r);
    t.regex(b.error, /Try again/);
    t.is(f.values[0].value, '2');
  }
  const file = path.join(dir, 'data.json');
  t.is(count(s.logText(), `cannot parse data file ${file}`), 1, s.logText());
  s.data('broken', { v: 3 });
  t.is(Object.values(await d.fetch('json.broken.v'))[0].values[0].value, '3');
  t.is(count(s.logText(), `data file ${file} is readable again`), 1);
  // broken again: logged again (the problem came back)
  s.data('broken', '[');
  t.regex(Object.values(await d.fetch('json.broken.v'))[0].error, /Try again/);
  t.is(count(s.logText(), `cannot parse data file ${file}`), 2);
});

test('a missing data file answers PM_ERR_AGAIN with one log line', async (t) => {
  const s = new Scratch();
  const dir = s.source('nodata', ok);
  const d = await session(t, s);
  for (let i = 0; i < 3; i++) t.regex(Object.values(await d.fetch('json.nodata.v'))[0].error, /Try again/);
  t.is(count(s.logText(), `cannot read data file ${path.join(dir, 'data.json')}`), 1);
  s.data('nodata', { v: 9 });
  t.is(Object.values(await d.fetch('json.nodata.v'))[0].values[0].value, '9');
});

test('values of the wrong type or missing are reported once and answer no value', async (t) => {
  const s = new Scratch();
  s.source('w', { metrics: [{ name: 'i', pointer: '/i', type: 'integer' }, { name: 'gone', pointer: '/nope', type: 'integer' }, { name: 'ok', pointer: '/ok', type: 'integer' }] }, { i: 'twelve', ok: 1 });
  const d = await session(t, s);
  for (let i = 0; i < 3; i++) {
    const [a, b, c] = Object.values(await d.fetch('json.w.i', 'json.w.gone', 'json.w.ok'));
    t.regex(a.error, /Missing metric value/);
    t.regex(b.error, /Missing metric value/);
    t.is(c.values[0].value, '1');
  }
  const log = s.logText();
  t.is(count(log, "metric 'i' at pointer '/i': expected an integer, found a string"), 1);
  t.is(count(log, "metric 'gone' at pointer '/nope': no value"), 1);
});

test('unparsable metadata, clashing names and directories named metadata.json do not stop the PMDA', async (t) => {
  const s = new Scratch();
  s.source('badmeta', '{"metrics": [');
  s.source('dup1', { prefix: 'same', ...ok }, { v: 1 });
  s.source('dup2', { prefix: 'same', ...ok }, { v: 2 });
  s.source('reserved', { prefix: 'nsources', ...ok }, { v: 1 });
  fs.mkdirSync(path.join(s.src, 'dirmeta', 'metadata.json'), { recursive: true });
  s.source('good', ok, { v: 5 });
  const d = await session(t, s);
  for (let i = 0; i < 3; i++) t.is(Object.values(await d.fetch('json.good.v'))[0].values[0].value, '5');
  t.is(Object.values(await d.fetch('json.same.v'))[0].values[0].value, '1', 'the first of two same-named sources wins');
  t.is(Object.values(await d.fetch('json.nsources'))[0].values[0].value, '2');
  const log = s.logText();
  t.is(count(log, `cannot parse ${path.join(s.src, 'badmeta', 'metadata.json')}`), 1);
  t.is(count(log, `skipping source ${path.join(s.src, 'dup2')}: a source named 'same' already exists`), 1);
  t.is(count(log, "source name 'nsources' is reserved"), 1);
});

test('a missing or invalid config.json is logged and the PMDA still answers', async (t) => {
  const s = new Scratch();
  s.config('{"directory_list": "not a list", "surprise": true}');
  const d = await session(t, s);
  t.is(Object.values(await d.fetch('json.nsources'))[0].values[0].value, '0');
  const log = s.logText();
  t.regex(log, /invalid 'directory_list': expected a list/);
  t.regex(log, /ignoring unknown config option 'surprise'/);
  const s2 = new Scratch();
  fs.rmSync(path.join(s2.pmdas, 'json', 'config.json'));
  const d2 = await session(t, s2);
  t.is(Object.values(await d2.fetch('json.nsources'))[0].values[0].value, '0');
  t.regex(s2.logText(), /cannot read .*config\.json/);
});

test('after a document that does not parse, the same rows as before are served again', async (t) => {
  const s = new Scratch();
  const good = '{"rows": [{"id": "a", "v": 1}, {"id": "b", "v": 9223372036854775807}]}';
  const dir = s.source('r', { metrics: [{ name: 'rows', pointer: '/rows', type: 'array', index: '/id', metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }] }, good);
  const d = await session(t, s);
  t.deepEqual(await metricValues(d, 'json.r.rows.v'), { a: '1', b: '9223372036854775807' });
  fs.writeFileSync(path.join(dir, 'data.json'), '{"rows": [');
  t.regex((await metricValues(d, 'json.r.rows.v')).error, /No values|Try again/i);
  // the instance names are those of the last good document: the rows come back with them
  fs.writeFileSync(path.join(dir, 'data.json'), good);
  t.deepEqual(await metricValues(d, 'json.r.rows.v'), { a: '1', b: '9223372036854775807' });
});
