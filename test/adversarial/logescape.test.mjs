// Issue 21, class 5: what users write reaches json.log only as escapes.
// A terminal reading the log interprets C1 controls (U+0085 is a newline
// to some, U+009B opens a CSI sequence like ESC [), C0 controls and DEL;
// U+2028/U+2029 end lines for JavaScript readers; a lone surrogate cannot
// be written as UTF-8 at all. Names, paths and messages that carry them
// must appear as \uXXXX escapes, and the log must stay valid UTF-8 with
// one line per line.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { IS_ROOT, untrustedWorld, ensureUsers, userSource, mkdirAs, writeAs, session } from './users.mjs';

const serial = IS_ROOT ? test.serial : test.serial.skip;

/** Each hostile character, as it must appear in the log. */
const HOSTILE = [
  ['\u0085', '\\u0085'], ['\u009b', '\\u009b'], ['\u0090', '\\u0090'], ['\u001b', '\\u001b'], ['\u007f', '\\u007f'],
  ['\u2028', '\\u2028'], ['\u2029', '\\u2029'], ['\ud800', '\\ud800'], ['\udfff', '\\udfff'], ['\u202e', '\\u202e'],
];

/** Byte sequences that must never be in the log, by what they are. */
const RAW = [
  ['ESC', [0x1b]], ['DEL', [0x7f]], ['BEL', [0x07]], ['NEL (U+0085)', [0xc2, 0x85]], ['CSI (U+009B)', [0xc2, 0x9b]], ['DCS (U+0090)', [0xc2, 0x90]],
  ['U+2028', [0xe2, 0x80, 0xa8]], ['U+2029', [0xe2, 0x80, 0xa9]], ['U+202E', [0xe2, 0x80, 0xae]],
];

function rawIn(buf) {
  const found = [];
  for (const [what, bytes] of RAW) if (buf.indexOf(Buffer.from(bytes)) >= 0) found.push(what);
  for (let i = 0; i < buf.length - 1; i++) {
    // any other C1 control as UTF-8: C2 80..C2 9F
    if (buf[i] === 0xc2 && buf[i + 1] >= 0x80 && buf[i + 1] <= 0x9f && !found.includes(`C1 ${buf[i + 1].toString(16)}`)) found.push(`C1 ${buf[i + 1].toString(16)}`);
  }
  // C0 controls other than the newline that ends each line
  for (const b of buf) if (b < 0x20 && b !== 0x0a && !found.includes(`C0 ${b}`)) found.push(`C0 ${b}`);
  return found;
}

function validUtf8(buf) {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return true;
  } catch {
    return false;
  }
}

serial('C0, C1, DEL, U+2028/2029, bidi controls and lone surrogates in names, label names and paths reach json.log only as escapes', async (t) => {
  const u = ensureUsers();
  const s = untrustedWorld('adv-logescape');
  const bad = HOSTILE.map(([c], k) => ({ name: `m${k}${c}x`, pointer: `/v`, type: 'integer' }));
  const labels = Object.fromEntries(HOSTILE.map(([c], k) => [`l${k}${c}`, k]));
  // JSON.stringify writes lone surrogates as \ud800 escapes: the PMDA reads them as such
  userSource(s, u.alice, 'esc', { labels, metrics: [{ name: 'ok', pointer: '/v', type: 'integer' }, ...bad] }, { v: 1 });
  // a data file that does not parse, named by a path full of hostile bytes (invalid UTF-8 included)
  const dirName = Buffer.concat([Buffer.from('d'), Buffer.from('\u0085\u009b\u001b[2J\u007f\u2028', 'utf8'), Buffer.from([0xff, 0xfe]), Buffer.from('x')]);
  const odd = Buffer.concat([Buffer.from(s.src + '/'), dirName]);
  fs.mkdirSync(odd);
  fs.chmodSync(odd, 0o755);
  fs.lchownSync(odd, u.alice.uid, u.alice.gid);
  // and a well-named source whose data-path names a file with hostile characters
  const named = mkdirAs(u.alice, path.join(s.src, 'named'));
  writeAs(u.alice, path.join(named, 'metadata.json'), { 'data-path': 'data\u009b\u0085\u2029.json', metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] });
  writeAs(u.alice, path.join(named, 'data\u009b\u0085\u2029.json'), '{"v": ');
  const d = await session(t, s);
  t.regex(await d.run('fetch json.esc.ok'), /value 1\n/, 'the valid metric is served');
  t.regex(await d.run('fetch json.named.v'), /Try again/, 'the broken data file answers "try again"');
  await d.run('fetch json.nsources');
  const log = fs.readFileSync(s.log);
  const text = log.toString('utf8');
  t.log(`json.log: ${log.length} bytes, ${text.split('\n').length - 1} lines`);
  if (process.env.SHOW_LOG) t.log(text);
  t.deepEqual(rawIn(log), [], 'no raw control character is in the log');
  t.true(validUtf8(log), 'the log is valid UTF-8');
  for (const [, escaped] of HOSTILE) t.true(text.includes(escaped), `${escaped} is in the log as an escape`);
  t.true(text.includes('data\\u009b\\u0085\\u2029.json'), 'the data file is named with escapes');
  // every line is a log line: a time stamp and the program name at its start (but pmdaOpenLog's header)
  for (const l of text.split('\n').filter((x) => x && !x.startsWith('Log for '))) t.regex(l, /^\[[^\]]+\] /, `a line of its own: ${JSON.stringify(l.slice(0, 120))}`);
});
