import test from 'ava';
import { Scratch, Dbpmda } from '../helpers/harness.mjs';

test('serves a source through dbpmda', async (t) => {
  const s = new Scratch();
  s.source('simple', { metrics: [{ name: 'a', pointer: '/a', type: 'integer' }] }, { a: 7 });
  const d = new Dbpmda(s);
  await d.ready;
  const r = await d.fetch('json.simple.a');
  t.deepEqual(Object.values(r)[0].values, [{ inst: null, value: '7' }]);
  await d.close();
  s.cleanup();
});
