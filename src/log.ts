// The PMDA log. Everything goes through pmNotifyErr into the file that
// pmdaOpenLog opened (json.log under pmcd's log directory by default);
// nothing is ever written to fd 1, which carries PDUs in pipe mode.
//
// A problem with an input (a file, a command, a metadata entry) is logged
// once, under a key naming what it concerns, and again only when the
// problem changes or after it was fixed and came back: a broken file
// sampled every second must not fill the disk.
import { createHash } from 'crypto';
import { native, C } from './native';

let debugEnabled = false;

/**
 * One message, one line: control characters in what a source contains
 * (a newline in a metric name, a NUL in a key) are written as escapes, so
 * no input can end a log line early or forge one of its own.
 */
export function oneLine(message: string): string {
  // a 10 MB metric name must not make a 10 MB log line
  if (message.length > MAX_LINE) message = `${message.slice(0, MAX_LINE)}... (${message.length - MAX_LINE} more characters)`;
  // eslint-disable-next-line no-control-regex
  return message.replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
const problems = new Map<string, string>();
const MAX_PROBLEM_KEYS = 10000;
/** Characters of a message logged at most; keys and messages kept at most. */
const MAX_LINE = 4096;

/** A problem key or message as remembered: long ones by a digest of their tail. */
function short(text: string): string {
  if (text.length <= MAX_LINE) return text;
  return `${text.slice(0, MAX_LINE)}#${createHash('sha1').update(text).digest('hex')}`;
}

export function setDebug(on: boolean): void {
  debugEnabled = on;
}

export function isDebug(): boolean {
  return debugEnabled;
}

export function info(message: string): void {
  native.log(C.LOG_INFO, oneLine(message));
}

export function warn(message: string): void {
  native.log(C.LOG_WARNING, oneLine(message));
}

export function error(message: string): void {
  native.log(C.LOG_ERR, oneLine(message));
}

export function debug(message: string): void {
  if (debugEnabled) native.log(C.LOG_DEBUG, oneLine(message));
}

/** Log `message` about `key` unless it is what was last logged for `key`. */
export function problem(key: string, message: string): void {
  key = short(key);
  const remembered = short(message);
  if (problems.get(key) === remembered) return;
  if (!problems.has(key) && problems.size >= MAX_PROBLEM_KEYS) {
    const oldest = problems.keys().next().value;
    if (oldest !== undefined) problems.delete(oldest);
  }
  problems.set(key, remembered);
  native.log(C.LOG_WARNING, oneLine(message));
}

/** The problem under `key` is gone; log that once if one was logged. */
export function resolved(key: string, message?: string): void {
  key = short(key);
  if (!problems.has(key)) return;
  problems.delete(key);
  if (message) native.log(C.LOG_INFO, oneLine(message));
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
