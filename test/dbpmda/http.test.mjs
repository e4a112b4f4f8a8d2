// Trusted data-url sources fetched in the PMDA (src/pmda/commands/http.ts):
// conditional requests, compressed responses and their bound, responses
// cut short, the per-source control metrics, many sources in one fetch,
// and TLS with a private CA and a client certificate -- against real
// servers started here (certificates made with openssl).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import zlib from 'node:zlib';
import { Scratch, session, metricValues, pmdaPid, waitFor } from '../helpers/harness.mjs';

const asRoot = process.getuid() === 0;
const rootTest = asRoot ? test.serial : test.skip;
const META = (url, extra = {}) => ({ 'data-url': url, ...extra, metrics: [{ name: 'v', pointer: '/v', type: 'integer' }, { name: 'who', pointer: '/who', type: 'string' }] });

/**
 * A real server on 127.0.0.1 answering with `handler`; `seen` collects the requests.
 * @param {import('ava').ExecutionContext} t
 * @param {(req: http.IncomingMessage, res: http.ServerResponse) => void} handler
 * @param {https.ServerOptions} [tls] HTTPS with these options
 */
async function server(t, handler, tls) {
  /** @type {http.IncomingMessage[]} */
  const seen = [];
  const h = (req, res) => {
    seen.push(req);
    handler(req, res);
  };
  const srv = tls ? https.createServer(tls, h) : http.createServer(h);
  await /** @type {Promise<void>} */ (new Promise((r) => srv.listen(0, '127.0.0.1', r)));
  t.teardown(() => new Promise((r) => { srv.closeAllConnections?.(); srv.close(() => r()); }));
  return { seen, base: `${tls ? 'https' : 'http'}://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (srv.address()).port}` };
}

/** A scratch tree whose fetches wait up to 5 s for requests, each given 4 s (these tests are about what a fetch gets, on a loaded machine too). */
function patient(extra = {}) {
  const s = new Scratch();
  s.config({ directory_list: [s.src], trusted_directory_list: [s.trusted], exec_wait: 5, exec_timeout: 4, log_user_lines: 1000000, log_lines: 1000000, ...extra });
  return s;
}

/** { source name: value } of a control metric. */
const control = (d, name) => metricValues(d, `json.control.${name}`);
const linesWith = (s, text) => s.logText().split('\n').filter((l) => l.includes(text));

rootTest('an unchanged document answered 304 Not Modified is neither downloaded nor parsed again', async (t) => {
  let version = 1;
  const srv = await server(t, (req, res) => {
    const etag = `"v${version}"`;
    const modified = new Date(Date.UTC(2024, 0, version)).toUTCString();
    const fresh = req.url === '/etag' ? req.headers['if-none-match'] === etag : req.headers['if-modified-since'] === modified;
    res.setHeader(req.url === '/etag' ? 'etag' : 'last-modified', req.url === '/etag' ? etag : modified);
    if (fresh) {
      res.writeHead(304);
      return res.end();
    }
    res.end(JSON.stringify({ v: version, who: req.url }));
  });
  const s = patient();
  s.source('etag', META(`${srv.base}/etag`), undefined, { under: s.trusted });
  s.source('since', META(`${srv.base}/since`), undefined, { under: s.trusted });
  const d = await session(t, s);
  for (let i = 0; i < 4; i++) t.deepEqual(Object.values(await d.fetch('json.etag.v', 'json.since.v')).map((r) => r.values?.[0]?.value), ['1', '1']);
  t.deepEqual(await control(d, 'refreshes'), { etag: '1', since: '1' }, 'parsed once each');
  t.deepEqual(await control(d, 'not_modified'), { etag: '3', since: '3' });
  t.deepEqual(await control(d, 'url_status'), { etag: '304', since: '304' });
  t.is(srv.seen.filter((r) => r.headers['if-none-match'] === '"v1"').length, 3);
  t.is(srv.seen.filter((r) => r.headers['if-modified-since'] !== undefined).length, 3);
  version = 2;
  t.deepEqual(Object.values(await d.fetch('json.etag.v', 'json.since.v')).map((r) => r.values?.[0]?.value), ['2', '2'], 'a changed document is served at once');
  t.deepEqual(await control(d, 'refreshes'), { etag: '2', since: '2' });
});

rootTest('gzip, deflate and br responses are decoded; a decompression bomb is cut at max_data_bytes, decoded', async (t) => {
  const body = JSON.stringify({ v: 42, who: 'packed' });
  const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
  const srv = await server(t, (req, res) => {
    // whatever the request accepts: some servers do so
    const enc = req.url.slice(1);
    res.setHeader('content-encoding', enc === 'bomb' ? 'gzip' : enc);
    res.end(enc === 'bomb' ? bomb : enc === 'gzip' ? zlib.gzipSync(body) : enc === 'deflate' ? zlib.deflateSync(body) : zlib.brotliCompressSync(body));
  });
  const s = patient({ max_data_bytes: 1024 * 1024 });
  for (const enc of ['gzip', 'deflate', 'br', 'bomb']) s.source(enc, META(`${srv.base}/${enc}`), undefined, { under: s.trusted });
  const d = await session(t, s);
  const got = await d.fetch('json.gzip.v', 'json.deflate.v', 'json.br.v', 'json.bomb.v');
  t.deepEqual(Object.values(got).slice(0, 3).map((r) => r.values?.[0]?.value), ['42', '42', '42']);
  t.regex(Object.values(got)[3].error, /Try again/);
  t.true(bomb.length < 1024 * 1024, `the bomb is ${bomb.length} bytes on the wire`);
  // on a loaded machine the first fetch's wait can end first: a later fetch collects the result
  await waitFor('the bomb to be cut', async () => /max_data_bytes/.test((await control(d, 'last_error')).bomb ?? ''), 20000).catch(() => undefined);
  t.is(linesWith(s, 'response is more than 1048576 bytes decoded (max_data_bytes)').length, 1, s.logText());
  t.is((await control(d, 'url_bytes')).gzip, String(zlib.gzipSync(body).length), 'bytes as received');
  t.deepEqual(srv.seen.map((r) => r.headers['accept-encoding'])[0], 'gzip, deflate, br');
});

rootTest('a response cut short is logged as such, not as a parse error; control metrics show status, time and bytes', async (t) => {
  const srv = await server(t, (req, res) => {
    if (req.url === '/short') {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"v": 1, "who": "');
      return setTimeout(() => res.socket.destroy(), 50);
    }
    if (req.url === '/missing') {
      res.writeHead(404);
      return res.end('no');
    }
    res.end('{"v": 7, "who": "whole"}');
  });
  const s = patient();
  s.source('short', META(`${srv.base}/short`), undefined, { under: s.trusted });
  s.source('missing', META(`${srv.base}/missing`), undefined, { under: s.trusted });
  s.source('whole', META(`${srv.base}/whole`), undefined, { under: s.trusted });
  const d = await session(t, s);
  const got = Object.values(await d.fetch('json.short.v', 'json.missing.v', 'json.whole.v'));
  t.regex(got[0].error, /Try again/);
  t.is(got[2].values[0].value, '7');
  t.is(linesWith(s, 'response cut short after 17 bytes').length, 1, s.logText());
  t.deepEqual(linesWith(s, 'cannot parse'), []);
  t.is((await control(d, 'parse_errors')).short, '0');
  t.regex((await control(d, 'last_error')).short, /cut short/);
  t.deepEqual(await control(d, 'url_status'), { short: '200', missing: '404', whole: '200' });
  t.is((await control(d, 'url_bytes')).whole, '24');
  const ms = Number((await control(d, 'url_time')).whole);
  t.true(ms > 0 && ms < 5000, `url_time ${ms}`);
});

rootTest('300 URL sources are all answered in the first fetch', async (t) => {
  const srv = await server(t, (req, res) => setTimeout(() => res.end(`{"v": ${req.url.slice(2)}, "who": "many"}`), 10));
  const s = patient();
  const names = Array.from({ length: 300 }, (_, k) => `u${k}`);
  for (const n of names) s.source(n, META(`${srv.base}/${n}`), undefined, { under: s.trusted });
  const d = await session(t, s);
  const start = Date.now();
  const got = Object.values(await d.fetch(...names.map((n) => `json.${n}.v`)));
  const took = Date.now() - start;
  t.deepEqual(got.map((r) => r.values?.[0]?.value), names.map((n) => n.slice(1)));
  t.true(took < 5000, `the fetch took ${took} ms`);
});

/** A private CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl in `dir`. */
function certificates(dir) {
  const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const key = (name) => ssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', name);
  key('ca.key');
  ssl('req', '-x509', '-new', '-key', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=pmda-json test CA');
  for (const [name, cn, ext] of [['server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], ['client', 'pmda-client', 'extendedKeyUsage=clientAuth']]) {
    key(`${name}.key`);
    ssl('req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    fs.writeFileSync(path.join(dir, `${name}.ext`), `${ext}\n`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }
  for (const f of ['ca.key', 'server.key', 'client.key']) fs.chmodSync(path.join(dir, f), 0o600);
  for (const f of ['ca.pem', 'server.pem', 'client.pem']) fs.chmodSync(path.join(dir, f), 0o644);
  const read = (f) => fs.readFileSync(path.join(dir, f));
  return { dir, ca: read('ca.pem'), serverKey: read('server.key'), serverCert: read('server.pem') };
}

rootTest('HTTPS with a private CA: served with data-url-ca (or url_ca_file), refused without it or for another server name', async (t) => {
  const s = patient();
  const c = certificates(s.dir);
  const srv = await server(t, (req, res) => res.end('{"v": 443, "who": "tls"}'), { key: c.serverKey, cert: c.serverCert });
  const ca = path.join(c.dir, 'ca.pem');
  s.source('own', META(`${srv.base}/`, { 'data-url-ca': ca }), undefined, { under: s.trusted });
  s.source('nameless', META(`${srv.base}/`), undefined, { under: s.trusted });
  s.source('othername', META(`${srv.base}/`, { 'data-url-ca': ca, 'data-url-servername': 'elsewhere.example' }), undefined, { under: s.trusted });
  const lent = path.join(s.dir, 'lent.pem');
  fs.copyFileSync(ca, lent);
  fs.chmodSync(lent, 0o666);
  s.source('writable', META(`${srv.base}/`, { 'data-url-ca': lent }), undefined, { under: s.trusted });
  const d = await session(t, s);
  const got = Object.values(await d.fetch('json.own.v', 'json.nameless.v', 'json.othername.v', 'json.writable.v'));
  t.is(got[0].values?.[0]?.value, '443');
  for (const r of got.slice(1)) t.regex(r.error, /Try again/);
  t.regex(s.logText(), /(self-signed certificate|unable to (get|verify))[^\n]*nameless/);
  t.regex(s.logText(), /elsewhere\.example[^\n]*altnames[^\n]*othername/);
  t.is(linesWith(s, `refusing data-url-ca ${lent}: it must be a file owned by root that only root can write`).length, 1);
  // url_ca_file: the CA of every trusted source without one of its own
  const s2 = patient({ url_ca_file: ca });
  s2.source('global', META(`${srv.base}/`), undefined, { under: s2.trusted });
  const d2 = await session(t, s2);
  t.is(Object.values(await d2.fetch('json.global.v'))[0].values?.[0]?.value, '443');
});

rootTest('HTTPS with a client certificate: served with data-url-cert and data-url-key; a key others can read is refused', async (t) => {
  const s = patient();
  const c = certificates(s.dir);
  const srv = await server(t, (req, res) => {
    const peer = /** @type {import('node:tls').TLSSocket} */ (req.socket).getPeerCertificate();
    res.end(JSON.stringify({ v: 1, who: peer.subject.CN }));
  }, { key: c.serverKey, cert: c.serverCert, ca: c.ca, requestCert: true, rejectUnauthorized: true });
  const tls = { 'data-url-ca': path.join(c.dir, 'ca.pem'), 'data-url-cert': path.join(c.dir, 'client.pem'), 'data-url-key': path.join(c.dir, 'client.key') };
  s.source('client', META(`${srv.base}/`, tls), undefined, { under: s.trusted });
  s.source('anonymous', META(`${srv.base}/`, { 'data-url-ca': tls['data-url-ca'] }), undefined, { under: s.trusted });
  const open = path.join(s.dir, 'open.key');
  fs.copyFileSync(tls['data-url-key'], open);
  fs.chmodSync(open, 0o644);
  s.source('openkey', META(`${srv.base}/`, { ...tls, 'data-url-key': open }), undefined, { under: s.trusted });
  const d = await session(t, s);
  const got = Object.values(await d.fetch('json.client.who', 'json.anonymous.who', 'json.openkey.who'));
  t.is(got[0].values?.[0]?.value, '"pmda-client"');
  t.regex(got[1].error, /Try again/);
  t.regex(got[2].error, /Try again/);
  t.is(linesWith(s, `refusing data-url-key ${open}: it must be a file owned by root and readable by root only`).length, 1);
  t.is(srv.seen.length, 1, 'only the source with a client certificate got an answer');
});

// pmcd's pipe takes a big result in pieces: non-blocking, libpcp_pmda's
// write of it failed with EAGAIN (the bench's big data-url through pmcd)
rootTest('the PMDA\'s standard output stays blocking once its HTTP thread runs', async (t) => {
  const srv = await server(t, (req, res) => res.end('{"v": 1, "who": "x"}'));
  const s = patient();
  s.source('web', META(`${srv.base}/`), undefined, { under: s.trusted });
  const d = await session(t, s);
  t.is(Object.values(await d.fetch('json.web.v'))[0].values?.[0]?.value, '1');
  const flags = parseInt(fs.readFileSync(`/proc/${pmdaPid(s)}/fdinfo/1`, 'utf8').match(/flags:\s+(\d+)/)[1], 8);
  t.is(flags & 0o4000, 0, 'fd 1 is not O_NONBLOCK');
});
