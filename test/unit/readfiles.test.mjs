// The metadata of new sources is read a batch per author
// (src/pmda/sources/read.ts readFilesAs, native/access.cc): each file must
// come back as readFileAs, one file at a time, gives it, with the same
// stamp (a later walk compares it with fs.statSync's, else it would read
// every source again) and the same errors; a batch holds at most about
// 1 MiB of texts at once, and the rest is read by the next call.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { readFilesAs, readFileAs, fileStamp, LimitError } = require('../../dist/pmda/sources/read.js');
const { ROOT, authorOf, OpenError } = require('../../dist/pmda/sources/access.js');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmda-json-readfiles-'));
fs.chmodSync(dir, 0o755);
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Read `files` with readFilesAs, in order, as `author`. */
function readAll(author, files, max = Infinity) {
  const out = [];
  readFilesAs(author, files, max, (i, r) => out.push([i, r]));
  return out;
}

test('each file as readFileAs reads it: its text and a stamp equal to what fs.statSync gives; over 1 MiB of texts, in more than one call, in order', (t) => {
  const files = [];
  for (let i = 0; i < 40; i++) {
    const f = path.join(dir, `m${i}.json`);
    // 40 files of 64 KiB and more: 2.5 MiB, more than one batch holds
    fs.writeFileSync(f, `{"i": ${i}, "pad": "${'x'.repeat(65536 + i)}", "é": "ü"}`);
    files.push(f);
  }
  const got = readAll(ROOT, files);
  t.deepEqual(got.map(([i]) => i), files.map((_, i) => i));
  for (const [i, r] of got) {
    const one = readFileAs(ROOT, files[i], Infinity);
    t.is(r.text, fs.readFileSync(files[i], 'utf8'));
    t.is(one.text, r.text);
    t.is(one.stamp, r.stamp);
    t.is(r.stamp, fileStamp(fs.statSync(files[i])));
  }
});

test('errors as readFileAs gives them: missing, not a regular file, over the limit', (t) => {
  const small = path.join(dir, 'small.json');
  fs.writeFileSync(small, '{}');
  const big = path.join(dir, 'big.json');
  fs.writeFileSync(big, 'x'.repeat(100));
  const fifo = path.join(dir, 'fifo.json');
  execFileSync('mkfifo', [fifo]);
  const got = readAll(ROOT, [path.join(dir, 'none.json'), fifo, big, small], 50);
  t.true(got[0][1] instanceof OpenError);
  t.is(got[0][1].code, 'ENOENT');
  t.true(got[1][1] instanceof OpenError);
  t.is(got[1][1].code, 'ENOTREG');
  t.true(got[2][1] instanceof LimitError);
  t.is(got[2][1].message, `${big} is 100 bytes, more than the limit of 50 (max_data_bytes)`);
  t.is(got[3][1].text, '{}');
});

test('as another user: a file they cannot read is refused with EACCES, one they can is read', (t) => {
  if (process.getuid() !== 0) return t.pass('needs root');
  const nobody = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
  const secret = path.join(dir, 'secret.json');
  fs.writeFileSync(secret, '{"secret": 1}');
  fs.chmodSync(secret, 0o600);
  const open = path.join(dir, 'open.json');
  fs.writeFileSync(open, '{"open": 1}');
  fs.chmodSync(open, 0o644);
  const got = readAll(authorOf(nobody), [secret, open]);
  t.true(got[0][1] instanceof OpenError);
  t.is(got[0][1].code, 'EACCES');
  t.is(got[1][1].text, '{"open": 1}');
  // and the PMDA's own credentials are back: root reads the secret
  t.is(readAll(ROOT, [secret])[0][1].text, '{"secret": 1}');
});
