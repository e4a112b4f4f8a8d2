// pmda-json as a library: the pieces a program or a test may reuse.
export { parseJson } from './json';
export type { JsonValue } from './json';
export { parsePointer, resolve } from './pointer';
export { parseMetadata, validName } from './metadata';
export type { Metadata, MetricSpec, ArraySpec } from './metadata';
export { loadConfig } from './config';
export { splitCommand } from './exec';
export { convert } from './fetch';
// producer API: write a source directory from a Node.js program
export { Producer, ProducerArray, Metric, ProducerError, stringifyJson, writeFileAtomic, writeFileAtomicAsync, isPcpName, pointerOf } from './producer';
export type { MetricOptions, ProducerOptions, ArrayOptions, Semantics, MetadataJson, MetricJson, ArrayJson, JsonOut } from './producer';
// schema sources: JSON Schema -> metadata, validation of data documents
export { metadataFromSchema, schemaToMetadataJson, compileSchema, schemaGeneration, isInvalid, SchemaError } from './schema';
export type { SchemaCheck, SchemaValidator } from './schema';
export { pruneInvalid } from './schema';
