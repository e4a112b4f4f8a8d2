// The HTTP client of trusted data-url sources: a worker thread that
// keeps pooled keep-alive connections (one agent per TLS setting) and
// makes the requests the PMDA posts it (src/pmda/commands/http.ts). Each
// result is posted back, then a shared counter is bumped and notified,
// so the PMDA can wait for results without its event loop
// (Atomics.wait, receiveMessageOnPort). A request ends within its
// timeout, a body within max_data_bytes once decoded (gzip, deflate and
// br, bounded while decoding); redirects are not followed.
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as zlib from 'zlib';
import { workerData, type MessagePort } from 'worker_threads';
import type { Readable } from 'stream';
import type { UrlOutcome, UrlRequest, UrlResult } from './http';

const given = workerData as { port: MessagePort; signal: SharedArrayBuffer; padding: number };
const port = given.port;
const signal = new Int32Array(given.signal);
const padding = given.padding;

/** Agents by protocol and TLS setting: connections are kept and reused. */
const agents = new Map<string, http.Agent>();

function agentFor(tls: boolean, q: UrlRequest): http.Agent {
  const t = q.tls ?? {};
  const key = tls ? JSON.stringify(['https', t.ca ?? '', t.cert ?? '', t.key ?? '']) : 'http';
  let a = agents.get(key);
  if (!a) {
    const common = { keepAlive: true, scheduling: 'lifo' as const };
    a = tls ? new https.Agent({ ...common, ca: t.ca, cert: t.cert, key: t.key }) : new http.Agent(common);
    agents.set(key, a);
  }
  return a;
}

function post(r: UrlResult): void {
  port.postMessage(r, r.ok && r.body ? [r.body] : []);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

/** The request options of `q`'s URL, or why it cannot be fetched. */
function optionsOf(q: UrlRequest): { tls: boolean; options: https.RequestOptions } | string {
  if (q.url.startsWith('http+unix://')) {
    const rest = q.url.slice('http+unix://'.length);
    const slash = rest.indexOf('/');
    const socketPath = decodeURIComponent(slash < 0 ? rest : rest.slice(0, slash));
    return { tls: false, options: { socketPath, path: slash < 0 ? '/' : rest.slice(slash), headers: { host: 'localhost' } } };
  }
  let u: URL;
  try {
    u = new URL(q.url);
  } catch {
    return `not a URL: ${q.url}`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'only http://, https:// and http+unix:// URLs are served';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const tls = u.protocol === 'https:';
  const servername = q.tls?.servername ?? (net.isIP(host) ? undefined : host);
  return { tls, options: { host, port: u.port || (tls ? 443 : 80), path: `${u.pathname}${u.search}`, servername, headers: { host: u.host } } };
}

function decoderOf(encoding: string): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined | string {
  switch (encoding) {
    case '':
    case 'identity':
      return undefined;
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      return `content-encoding '${encoding.slice(0, 40)}' is not one of gzip, deflate, br`;
  }
}

function fetchOne(q: UrlRequest, retry = true): void {
  const started = performance.now();
  let wire = 0;
  let status = 0;
  let settled = false;
  const done = (r: UrlOutcome): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    post({ ...r, id: q.id, status, ms: performance.now() - started, wireBytes: wire });
  };
  const o = optionsOf(q);
  if (typeof o === 'string') return done({ ok: false, error: o });
  const headers: Record<string, string> = { ...(o.options.headers as Record<string, string>), 'accept-encoding': 'gzip, deflate, br', ...q.headers };
  if (q.etag !== undefined) headers['if-none-match'] = q.etag;
  if (q.lastModified !== undefined) headers['if-modified-since'] = q.lastModified;
  let req: http.ClientRequest;
  try {
    req = (o.tls ? https : http).request({ ...o.options, headers, method: 'GET', agent: agentFor(o.tls, q) }, (res) => {
      status = res.statusCode ?? 0;
      const validators = { etag: res.headers.etag, lastModified: res.headers['last-modified'] };
      if (status === 304 && (q.etag !== undefined || q.lastModified !== undefined)) {
        res.resume();
        return done({ ok: true, notModified: true, ...validators });
      }
      if (status >= 300) {
        res.resume();
        return done({ ok: false, error: `HTTP ${status} ${res.statusMessage ?? ''}`.trim() + (status < 400 ? ' (redirects are not followed)' : '') });
      }
      const decoder = decoderOf(String(res.headers['content-encoding'] ?? '').trim().toLowerCase());
      if (typeof decoder === 'string') {
        res.destroy();
        return done({ ok: false, error: decoder });
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const cutShort = (): void => done({ ok: false, cutShort: true, error: `response cut short after ${wire} bytes (the connection closed before its end)` });
      res.on('data', (c: Buffer) => (wire += c.length));
      const body: Readable = decoder ? res.pipe(decoder) : res;
      body.on('data', (c: Buffer) => {
        size += c.length;
        if (size > q.maxBytes) {
          res.destroy();
          decoder?.destroy();
          return done({ ok: false, error: `response is more than ${q.maxBytes} bytes${decoder ? ' decoded' : ''} (max_data_bytes)` });
        }
        chunks.push(c);
      });
      body.on('end', () => {
        if (!res.complete) return cutShort();
        const ab = new ArrayBuffer(size + padding);
        const out = Buffer.from(ab);
        let at = 0;
        for (const c of chunks) at += c.copy(out, at);
        done({ ok: true, body: ab, length: size, ...validators });
      });
      const failed = (e: Error): void => (res.complete ? done({ ok: false, error: `cannot decode the response: ${e.message}` }) : cutShort());
      res.on('error', failed);
      res.on('aborted', cutShort);
      decoder?.on('error', failed);
    });
  } catch (e) {
    return done({ ok: false, error: (e as Error).message });
  }
  const timer = setTimeout(() => {
    req.destroy();
    done({ ok: false, timedOut: true, error: `no complete response within ${q.timeoutMs} ms` });
  }, q.timeoutMs);
  req.on('error', (e: NodeJS.ErrnoException) => {
    // a kept connection that the server closed meanwhile: once more, on a new one
    if (retry && req.reusedSocket && status === 0 && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) {
      settled = true;
      clearTimeout(timer);
      return fetchOne({ ...q, timeoutMs: Math.max(1, q.timeoutMs - (performance.now() - started)) }, false);
    }
    done({ ok: false, error: e.message });
  });
  req.end();
}

port.on('message', (q: UrlRequest) => fetchOne(q));
