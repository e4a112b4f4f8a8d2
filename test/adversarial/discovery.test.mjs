// Discovery shared out by user: a user who makes thousands of directories
// in the world-writable directory uses up only their own share of a walk
// (src/pmda/sources/discovery.ts), so another user's source, however deep, is
// still found.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { Scratch } from '../helpers/harness.mjs';
import { IS_ROOT, ensureUsers, userSource, session, fetchNames, one } from './users.mjs';

const serial = IS_ROOT ? test.serial : test.serial.skip;

serial("10,001 directories of one user right in the source directory do not hide another user's source two levels down", async (t) => {
  const u = ensureUsers();
  const s = new Scratch('adv-disc');
  fs.chmodSync(s.src, 0o1777);
  s.config({ directory_list: [s.src], trusted_directory_list: [s.trusted] });
  for (let i = 0; i < 10001; i++) {
    const dir = path.join(s.src, `bob${String(i).padStart(5, '0')}`);
    fs.mkdirSync(dir);
    fs.chownSync(dir, u.bob.uid, u.bob.gid);
  }
  // alice's tree sorts after bob's directories, and her source is a level down
  const home = path.join(s.src, 'zz_alice');
  fs.mkdirSync(home);
  fs.chownSync(home, u.alice.uid, u.alice.gid);
  userSource(s, u.alice, 'app', { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }, { v: 42 }, { under: home });
  const d = await session(t, s);
  const r = await fetchNames(d, ['json.app.v'], 30000);
  t.is(one(r['json.app.v']), '42', `alice's source is served:\n${r._out}`);
});
