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

/**
 * A problem that keeps coming and going (a data file rewritten in place,
 * read half-written at one fetch and whole at the next) or keeps changing
 * (the position of the parse error) is logged at most FLAP_LINES times in
 * FLAP_WINDOW_MS, then held back until the window has passed.
 */
const FLAP_LINES = 6;
const FLAP_WINDOW_MS = 10 * 60000;
const recent = new Map<string, { times: number[]; held: number }>();

/** May one more line about `key` be logged now? And what to add to it. */
function budget(key: string): { ok: boolean; note: string } {
  const now = Date.now();
  let r = recent.get(key);
  if (!r) {
    if (recent.size >= MAX_PROBLEM_KEYS) {
      const oldest = recent.keys().next().value;
      if (oldest !== undefined) recent.delete(oldest);
    }
    r = { times: [], held: 0 };
    recent.set(key, r);
  }
  r.times = r.times.filter((t) => now - t < FLAP_WINDOW_MS);
  if (r.times.length >= FLAP_LINES) {
    r.held++;
    return { ok: false, note: '' };
  }
  r.times.push(now);
  let note = '';
  if (r.held > 0) note = ` (${r.held} more line${r.held > 1 ? 's' : ''} about this were held back)`;
  if (r.times.length === FLAP_LINES) note += ` (this keeps changing: lines about it are held back for ${FLAP_WINDOW_MS / 60000} minutes)`;
  r.held = 0;
  return { ok: true, note };
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
  const b = budget(key);
  if (b.ok) native.log(C.LOG_WARNING, oneLine(message) + b.note);
}

/** The problem under `key` is gone; log that once if one was logged. */
export function resolved(key: string, message?: string): void {
  key = short(key);
  if (!problems.has(key)) return;
  problems.delete(key);
  if (!message) return;
  const b = budget(key);
  if (b.ok) native.log(C.LOG_INFO, oneLine(message) + b.note);
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
