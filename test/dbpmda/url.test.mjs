// data-url sources: HTTP, HTTPS-less loopback and HTTP over a Unix socket,
// against real servers started here (127.0.0.1 and a socket file), with
// headers from a root-only file; untrusted sources only by opt-in, to
// this host only, and as their author.
import test from 'ava';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Scratch, session } from '../helpers/harness.mjs';

const asRoot = process.getuid() === 0;
const rootTest = asRoot ? test.serial : test.skip;
const nobody = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:')).split(':').slice(2, 4).map(Number);
const META = (url, extra = {}) => ({ 'data-url': url, ...extra, metrics: [{ name: 'v', pointer: '/v', type: 'integer' }, { name: 'who', pointer: '/who', type: 'string' }] });

/**
 * A real HTTP server on 127.0.0.1 or a Unix socket; `seen` collects request headers.
 * @param {import('ava').ExecutionContext} t
 * @param {{ socket?: string, hang?: boolean }} [options] a socket file to listen on instead; never to answer
 */
async function server(t, { socket, hang = false } = {}) {
  const seen = [];
  const srv = http.createServer((req, res) => {
    seen.push({ url: req.url, headers: req.headers });
    if (hang) return; // never answers
    if (req.url === '/missing') {
      res.writeHead(404);
      return res.end('no');
    }
    res.setHeader('content-type', 'application/json');
    res.end(`{"v": 9223372036854775807, "who": ${JSON.stringify(req.headers.authorization ?? 'anonymous')}}`);
  });
  await /** @type {Promise<void>} */ (new Promise((r) => (socket ? srv.listen(socket, r) : srv.listen(0, '127.0.0.1', r))));
  t.teardown(() => new Promise((r) => { srv.closeAllConnections?.(); srv.close(() => r()); }));
  return { seen, base: socket ? `http+unix://${encodeURIComponent(socket)}` : `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (srv.address()).port}` };
}

/**
 * A scratch tree whose fetches wait up to 5 s for a data-url (the default
 * exec_wait is 0.5 s): its helper is a node process, which a loaded
 * machine starts slowly, and these tests are about what a fetch gets.
 */
function patient(extra = {}) {
  const s = new Scratch();
  s.config({ directory_list: [s.src], trusted_directory_list: [s.trusted], exec_wait: 5, log_user_lines: 1000000, log_lines: 1000000, ...extra });
  return s;
}

function untrusted(dir) {
  for (const f of fs.readdirSync(dir)) fs.lchownSync(path.join(dir, f), nobody[0], nobody[1]);
  fs.chownSync(dir, nobody[0], nobody[1]);
}

rootTest('a trusted data-url over TCP is served, int64 exact, with headers from a root-only file', async (t) => {
  const srv = await server(t);
  const s = patient();
  const headers = path.join(s.dir, 'token.headers');
  fs.writeFileSync(headers, 'Authorization: Bearer s3cret\n# a comment\nX-Extra: 1\n', { mode: 0o600 });
  s.source('web', META(`${srv.base}/stats?x=1`, { 'data-url-headers': headers }), undefined, { under: s.trusted });
  const d = await session(t, s);
  const [v, who] = Object.values(await d.fetch('json.web.v', 'json.web.who'));
  t.is(v.values[0].value, '9223372036854775807');
  t.is(who.values[0].value, '"Bearer s3cret"');
  t.is(srv.seen[0].url, '/stats?x=1');
  t.is(srv.seen[0].headers['x-extra'], '1');
});

// set up as the test above, on purpose: each headers case reads alone
rootTest('a headers file that others can read is refused, with one log line', async (t) => {
  const srv = await server(t);
  const s = new Scratch();
  const headers = path.join(s.dir, 'open.headers');
  fs.writeFileSync(headers, 'Authorization: Bearer s3cret\n', { mode: 0o644 });
  s.source('web', META(`${srv.base}/`, { 'data-url-headers': headers }), undefined, { under: s.trusted });
  const d = await session(t, s);
  for (let i = 0; i < 3; i++) t.regex(Object.values(await d.fetch('json.web.v'))[0].error, /Try again/);
  t.is(srv.seen.length, 0, 'no request was made');
  t.is(s.logText().split('\n').filter((l) => l.includes(`refusing data-url-headers ${headers}`)).length, 1);
});

// a served source beside a failing one, fetched three times, like the exec test's (exec.test.mjs), on purpose: each case reads alone
rootTest('HTTP over a Unix socket (http+unix://%2F...) is served; an HTTP error answers Try again and is logged once', async (t) => {
  const s = patient();
  const sock = path.join(s.dir, 'api.sock');
  const srv = await server(t, { socket: sock });
  s.source('sock', META(`${srv.base}/containers/json`), undefined, { under: s.trusted });
  s.source('gone', META(`${srv.base}/missing`), undefined, { under: s.trusted });
  const d = await session(t, s);
  for (let i = 0; i < 3; i++) {
    const [v, g] = Object.values(await d.fetch('json.sock.v', 'json.gone.v'));
    t.is(v.values[0].value, '9223372036854775807');
    t.regex(g.error, /Try again/);
  }
  t.true(srv.seen.some((r) => r.url === '/containers/json'), 'the path after the socket is the request path');
  t.is(s.logText().split('\n').filter((l) => l.includes("data-url 'http+unix://") && l.includes('HTTP 404')).length, 1);
});

rootTest('untrusted sources may not use data-url unless untrusted_urls is "loopback"', async (t) => {
  const srv = await server(t);
  const s = new Scratch();
  const dir = s.source('web', META(`${srv.base}/`));
  untrusted(dir);
  const d = await session(t, s);
  t.regex(Object.values(await d.fetch('json.web.v'))[0].error, /Try again/);
  t.is(srv.seen.length, 0, 'no request was made for an untrusted source');
  t.regex(s.logText(), /refusing data-url '.*' of untrusted source .*untrusted_urls/);
});

rootTest('with untrusted_urls "loopback", an untrusted source fetches from this host only, as its author', async (t) => {
  const srv = await server(t);
  const s = patient({ trusted_directory_list: [], untrusted_urls: 'loopback' });
  const local = s.source('local', META(`${srv.base}/`));
  // 192.0.2.1 is a documentation address: refused before any connection is tried
  const far = s.source('far', META('http://192.0.2.1/'));
  // a root-only Unix socket: its author cannot connect to it
  const sock = path.join(s.dir, 'root-only.sock');
  const priv = await server(t, { socket: sock });
  fs.chmodSync(sock, 0o600);
  const rootsock = s.source('rootsock', META(`${priv.base}/`));
  for (const dir of [local, far, rootsock]) untrusted(dir);
  const d = await session(t, s);
  const [l, f, r] = Object.values(await d.fetch('json.local.v', 'json.far.v', 'json.rootsock.v'));
  t.is(l.values[0].value, '9223372036854775807');
  t.regex(f.error, /Try again/);
  t.regex(r.error, /Try again/);
  t.is(priv.seen.length, 0, 'the author could not reach the root-only socket');
  const log = s.logText();
  t.regex(log, /192\.0\.2\.1 is not an address of this host/);
  t.regex(log, /data-url 'http\+unix:.*root-only\.sock.*EACCES|permission denied/i);
});

rootTest('a server that never answers holds up no other source after the first fetch', async (t) => {
  const slow = await server(t, { hang: true });
  const s = new Scratch();
  // an exec_wait of 1 s tells a fetch that waits for the request from one
  // that a loaded machine holds up for a few hundred ms
  s.config({ directory_list: [s.src], trusted_directory_list: [s.trusted], exec_timeout: 4, exec_wait: 1, log_user_lines: 1000, log_lines: 1000 });
  s.source('hung', META(`${slow.base}/`), undefined, { under: s.trusted });
  s.source('file', { metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }, { v: 5 });
  const d = await session(t, s);
  let start = Date.now();
  await d.fetch('json.hung.v', 'json.file.v');
  const first = Date.now() - start;
  t.true(first < 2500, `the first fetch waits at most exec_wait (1000 ms), not exec_timeout (4000 ms): it took ${first} ms`);
  for (let i = 0; i < 4; i++) {
    start = Date.now();
    const [h, f] = Object.values(await d.fetch('json.hung.v', 'json.file.v'));
    const took = Date.now() - start;
    t.regex(h.error, /Try again/);
    t.is(f.values[0].value, '5');
    t.true(took < 700, `fetch ${i + 2} took ${took} ms (exec_wait 1000 ms)`);
  }
});
