// metadata.json: what a source's metrics are called, where their values
// live in the data, and how PCP should describe them. Parsing is
// forgiving in pmdajson's way: an invalid entry is reported and skipped,
// its valid siblings are kept.
import { parseUnits, NoUnitsParser } from './units';
import { parsePointer, Pointer, PointerError } from './pointer';
import * as C from './pcp';
import { showJson, isObject } from './json';
import { validName } from './names';
import type { JsonValue, JsonObject as Obj } from './json';
import { SOURCE_LABELS, parseInstanceLabels, parseLabels } from './labels';
import { valueKeys, ValueMapping } from './valuemap';

export type ValueType = 'integer' | 'double' | 'string';

export type Units = [number, number, number, number, number, number];
export const NO_UNITS: Units = [0, 0, 0, 0, 0, 0];

export interface MetricSpec {
  /** Name below the source, e.g. "read_count" or "net_xmit_data.xmit_count". */
  name: string;
  pointer: Pointer;
  type: ValueType;
  sem: number;
  units: Units;
  description: string;
  /** Long help text (the `help` key); pmdajson had none. */
  help?: string;
  /** PCP labels of the metric (the `labels` key), as JSON object text. */
  labels?: string;
  /** Strings served as numbers (the `map` and `numeric-strings` keys, src/format/valuemap.ts). */
  mapping?: ValueMapping;
}

/** Where an array's elements are, and how each is named. */
export interface Level {
  name: string;
  /** In the document, or in each element of the level above. */
  pointer: Pointer;
  /** Where, inside each element, its instance name is; absent: the keys of an object name them. */
  index?: Pointer;
  /** A tree: in each element, more elements of the same shape (the `children` key). */
  children?: Pointer;
  /** A tree's instances are named by their own index alone (`"instance-names": "leaf"`), not their path. */
  leafNames?: boolean;
}

export interface ArraySpec extends Level {
  description: string;
  members: MetricSpec[];
  /** Instance labels: label name -> pointer into each element. */
  instanceLabels?: Array<[string, Pointer]>;
  /** Arrays inside each element, named "name.inner" (an array among its metrics). */
  nested?: ArraySpec[];
  /** A nested array: the levels its elements are inside, the outermost first. */
  outer?: Level[];
}

/** Arrays nest at most this deep; a tree's elements are at most this deep. */
export const MAX_NESTING = 8;
export const MAX_TREE_DEPTH = 64;

/** Array `a` and the arrays nested in it, at every depth: each is served as an array of its own. */
export function withNested(a: ArraySpec): ArraySpec[] {
  return [a, ...(a.nested ?? []).flatMap(withNested)];
}

/** Are `a`'s instances named by more than one level (a nested array, or a tree)? */
export function isComposed(a: ArraySpec): boolean {
  return a.outer !== undefined || a.children !== undefined;
}

/** One metadata entry, in file order: a single-valued metric or an array. */
export type Entry = { kind: 'metric'; metric: MetricSpec } | { kind: 'array'; array: ArraySpec };

export interface Metadata {
  prefix?: string;
  dataPath?: string;
  dataExec?: string;
  /** An HTTP(S) URL, or http+unix://SOCKET/PATH with the socket path %-encoded. */
  dataUrl?: string;
  /** A file of request headers (Name: value lines), for data-url. */
  dataUrlHeaders?: string;
  /** data-url-ca, -cert, -key (files) and -servername: TLS settings of a trusted source's data-url. */
  dataUrlTls?: { ca?: string; cert?: string; key?: string; servername?: string };
  /** PCP labels of the whole source (the `labels` key), as JSON object text. */
  labels?: string;
  /** `data-max-age`: its command's last output is served at most this old (ms), within config.json's data_max_age. */
  dataMaxAgeMs?: number;
  entries: Entry[];
  /** One line per problem found, for the log. */
  problems: string[];
}

export { validName };

const TYPES: Record<string, ValueType | 'array'> = {
  integer: 'integer',
  double: 'double',
  string: 'string',
  array: 'array',
};

function semantics(value: string): number | undefined {
  switch (value) {
    case 'instant':
    case 'instantaneous':
      return C.PM_SEM_INSTANT;
    case 'counter':
      return C.PM_SEM_COUNTER;
    case 'discrete':
      return C.PM_SEM_DISCRETE;
    default:
      return undefined;
  }
}

export { setUnitsParser, hasUnitsParser, parseUnits, NoUnitsParser } from './units';
export type { UnitsParser } from './units';

interface Common {
  name: string;
  pointer: Pointer;
  description: string;
}

/** The fields every entry has; undefined (with a problem noted) if unusable. */
function common(item: Obj, where: string, problems: string[], namePrefix: string): (Common & { type: ValueType | 'array' }) | undefined {
  const rawName = item['name'];
  if (rawName === undefined) {
    problems.push(`${where}: skipping metric that has no name`);
    return undefined;
  }
  if (typeof rawName !== 'string') {
    problems.push(`${where}: skipping metric whose name is not a string`);
    return undefined;
  }
  const name = namePrefix + rawName;
  if (!validName(name)) {
    problems.push(`${where}: skipping metric with invalid name '${name}' (PCP names are letters, digits and '_', each part starting with a letter)`);
    return undefined;
  }
  const rawType = item['type'];
  if (rawType === undefined) {
    problems.push(`${where}: skipping metric '${name}' that has no type`);
    return undefined;
  }
  // own keys only: "constructor" or "__proto__" are not types
  const type = typeof rawType === 'string' && Object.prototype.hasOwnProperty.call(TYPES, rawType) ? TYPES[rawType] : undefined;
  if (type === undefined) {
    problems.push(`${where}: skipping metric '${name}': unknown type ${showJson(rawType)} (integer, double, string or array)`);
    return undefined;
  }
  const rawPointer = item['pointer'];
  if (rawPointer === undefined) {
    problems.push(`${where}: skipping metric '${name}' that has no pointer`);
    return undefined;
  }
  if (typeof rawPointer !== 'string') {
    problems.push(`${where}: skipping metric '${name}': pointer is not a string`);
    return undefined;
  }
  // parse-or-say-why, the shape src/pmda/sources/source.ts uses for data
  let pointer: Pointer;
  try {
    pointer = parsePointer(rawPointer);
  } catch (e) {
    problems.push(`${where}: skipping metric '${name}': ${(e as PointerError).message}`);
    return undefined;
  }
  const rawDescription = item['description'];
  if (rawDescription !== undefined && typeof rawDescription !== 'string') {
    problems.push(`${where}: skipping metric '${name}': description is not a string`);
    return undefined;
  }
  return { name, type, pointer, description: rawDescription ?? '' };
}

function scalar(item: Obj, where: string, problems: string[], namePrefix: string): MetricSpec | undefined {
  const c = common(item, where, problems, namePrefix);
  if (!c) return undefined;
  if (c.type === 'array') return undefined; // never: array() reads arrays
  for (const key of ['index', 'metrics', 'children', 'instance-names']) {
    if (item[key] !== undefined) {
      problems.push(`${where}: skipping metric '${c.name}': '${key}' is only for arrays`);
      return undefined;
    }
  }
  let units = NO_UNITS;
  const rawUnits = item['units'];
  if (rawUnits !== undefined) {
    if (typeof rawUnits !== 'string') {
      problems.push(`${where}: skipping metric '${c.name}': units is not a string`);
      return undefined;
    }
    try {
      units = parseUnits(rawUnits);
    } catch (e) {
      if (e instanceof NoUnitsParser) problems.push(`${where}: metric '${c.name}': units '${rawUnits}' not checked: ${e.message}`);
      else problems.push(`${where}: metric '${c.name}': ignoring invalid units '${rawUnits}': ${(e as Error).message}`);
    }
  }
  let sem = C.PM_SEM_INSTANT;
  const rawSem = item['semantics'];
  if (rawSem !== undefined) {
    const s = typeof rawSem === 'string' ? semantics(rawSem) : undefined;
    if (s === undefined) {
      problems.push(`${where}: skipping metric '${c.name}': unknown semantics ${showJson(rawSem)} (instant, counter or discrete)`);
      return undefined;
    }
    sem = s;
  }
  const mapping = valueKeys(item, c.name, c.type, where, problems);
  if (mapping === 'invalid') return undefined;
  const spec: MetricSpec = { name: c.name, pointer: c.pointer, type: c.type, sem, units, description: c.description };
  if (mapping) spec.mapping = mapping;
  if (item['labels'] !== undefined) {
    const l = parseLabels(item['labels'], `${where}: metric '${c.name}'`, problems);
    if (l) spec.labels = l;
  }
  const rawHelp = item['help'];
  if (typeof rawHelp === 'string') spec.help = rawHelp;
  else if (rawHelp !== undefined) problems.push(`${where}: metric '${c.name}': ignoring 'help' that is not a string`);
  return spec;
}

/**
 * An array entry; `outer` are the levels it is nested in (an array among
 * another array's metrics), the outermost first.
 */
function array(item: Obj, where: string, problems: string[], outer: Level[] = []): ArraySpec | undefined {
  const c = common(item, where, problems, outer.length > 0 ? outer[outer.length - 1]!.name + '.' : '');
  if (!c) return undefined;
  if (outer.length >= MAX_NESTING) {
    problems.push(`${where}: skipping array '${c.name}': arrays nest at most ${MAX_NESTING} levels deep`);
    return undefined;
  }
  // no index: the data must be an object, whose keys name the instances
  const level: Level = { name: c.name, pointer: c.pointer };
  for (const key of ['index', 'children'] as const) {
    const raw = item[key];
    if (raw === undefined) continue;
    try {
      if (typeof raw !== 'string') throw new PointerError(`'${key}' is not a string`);
      const p = parsePointer(raw);
      // children at "" would be each element itself, again and again
      if (key === 'children' && p.tokens.length === 0) throw new PointerError('must not be the empty pointer');
      level[key] = p;
    } catch (e) {
      problems.push(`${where}: skipping array '${c.name}': ${typeof raw === 'string' ? `${key} ` : ''}${(e as PointerError).message}`);
      return undefined;
    }
  }
  const rawNames = item['instance-names'];
  if (rawNames !== undefined) {
    if (rawNames !== 'leaf' && rawNames !== 'path') {
      problems.push(`${where}: skipping array '${c.name}': 'instance-names' is ${showJson(rawNames, 64)}, not "path" or "leaf"`);
      return undefined;
    }
    if (!level.children) {
      problems.push(`${where}: skipping array '${c.name}': 'instance-names' is only for arrays with 'children'`);
      return undefined;
    }
    if (rawNames === 'leaf') level.leafNames = true;
  }
  const rawMembers = item['metrics'];
  if (!Array.isArray(rawMembers)) {
    problems.push(`${where}: skipping array '${c.name}': ${rawMembers === undefined ? "it has no 'metrics'" : "'metrics' is not an array"}`);
    return undefined;
  }
  const members: MetricSpec[] = [];
  const nested: ArraySpec[] = [];
  const seen = new Set<string>();
  rawMembers.forEach((m, i) => {
    const w = `${where}.metrics[${i}]`;
    if (!isObject(m)) {
      problems.push(`${w}: skipping entry that is not an object`);
      return;
    }
    if (m['type'] === 'array') {
      // an array inside each element: its names below this one's
      const inner = array(m, w, problems, [...outer, level]);
      if (!inner) return;
      const names = namesOf(inner);
      const taken = names.find((n) => seen.has(n));
      if (taken !== undefined) {
        problems.push(`${w}: skipping array '${inner.name}': duplicate metric '${taken}'`);
        return;
      }
      for (const n of names) seen.add(n);
      nested.push(inner);
      return;
    }
    const spec = scalar(m, w, problems, c.name + '.');
    if (!spec) return;
    if (seen.has(spec.name)) {
      problems.push(`${w}: skipping duplicate metric '${spec.name}'`);
      return;
    }
    seen.add(spec.name);
    members.push(spec);
  });
  const spec: ArraySpec = { ...level, description: c.description, members };
  if (nested.length > 0) spec.nested = nested;
  if (outer.length > 0) spec.outer = outer;
  const rawInstLabels = item['instance-labels'];
  const instanceLabels = rawInstLabels === undefined ? undefined : parseInstanceLabels(rawInstLabels, `${where}: array '${c.name}'`, problems);
  if (instanceLabels) spec.instanceLabels = instanceLabels;
  return spec;
}

/** The names an array takes: its own, its members', and its nested arrays'. */
function namesOf(a: ArraySpec): string[] {
  return withNested(a).flatMap((x) => [x.name, ...x.members.map((m) => m.name)]);
}

/** Parse a metadata.json document; `file` names it in problem lines. */
export function parseMetadata(doc: JsonValue, file: string): Metadata {
  const problems: string[] = [];
  const md: Metadata = { entries: [], problems };
  if (!isObject(doc)) {
    problems.push(`${file}: metadata must be a JSON object`);
    return md;
  }
  // One case a key, each checked and kept on its own: the cases are alike
  // in shape on purpose (a table would hide the messages).
  for (const [key, value] of Object.entries(doc)) {
    switch (key) {
      case 'prefix':
        if (typeof value === 'string') md.prefix = value;
        else problems.push(`${file}: ignoring 'prefix' that is not a string`);
        break;
      case 'data-path':
        if (typeof value === 'string') md.dataPath = value;
        else problems.push(`${file}: ignoring 'data-path' that is not a string`);
        break;
      case 'data-exec':
        if (typeof value === 'string') md.dataExec = value;
        else problems.push(`${file}: ignoring 'data-exec' that is not a string`);
        break;
      case 'data-url':
        if (typeof value !== 'string') problems.push(`${file}: ignoring 'data-url' that is not a string`);
        else if (!/^(https?|http\+unix):\/\/[^\s]+$/.test(value)) problems.push(`${file}: ignoring 'data-url' ${showJson(value)}: only http://, https:// and http+unix:// URLs are served`);
        else md.dataUrl = value;
        break;
      case 'data-url-headers':
        if (typeof value === 'string') md.dataUrlHeaders = value;
        else problems.push(`${file}: ignoring 'data-url-headers' that is not a string`);
        break;
      case 'data-url-ca':
      case 'data-url-cert':
      case 'data-url-key':
      case 'data-url-servername':
        if (typeof value === 'string') (md.dataUrlTls ??= {})[key.slice('data-url-'.length) as 'ca'] = value;
        else problems.push(`${file}: ignoring '${key}' that is not a string`);
        break;
      case 'data-max-age':
        if (typeof value === 'number' && value > 0 && Number.isFinite(value)) md.dataMaxAgeMs = Math.round(value * 1000);
        else problems.push(`${file}: ignoring 'data-max-age' that is not a positive number of seconds`);
        break;
      case 'metrics':
        break;
      case 'labels': {
        const l = parseLabels(value, file, problems, SOURCE_LABELS);
        if (l) md.labels = l;
        break;
      }
      default:
        problems.push(`${file}: ignoring unknown metadata attribute '${key}'`);
    }
  }
  const metrics = doc['metrics'];
  if (!Array.isArray(metrics)) {
    problems.push(`${file}: metadata has no 'metrics' array`);
    return md;
  }
  const names = new Set<string>();
  metrics.forEach((item, i) => {
    const where = `${file}: metrics[${i}]`;
    if (!isObject(item)) {
      problems.push(`${where}: skipping entry that is not an object`);
      return;
    }
    if (item['type'] === 'array') {
      const a = array(item, where, problems);
      if (!a) return;
      if (names.has(a.name)) {
        problems.push(`${where}: skipping duplicate metric '${a.name}'`);
        return;
      }
      // a member is named "array.member": it must not be another metric's name
      const taken = (x: ArraySpec): void => {
        x.members = x.members.filter((m) => {
          if (!names.has(m.name)) return true;
          problems.push(`${where}: skipping member '${m.name}' of array '${x.name}': a metric of that name exists`);
          return false;
        });
        if (!x.nested) return;
        x.nested = x.nested.filter((n) => {
          if (!names.has(n.name)) return true;
          problems.push(`${where}: skipping array '${n.name}' in array '${x.name}': a metric of that name exists`);
          return false;
        });
        x.nested.forEach(taken);
      };
      taken(a);
      for (const n of namesOf(a)) names.add(n);
      md.entries.push({ kind: 'array', array: a });
    } else {
      const m = scalar(item, where, problems, '');
      if (!m) return;
      if (names.has(m.name)) {
        problems.push(`${where}: skipping duplicate metric '${m.name}'`);
        return;
      }
      names.add(m.name);
      md.entries.push({ kind: 'metric', metric: m });
    }
  });
  return md;
}
