// url: the big source from a data-url on loopback at every fetch, beside
// the same document from a data-exec `cat` in the same phase (so the two
// are measured interleaved, rep by rep), and 200 small data-url sources
// against one server that answers each in 10 ms, all in one fetch. The
// server is a child of bench/run.mjs (this file, run with --serve DIR):
// it answers GET /NAME with DIR/NAME.json, with no validators, so each
// fetch downloads and parses the whole document. Its sources are trusted
// (requests made in the PMDA); the python pmdajson has no data-url.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { bigShape } from './shapes.mjs';

export const URL_SOURCES = 200;

export default {
  name: 'url',
  pmdas: ['c', 'ts'],
  server: true,
  sources: [
    { name: 'url', ...bigShape, url: true },
    { name: 'cat', ...bigShape, exec: true },
    // (exotic as the big one: the client checks a phase's values by one rule)
    ...Array.from({ length: URL_SOURCES }, (_, n) => ({ name: `u${n}`, strings: 0, ints: 3, arrays: 0, instances: 0, members: 0, exotic: true, url: true, delayMs: 10 })),
  ],
  workloads: [
    { id: 'url', label: 'data-url: big from a loopback HTTP server on every fetch', names: (r) => [`${r}.url`] },
    { id: 'url-cat', label: 'data-exec: big from `cat` on every fetch (beside url)', names: (r) => [`${r}.cat`] },
    { id: 'url-many', label: `data-url: ${URL_SOURCES} sources × 3 scalars, each answered in 10 ms`, names: (r) => Array.from({ length: URL_SOURCES }, (_, n) => `${r}.u${n}`), minFetches: 2, first: true },
  ],
};

/** The server: GET /NAME answers DIR/NAME.json (read once), after ?delay= ms if given. */
function serve(dir) {
  const cache = new Map();
  const srv = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    const name = path.basename(u.pathname);
    let body = cache.get(name);
    if (!body) {
      try {
        body = fs.readFileSync(path.join(dir, `${name}.json`));
        cache.set(name, body);
      } catch {
        res.writeHead(404);
        return res.end();
      }
    }
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    };
    const delay = Number(u.searchParams.get('delay') ?? 0);
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  });
  srv.keepAliveTimeout = 60000;
  srv.listen(0, '127.0.0.1', () => process.stdout.write(`port ${/** @type {import('node:net').AddressInfo} */ (srv.address()).port}\n`));
  process.on('SIGTERM', () => process.exit(0));
}

if (process.argv[2] === '--serve') serve(process.argv[3]);
