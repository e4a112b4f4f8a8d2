// pmda-json as a library: the pieces a program or a test may reuse.
// Importing it never loads the native module (build/Release/pmda_json.node,
// which needs libpcp): the producer API, the generator's schema reader and
// the metadata parser work on a machine without PCP. The PMDA's own
// helpers below (convert, splitCommand) load it when first called.
export { parseJson, stringifyJson } from './format/json';
export type { JsonValue, JsonOut } from './format/json';
export { parsePointer, resolve } from './format/pointer';
import * as metadata from './format/metadata';
export { validName, parseUnits, setUnitsParser, hasUnitsParser, NoUnitsParser } from './format/metadata';
export { escapeToken } from './format/names';
export type { Metadata, MetricSpec, ArraySpec, Entry, Units, UnitsParser } from './format/metadata';
// producer API: write a source directory from a Node.js program
export { Producer, ProducerArray, Metric, ProducerError, UnsafeDirectoryError, writeFileAtomic, writeFileAtomicAsync, isPcpName, pointerOf } from './producer/producer';
export type { MetricOptions, ProducerOptions, ArrayOptions } from './producer/producer';
export type { Semantics, MetadataJson, MetricJson, ArrayJson } from './format/document';
// schema sources: JSON Schema -> metadata, validation of data documents
export { metadataFromSchema, schemaToMetadataJson, schemaTooLarge } from './format/schema';
export { compileSchema, schemaGeneration, isInvalid, pruneInvalid, SchemaError, SchemaBoundError, CheckBoundError } from './format/validate';
export type { CheckBounds, SchemaCheck, SchemaValidator } from './format/validate';

type Fetch = typeof import('./pmda/records/encoder');
type ConfigModule = typeof import('./pmda/config');

/** Read a config.json as the PMDA does. */
export const loadConfig: ConfigModule['loadConfig'] = (...args) => (require('./pmda/config') as ConfigModule).loadConfig(...args);
type Exec = typeof import('./pmda/commands/exec');

/** A JSON value as the PMDA serves it for a metric type (loads the native module). */
export const convert: Fetch['convert'] = (...args) => (require('./pmda/records/encoder') as Fetch).convert(...args);

/** Split a data-exec command line as the PMDA does (loads the native module). */
export const splitCommand: Exec['splitCommand'] = (...args) => (require('./pmda/commands/exec') as Exec).splitCommand(...args);

/**
 * Parse a metadata.json document. Units are checked by libpcp when the
 * native module can be loaded (it is tried once, here); without it they
 * are reported as not checked.
 */
export function parseMetadata(...args: Parameters<typeof metadata.parseMetadata>): ReturnType<typeof metadata.parseMetadata> {
  if (!metadata.hasUnitsParser() && !triedNative) {
    triedNative = true;
    try {
      require('./pmda/native');
    } catch {
      /* no libpcp here: units are not checked */
    }
  }
  return metadata.parseMetadata(...args);
}
let triedNative = false;
