// data-exec: run a source's command and take its standard output as the
// data. Arguments are split like a POSIX shell would (quotes, backslash),
// with no shell. A command of an untrusted source runs as the source's
// author (src/pmda/sources/access.ts), with that user's groups; a trusted
// source's as root. Commands run in the background, each under a root
// shepherd process that kills everything the command leaves behind
// (native/exec.cc), with limits on memory, open files, processes, CPU
// time and file size. The agent decides how long a fetch waits for them.
import { native } from '../native';
import * as fs from 'fs';
import * as os from 'os';
import type { Author } from '../sources/access';
import type { HttpStats } from './http';
/** Split a command line as python's shlex.split (POSIX mode) does. */
export function splitCommand(line: string): string[] {
  const args: string[] = [];
  let cur = '';
  let inArg = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error('no closing quotation');
      cur += line.slice(i + 1, end);
      inArg = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < line.length) {
        const d = line[i]!;
        if (d === '"') { closed = true; i++; break; }
        if (d === '\\' && i + 1 < line.length && '\\"$`\n'.includes(line[i + 1]!)) {
          cur += line[i + 1];
          i += 2;
        } else {
          cur += d;
          i++;
        }
      }
      if (!closed) throw new Error('no closing quotation');
      inArg = true;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new Error('no escaped character');
      cur += line[i + 1];
      inArg = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (inArg) args.push(cur);
      cur = '';
      inArg = false;
      i++;
    } else {
      cur += c;
      inArg = true;
      i++;
    }
  }
  if (inArg) args.push(cur);
  return args;
}

export type ExecResult = ({ ok: true; output: Buffer; warning?: string; /** When it was collected (Date.now()). */ at?: number; /** A data-url's 304: the document held is current. */ notModified?: boolean } | { ok: false; error: string; timedOut?: boolean; /** A data-url's response ended before its end. */ cutShort?: boolean }) & {
  /** How a data-url request made in the PMDA went (src/pmda/commands/http.ts). */
  http?: HttpStats;
};

/** Limits on every command (config.json keys exec_max_*). */
export interface ExecLimits {
  timeoutMs: number;
  maxBytes: number;
  maxMemory: number;
  maxFiles: number;
  maxProcesses: number;
}

function signalName(n: number): string {
  const name = Object.entries(os.constants.signals).find(([, v]) => v === n)?.[0];
  return name ?? `signal ${n}`;
}

/** The minimal environment commands get. */
const ENV = ['PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', 'LANG=C.UTF-8'];

const asRoot = process.getuid !== undefined && process.getuid() === 0;

/**
 * Start `argv` in `cwd` as `author`. Returns the id to collect it by,
 * or the result at once when it cannot start.
 */
export function startCommand(argv: string[], author: Author, cwd: string, limits: ExecLimits): number | ExecResult {
  if (argv.length === 0) return { ok: false, error: `data-exec command is empty (in ${cwd})` };
  const as = asRoot && author.uid >= 0;
  const id = native.execStart({
    argv,
    cwd,
    uid: as ? author.uid : -1,
    gid: as ? author.gid : -1,
    groups: as ? author.groups : [],
    env: ENV,
    timeoutMs: limits.timeoutMs,
    maxBytes: limits.maxBytes,
    limits: {
      as: limits.maxMemory,
      nofile: limits.maxFiles,
      nproc: limits.maxProcesses,
      cpu: Math.ceil(limits.timeoutMs / 1000) + 1,
      fsize: limits.maxBytes,
    },
  });
  if (id < 0) return { ok: false, error: `cannot run '${argv[0]}': errno ${-id} (in ${cwd})` };
  return id;
}

/**
 * What a finished command means for its source; `label` names it
 * ("data-exec command 'X'"). A data-url helper (src/pmda/commands/url.ts) that
 * fails says why on its output, after "error: ".
 */
export function resultOf(r: ReturnType<typeof native.execWait>[number], label: string, cwd: string, limits: ExecLimits, url = false): ExecResult {
  let result: ExecResult;
  const bytes = Buffer.from(r.output.buffer, r.output.byteOffset, r.output.length);
  const out = url && r.status !== 0 ? bytes.toString('utf8') : '';
  if (out.startsWith('error: ')) {
    result = { ok: false, error: `${label}: ${out.slice(7).trim().slice(0, 500)}` };
  } else if (r.errno) {
    const text = r.error ?? `errno ${r.errno}`;
    const why = r.errno === 2 && !fs.existsSync(cwd) ? 'its directory is gone' : r.errno === 2 ? 'command not found' : text[0]!.toLowerCase() + text.slice(1);
    result = { ok: false, error: `cannot run ${label}: ${why}` };
  } else if (r.timedOut) {
    result = { ok: false, error: `${label} killed after ${limits.timeoutMs} ms`, timedOut: true };
  } else if (r.overflow) {
    result = { ok: false, error: `${label} wrote more than ${limits.maxBytes} bytes` };
  } else {
    const output = bytes;
    result = r.status === 0 && r.signal === 0
      ? { ok: true, output }
            : { ok: true, output, warning: `${label} ${r.signal ? `was killed by ${signalName(r.signal)}` : `exited with status ${r.status}`}` };
  }
  // name the directory (the source): two sources may run the same command
  return result.ok ? result : { ...result, error: `${result.error} (in ${cwd})` };
}

/** Run one command line to its end (tools outside the PMDA). */
export function runCommand(command: string, author: Author, cwd: string, limits: ExecLimits): ExecResult {
  let argv: string[];
  try {
    argv = splitCommand(command);
  } catch (e) {
    return { ok: false, error: `cannot parse data-exec command '${command}': ${(e as Error).message} (in ${cwd})` };
  }
  const id = startCommand(argv, author, cwd, limits);
  if (typeof id !== 'number') return id;
  for (;;) {
    const done = native.execWait([id], limits.timeoutMs + 2000).find((r) => r.id === id);
    if (done) return resultOf(done, `data-exec command '${command}'`, cwd, limits);
  }
}
