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
  /** How long a fetch waits for the commands it started (ms). */
  execWaitMs: number;
  /** While a command runs, its last output is served until it is this old (ms). */
  dataMaxAgeMs: number;
  /** pmdajson's way: every fetch runs the commands it asks for and waits for them (up to exec_timeout). */
  execBlock: boolean;
  /** Per command: address space, open files, processes of its user. */
  execMaxMemory: number;
  execMaxFiles: number;
  execMaxProcesses: number;
  /** May untrusted sources use data-url: no (the default), or to this host only. */
  untrustedUrls: 'no' | 'loopback';
  /** TLS files of every trusted data-url (a source's own data-url-ca, -cert, -key come first). */
  urlCaFile?: string;
  urlCertFile?: string;
  urlKeyFile?: string;
  /** Commands running at once, all sources together (shared per author). */
  execMaxRunning: number;
  /**
   * Budgets, each shared out equally between the authors (users) that
   * have sources: data held, bytes read and parsed in one fetch, values
   * in one fetch, and the wall time of one fetch (ms).
   */
  maxHeldBytes: number;
  fetchMaxBytes: number;
  fetchMaxValues: number;
  fetchMaxMs: number;
  /** Log lines per minute: per author, and in total; the log's size at most. */
  logUserLines: number;
  logLines: number;
  logMaxBytes: number;
  /** Instance names kept per source; names unseen for this long are culled (s). */
  maxCachedInstances: number;
  instanceCullSeconds: number;
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
  execWaitMs: 500,
  dataMaxAgeMs: 600000,
  execBlock: false,
  execMaxMemory: 4 * 1024 * 1024 * 1024,
  execMaxFiles: 64,
  execMaxProcesses: 256,
  execMaxRunning: 64,
  untrustedUrls: 'no',
  maxHeldBytes: 64 * 1024 * 1024,
  fetchMaxBytes: 32 * 1024 * 1024,
  fetchMaxValues: 1000000,
  fetchMaxMs: 2500,
  logUserLines: 60,
  logLines: 600,
  logMaxBytes: 10 * 1024 * 1024,
  maxCachedInstances: 200000,
  instanceCullSeconds: 7 * 24 * 3600,
};

type Limit = { [K in keyof Config]: Config[K] extends number ? K : never }[keyof Config];

/** config.json keys for the numeric limits, and their Config fields. */
const LIMITS: Record<string, Limit> = {
  max_data_bytes: 'maxDataBytes',
  exec_max_memory: 'execMaxMemory',
  exec_max_files: 'execMaxFiles',
  exec_max_processes: 'execMaxProcesses',
  exec_max_running: 'execMaxRunning',
  max_held_bytes: 'maxHeldBytes',
  fetch_max_bytes: 'fetchMaxBytes',
  fetch_max_values: 'fetchMaxValues',
  fetch_max_ms: 'fetchMaxMs',
  log_user_lines: 'logUserLines',
  log_lines: 'logLines',
  log_max_bytes: 'logMaxBytes',
  max_cached_instances: 'maxCachedInstances',
  instance_cull_seconds: 'instanceCullSeconds',
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
  // One case a key of config.json; the time keys are alike in shape on
  // purpose (seconds in, milliseconds kept).
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
      case 'untrusted_urls':
        if (value === 'no' || value === 'loopback' || value === false) config.untrustedUrls = value === 'loopback' ? 'loopback' : 'no';
        else problems.push(`invalid 'untrusted_urls': expected "no" or "loopback"`);
        break;
      case 'url_ca_file':
      case 'url_cert_file':
      case 'url_key_file':
        if (typeof value === 'string' && value.startsWith('/')) config[key === 'url_ca_file' ? 'urlCaFile' : key === 'url_cert_file' ? 'urlCertFile' : 'urlKeyFile'] = value;
        else problems.push(`invalid '${key}': expected an absolute path`);
        break;
      case 'exec_wait': {
        const v = positive(value, key, problems);
        if (v !== undefined) config.execWaitMs = Math.round(v * 1000);
        break;
      }
      case 'data_max_age': {
        const v = positive(value, key, problems);
        if (v !== undefined) config.dataMaxAgeMs = Math.round(v * 1000);
        break;
      }
      case 'exec_block':
        if (typeof value === 'boolean') config.execBlock = value;
        else problems.push(`invalid 'exec_block': expected true or false`);
        break;
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
