// data-exec: run a source's command and take its standard output as the
// data. Arguments are split like a POSIX shell would (quotes, backslash),
// with no shell. Commands from untrusted directories run as nobody.
// Every command is killed at the configured timeout (2 s by default,
// well inside pmcd's 5 s agent timeout), so a hung command can only
// cost that source one fetch, never the PMDA. coreutils' timeout(1) runs
// it in a process group of its own and signals the whole group, so
// children it left behind holding its output open are killed too.
import { spawnSync } from 'child_process';
import * as fs from 'fs';

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

const TIMEOUT = fs.existsSync('/usr/bin/timeout') ? '/usr/bin/timeout' : 'timeout';

export type ExecResult = { ok: true; output: string; warning?: string } | { ok: false; error: string; timedOut?: boolean };

export function runCommand(command: string, trusted: boolean, cwd: string, timeoutMs: number, maxBytes: number): ExecResult {
  const r = run(command, trusted, cwd, timeoutMs, maxBytes);
  // name the directory (the source): two sources may run the same command
  return r.ok ? r : { ok: false, error: `${r.error} (in ${cwd})` };
}

function run(command: string, trusted: boolean, cwd: string, timeoutMs: number, maxBytes: number): ExecResult {
  let argv: string[];
  try {
    argv = splitCommand(command);
  } catch (e) {
    return { ok: false, error: `cannot parse data-exec command '${command}': ${(e as Error).message}` };
  }
  if (argv.length === 0) return { ok: false, error: 'data-exec command is empty' };
  const options: Parameters<typeof spawnSync>[2] = {
    cwd,
    maxBuffer: maxBytes,
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', LANG: 'C.UTF-8' },
    encoding: 'utf8',
  };
  if (!trusted && process.getuid && process.getuid() === 0) {
    const who = nobody();
    if (!who) return { ok: false, error: `cannot run '${command}': there is no user 'nobody'` };
    options.uid = who.uid;
    options.gid = who.gid;
  }
  const seconds = (timeoutMs / 1000).toFixed(3);
  // Node's own timeout stops waiting for output that children left
  // behind keep open after timeout(1) is gone
  options.timeout = timeoutMs + 100;
  options.killSignal = 'SIGKILL';
  const started = Date.now();
  const r = spawnSync(TIMEOUT, ['-s', 'KILL', seconds, ...argv], options);
  if (r.pid) {
    try {
      process.kill(-r.pid, 'SIGKILL'); // whatever is left of its process group
    } catch {
      /* nothing left */
    }
  }
  const timedOut = Date.now() - started >= timeoutMs;
  if (r.error) {
    const err = r.error as NodeJS.ErrnoException;
    if (err.code === 'ETIMEDOUT' || timedOut) return { ok: false, error: `data-exec command '${command}' killed after ${timeoutMs} ms`, timedOut: true };
    if (err.code === 'ENOBUFS') return { ok: false, error: `data-exec command '${command}' wrote more than ${maxBytes} bytes` };
    // spawn reports a missing working directory as the command's ENOENT
    if (err.code === 'ENOENT' && !fs.existsSync(cwd)) return { ok: false, error: `cannot run data-exec command '${command}': its directory is gone` };
    return { ok: false, error: `cannot run data-exec command '${command}': ${err.message}` };
  }
  const output = String(r.stdout ?? '');
  if (timedOut && (r.signal === 'SIGKILL' || r.status === 137 || r.status === 124)) return { ok: false, error: `data-exec command '${command}' killed after ${timeoutMs} ms`, timedOut: true };
  if (r.status === 126 || r.status === 127) return { ok: false, error: `cannot run data-exec command '${command}': ${r.status === 127 ? 'command not found' : 'permission denied'}` };
  if (r.status !== 0) {
    return { ok: true, output, warning: `data-exec command '${command}' ${r.signal ? `was killed by ${r.signal}` : `exited with status ${r.status}`}` };
  }
  return { ok: true, output };
}
