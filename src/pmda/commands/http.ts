// Trusted data-url sources, fetched in the PMDA: requests are posted to
// one worker thread (src/pmda/commands/httpworker.ts) that keeps
// connections open, and a fetch waits for their results synchronously,
// as it waits for commands (Atomics.wait on a counter the worker bumps
// after each result, then receiveMessageOnPort: no event loop needed).
// The request of a source: its URL, its headers file and its TLS files,
// each a root-owned file (docs/SECURITY.md, data-url).
import * as fs from 'fs';
import * as path from 'path';
import type { Worker, MessagePort } from 'worker_threads';
import { PADDING } from '../data/query';
import type { Config } from '../config';
import type { Source } from '../sources/source';

/** TLS settings of a request: the files' contents, and the server name. */
export interface TlsSettings {
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
}

export interface UrlRequest {
  id: number;
  url: string;
  headers: Record<string, string>;
  tls?: TlsSettings;
  /** The validators of the data the source holds: the request is conditional. */
  etag?: string;
  lastModified?: string;
  timeoutMs: number;
  maxBytes: number;
}

/** How a request went: what the control metrics show of it. */
export interface HttpStats {
  /** HTTP status, 0 with none. */
  status: number;
  /** From the request to the end of the response, ms. */
  ms: number;
  /** Bytes of the body as received (before decoding). */
  wireBytes: number;
}

/** How a request ended, and the validators of the response. */
export type UrlOutcome = { etag?: string; lastModified?: string } & (
  | { ok: true; notModified?: boolean; body?: ArrayBuffer; length?: number }
  | { ok: false; error: string; timedOut?: boolean; cutShort?: boolean }
);

export type UrlResult = HttpStats & { id: number } & UrlOutcome;

export class HttpClient {
  private worker: Worker | undefined;
  private port: MessagePort | undefined;
  private readonly signal = new Int32Array(new SharedArrayBuffer(4));
  private next = 0;
  /** Requests under way, by id: when each must have ended (Date.now()). */
  private readonly pending = new Map<number, number>();
  private readonly finished: UrlResult[] = [];

  /** Post a request; its id (negative: apart from the commands' ids). */
  start(q: Omit<UrlRequest, 'id'>): number {
    const id = -++this.next;
    // the worker ends every request within its timeout; this is in case it cannot
    this.pending.set(id, Date.now() + q.timeoutMs + 2000);
    this.ensure().postMessage({ ...q, id });
    return id;
  }

  /** Requests under way. */
  get running(): number {
    return this.pending.size;
  }

  /** The results of the requests that ended; waits up to `waitMs` for those of `ids`. */
  wait(ids: number[], waitMs: number): UrlResult[] {
    const deadline = performance.now() + waitMs;
    for (;;) {
      const seen = Atomics.load(this.signal, 0);
      this.drain();
      if (!ids.some((id) => this.pending.has(id))) break;
      const left = deadline - performance.now();
      if (left <= 0) break;
      Atomics.wait(this.signal, 0, seen, left);
    }
    const now = Date.now();
    for (const [id, until] of this.pending) if (now > until) this.lost(id, 'no answer from the HTTP client thread');
    return this.finished.splice(0);
  }

  private drain(): void {
    if (!this.port) return;
    const { receiveMessageOnPort } = threads();
    for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
      const r = m.message as UrlResult;
      if (this.pending.delete(r.id)) this.finished.push(r);
    }
  }

  private lost(id: number, why: string): void {
    this.pending.delete(id);
    this.finished.push({ id, ok: false, error: why, status: 0, ms: 0, wireBytes: 0 });
  }

  private ensure(): MessagePort {
    if (this.worker && this.port) return this.port;
    const { Worker, MessageChannel } = threads();
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(path.join(__dirname, 'httpworker.js'), {
      workerData: { port: port2, signal: this.signal.buffer, padding: PADDING },
      transferList: [port2],
      // its own streams, never read: forwarding them to ours would open
      // the PMDA's fd 1 as a libuv pipe, and make it (and the PDU
      // stream, where fd 1 is that pipe) non-blocking
      stdout: true,
      stderr: true,
      // a young generation as small as the PMDA's own (--max-semi-space-size=1)
      resourceLimits: { maxYoungGenerationSizeMb: 3 },
    });
    worker.unref();
    // a thread that stopped (it should not) fails its requests, and a new one is started
    worker.on('exit', () => {
      if (this.worker !== worker) return;
      this.drain();
      for (const id of [...this.pending.keys()]) this.lost(id, 'the HTTP client thread stopped');
      this.worker = undefined;
      this.port = undefined;
    });
    this.worker = worker;
    this.port = port1;
    return port1;
  }
}

/** A root-owned file's contents, or why it may not be used: others may not write it, nor read it if it is `secret`. */
function rootFile(file: string, what: string, secret: boolean): string | { text: string } {
  let fd = -1;
  try {
    // opened first, then checked: the file checked is the file read (and a FIFO does not block)
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const st = fs.fstatSync(fd);
    const bad = secret ? st.mode & 0o077 : st.mode & 0o022;
    if (!st.isFile() || st.uid !== 0 || bad) return `refusing ${what} ${file}: it must be a file owned by root${secret ? ' and readable by root only (mode 0600 or less)' : ' that only root can write'}`;
    return { text: fs.readFileSync(fd, 'utf8') };
  } catch (e) {
    return `cannot read ${what} ${file}: ${(e as Error).message}`;
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

/** A headers file's "Name: value" lines. */
function headersOf(file: string, text: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (!l || l.startsWith('#')) continue;
    const at = l.indexOf(':');
    if (at <= 0) return `data-url-headers ${file}: a line without 'Name: value'`;
    out[l.slice(0, at).trim()] = l.slice(at + 1).trim();
  }
  return out;
}

/**
 * The request of trusted source `src` (but for its validators), or why
 * none may be made: its headers file and TLS files are read now, and
 * each must be root's.
 */
export function requestOf(src: Source, config: Config): Omit<UrlRequest, 'id'> | string {
  const md = src.md;
  let headers: Record<string, string> = {};
  if (md.dataUrlHeaders !== undefined) {
    const file = path.resolve(src.dir, md.dataUrlHeaders);
    const f = rootFile(file, 'data-url-headers', true);
    if (typeof f === 'string') return f;
    const h = headersOf(file, f.text);
    if (typeof h === 'string') return h;
    headers = h;
  }
  const tls: TlsSettings = {};
  const files: Array<[keyof TlsSettings, string | undefined, string, boolean]> = [
    ['ca', md.dataUrlTls?.ca, config.urlCaFile ?? '', false],
    ['cert', md.dataUrlTls?.cert, config.urlCertFile ?? '', false],
    ['key', md.dataUrlTls?.key, config.urlKeyFile ?? '', true],
  ];
  for (const [k, own, global, secret] of files) {
    const file = own !== undefined ? path.resolve(src.dir, own) : global;
    if (!file) continue;
    const f = rootFile(file, own !== undefined ? `data-url-${k}` : `url_${k}_file`, secret);
    if (typeof f === 'string') return f;
    tls[k] = f.text;
  }
  if (md.dataUrlTls?.servername !== undefined) tls.servername = md.dataUrlTls.servername;
  return { url: src.dataUrl!, headers, tls, timeoutMs: config.execTimeoutMs, maxBytes: config.maxDataBytes };
}

/** worker_threads, loaded at the first request: a PMDA without data-url sources starts without it (4 ms). */
function threads(): typeof import('worker_threads') {
  return require('worker_threads') as typeof import('worker_threads');
}
