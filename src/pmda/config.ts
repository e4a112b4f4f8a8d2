// config.json: which directories hold sources, and the limits that keep
// one source from hurting the others. pmdajson's keys are
// directory_list and trusted_directory_list; the others are ours, with
// defaults a PCP administrator should not need to change.
import * as fs from 'fs';
import { parseJson, showJson, JsonValue } from '../format/json';

export interface Config {
  directoryList: string[];
  trustedDirectoryList: string[];
  /** data-exec commands are killed after this many milliseconds. */
  execTimeoutMs: number;
  /** data-exec output and data files beyond this size are refused. */
  maxDataBytes: number;
  /** Sources served at most (PCP's cluster field allows 4095). */
  maxSources: number;
  /** Metrics per source at most (PCP's item field allows 1023). */
  maxMetrics: number;
  /** Instances per array at most; more are trimmed. */
  maxInstances: number;
  /** String values longer than this (bytes of UTF-8) are cut short. */
  maxStringBytes: number;
}

export const DEFAULTS: Config = {
  directoryList: [],
  trustedDirectoryList: [],
  execTimeoutMs: 2000,
  maxDataBytes: 16 * 1024 * 1024,
  maxSources: 4095,
  maxMetrics: 1023,
  maxInstances: 100000,
  maxStringBytes: 65536,
};

/** config.json keys for the numeric limits, and their Config fields. */
const LIMITS: Record<string, 'maxDataBytes' | 'maxSources' | 'maxMetrics' | 'maxInstances' | 'maxStringBytes'> = {
  max_data_bytes: 'maxDataBytes',
  max_sources: 'maxSources',
  max_metrics: 'maxMetrics',
  max_instances: 'maxInstances',
  max_string_bytes: 'maxStringBytes',
};

function stringList(value: JsonValue, key: string, problems: string[]): string[] {
  if (!Array.isArray(value)) {
    problems.push(`invalid '${key}': expected a list of directory names`);
    return [];
  }
  const out: string[] = [];
  for (const v of value) {
    if (typeof v === 'string' && v !== '') out.push(v);
    else problems.push(`invalid entry in '${key}': ${showJson(v)} is not a directory name`);
  }
  return out;
}

function positive(value: JsonValue, key: string, problems: string[]): number | undefined {
  if (typeof value === 'number' && value > 0 && Number.isFinite(value)) return value;
  problems.push(`invalid '${key}': expected a positive number`);
  return undefined;
}

/** Read config.json; problems are returned for the log, never thrown. */
export function loadConfig(file: string): { config: Config; problems: string[] } {
  const problems: string[] = [];
  const config: Config = { ...DEFAULTS, directoryList: [], trustedDirectoryList: [] };
  let doc: JsonValue;
  try {
    doc = parseJson(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    problems.push(err.code ? `cannot read ${file}: ${err.message}` : `cannot parse ${file}: ${err.message}`);
    return { config, problems };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    problems.push(`${file}: configuration must be a JSON object`);
    return { config, problems };
  }
  for (const [key, value] of Object.entries(doc)) {
    switch (key) {
      case 'directory_list':
        config.directoryList = stringList(value, key, problems);
        break;
      case 'trusted_directory_list':
        config.trustedDirectoryList = stringList(value, key, problems);
        break;
      case 'exec_timeout': {
        const v = positive(value, key, problems);
        if (v !== undefined) config.execTimeoutMs = Math.round(v * 1000);
        break;
      }
      default: {
        // own keys only: "constructor" or "__proto__" are not options
        const field = Object.prototype.hasOwnProperty.call(LIMITS, key) ? LIMITS[key] : undefined;
        if (!field) {
          problems.push(`${file}: ignoring unknown config option '${key}'`);
          break;
        }
        const v = positive(value, key, problems);
        if (v !== undefined) config[field] = Math.floor(v);
      }
    }
  }
  return { config, problems: problems.map((p) => (p.startsWith(file) ? p : `${file}: ${p}`)) };
}
