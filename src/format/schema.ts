// Schema sources: the format the JSON PMDA began with. A systemtap script
// described its output with a JSON Schema and served data documents
// {"generation": N, "data": {...}}; every property below `data` was a
// metric. This module turns such a schema into this PMDA's Metadata;
// src/format/validate.ts checks data documents against the schema.
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
      const ref = s['$ref'];
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
