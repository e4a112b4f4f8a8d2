// pmda-json as a library: the pieces a program or a test may reuse.
export { parseJson } from './format/json';
export type { JsonValue } from './format/json';
export { parsePointer, resolve } from './format/pointer';
export { parseMetadata, validName } from './format/metadata';
export type { Metadata, MetricSpec, ArraySpec } from './format/metadata';
export { loadConfig } from './pmda/config';
export { splitCommand } from './pmda/exec';
export { convert } from './pmda/fetch';
// producer API: write a source directory from a Node.js program
export { Producer, ProducerArray, Metric, ProducerError, stringifyJson, writeFileAtomic, writeFileAtomicAsync, isPcpName, pointerOf } from './producer/producer';
export type { MetricOptions, ProducerOptions, ArrayOptions, Semantics, MetadataJson, MetricJson, ArrayJson, JsonOut } from './producer/producer';
// schema sources: JSON Schema -> metadata, validation of data documents
export { metadataFromSchema, schemaToMetadataJson, compileSchema, schemaGeneration, isInvalid, SchemaError } from './format/schema';
export type { SchemaCheck, SchemaValidator } from './format/schema';
export { pruneInvalid } from './format/schema';
