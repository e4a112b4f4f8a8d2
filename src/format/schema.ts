// Schema sources: the format the JSON PMDA began with. A systemtap script
// described its output with a JSON Schema and served data documents
// {"generation": N, "data": {...}}; every property below `data` was a
// metric. This module turns such a schema into this PMDA's Metadata,
// and checks data documents against the schema with ajv.
//
// Mapping (JSON Schema -> PCP):
//   "type": "integer"          64-bit integer, counter semantics (as stap_json did)
//   "type": "number"           double, instant
//   "type": "string"           string, instant
//   "type": "object"           a subtree: members become NAME.MEMBER
//   "type": "array" of objects an array (instance domain) indexed by /__id,
//                              or by the member named by "x-pcp-index"
//   "description" (or "title") the metric's help text
// Our keywords, all optional, on any property schema:
//   "x-pcp-units": "byte"      units, as pmParseUnitsStr(3) reads them
//   "x-pcp-semantics": "..."   instant, counter or discrete
//   "x-pcp-name": "name"       the PCP name part to use instead of the property name
//   "x-pcp-index": "member"    (arrays) the member holding instance names
// and on the root schema:
//   "x-pcp-prefix"             the source name (default: "title", if a valid name)
//   "x-pcp-data-path", "x-pcp-data-exec"   as data-path and data-exec in metadata.json
// Anything else that cannot be served (booleans, arrays of scalars, arrays
// inside arrays, unions of types, invalid names) is reported in
// `problems` and skipped.
//
// When the root schema has no "data" property, its own properties are the
// metrics (pointers /NAME instead of /data/NAME), so a plain schema for a
// plain data document works too.
import * as v8 from 'v8';
import * as vm from 'vm';
import type Ajv from 'ajv';
import type { ErrorObject, FuncKeywordDefinition, ValidateFunction } from 'ajv';
import type { JsonValue } from './json';
import { showJson } from './json';
import { parseMetadata, Metadata } from './metadata';
import type { ArrayJson, MetadataJson, MetricJson, Semantics } from './document';
import { validName as isPcpName, escapeToken } from './names';

type Obj = { [k: string]: JsonValue };

function isObject(v: JsonValue | undefined): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The keywords of ours that ajv is told about (they carry no validation). */
export const PCP_KEYWORDS = ['x-pcp-units', 'x-pcp-semantics', 'x-pcp-name', 'x-pcp-index', 'x-pcp-prefix', 'x-pcp-data-path', 'x-pcp-data-exec'] as const;

const SEMANTICS = new Set<string>(['instant', 'counter', 'discrete']);

/** The metadata.json document a schema stands for, and what could not be used. */
export interface SchemaMetadata {
  doc: MetadataJson;
  problems: string[];
}

class Walker {
  readonly problems: string[] = [];
  constructor(
    readonly root: Obj,
    readonly file: string,
  ) {}

  /** Follow local "$ref"s ("#/definitions/x", "#/$defs/x"); undefined (reported) when broken. */
  deref(schema: JsonValue | undefined, where: string): JsonValue | undefined {
    let s = schema;
    for (let hops = 0; isObject(s) && typeof s['$ref'] === 'string'; hops++) {
      const ref = s['$ref'] as string;
      if (hops > 32 || !ref.startsWith('#')) {
        this.problem(where, hops > 32 ? `too many nested $ref` : `only local $ref ("#/...") is supported, not '${ref}'`);
        return undefined;
      }
      const target = refTarget(this.root, ref);
      if (target === undefined) {
        this.problem(where, `$ref '${ref}' names nothing in the schema`);
        return undefined;
      }
      // keywords beside $ref (draft 2019+) refine the target; ours win
      const { $ref: _ignored, ...rest } = s;
      s = isObject(target) ? { ...target, ...rest } : target;
    }
    return s;
  }

  /**
   * How many properties the walk from `s` (an object schema) visits, each
   * $ref counted as often as it is used, without walking: a memo per
   * schema node, so the cost is the schema's size. Infinity when $refs
   * recurse (the walk would never end); past `limit` it stops counting.
   */
  expansion(s: Obj, limit: number): number {
    const memo = [new Map<Obj, number>(), new Map<Obj, number>()];
    const active = new Set<Obj>();
    const props = (o: Obj, inArray: boolean): number => {
      const p = o['properties'];
      if (!isObject(p)) return 0;
      let n = 0;
      for (const v of Object.values(p)) {
        n += 1 + (isObject(v) ? node(v, inArray) : 0);
        if (n > limit) break;
      }
      return n;
    };
    // what the walk below one property schema visits, as object() and array() go
    const node = (raw: Obj, inArray: boolean): number => {
      const known = memo[inArray ? 1 : 0]!.get(raw);
      if (known !== undefined) return known;
      if (active.has(raw)) return Infinity;
      active.add(raw);
      let n = 0;
      const d = this.deref(raw, '');
      if (isObject(d)) {
        const type = this.typeOf(d);
        if (type === 'object') n = props(d, inArray);
        else if (type === 'array' && !inArray) {
          const items = this.deref(d['items'], '');
          if (isObject(items)) n = props(items, true);
        }
      }
      active.delete(raw);
      memo[inArray ? 1 : 0]!.set(raw, n);
      return n;
    };
    return props(s, false);
  }

  problem(where: string, text: string): void {
    this.problems.push(`${this.file}: ${where}: ${text}`);
  }

  /** The one JSON type of a schema (null allowed beside it), or a reason why there is none. */
  typeOf(s: Obj): string | { why: string } {
    let t = s['type'];
    if (Array.isArray(t)) {
      const nonNull = t.filter((x) => x !== 'null');
      if (nonNull.length !== 1) return { why: `a union of types ${showJson(t)} cannot be one metric` };
      t = nonNull[0]!;
    }
    if (typeof t === 'string') return t;
    if (t !== undefined) return { why: `"type" ${showJson(t)} is not a type name` };
    if (isObject(s['properties'])) return 'object';
    if (isObject(s['items'])) return 'array';
    const consts = s['const'] !== undefined ? [s['const']] : Array.isArray(s['enum']) ? s['enum'] : undefined;
    if (consts && consts.length > 0) {
      const kinds = new Set(consts.map((c) => (typeof c === 'bigint' ? 'number' : typeof c === 'number' ? (Number.isInteger(c) ? 'integer' : 'number') : typeof c)));
      if (kinds.size === 1) return [...kinds][0]!;
      if (kinds.size === 2 && kinds.has('integer') && kinds.has('number')) return 'number';
    }
    for (const k of ['anyOf', 'oneOf', 'allOf']) if (s[k] !== undefined) return { why: `"${k}" cannot be served as one metric` };
    return { why: 'no "type"' };
  }

  /** The PCP name part of property `key`, or undefined (reported) when it is unusable. */
  component(key: string, s: Obj, where: string): string | undefined {
    const override = s['x-pcp-name'];
    if (override !== undefined && typeof override !== 'string') {
      this.problem(where, `"x-pcp-name" is not a string`);
      return undefined;
    }
    const name = override ?? key;
    if (!isPcpName(name) || name.includes('.')) {
      this.problem(where, `skipping '${name}': not a valid PCP name part (a letter, then letters, digits or '_')${override === undefined ? '; give it an "x-pcp-name"' : ''}`);
      return undefined;
    }
    return name;
  }

  /** Common metric fields from a scalar's schema. */
  scalar(s: Obj, type: string, name: string, pointer: string, where: string): MetricJson | undefined {
    let t: MetricJson['type'];
    let sem: Semantics;
    switch (type) {
      case 'integer':
        t = 'integer';
        sem = 'counter';
        break;
      case 'number':
        t = 'double';
        sem = 'instant';
        break;
      case 'string':
        t = 'string';
        sem = 'instant';
        break;
      case 'boolean':
      case 'null':
        this.problem(where, `skipping '${name}': ${type} values cannot be served (use an integer)`);
        return undefined;
      default:
        this.problem(where, `skipping '${name}': unknown type '${type}'`);
        return undefined;
    }
    const m: MetricJson = { name, pointer, type: t };
    const description = s['description'] ?? s['title'];
    if (typeof description === 'string' && description !== '') m.description = description;
    const units = s['x-pcp-units'];
    if (typeof units === 'string') {
      if (units !== '') m.units = units;
    } else if (units !== undefined) this.problem(where, `'${name}': ignoring "x-pcp-units" that is not a string`);
    const rawSem = s['x-pcp-semantics'];
    if (typeof rawSem === 'string' && SEMANTICS.has(rawSem)) sem = rawSem as Semantics;
    else if (rawSem !== undefined) this.problem(where, `'${name}': ignoring "x-pcp-semantics" ${showJson(rawSem)} (instant, counter or discrete)`);
    if (sem !== 'instant') m.semantics = sem;
    return m;
  }

  /**
   * The metrics of an object schema's properties, handed to `sink`. `names`
   * is the dotted name so far ('' at the top), `pointer` the JSON pointer
   * so far. Arrays are allowed only outside arrays (`inArray` false);
   * `skip` is a member to leave out (an array's index member).
   */
  object(s: Obj, names: string, pointer: string, where: string, sink: (e: MetricJson | ArrayJson) => void, inArray: boolean, skip?: string): void {
    const props = s['properties'];
    if (props === undefined) return;
    if (!isObject(props)) {
      this.problem(where, '"properties" is not an object');
      return;
    }
    for (const [key, raw] of Object.entries(props)) {
      if (key === skip) continue;
      const w = `${where}/${escapeToken(key)}`;
      const ps = this.deref(raw, w);
      if (ps === undefined) continue;
      if (!isObject(ps)) {
        this.problem(w, `skipping '${key}': ${ps === true ? 'its schema ("true") has no type' : 'its schema is not an object'}`);
        continue;
      }
      const comp = this.component(key, ps, w);
      if (comp === undefined) continue;
      const name = names ? `${names}.${comp}` : comp;
      const p = `${pointer}/${escapeToken(key)}`;
      const type = this.typeOf(ps);
      if (typeof type !== 'string') {
        this.problem(w, `skipping '${name}': ${type.why}`);
      } else if (type === 'object') {
        this.object(ps, name, p, `${w}/properties`, sink, inArray);
      } else if (type === 'array') {
        if (inArray) this.problem(w, `skipping '${name}': arrays inside arrays cannot be served`);
        else {
          const a = this.array(ps, name, p, w);
          if (a) sink(a);
        }
      } else {
        const m = this.scalar(ps, type, name, p, w);
        if (m) sink(m);
      }
    }
  }

  array(s: Obj, name: string, pointer: string, where: string): ArrayJson | undefined {
    const items = this.deref(s['items'], `${where}/items`);
    const is = isObject(items) ? items : undefined;
    if (!is || this.typeOf(is) !== 'object') {
      this.problem(where, `skipping '${name}': only arrays of objects can be served (an array of scalars has no instance names)`);
      return undefined;
    }
    const rawIndex = s['x-pcp-index'] ?? is['x-pcp-index'];
    let index = '__id';
    if (typeof rawIndex === 'string' && rawIndex !== '') index = rawIndex;
    else if (rawIndex !== undefined) this.problem(where, `'${name}': ignoring "x-pcp-index" that is not a member name`);
    const members: MetricJson[] = [];
    // walked with full names (for the problems), pointers inside each element
    this.object(is, name, '', `${where}/items/properties`, (m) => members.push(m as MetricJson), true, index);
    // metadata.json names members below their array
    const metrics = members.map((m) => ({ ...m, name: m.name.slice(name.length + 1) }));
    const a: ArrayJson = { name, pointer, type: 'array', index: '/' + escapeToken(index), metrics };
    const description = s['description'] ?? s['title'];
    if (typeof description === 'string' && description !== '') a.description = description;
    if (members.length === 0) this.problem(where, `array '${name}' has no members that can be served`);
    return a;
  }
}

function refTarget(root: Obj, ref: string): JsonValue | undefined {
  let v: JsonValue | undefined = root;
  const body = decodeURIComponent(ref.slice(1));
  if (body === '') return root;
  if (!body.startsWith('/')) return undefined;
  for (const t of body.slice(1).split('/').map((x) => x.replace(/~1/g, '/').replace(/~0/g, '~'))) {
    if (!isObject(v) || !Object.prototype.hasOwnProperty.call(v, t)) return undefined;
    v = v[t];
  }
  return v;
}

/** The most metrics a schema may expand to when the caller names no limit (the generator). */
export const SCHEMA_MAX_METRICS = 65536;

/**
 * Why a schema cannot be walked into metrics within `maxMetrics`
 * properties (its $refs expand beyond it, or recurse), or undefined when
 * it can. Counted without walking, in time linear in the schema's size:
 * a 2.5 KB schema whose definitions each use the next one twice would
 * walk into 2^20 metrics.
 */
export function schemaTooLarge(schema: JsonValue, file: string, maxMetrics: number): string | undefined {
  if (!isObject(schema)) return undefined;
  const w = new Walker(schema, file);
  const props = schema['properties'];
  const data = isObject(props) ? w.deref(props['data'], '') : undefined;
  const n = w.expansion(isObject(data) && w.typeOf(data) === 'object' ? data : schema, maxMetrics);
  if (n === Infinity) return `${file}: refused: its properties' $refs recurse, so its metrics would never end`;
  if (n > maxMetrics) return `${file}: refused: its properties, with their $refs expanded, are more than ${maxMetrics} metrics (max_metrics)`;
  return undefined;
}

/**
 * The metadata.json document a JSON Schema stands for (see the mapping at
 * the top of this file), without parsing units; `file` names the schema
 * in problem lines. The generator writes this document out. A schema
 * that {@link schemaTooLarge} refuses gives no metrics and that problem.
 */
export function schemaToMetadataJson(schema: JsonValue, file: string, maxMetrics = SCHEMA_MAX_METRICS): SchemaMetadata {
  const problems: string[] = [];
  const doc: MetadataJson = { metrics: [] };
  if (!isObject(schema)) {
    problems.push(`${file}: a schema must be a JSON object`);
    return { doc, problems };
  }
  const tooLarge = schemaTooLarge(schema, file, maxMetrics);
  if (tooLarge) return { doc, problems: [tooLarge] };
  const w = new Walker(schema, file);
  const prefix = schema['x-pcp-prefix'] ?? schema['title'];
  if (typeof prefix === 'string') {
    if (isPcpName(prefix)) doc.prefix = prefix;
    else w.problem('#', `'${prefix}' is not a valid source name; the directory's name is used`);
  }
  for (const [key, attr] of [['x-pcp-data-path', 'data-path'], ['x-pcp-data-exec', 'data-exec']] as const) {
    const v = schema[key];
    if (typeof v === 'string') doc[attr] = v;
    else if (v !== undefined) w.problem('#', `ignoring "${key}" that is not a string`);
  }
  const props = schema['properties'];
  const dataSchema = isObject(props) ? w.deref(props['data'], '#/properties/data') : undefined;
  const sink = (e: MetricJson | ArrayJson): void => {
    doc.metrics.push(e);
  };
  if (isObject(dataSchema) && w.typeOf(dataSchema) === 'object') {
    w.object(dataSchema, '', '/data', '#/properties/data/properties', sink, false);
  } else {
    w.object(schema, '', '', '#/properties', sink, false);
  }
  if (doc.metrics.length === 0) w.problem('#', 'the schema describes no metrics that can be served');
  problems.push(...w.problems);
  const { metrics, ...head } = doc;
  return { doc: { ...head, metrics }, problems };
}

/**
 * Metadata for a schema source: each property of the data document's
 * `data` object (or of the root, when there is no `data`) becomes a
 * metric, as described at the top of this file. `file` names the schema
 * in problem lines. Never throws; what cannot be used is in `problems`.
 */
export function metadataFromSchema(schema: JsonValue, file: string, maxMetrics = SCHEMA_MAX_METRICS): Metadata {
  const { doc, problems } = schemaToMetadataJson(schema, file, maxMetrics);
  const md = parseMetadata(doc as unknown as JsonValue, file);
  md.problems.unshift(...problems);
  return md;
}

// ---- validation ------------------------------------------------------------------

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
