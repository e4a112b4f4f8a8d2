// Test harness: scratch PCP directories, sources, and the real PMDA (ours
// or the python pmdajson) driven through dbpmda, with no pmcd.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tryTakePmcdLock, releasePmcdLock } from './pmcd-lock.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PMDA = path.join(ROOT, 'dist', 'pmda', 'main.js');
export const PYTHON_PMDA = '/var/lib/pcp/pmdas/json/pmdajson.python';
/** PCP's python tools need the system python, not a pyenv one. */
export const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * A scratch PCP world: $PCP_PMDAS_DIR/json/config.json listing src/ (and
 * trusted/), $PCP_VAR_DIR for the numbering caches, a root PMNS for dbpmda.
 */
export class Scratch {
  constructor(name = 'pmda-json') {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
    this.src = path.join(this.dir, 'src');
    this.trusted = path.join(this.dir, 'trusted');
    this.var = path.join(this.dir, 'var');
    this.pmdas = path.join(this.dir, 'pmdas');
    for (const d of [this.src, this.trusted, path.join(this.var, 'config', 'pmda'), path.join(this.pmdas, 'json')]) {
      fs.mkdirSync(d, { recursive: true });
    }
    fs.chmodSync(this.dir, 0o755);
    // the tests of one-line-per-problem logging need more lines than the
    // rate limits allow; the tests of the limits set their own
    this.config({ directory_list: [this.src], trusted_directory_list: [this.trusted], log_user_lines: 1000000, log_lines: 1000000 });
    this.pmns = path.join(this.dir, 'root');
    fs.writeFileSync(this.pmns, 'root {\n\tjson\t137:*:*\n}\n');
    this.log = path.join(this.dir, 'json.log');
  }

  config(doc) {
    const file = path.join(this.pmdas, 'json', 'config.json');
    fs.writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2));
    return file;
  }

  get env() {
    return { ...process.env, PATH: SYSTEM_PATH, PCP_PMDAS_DIR: this.pmdas, PCP_VAR_DIR: this.var };
  }

  /** Write a source directory; `data` may be an object or raw text. */
  source(name, metadata, data, { under = this.src } = {}) {
    const dir = path.join(under, name);
    fs.mkdirSync(dir, { recursive: true });
    if (metadata !== undefined) writeJson(path.join(dir, 'metadata.json'), metadata);
    if (data !== undefined) writeJson(path.join(dir, 'data.json'), data);
    return dir;
  }

  data(name, data, { under = this.src } = {}) {
    writeJson(path.join(under, name, 'data.json'), data);
  }

  remove(name, { under = this.src } = {}) {
    fs.rmSync(path.join(under, name), { recursive: true, force: true });
  }

  /**
   * The numbering cache files (pmdaCache's, DOMAIN.SERIAL: not the
   * descriptor records beside them, DOMAIN.descriptors, which are ours
   * alone), without their time stamps.
   */
  caches() {
    const dir = path.join(this.var, 'config', 'pmda');
    const out = {};
    for (const f of fs.readdirSync(dir).sort()) {
      if (!/^\d+\.\d+$/.test(f)) continue;
      const lines = fs.readFileSync(path.join(dir, f), 'utf8').trimEnd().split('\n');
      out[f] = [lines[0], ...lines.slice(1).map((l) => l.replace(/^(\d+) \d+ /, '$1 '))];
    }
    return out;
  }

  logText() {
    try {
      return fs.readFileSync(this.log, 'utf8');
    } catch {
      return '';
    }
  }

  cleanup() {
    // a PMDA slow to exit on a loaded machine may still be writing its kept
    // start (src/pmda/sources/warmstart.ts) when close() stops waiting
    fs.rmSync(this.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
}

export function writeJson(file, doc) {
  fs.writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2));
}

/**
 * One dbpmda session with one PMDA process: send commands one at a time and
 * get back what dbpmda printed for each.
 */
export class Dbpmda {
  constructor(scratch, { python = false, args = [] } = {}) {
    this.scratch = scratch;
    this.proc = spawn('dbpmda', ['-n', scratch.pmns, '-e'], {
      cwd: scratch.dir,
      env: scratch.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.out = '';
    this.err = '';
    this.proc.stdout.on('data', (d) => { this.out += d; this.wake?.(); });
    this.proc.stderr.on('data', (d) => { this.err += d; this.wake?.(); });
    this.seq = 0;
    this.exited = false;
    this.proc.on('exit', () => { this.exited = true; this.wake?.(); });
    // the node flag Install gives the PMDA in pmcd.conf
    const cmd = python ? `/usr/bin/python3 ${PYTHON_PMDA}` : `${process.execPath} --max-semi-space-size=1 ${PMDA} -l ${scratch.log} ${args.join(' ')}`;
    // dbpmda waits 3 s for a new agent's version exchange: on a loaded
    // machine a start can take longer, and the late answer is then taken
    // as the answer to the next command; one PDU of our own takes it
    this.ready = this.run(`open pipe ${cmd}`).then(async (out) => {
      if (/no version exchange/.test(out)) await this.run('desc 137.0.0');
      return out;
    });
  }

  /** Send one command; resolve with its output once dbpmda is done with it. */
  async run(command, timeoutMs = 30000) {
    const marker = `# done ${++this.seq}`;
    const start = this.out.length;
    const errStart = this.err.length;
    this.proc.stdin.write(`${command}\n${marker}\n`);
    const deadline = Date.now() + timeoutMs;
    // where the marker may start: text searched already is not searched
    // again (a fetch of 100,000 values comes in a hundred chunks)
    let from = start;
    for (;;) {
      const at = this.out.indexOf(`${marker}\n`, from);
      from = Math.max(start, this.out.length - marker.length);
      if (at >= 0) {
        let text = this.out.slice(start, at);
        // drop the echo of the command itself; errors come on stderr
        if (text.startsWith(command)) text = text.slice(command.length + 1);
        return text + this.err.slice(errStart);
      }
      if (this.exited) throw new Error(`dbpmda exited during '${command}':\n${this.out.slice(start)}`);
      if (Date.now() > deadline) throw new Error(`dbpmda timed out on '${command}':\n${this.out.slice(start)}`);
      await new Promise((r) => { this.wake = r; setTimeout(r, 200); });
    }
  }

  async fetch(...names) {
    return parseFetch(await this.run(`fetch ${names.join(' ')}`));
  }

  /** Quit dbpmda, and wait for its PMDA to be gone too (it may still be answering inotify). */
  async close() {
    if (!this.exited) {
      const agents = children(this.proc.pid);
      this.proc.stdin.end('quit\n');
      await new Promise((r) => { if (this.exited) r(); else this.proc.on('exit', r); setTimeout(r, 5000); });
      if (!this.exited) this.proc.kill('SIGKILL');
      for (const deadline = Date.now() + 5000; agents.some(alive) && Date.now() < deadline;) await sleep(20);
    }
  }
}

/** Parse dbpmda's fetch output: pmid -> { error } | { values: [{inst, value}] }. */
export function parseFetch(text) {
  /** @type {Record<string, { values?: Array<{ inst: number | null, value: string }>, error?: string, numval?: number }>} */
  const result = {};
  /** @type {{ values?: Array<{ inst: number | null, value: string }>, error?: string, numval?: number } | null} */
  let cur = null;
  for (const line of text.split('\n')) {
    let m = line.match(/^\s{2}(\d+\.\d+\.\d+) \([^)]*\): (.*)$/);
    if (m) {
      cur = { values: [] };
      result[m[1]] = cur;
      if (!m[2].startsWith('numval:')) {
        cur.error = m[2];
        delete cur.values;
      } else {
        const n = m[2].match(/numval: (-?\d+)/);
        if (n && Number(n[1]) <= 0) cur.numval = Number(n[1]);
      }
      continue;
    }
    if (!cur || !cur.values) continue;
    m = line.match(/^\s+inst \[(\d+) or [^\]]*\] value (.*)$/);
    if (m) {
      cur.values.push({ inst: Number(m[1]), value: m[2] });
      continue;
    }
    m = line.match(/^\s+value (.*)$/);
    if (m) cur.values.push({ inst: null, value: m[1] });
  }
  return result;
}

/** Parse dbpmda's desc output. */
export function parseDesc(text) {
  const pmid = text.match(/PMID: (\S+)/)?.[1];
  const type = text.match(/Data Type: (.*?)\s+InDom:/)?.[1];
  const indom = text.match(/InDom: (\S+)/)?.[1];
  const sem = text.match(/Semantics: (\S+)/)?.[1];
  const units = text.match(/Units: (.*)$/m)?.[1]?.trim();
  return { pmid, type, indom, sem, units };
}

/** Parse dbpmda's instance output into [[inst, name], ...]. */
export function parseInstances(text) {
  return [...text.matchAll(/inst: (\d+) name: "([^"]*)"/g)].map((m) => [Number(m[1]), m[2]]);
}

/** Names below `prefix` from dbpmda's traverse output. */
export function parseTraverse(text) {
  return text.split('\n').slice(1).map((l) => l.trim()).filter((l) => l && !l.startsWith('Metric:')).sort();
}

/** Run a PCP client (pminfo, pmprobe, pmrep, ...) with the system PATH. */
export function pcp(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: SYSTEM_PATH, ...opts.env }, timeout: opts.timeout ?? 60000 });
}

/** A PCP configuration variable (PCP_BINADM_DIR...), from /etc/pcp.conf; undefined if not set. */
export function pcpConf(name) {
  const m = fs.readFileSync('/etc/pcp.conf', 'utf8').match(new RegExp(`^${name}=(.*)$`, 'm'));
  return m ? m[1].trim() : undefined;
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A Dbpmda session on `s` for test `t`, ready; closed, and the scratch
 * world removed, when the test ends.
 * @param {import('ava').ExecutionContext} t
 * @param {Scratch} s
 * @param {{ python?: boolean, args?: string[] }} [opts]
 */
export async function session(t, s, opts) {
  const d = new Dbpmda(s, opts);
  await d.ready;
  t.teardown(async () => {
    await d.close();
    s.cleanup();
  });
  return d;
}

/** The pids of the processes whose parent is `pid`. */
export function children(pid) {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Is the process there (a zombie counts as gone)? */
export function alive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The PMDA of a dbpmda session: the child of dbpmda running main.js (its argv names the scratch log). */
export function pmdaPid(s) {
  const out = execFileSync('pgrep', ['-f', `main.js -l ${s.log}`], { encoding: 'utf8' }).trim();
  return Number(out.split('\n')[0]);
}

/**
 * { instanceName | null: value } of one metric, through dbpmda (null for
 * a metric without instances); { error } when it answers none.
 * @param {Dbpmda} d
 * @param {string} name
 */
export async function metricValues(d, name) {
  const desc = parseDesc(await d.run(`desc ${name}`));
  const r = Object.values(await d.fetch(name))[0];
  if (!r || r.error) return { error: r?.error ?? 'no result' };
  if (desc.indom.startsWith('PM_INDOM_NULL')) return Object.fromEntries(r.values.map((v) => [null, v.value]));
  const names = new Map(/** @type {Array<[inst: number, name: string]>} */ (parseInstances(await d.run(`instance ${desc.indom}`))));
  return Object.fromEntries(r.values.map((v) => [names.get(v.inst), v.value]));
}

/**
 * Poll `fn` until it returns something truthy (every `everyMs`), at most `ms`.
 * @template T
 * @param {string} what
 * @param {() => Promise<T> | T} fn
 * @returns {Promise<T>}
 */
export async function waitFor(what, fn, ms = 20000, everyMs = 200) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(everyMs);
  }
}

/**
 * Tests that change the live pmcd (Install/Remove, pmcd.conf) take this
 * lock, so test files running in parallel do not reconfigure it under one
 * another. Returns the release function.
 */
export async function lockPmcd(timeoutMs = 600000) {
  const deadline = Date.now() + timeoutMs;
  while (!tryTakePmcdLock()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the pmcd lock');
    await sleep(250);
  }
  return releasePmcdLock;
}

/**
 * For a test file that serves a Scratch through the live pmcd: take the
 * pmcd lock (ctx.release), make a Scratch `name` (ctx.s) whose src has
 * `mode`, and point the agent's `config` (its config.json) at that src,
 * keeping what the file held (ctx.saved). Returns the Scratch;
 * restorePmcdScratch(ctx, config) undoes it, in the file's after hook.
 */
export async function pmcdScratch(ctx, config, name, mode) {
  ctx.release = await lockPmcd();
  const s = new Scratch(name);
  ctx.s = s;
  fs.chmodSync(s.src, mode);
  ctx.saved = fs.existsSync(config) ? fs.readFileSync(config) : null;
  fs.mkdirSync(path.dirname(config), { recursive: true });
  fs.writeFileSync(config, JSON.stringify({ directory_list: [s.src] }));
  return s;
}

/** Put back what pmcdScratch took: the agent's config.json, the Scratch, the pmcd lock. */
export function restorePmcdScratch(ctx, config) {
  if (ctx.saved) fs.writeFileSync(config, ctx.saved);
  else fs.rmSync(config, { force: true });
  ctx.s?.cleanup();
  ctx.release?.();
}
