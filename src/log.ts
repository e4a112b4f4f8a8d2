// The PMDA log. Everything goes through pmNotifyErr into the file that
// pmdaOpenLog opened (json.log under pmcd's log directory by default);
// nothing is ever written to fd 1, which carries PDUs in pipe mode.
//
// A problem with an input (a file, a command, a metadata entry) is logged
// once, under a key naming what it concerns, and again only when the
// problem changes or after it was fixed and came back: a broken file
// sampled every second must not fill the disk.
import { native, C } from './native';

let debugEnabled = false;
const problems = new Map<string, string>();
const MAX_PROBLEM_KEYS = 10000;

export function setDebug(on: boolean): void {
  debugEnabled = on;
}

export function isDebug(): boolean {
  return debugEnabled;
}

export function info(message: string): void {
  native.log(C.LOG_INFO, message);
}

export function warn(message: string): void {
  native.log(C.LOG_WARNING, message);
}

export function error(message: string): void {
  native.log(C.LOG_ERR, message);
}

export function debug(message: string): void {
  if (debugEnabled) native.log(C.LOG_DEBUG, message);
}

/** Log `message` about `key` unless it is what was last logged for `key`. */
export function problem(key: string, message: string): void {
  if (problems.get(key) === message) return;
  if (!problems.has(key) && problems.size >= MAX_PROBLEM_KEYS) {
    const oldest = problems.keys().next().value;
    if (oldest !== undefined) problems.delete(oldest);
  }
  problems.set(key, message);
  native.log(C.LOG_WARNING, message);
}

/** The problem under `key` is gone; log that once if one was logged. */
export function resolved(key: string, message?: string): void {
  if (!problems.has(key)) return;
  problems.delete(key);
  if (message) native.log(C.LOG_INFO, message);
}

/** Forget every problem whose key starts with `prefix` (a removed source). */
export function forget(prefix: string): void {
  for (const key of problems.keys()) if (key.startsWith(prefix)) problems.delete(key);
}

/** Route console.* to the log: fd 1 belongs to pmcd. */
export function captureConsole(): void {
  const to = (fn: (m: string) => void) => (...args: unknown[]) => fn(args.map(String).join(' '));
  console.log = to(info);
  console.info = to(info);
  console.warn = to(warn);
  console.error = to(error);
  console.debug = to(debug);
}
