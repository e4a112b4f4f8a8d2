// data-exec: run a source's command and take its standard output as the
// data. Arguments are split like a POSIX shell would (quotes, backslash),
// with no shell. Commands from untrusted directories run as nobody.
// The commands a fetch needs run in parallel, in the native shim, under
// one timeout (2 s by default, well inside pmcd's 5 s agent timeout);
// each in a process group of its own, killed whole at the timeout or when
// the command exits, so children it left behind holding its output open
// cannot hold the fetch.
import { native } from './native';
import * as fs from 'fs';
import * as os from 'os';

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

interface Account {
  uid: number;
  gid: number;
}

let nobodyAccount: Account | null | undefined;

/** uid and gid of user nobody, from the passwd database. */
export function nobody(): Account | null {
  if (nobodyAccount !== undefined) return nobodyAccount;
  nobodyAccount = null;
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === 'nobody' && f.length >= 4) {
        nobodyAccount = { uid: Number(f[2]), gid: Number(f[3]) };
        break;
      }
    }
  } catch {
    /* no passwd file: untrusted commands cannot run */
  }
  return nobodyAccount;
}

export type ExecResult = { ok: true; output: string; warning?: string } | { ok: false; error: string; timedOut?: boolean };

/** A data-exec command to run. */
export interface ExecJob {
  command: string;
  trusted: boolean;
  /** The source directory: the command's working directory. */
  cwd: string;
}

function signalName(n: number): string {
  const name = Object.entries(os.constants.signals).find(([, v]) => v === n)?.[0];
  return name ?? `signal ${n}`;
}

/** The minimal environment commands get. */
const ENV = ['PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', 'LANG=C.UTF-8'];

/**
 * Run commands in parallel (native: fork/exec, each in its own process
 * group), all under one timeout: a fetch waits for the slowest, never
 * longer than `timeoutMs`, whatever the commands do.
 */
export function runCommands(jobs: readonly ExecJob[], timeoutMs: number, maxBytes: number): ExecResult[] {
  const results: Array<ExecResult | undefined> = jobs.map(() => undefined);
  const runnable: Array<{ i: number; argv: string[]; cwd: string; uid: number; gid: number }> = [];
  const asRoot = process.getuid !== undefined && process.getuid() === 0;
  jobs.forEach((job, i) => {
    let argv: string[];
    try {
      argv = splitCommand(job.command);
    } catch (e) {
      results[i] = { ok: false, error: `cannot parse data-exec command '${job.command}': ${(e as Error).message}` };
      return;
    }
    if (argv.length === 0) {
      results[i] = { ok: false, error: 'data-exec command is empty' };
      return;
    }
    let uid = -1;
    let gid = -1;
    if (!job.trusted && asRoot) {
      const who = nobody();
      if (!who) {
        results[i] = { ok: false, error: `cannot run '${job.command}': there is no user 'nobody'` };
        return;
      }
      ({ uid, gid } = who);
    }
    runnable.push({ i, argv, cwd: job.cwd, uid, gid });
  });
  const out = runnable.length > 0 ? native.runCommands(runnable, ENV, timeoutMs, maxBytes) : [];
  out.forEach((r, k) => {
    const { i } = runnable[k]!;
    const command = jobs[i]!.command;
    const cwd = jobs[i]!.cwd;
    if (r.errno) {
      const text = r.error ?? `errno ${r.errno}`;
      const why = r.errno === 2 && !fs.existsSync(cwd) ? 'its directory is gone' : r.errno === 2 ? 'command not found' : text[0]!.toLowerCase() + text.slice(1);
      results[i] = { ok: false, error: `cannot run data-exec command '${command}': ${why}` };
    } else if (r.timedOut) {
      results[i] = { ok: false, error: `data-exec command '${command}' killed after ${timeoutMs} ms`, timedOut: true };
    } else if (r.overflow) {
      results[i] = { ok: false, error: `data-exec command '${command}' wrote more than ${maxBytes} bytes` };
    } else {
      const output = r.output.toString('utf8');
      results[i] = r.status === 0 && r.signal === 0
        ? { ok: true, output }
        : { ok: true, output, warning: `data-exec command '${command}' ${r.signal ? `was killed by ${signalName(r.signal)}` : `exited with status ${r.status}`}` };
    }
  });
  // name the directory (the source): two sources may run the same command
  return results.map((r, i) => (r!.ok ? r! : { ...r!, error: `${r!.error} (in ${jobs[i]!.cwd})` }));
}

export function runCommand(command: string, trusted: boolean, cwd: string, timeoutMs: number, maxBytes: number): ExecResult {
  return runCommands([{ command, trusted, cwd }], timeoutMs, maxBytes)[0]!;
}
