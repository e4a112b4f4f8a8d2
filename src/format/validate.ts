// Schema sources' data checked against their schema (src/format/schema.ts
// makes the metadata), with ajv, in bounded time and memory whatever the
// schema: every pattern compiled for V8's linear-time engine or refused,
// uniqueItems by hashing (linear), and every check under a deadline.
import * as v8 from 'v8';
import * as vm from 'vm';
import type Ajv from 'ajv';
import type { ErrorObject, FuncKeywordDefinition, ValidateFunction } from 'ajv';
import type { JsonValue } from './json';
import { PCP_KEYWORDS } from './schema';
import { showJson } from './json';
import { escapeToken } from './names';

type Obj = { [k: string]: JsonValue };

function isObject(v: JsonValue | undefined): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What a validator says about one data document. */
export interface SchemaCheck {
  /** True when the document is valid. */
  ok: boolean;
  /** ajv's messages, one per failure, "POINTER MESSAGE", joined by ", "; '' when ok. */
  message: string;
  /**
   * JSON pointers of the members that failed (a missing required member is
   * named, too). A metric whose value lies at or below one of them should
   * not be served; see {@link isInvalid}. "" means the whole document.
   */
  invalid: string[];
}

/**
 * A compiled schema; call it with each data document, and the
 * milliseconds its check may take (by default the bounds' maxMs).
 */
export type SchemaValidator = (doc: JsonValue, ms?: number) => SchemaCheck;

/** A schema ajv could not compile. */
export class SchemaError extends Error {}

/**
 * A schema whose checks could not be bounded in time or memory (a pattern
 * V8's linear-time engine cannot run); its data is not served.
 */
export class SchemaBoundError extends SchemaError {}

/** A check that would cost more than its bounds allow; thrown by a validator. */
export class CheckBoundError extends Error {
  /** It ran out of time (rather than items or characters). */
  timedOut = false;
}

/** What a validator may spend on one data document. */
export interface CheckBounds {
  /** The most items "uniqueItems" checks in one array (the PMDA gives max_instances). */
  maxUniqueItems: number;
  /** The most characters of item text "uniqueItems" compares in one document. */
  maxUniqueChars: number;
  /** Milliseconds one document's check may take when the caller names none. */
  maxMs: number;
}

export const DEFAULT_BOUNDS: CheckBounds = { maxUniqueItems: 100000, maxUniqueChars: 16 * 1024 * 1024, maxMs: 2500 };

/** Milliseconds ajv may take to compile one schema. */
const COMPILE_MS = 2000;

let deadlines: { context: vm.Context; script: vm.Script } | undefined;

/**
 * `f()`, stopped by V8 when `ms` have passed (a regexp in the middle of
 * its backtracking too): the vm module's watchdog terminates whatever
 * this thread runs, and the error says `what` took too long. No schema,
 * however its keywords combine (allOf over allOf doubles the work at
 * each level), holds the PMDA longer.
 */
function within<T>(ms: number, what: string, f: () => T): T {
  if (!Number.isFinite(ms)) return f();
  deadlines ??= { context: vm.createContext({ run: undefined }), script: new vm.Script('run()') };
  const ctx = deadlines.context as { run: (() => T) | undefined };
  ctx.run = f;
  try {
    return deadlines.script.runInContext(deadlines.context, { timeout: Math.min(2 ** 31 - 1, Math.max(1, Math.floor(ms))) }) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw e;
    const late = new CheckBoundError(`${what} did not finish in the time it was given`);
    late.timedOut = true;
    throw late;
  } finally {
    ctx.run = undefined;
  }
}

/** A pattern that the linear-time engine refused. */
class UnboundedPattern extends SchemaBoundError {
  constructor(readonly pattern: string) {
    super(pattern);
  }
}

let linearEngine = false;

/**
 * ajv's RegExp constructor for untrusted patterns: only those that V8's
 * linear-time engine can run (the 'l' flag takes no lookaround, no
 * backreference and no counted repetition beyond 16). Such a pattern is
 * run by the usual backtracking engine, fast on most, and when it
 * backtracks too much V8 runs it again with the linear-time engine
 * (main.ts sets that flag, and so does this). A pattern outside that set
 * would backtrack without end (30 characters held the PMDA for more than
 * 20 s): refused.
 */
function linearRegExp(pattern: string, flags: string): RegExp {
  if (!linearEngine) {
    v8.setFlagsFromString('--enable-experimental-regexp-engine');
    v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
    linearEngine = true;
  }
  try {
    new RegExp(pattern, flags + 'l');
  } catch (e) {
    if (e instanceof SyntaxError && /linear time/.test(e.message)) throw new UnboundedPattern(pattern);
    throw e;
  }
  // the linear-time engine is an interpreter, many times slower: only the fallback
  return new RegExp(pattern, flags);
}
linearRegExp.code = 'linearRegExp';

/** Where in `schema` the refused `pattern` is: the JSON pointer of its keyword. */
function patternPlace(schema: JsonValue, pattern: string): string {
  const seen = new Set<JsonValue>();
  const find = (v: JsonValue, at: string): string | undefined => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return undefined;
    seen.add(v);
    if (!Array.isArray(v)) {
      if (v['pattern'] === pattern) return `${at}/pattern`;
      const pp = v['patternProperties'];
      if (isObject(pp) && Object.prototype.hasOwnProperty.call(pp, pattern)) return `${at}/patternProperties`;
    }
    for (const [k, c] of Object.entries(v)) {
      const found = find(c, `${at}/${escapeToken(k)}`);
      if (found) return found;
    }
    return undefined;
  };
  return find(schema, '#') ?? '#';
}

/** Characters of a pattern shown in the log. */
const SHOWN = 60;

function refusedPattern(schema: JsonValue, e: UnboundedPattern): SchemaBoundError {
  const at = patternPlace(schema, e.pattern);
  const keyword = at.endsWith('/patternProperties') ? 'patternProperties' : 'pattern';
  const shown = e.pattern.length > SHOWN ? `${e.pattern.slice(0, SHOWN)}...` : e.pattern;
  return new SchemaBoundError(`"${keyword}" ${showJson(shown)} at ${at} cannot be checked in linear time (lookaround, backreferences and counted repetition beyond 16 are refused)`);
}

/** JSON text of `v` with each object's members sorted: equal text, equal values (as ajv's equal() says). */
function canonical(v: JsonValue): string {
  if (typeof v !== 'object' || v === null) return JSON.stringify(v);
  if (Array.isArray(v)) {
    let text = '[';
    for (let i = 0; i < v.length; i++) text += (i ? ',' : '') + canonical(v[i]!);
    return text + ']';
  }
  let text = '{';
  for (const k of Object.keys(v).sort()) text += (text.length > 1 ? ',' : '') + JSON.stringify(k) + ':' + canonical(v[k]!);
  return text + '}';
}

/**
 * "uniqueItems" in time linear in the items' size: each item's canonical
 * text in a hash, not ajv's comparison of every pair (200,000 untyped
 * items took more than 20 s). More than `maxUniqueItems` items, or more
 * than `maxUniqueChars` of item text in one document (nested arrays
 * repeat their text), throw a CheckBoundError.
 */
function uniqueItems(bounds: CheckBounds, spent: { chars: number }): FuncKeywordDefinition {
  const validate = (schema: boolean, data: JsonValue[]): boolean => {
    if (!schema || data.length < 2) return true;
    if (data.length > bounds.maxUniqueItems) throw new CheckBoundError(`"uniqueItems" over an array of ${data.length} items, more than ${bounds.maxUniqueItems} (max_instances)`);
    const seen = new Map<string, number>();
    for (let i = 0; i < data.length; i++) {
      const text = canonical(data[i]!);
      spent.chars += text.length;
      if (spent.chars > bounds.maxUniqueChars) throw new CheckBoundError(`"uniqueItems" would compare more than ${bounds.maxUniqueChars} characters of items in one document`);
      const j = seen.get(text);
      if (j !== undefined) {
        validate.errors = [{ keyword: 'uniqueItems', message: `must NOT have duplicate items (items ## ${j} and ${i} are identical)`, params: { i, j } }];
        return false;
      }
      seen.set(text, i);
    }
    return true;
  };
  validate.errors = [] as Partial<ErrorObject>[];
  return { keyword: 'uniqueItems', type: 'array', schemaType: 'boolean', errors: true, validate };
}

function makeAjv(schema: Obj, bounds: CheckBounds, spent: { chars: number }): Ajv {
  const draft = typeof schema['$schema'] === 'string' ? schema['$schema'] : '';
  // unicodeRegExp off: V8's linear-time engine does not take /u expressions
  const options = { allErrors: true, strict: false, logger: false as const, validateFormats: false, unicodeRegExp: false, code: { regExp: linearRegExp } };
  // ajv is loaded when the first schema is compiled: a PMDA with no schema
  // sources does not carry it (several MB of resident memory)
  const module = draft.includes('2020-12') ? 'ajv/dist/2020' : draft.includes('2019-09') ? 'ajv/dist/2019' : 'ajv';

  const AjvClass = (require(module) as { default: typeof Ajv }).default;
  const ajv = new AjvClass(options);
  for (const keyword of PCP_KEYWORDS) ajv.addKeyword({ keyword });
  ajv.removeKeyword('uniqueItems');
  ajv.addKeyword(uniqueItems(bounds, spent));
  return ajv;
}

/**
 * A copy of `doc` fit for ajv: each BigInt (an integer beyond 2^53, as
 * parseJson returns them) becomes the nearest double. Every double that
 * large is an integer, so "type": "integer" holds, and minimum/maximum
 * compare correctly up to that rounding. Parts without BigInts are shared,
 * not copied; a document without any is returned as is.
 */
export function withoutBigInts(doc: JsonValue): JsonValue {
  if (typeof doc === 'bigint') return Number(doc);
  if (typeof doc !== 'object' || doc === null) return doc;
  if (Array.isArray(doc)) {
    let copy: JsonValue[] | undefined;
    doc.forEach((v, i) => {
      const w = withoutBigInts(v);
      if (w !== v) (copy ??= doc.slice())[i] = w;
    });
    return copy ?? doc;
  }
  let copy: Obj | undefined;
  for (const [k, v] of Object.entries(doc)) {
    const w = withoutBigInts(v);
    if (w !== v) (copy ??= { ...doc })[k] = w;
  }
  return copy ?? doc;
}

function errorPointer(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  const member = e.keyword === 'required' || e.keyword === 'dependencies' || e.keyword === 'dependentRequired'
    ? p['missingProperty']
    : e.keyword === 'additionalProperties' || e.keyword === 'unevaluatedProperties'
      ? p['additionalProperty'] ?? p['unevaluatedProperty']
      : e.keyword === 'propertyNames'
        ? p['propertyName']
        : undefined;
  return typeof member === 'string' ? `${e.instancePath}/${escapeToken(member)}` : e.instancePath;
}

function errorText(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  const extra = e.keyword === 'additionalProperties' && typeof p['additionalProperty'] === 'string' ? ` ('${p['additionalProperty']}')` : '';
  return `${e.instancePath === '' ? '(document)' : e.instancePath} ${e.message ?? e.keyword}${extra}`;
}

/**
 * Compile `schema` with ajv (allErrors, not strict, formats not checked;
 * draft-07 by default, 2019-09 or 2020-12 when "$schema" says so). Do it
 * once per schema and keep the validator. Integers beyond 2^53 (BigInts
 * from parseJson) validate as integers: see {@link withoutBigInts}.
 * Throws a SchemaError when ajv cannot compile the schema, a
 * SchemaBoundError when a pattern cannot be run in linear time or the
 * compilation takes longer than 2 s. The validator throws a
 * CheckBoundError when a document would cost more than `bounds`, or
 * more time than it is given.
 */
export function compileSchema(schema: JsonValue, bounds: CheckBounds = DEFAULT_BOUNDS): SchemaValidator {
  if (!isObject(schema) && typeof schema !== 'boolean') throw new SchemaError('a schema must be a JSON object');
  let validate: ValidateFunction;
  const spent = { chars: 0 };
  try {
    const ajv = makeAjv(isObject(schema) ? schema : {}, bounds, spent);
    let s = withoutBigInts(schema);
    if (isObject(s) && s['$schema'] !== undefined) {
      // the draft picked the ajv class; an unknown "$schema" (draft-04, say) must not stop compilation
      const { $schema: _draft, ...rest } = s;
      s = rest;
    }
    const compiled = s as object;
    validate = within(COMPILE_MS, 'compiling the schema', () => ajv.compile(compiled));
  } catch (e) {
    if (e instanceof UnboundedPattern) throw refusedPattern(schema, e);
    if (e instanceof CheckBoundError) throw new SchemaBoundError(e.message);
    throw new SchemaError(`invalid schema: ${(e as Error).message}`);
  }
  return (doc: JsonValue, ms = bounds.maxMs): SchemaCheck => {
    spent.chars = 0;
    const data = withoutBigInts(doc);
    if (within(ms, 'checking the document', () => validate(data))) return { ok: true, message: '', invalid: [] };
    const errors = validate.errors ?? [];
    const invalid = [...new Set(errors.map(errorPointer))];
    return { ok: false, message: errors.map(errorText).join(', '), invalid };
  };
}

/** True when `pointer` (text) is one of `invalid` or lies below one. */
export function isInvalid(pointer: string, invalid: readonly string[]): boolean {
  return invalid.some((p) => p === '' || pointer === p || pointer.startsWith(p + '/'));
}

interface PruneNode {
  gone: boolean;
  below: Map<string, PruneNode>;
}

/**
 * A copy of `doc` without the members at the `invalid` pointers (as
 * {@link SchemaCheck.invalid} lists them), so that serving the copy gives
 * no value for exactly those metrics and instances. An array element that
 * is invalid as a whole is dropped (instances are named by their index
 * member, not their position); a member inside an element is removed from
 * that element only. Parts not touched are shared, not copied; "" in
 * `invalid` leaves nothing (undefined).
 */
export function pruneInvalid(doc: JsonValue, invalid: readonly string[]): JsonValue | undefined {
  const root: PruneNode = { gone: false, below: new Map() };
  for (const p of invalid) {
    if (p === '') return undefined;
    let n = root;
    for (const t of p.slice(1).split('/').map((x) => x.replace(/~1/g, '/').replace(/~0/g, '~'))) {
      let next = n.below.get(t);
      if (!next) n.below.set(t, (next = { gone: false, below: new Map() }));
      n = next;
    }
    n.gone = true;
  }
  const prune = (v: JsonValue, n: PruneNode): JsonValue => {
    if (n.below.size === 0 || typeof v !== 'object' || v === null) return v;
    if (Array.isArray(v)) {
      const out: JsonValue[] = [];
      v.forEach((el, i) => {
        const c = n.below.get(String(i));
        if (!c) out.push(el);
        else if (!c.gone) out.push(prune(el, c));
      });
      return out;
    }
    const out: Obj = {};
    for (const [k, el] of Object.entries(v)) {
      const c = n.below.get(k);
      if (!c) out[k] = el;
      else if (!c.gone) out[k] = prune(el, c);
    }
    return out;
  };
  return prune(doc, root);
}

/**
 * The `generation` of a data document {"generation": N, "data": {...}}:
 * a number, bigint or string, or undefined when there is none. When it
 * changes, the producer may have changed its schema: read it again.
 */
export function schemaGeneration(doc: JsonValue | undefined): number | bigint | string | undefined {
  if (!isObject(doc)) return undefined;
  const g = doc['generation'];
  return typeof g === 'number' || typeof g === 'bigint' || typeof g === 'string' ? g : undefined;
}
