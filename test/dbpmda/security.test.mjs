// Untrusted sources cannot read what their author could not: the
// root-only-file attack on pmdajson yields nothing here.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { Scratch, session } from '../helpers/harness.mjs';

const nobody = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:')).split(':').slice(2, 4).map(Number);
const meta = (dataPath) => ({ 'data-path': dataPath, metrics: [{ name: 'auth', pointer: '/auths/registry/auth', type: 'string' }] });

// needs root: skipped (ava's skip) where that is not so
(process.getuid() === 0 ? test : test.skip)("a user's metadata.json cannot point data-path at a root-only file, directly or by symlink", async (t) => {
  const s = new Scratch();
  fs.chmodSync(s.src, 0o1777);
  const secret = path.join(s.dir, 'config.json');
  fs.writeFileSync(secret, JSON.stringify({ auths: { registry: { auth: 'c2VjcmV0OnBhc3N3b3Jk' } } }), { mode: 0o600 });
  const direct = s.source('direct', meta(secret));
  const linked = s.source('linked', meta('data.json'));
  fs.symlinkSync(secret, path.join(linked, 'data.json'));
  // a file the user may read is served as usual
  const own = s.source('own', meta('mine.json'));
  fs.writeFileSync(path.join(own, 'mine.json'), JSON.stringify({ auths: { registry: { auth: 'mine' } } }), { mode: 0o600 });
  for (const dir of [direct, linked, own]) {
    for (const f of fs.readdirSync(dir)) fs.lchownSync(path.join(dir, f), nobody[0], nobody[1]);
    fs.chownSync(dir, nobody[0], nobody[1]);
  }
  const d = await session(t, s);
  const [a, b, c] = Object.values(await d.fetch('json.direct.auth', 'json.linked.auth', 'json.own.auth'));
  t.regex(a.error, /Try again/);
  t.regex(b.error, /Try again/);
  t.is(c.values[0].value, '"mine"');
  const out = await d.run('fetch json.direct.auth json.linked.auth');
  t.notRegex(out + s.logText(), /c2VjcmV0/, 'the secret appears nowhere');
  t.regex(s.logText(), new RegExp(`cannot read data file ${secret} as nobody, the owner of ${direct}/metadata.json: permission denied`));
});

// needs root: skipped (ava's skip) where that is not so
(process.getuid() === 0 ? test : test.skip)('trusted sources may read root-only files', async (t) => {
  const s = new Scratch();
  const secret = path.join(s.dir, 'root-only.json');
  fs.writeFileSync(secret, JSON.stringify({ auths: { registry: { auth: 'ok' } } }), { mode: 0o600 });
  s.source('t', meta(secret), undefined, { under: s.trusted });
  const d = await session(t, s);
  t.is(Object.values(await d.fetch('json.t.auth'))[0].values[0].value, '"ok"');
});
