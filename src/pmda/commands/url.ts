#!/usr/bin/env node
// The data-url helper: fetch one URL and write the response body to
// standard output. The PMDA runs it like a data-exec command (src/pmda/commands/exec.ts),
// so a request gets the same timeout, size limit, budgets and isolation
// as a command, and runs with the source's credentials: as root for a
// trusted source, as its author for an untrusted one (which matters for
// Unix sockets, whose permissions the kernel checks at connect).
//
//   url.js URL [--loopback] [--headers FILE]
//
// URL is http://, https://, or http+unix://SOCKET/PATH with the socket's
// path %-encoded (http+unix://%2Frun%2Fdocker.sock/containers/json).
// --loopback: only addresses of this host (127.0.0.0/8, ::1) or a Unix
// socket; the name is resolved once and that address is the one used.
// --headers FILE: request headers, one "Name: value" a line.
// On failure it writes "error: WHY" and exits with status 1.
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as dns from 'dns';
import * as net from 'net';

function fail(why: string): never {
  fs.writeSync(1, `error: ${why}\n`);
  process.exit(1);
}

function isLoopback(address: string): boolean {
  if (net.isIPv4(address)) return address.startsWith('127.');
  return address === '::1' || address.startsWith('::ffff:127.');
}

function headersFrom(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return fail(`cannot read headers file ${file}: ${(e as Error).message}`);
  }
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (!l || l.startsWith('#')) continue;
    const at = l.indexOf(':');
    if (at <= 0) fail(`headers file ${file}: a line without 'Name: value'`);
    out[l.slice(0, at).trim()] = l.slice(at + 1).trim();
  }
  return out;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const url = args[0];
  if (!url) fail('no URL');
  const loopback = args.includes('--loopback');
  const h = args.indexOf('--headers');
  const headers = h >= 0 && args[h + 1] ? headersFrom(args[h + 1]!) : {};
  let options: http.RequestOptions;
  let client: typeof http | typeof https = http;
  if (url.startsWith('http+unix://')) {
    const rest = url.slice('http+unix://'.length);
    const slash = rest.indexOf('/');
    const socketPath = decodeURIComponent(slash < 0 ? rest : rest.slice(0, slash));
    options = { socketPath, path: slash < 0 ? '/' : rest.slice(slash), headers: { host: 'localhost', ...headers } };
  } else {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return fail(`not a URL: ${url}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') fail(`only http://, https:// and http+unix:// URLs are served`);
    client = u.protocol === 'https:' ? https : http;
    const host = u.hostname.replace(/^\[|\]$/g, '');
    let address = host;
    if (loopback) {
      const all = net.isIP(host) ? [{ address: host }] : await dns.promises.lookup(host, { all: true }).catch((e: Error) => fail(`cannot resolve ${host}: ${e.message}`));
      const bad = all.find((a) => !isLoopback(a.address));
      if (all.length === 0 || bad) fail(`${host} is not an address of this host (untrusted sources may fetch loopback URLs only)`);
      address = all[0]!.address;
    }
    options = {
      host: address,
      port: u.port || (u.protocol === 'https:' ? 443 : 80),
      path: `${u.pathname}${u.search}`,
      servername: net.isIP(host) ? undefined : host,
      headers: { host: u.host, ...headers },
    } as https.RequestOptions;
  }
  const req = client.request({ ...options, method: 'GET' }, (res) => {
    const status = res.statusCode ?? 0;
    if (status >= 300) {
      res.resume();
      fail(`HTTP ${status} ${res.statusMessage ?? ''}`.trim() + (status < 400 ? ' (redirects are not followed)' : ''));
    }
    res.pipe(process.stdout);
    res.on('error', (e) => fail(e.message));
  });
  req.on('error', (e) => fail(e.message));
  req.end();
}

main().catch((e: Error) => fail(e.message));
