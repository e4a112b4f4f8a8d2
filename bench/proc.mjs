// Processes, for the benchmark (bench/run.mjs) and the soak (bench/soak.mjs):
// walking /proc, running a client to its end, sleeping without the event
// loop. Nothing here knows PCP.
import { spawn } from 'node:child_process';
import fs from 'node:fs';

export const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** `fn(pid)` for each process in /proc; one that goes meanwhile (fn throws) is passed over. */
export function eachProcess(fn) {
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      fn(Number(d));
    } catch { /* gone */ }
  }
}

/** The fields of /proc/pid/stat after the command name: [state, ppid, ...]. */
export function statFields(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** A process's command line, its words joined by spaces. */
export const commandLine = (pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');

/** The other processes whose command line matches `re`, as "pid command" (the command cut at `width`). */
export function othersMatching(re, width) {
  const out = [];
  eachProcess((pid) => {
    if (pid === process.pid) return;
    const cmd = commandLine(pid);
    if (re.test(cmd)) out.push(`${pid} ${cmd.slice(0, width)}`);
  });
  return out;
}

/**
 * Run `cmd argv` to its end, killed (SIGKILL) after `timeoutMs`:
 * { out, err, code, signal, ms }. With `merge`, stderr goes into `out` as
 * it comes; `started(child)` is told of the child once it is spawned.
 */
export function runToEnd(cmd, argv, { env, timeoutMs, merge = false, started = undefined }) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    started?.(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => {
      if (merge) out += d;
      else err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ out, err, code, signal, ms: Date.now() - t0 });
    });
  });
}
