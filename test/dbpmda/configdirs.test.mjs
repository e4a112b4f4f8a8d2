// A directory listed in config.json that does not exist: the PMDA says so
// in its log, once, however many fetches look for it; once it is made,
// its sources are served.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { Scratch, session, writeJson } from '../helpers/harness.mjs';

test('a configured directory that does not exist is logged once; its sources are served once it is made', async (t) => {
  const s = new Scratch('configdirs');
  const later = path.join(s.dir, 'later');
  const trusted = path.join(s.dir, 'not-there');
  s.config({ directory_list: [s.src, later], trusted_directory_list: [trusted] });
  s.source('here', { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }, '{"v": 1}');
  const d = await session(t, s);
  for (let i = 0; i < 3; i++) t.is(Object.values(await d.fetch('json.here.v'))[0].values[0].value, '1');

  const log = s.logText();
  const missing = log.split('\n').filter((l) => l.includes('does not exist'));
  t.deepEqual(missing.map((l) => l.replace(/^.*Warning: /, '')), [
    `trusted_directory_list entry ${trusted} does not exist: no source is found there until it is made`,
    `directory_list entry ${later} does not exist: no source is found there until it is made`,
  ]);

  fs.mkdirSync(path.join(later, 'late'), { recursive: true });
  writeJson(path.join(later, 'late', 'metadata.json'), { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] });
  fs.writeFileSync(path.join(later, 'late', 'data.json'), '{"v": 2}');
  t.is(Object.values(await d.fetch('json.late.v'))[0].values[0].value, '2');
});
