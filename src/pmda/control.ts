// The PMDA's own metrics, in cluster 0: pmdajson's json.nsources and
// json.debug (items 0 and 1, the same PMIDs), and per-source control
// metrics over an instance domain of sources -- the cluster cache itself
// (serial 0), so a source's instance id is its cluster number.
import { C } from './native';

export interface SourceStats {
  /** Fetch PDUs that asked for one of the source's metrics. */
  fetches: number;
  /** Times the data was read and parsed. */
  refreshes: number;
  /** Data that could not be read or parsed. */
  parseErrors: number;
  /** data-exec commands that failed, timed out or exited non-zero. */
  execErrors: number;
  /** Duration of the last refresh, milliseconds. */
  refreshMs: number;
  /** Size of the last data read, bytes. */
  dataBytes: number;
  /** The last problem with the data, '' when there is none. */
  lastError: string;
  /** Reloads of the metadata requested with pmstore. */
  reloads: number;
  /** When the data served was current (Date.now()): a command's output when it was collected, a file when it was last looked at; 0 with no data. */
  dataTime: number;
  /** A data-url made in the PMDA: the last response's status (0: none yet, or no response), time (ms) and bytes received. */
  urlStatus: number;
  urlMs: number;
  urlBytes: number;
  /** Responses 304 Not Modified: the data held is current, neither read nor parsed again. */
  notModified: number;
}

export const newStats = (): SourceStats => ({
  fetches: 0, refreshes: 0, parseErrors: 0, execErrors: 0, refreshMs: 0, dataBytes: 0, lastError: '', reloads: 0, dataTime: 0, urlStatus: 0, urlMs: 0, urlBytes: 0, notModified: 0,
});

export interface StaticMetric {
  item: number;
  name: string;
  type: number;
  sem: number;
  /** pmUnits fields: dimSpace, dimTime, dimCount, scaleSpace, scaleTime, scaleCount. */
  units: [number, number, number, number, number, number];
  help: string;
  /** Per-source metrics: the value from a source's stats (undefined: none for that source). */
  stat?: (s: SourceStats) => number | string | undefined;
}

const NONE: StaticMetric['units'] = [0, 0, 0, 0, 0, 0];
const COUNT: StaticMetric['units'] = [0, 0, 1, 0, 0, 0];
const MSEC: StaticMetric['units'] = [0, 1, 0, 0, 2, 0];
const BYTE: StaticMetric['units'] = [1, 0, 0, 0, 0, 0];
const SEC: StaticMetric['units'] = [0, 1, 0, 0, 3, 0];

/** Item 9, control.reload: storing any value reloads that source's metadata. */
export const RELOAD_ITEM = 9;
export const DEBUG_ITEM = 1;

export const STATIC: StaticMetric[] = [
  { item: 0, name: 'nsources', type: C.PM_TYPE_64, sem: C.PM_SEM_INSTANT, units: NONE, help: 'Number of JSON sources' },
  { item: 1, name: 'debug', type: C.PM_TYPE_64, sem: C.PM_SEM_INSTANT, units: NONE, help: 'Debug logging state' },
  { item: 2, name: 'control.fetches', type: C.PM_TYPE_64, sem: C.PM_SEM_COUNTER, units: COUNT, help: 'Fetches that asked for metrics of each source', stat: (s) => s.fetches },
  { item: 3, name: 'control.refreshes', type: C.PM_TYPE_64, sem: C.PM_SEM_COUNTER, units: COUNT, help: 'Times each source\'s data was read and parsed', stat: (s) => s.refreshes },
  { item: 4, name: 'control.parse_errors', type: C.PM_TYPE_64, sem: C.PM_SEM_COUNTER, units: COUNT, help: 'Times each source\'s data could not be read or parsed', stat: (s) => s.parseErrors },
  { item: 5, name: 'control.exec_errors', type: C.PM_TYPE_64, sem: C.PM_SEM_COUNTER, units: COUNT, help: 'Times each source\'s data-exec command failed or timed out', stat: (s) => s.execErrors },
  { item: 6, name: 'control.refresh_time', type: C.PM_TYPE_DOUBLE, sem: C.PM_SEM_INSTANT, units: MSEC, help: 'Duration of the last data refresh of each source', stat: (s) => s.refreshMs },
  { item: 7, name: 'control.data_bytes', type: C.PM_TYPE_64, sem: C.PM_SEM_INSTANT, units: BYTE, help: 'Size of the data last read for each source', stat: (s) => s.dataBytes },
  { item: 8, name: 'control.last_error', type: C.PM_TYPE_STRING, sem: C.PM_SEM_INSTANT, units: NONE, help: 'The last problem with each source\'s data, empty when there is none', stat: (s) => s.lastError },
  { item: RELOAD_ITEM, name: 'control.reload', type: C.PM_TYPE_64, sem: C.PM_SEM_COUNTER, units: COUNT, help: 'Metadata reloads of each source; pmstore any value to reload it', stat: (s) => s.reloads },
  { item: 11, name: 'control.url_status', type: C.PM_TYPE_64, sem: C.PM_SEM_INSTANT, units: NONE, help: 'HTTP status of the last response to each trusted data-url source\'s request', stat: (s) => (s.urlStatus > 0 ? s.urlStatus : undefined) },
  { item: 12, name: 'control.url_time', type: C.PM_TYPE_DOUBLE, sem: C.PM_SEM_INSTANT, units: MSEC, help: 'Duration of the last request of each trusted data-url source', stat: (s) => (s.urlMs > 0 ? s.urlMs : undefined) },
  { item: 13, name: 'control.url_bytes', type: C.PM_TYPE_64, sem: C.PM_SEM_INSTANT, units: BYTE, help: 'Bytes received for the last response of each trusted data-url source', stat: (s) => (s.urlMs > 0 ? s.urlBytes : undefined) },
  { item: 14, name: 'control.not_modified', type: C.PM_TYPE_64, sem: C.PM_SEM_COUNTER, units: COUNT, help: 'Responses 304 Not Modified to each data-url source: its data kept, not parsed again', stat: (s) => s.notModified },
  { item: 10, name: 'control.data_age', type: C.PM_TYPE_DOUBLE, sem: C.PM_SEM_INSTANT, units: SEC, help: 'Age of the data served for each source', stat: (s) => (s.dataTime > 0 ? Math.max(0, Date.now() - s.dataTime) / 1000 : undefined) },
];

export const LONG_HELP: Record<string, string> = {
  'control.url_bytes': 'Bytes of the body of the last response to each trusted data-url source,\nas received (compressed, when the server compressed it); a response\n304 Not Modified has none. No value for other sources.',
  'control.not_modified': 'Responses 304 Not Modified to the conditional requests of each trusted\ndata-url source (If-None-Match, If-Modified-Since): the data held is\ncurrent (its age starts again), and is neither downloaded nor parsed;\ncontrol.refreshes does not count them.',
  'control.data_age': 'Seconds since the data served for each source was current: for a\ndata-exec or data-url source, since the output served was collected\n(while the next run is under way, the last output is served, up to\ndata_max_age); for a data file, since the file was last looked at.\nNo value for a source that has no data.',
  'control.last_error': 'The last problem met reading each source\'s data: a file that cannot be\nread or parsed, a command that failed. Empty once the data is good again.',
  'control.reload': 'How many times each source\'s metadata was reloaded on request.\npmstore json.control.reload with any value, for one instance or all,\nto read the source\'s metadata.json again at the next fetch.',
};
