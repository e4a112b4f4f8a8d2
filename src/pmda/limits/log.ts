// The PMDA log. Everything goes through pmNotifyErr into the file that
// pmdaOpenLog opened (json.log under pmcd's log directory by default);
// nothing is ever written to fd 1, which carries PDUs in pipe mode.
//
// A problem with an input (a file, a command, a metadata entry) is logged
// once, under a key naming what it concerns, and again only when the
// problem changes or after it was fixed and came back: a broken file
// sampled every second must not fill the disk.
//
// Beyond that, the log is bounded in rate and in size, per user and in
// total (config.json: log_user_lines and log_lines a minute, log_max_bytes
// in all): each line about a source is charged to the source's author;
// what does not fit is dropped, and the log says so, once a minute per
// user, with how many lines were dropped.
import { native, C } from '../native';

let debugEnabled = false;

/**
 * The one escaping rule of the log, for everything it prints: what came
 * from users (names, paths, label keys, messages) may hold characters a
 * terminal or a log reader acts on. C0 controls (a newline would end the
 * line early and forge the next), DEL, C1 controls (U+0085 is a newline
 * to some readers, U+009B opens a CSI sequence as ESC [ does), U+2028 and
 * U+2029 (line ends to JavaScript), the bidirectional overrides and
 * isolates (they reorder what a reader sees) and lone surrogates (they
 * have no UTF-8: the line would carry U+FFFD and hide what was there) are
 * written as \uXXXX escapes, newline, carriage return and tab as \n, \r
 * and \t. Text read as UTF-8 has its invalid bytes as U+FFFD already, so
 * the log is always valid UTF-8. Escaping twice changes nothing.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export function escape(text: string): string {
  return text.replace(UNSAFE, (c) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * One message, one line: escaped (see escape), and at most MAX_LINE
 * characters once escaped, so no input can end a log line early, forge
 * one of its own, or make a line of megabytes.
 */
export function oneLine(message: string): string {
  // a 10 MB metric name must not make a 10 MB log line, nor take the time to escape it whole
  const line = escape(message.length > MAX_LINE ? message.slice(0, MAX_LINE) : message);
  if (line.length <= MAX_LINE && message.length <= MAX_LINE) return line;
  // cut where no escape is split in two; count what is left out in characters of the message
  const kept = line.slice(0, MAX_LINE).replace(/\\(u[0-9a-f]{0,3})?$/, '');
  const escapes = kept.match(/\\(u[0-9a-f]{4}|[nrt])/g) ?? [];
  const shown = kept.length - escapes.reduce((n, e) => n + e.length - 1, 0);
  return `${kept}... (${message.length - shown} more characters)`;
}
const problems = new Map<string, string>();
const MAX_PROBLEM_KEYS = 10000;
/** Characters of a message logged at most; keys and messages kept at most. */
const MAX_LINE = 4096;

/** A problem key or message as remembered: long ones by a digest of their tail. */
function short(text: string): string {
  if (text.length <= MAX_LINE) return text;
  // node's crypto is loaded only when a line this long comes (a few hundred KiB of memory otherwise)
  const { createHash } = require('crypto') as typeof import('crypto');
  return `${text.slice(0, MAX_LINE)}#${createHash('sha1').update(text).digest('hex')}`;
}

export function setDebug(on: boolean): void {
  debugEnabled = on;
}

export function isDebug(): boolean {
  return debugEnabled;
}

// ---- rate and size ------------------------------------------------------------

interface Window {
  start: number;
  lines: number;
  dropped: number;
  /** Lines dropped in an earlier window, to report with the next line. */
  unreported: number;
}

const limits = { userLines: Infinity, lines: Infinity, maxBytes: Infinity };
let whoOf: (key: string) => string | undefined = () => undefined;
const perUser = new Map<string, Window>();
const everyone: Window = { start: 0, lines: 0, dropped: 0, unreported: 0 };
let written = 0;
let full = false;
const MINUTE = 60000;

/** The limits of config.json, and how to tell whose a problem key is. */
export function setLimits(l: { logUserLines: number; logLines: number; logMaxBytes: number }, attribute?: (key: string) => string | undefined): void {
  limits.userLines = l.logUserLines;
  limits.lines = l.logLines;
  limits.maxBytes = l.logMaxBytes;
  if (attribute) whoOf = attribute;
}

function roll(w: Window, now: number): void {
  if (now - w.start < MINUTE) return;
  w.unreported += w.dropped;
  w.start = now;
  w.lines = 0;
  w.dropped = 0;
}

function write(level: number, text: string): void {
  if (full) return;
  // the single write path: whatever a caller built, it is written escaped
  text = escape(text);
  const n = Buffer.byteLength(text) + 48; // the time stamp and program name pmNotifyErr adds
  if (written + n > limits.maxBytes) {
    full = true;
    native.log(C.LOG_WARNING, `the log has reached its limit of ${limits.maxBytes} bytes (log_max_bytes): nothing more is logged until the PMDA restarts`);
    return;
  }
  written += n;
  native.log(level, text);
}

/** Write a line about `key` if the rate limits let it through. */
function emit(level: number, text: string, key?: string): void {
  const now = Date.now();
  const who = key !== undefined ? whoOf(key) : undefined;
  let w: Window | undefined;
  if (who !== undefined) {
    w = perUser.get(who);
    if (!w) {
      if (perUser.size >= 100000) perUser.clear();
      w = { start: now, lines: 0, dropped: 0, unreported: 0 };
      perUser.set(who, w);
    }
    roll(w, now);
    if (w.lines >= limits.userLines) {
      if (w.dropped++ === 0) write(C.LOG_WARNING, `lines about the sources of ${who} are suppressed for the rest of this minute (log_user_lines: ${limits.userLines} a minute)`);
      return;
    }
  }
  roll(everyone, now);
  if (everyone.lines >= limits.lines) {
    if (everyone.dropped++ === 0) write(C.LOG_WARNING, `log lines are suppressed for the rest of this minute (log_lines: ${limits.lines} a minute)`);
    return;
  }
  let note = '';
  if (w && w.unreported > 0) {
    note += ` (${w.unreported} earlier line${w.unreported > 1 ? 's' : ''} about the sources of ${who} were suppressed)`;
    w.unreported = 0;
  }
  if (everyone.unreported > 0) {
    note += ` (${everyone.unreported} earlier line${everyone.unreported > 1 ? 's' : ''} were suppressed)`;
    everyone.unreported = 0;
  }
  if (w) w.lines++;
  everyone.lines++;
  write(level, text + note);
}

/** A line for the log; `key` (a problem key, a source directory) charges it to a user. */
export function info(message: string, key?: string): void {
  emit(C.LOG_INFO, oneLine(message), key);
}

export function warn(message: string): void {
  emit(C.LOG_WARNING, oneLine(message));
}

export function error(message: string): void {
  emit(C.LOG_ERR, oneLine(message));
}

export function debug(message: string): void {
  if (debugEnabled) emit(C.LOG_DEBUG, oneLine(message));
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
  if (b.ok) emit(C.LOG_WARNING, oneLine(message) + b.note, key);
}

/** The problem under `key` is gone; log that once if one was logged. */
export function resolved(key: string, message?: string): void {
  key = short(key);
  if (!problems.has(key)) return;
  problems.delete(key);
  if (!message) return;
  const b = budget(key);
  if (b.ok) emit(C.LOG_INFO, oneLine(message) + b.note, key);
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
