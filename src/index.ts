// pmda-json as a library: the pieces a program or a test may reuse.
export { parseJson } from './json';
export type { JsonValue } from './json';
export { parsePointer, resolve } from './pointer';
export { parseMetadata, validName } from './metadata';
export type { Metadata, MetricSpec, ArraySpec } from './metadata';
export { loadConfig } from './config';
export { splitCommand } from './exec';
export { convert } from './fetch';
