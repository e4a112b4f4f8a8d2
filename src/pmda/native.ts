// The native shim (native/, its module table in native/pmda_json.cc):
// libpcp_pmda, pmdaCache, pmParseUnitsStr and pmNotifyErr, with no metric
// logic of its own.
import * as path from 'path';
import { setUnitsParser } from '../format/metadata';

export interface NativeConstants {
  PMDA_CACHE_LOAD: number;
  PMDA_CACHE_SAVE: number;
  PMDA_CACHE_INACTIVE: number;
  PMDA_CACHE_ADD: number;
  PMDA_CACHE_CULL: number;
  PMDA_CACHE_REORG: number;
  PMDA_CACHE_HIDE: number;
  PM_TYPE_64: number;
  PM_TYPE_DOUBLE: number;
  PM_TYPE_STRING: number;
  PM_SEM_COUNTER: number;
  PM_SEM_INSTANT: number;
  PM_SEM_DISCRETE: number;
  PM_INDOM_NULL: number;
  PM_IN_NULL: number;
  PM_ERR_AGAIN: number;
  PM_ERR_VALUE: number;
  PM_ERR_PMID: number;
  PM_LABEL_CLUSTER: number;
  PM_LABEL_ITEM: number;
  PM_ERR_PERMISSION: number;
  PM_ERR_INST: number;
  PM_TEXT_ONELINE: number;
  PM_TEXT_INDOM: number;
  IN_ISDIR: number;
  IN_CLOSE_WRITE: number;
  IN_IGNORED: number;
  IN_Q_OVERFLOW: number;
  LOG_ERR: number;
  LOG_WARNING: number;
  LOG_INFO: number;
  LOG_DEBUG: number;
}

export interface PmdaHandlers {
  /** One call per fetch PDU: the requested PMIDs in, encoded values out. */
  fetch(pmids: Uint32Array): Buffer;
  /**
   * Once per namespace or instance PDU: bring sources up to date; `indom`
   * is the instance domain asked about, PM_INDOM_NULL for names.
   */
  refresh(indom: number): void;
  /** Help text for a PMID or indom; null when there is none. */
  text(ident: number, type: number): string | null;
  /** pmcd closed the connection. */
  exit(status: number): void;
  /** Labels (JSON object text) of the domain, a cluster, an item or an indom. */
  labels(type: number, ident: number): string | null;
  /** Labels (JSON object text) of one instance. */
  instanceLabels(indom: number, inst: number): string | null;
  /** A store PDU: the PMID, instance and value of every value; returns a status. */
  store(pmids: Uint32Array, insts: Int32Array, values: Float64Array): number;
}

export interface ExecStart {
  argv: string[];
  cwd: string;
  uid: number;
  gid: number;
  groups: number[];
  env: string[];
  timeoutMs: number;
  maxBytes: number;
  limits: { as: number; nofile: number; nproc: number; cpu: number; fsize: number };
}

export interface ExecDone {
  id: number;
  status: number;
  signal: number;
  /** The output, with zeroed room after it in its ArrayBuffer (for the query's parse). */
  output: Uint8Array;
  timedOut: boolean;
  overflow: boolean;
  errno: number;
  error: string | null;
}

export interface Native {
  init(o: { name: string; domain: number; logfile: string; debug?: string; openLog?: boolean }): void;
  start(handlers: PmdaHandlers): void;
  setDescs(records: Int32Array): void;
  /** The dynamic namespace: names (or one string of them joined by NUL) and their pmids. */
  setNames(names: string[] | string, pmids: Uint32Array): void;
  parseUnits(text: string): [number, number, number, number, number, number];
  cacheOp(serial: number, op: number): number;
  cacheResize(serial: number, max: number): number;
  cacheStore(serial: number, flags: number, name: string): number;
  /** Every stored entry of a cache, in instance order: their instance ids, and their names joined by NUL. */
  cacheEntries(serial: number): [Int32Array, string];
  indomSet(serial: number, insts: Int32Array, names: string[]): void;
  indom(serial: number): number;
  pmid(cluster: number, item: number): number;
  log(level: number, message: string): void;
  errStr(code: number): string;
  getConfig(name: string): string | null;
  setDomain(domain: number): void;
  /** Open a file with a user's filesystem credentials (uid < 0: the PMDA's own). */
  openAs(path: string, uid: number, gid: number, groups: number[], nofollow: boolean, stamp?: BigUint64Array, stampAt?: number): number;
  /**
   * Read whole files from paths[from] on, all opened with a user's filesystem credentials as
   * openAs opens them, until their texts pass `budget` bytes: per file [text, dev, ino, size,
   * mtime s, mtime ns], or -errno or NOT_REGULAR, or [null, size] past maxBytes, [false, max] grown past it.
   */
  readFilesAs(paths: string[], from: number, uid: number, gid: number, groups: number[], maxBytes: number, budget: number): Array<number | [string, number, number, number, number, number] | [null | false, number]>;
  NOT_REGULAR: number;
  /** Per path, the owner and mode lstat (stat with `follow`) says, or -errno and 0. */
  owners(paths: string[], follow: boolean): Float64Array;
  /** Per path, STAT_FIELDS numbers of what lstat says (native/access.cc): owner (or -errno), mode, group, device and inode (high and low halves), size, mtime and ctime (seconds, nanoseconds). */
  stamps(paths: string[]): Float64Array;
  /**
   * A warm start's look, on a thread of the shim's (native/warmlook.cc):
   * watch each of `dirs` (unless not `watch`), then stamp them, each
   * source's metadata file (sourceDirs[i]/describedBy[i]) and `others`;
   * each string the paths joined by NUL.
   */
  warmBegin(dirs: string, sourceDirs: string, describedBy: string, others: string, watch: boolean): void;
  /** The look begun, once over: the watch descriptors (or -errno) and the stamps; undefined if none was begun. */
  warmEnd(): [Int32Array, Float64Array] | undefined;
  STAT_FIELDS: number;
  /** Does fstat of `fd` say what the stamp at element `at` of `stamps` (written by openAs) says? 1, 0, or -errno. */
  sameFile(fd: number, stamps: BigUint64Array, at: number): number;
  /** Does lstat of `path` find the file of the stamp at `at`, unchanged (a regular file)? 1, 0, or -errno. */
  samePath(path: string, stamps: BigUint64Array, at: number): number;
  STAMP_LENGTH: number;
  STAMP_SIZE: number;
  /** The stamp's first STAMP_DATA fields (device, inode, size, mtime) say whether the data is the same. */
  STAMP_DATA: number;
  STAMP_LINKED: number;
  /** Start a command under a shepherd; its id, or -errno. */
  execStart(job: ExecStart): number;
  /** Collect finished commands, waiting up to waitMs for all of `ids`. */
  execWait(ids: number[], waitMs: number): ExecDone[];
  execRunning(): number;
  /** Where the shepherd program of commands is. */
  execShepherd(path: string): void;
  watchInit(): number;
  watchAdd(dir: string): number;
  watchRead(): Array<[number, string, number]> | null;
  /** Watch the inode of an open file on a local file system (native/watch.cc); its watch descriptor, or -errno. */
  watchFile(fd: number): number;
  watchRemove(wd: number): number;
  /** Compile the JSON pointers of a source's query (native/query.cc); its id. */
  queryCompile(spec: { scalars: string[][]; arrays: Array<{ at: string[]; index: string[] | null; members: string[][] }> }): number;
  /** Run a query on bytes [0, length) of a buffer: its slots, or QUERY_NOT_PARSED. */
  queryRun(id: number, buf: Buffer, length: number, padded: boolean): Buffer | number;
  queryFree(id: number): void;
  /** Copy rows [from, to) of a column of integer slots into a record at word `at` (native/gather.cc); the row it stopped at. */
  gatherInt64(values: Int32Array, kinds: Uint8Array, first: number, width: number, order: Int32Array | null, elements: Int32Array, insts: Int32Array, from: number, to: number, out: Int32Array, at: number, kind: number): number;
  /** Drop the resident pages of read-only file mappings that hold no private page (native/memory.cc); the bytes of those mappings. */
  settle(): number;
  /** malloc_trim, and the pages of a big fetch's buffer past its first 64 KiB. */
  rest(): void;
  QUERY_NOT_PARSED: number;
  QUERY_PADDING: number;
  constants: NativeConstants;
}

const RELEASE = path.join(__dirname, '..', '..', 'build', 'Release');
/** The native module's file. */
export const NATIVE_MODULE = path.join(RELEASE, 'pmda_json.node');
export const native = require(NATIVE_MODULE) as Native; // pmda_json.node, the only place it is loaded
// data-exec commands run under the shepherd built beside the module (native/shepherd.cc)
native.execShepherd(path.join(RELEASE, 'pmdajson-shepherd'));
export const C = native.constants;

// metadata.json units are parsed by libpcp's pmParseUnitsStr wherever the
// native module is loaded (src/format/ does not load it itself)
setUnitsParser((text) => native.parseUnits(text));
