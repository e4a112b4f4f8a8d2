// A source's description: its metadata.json read, or its schema.json
// turned into metadata and a validator, as its author, within the limits
// of config.json (src/pmda/sources/registry.ts reads it at discovery).
import * as path from 'path';
import { parseJson, JsonValue } from '../../format/json';
import { parseMetadata, Metadata } from '../../format/metadata';
import { Author, ROOT } from './access';
import { readFileAs, LimitError, FileText } from './read';
import type { Config } from '../config';
import { METADATA, SCHEMA } from './discovery';
import { metadataFromSchema, schemaTooLarge } from '../../format/schema';
import { compileSchema, SchemaValidator, SchemaBoundError, CheckBoundError } from '../../format/validate';

export interface Description {
  md: Metadata;
  stamp: string;
  /** For schema sources: checks each data document. */
  validate?: SchemaValidator;
}

/** The limits of config.json a schema source is held to. */
export type SchemaLimits = Pick<Config, 'maxMetrics' | 'maxInstances' | 'maxDataBytes' | 'fetchMaxMs'>;

const NO_LIMITS: SchemaLimits = { maxMetrics: Infinity, maxInstances: Infinity, maxDataBytes: Infinity, fetchMaxMs: Infinity };

/**
 * The validator of a schema source: what its checks may cost is bounded
 * by `limits`; a schema whose checks cannot be bounded gives a validator
 * that refuses every document (its source answers "try again").
 */
function validatorOf(doc: JsonValue, limits: SchemaLimits): SchemaValidator {
  try {
    return compileSchema(doc, { maxUniqueItems: limits.maxInstances, maxUniqueChars: limits.maxDataBytes, maxMs: limits.fetchMaxMs });
  } catch (e) {
    if (!(e instanceof SchemaBoundError)) throw e;
    const why = e.message;
    return () => {
      throw new CheckBoundError(why);
    };
  }
}

/**
 * Read a source's metadata.json, or build metadata from its schema.json, as its author.
 * A schema whose $refs expand beyond `limits.maxMetrics` is refused here, before it is walked.
 * `read` is the file already read as its author (src/pmda/sources/read.ts, readFilesAs).
 */
export function readMetadata(dir: string, describedBy = METADATA, maxBytes = Infinity, author: Author = ROOT, limits: SchemaLimits = NO_LIMITS, read?: FileText): Description | { error: string; stamp: string } {
  const file = path.join(dir, describedBy);
  let stamp = '';
  try {
    if (read instanceof Error) throw read;
    const r = read ?? readFileAs(author, file, maxBytes);
    stamp = r.stamp;
    const doc = parseJson(r.text);
    if (describedBy !== SCHEMA) return { md: parseMetadata(doc, file), stamp };
    const tooLarge = schemaTooLarge(doc, file, limits.maxMetrics);
    if (tooLarge) return { error: tooLarge, stamp };
    return { md: metadataFromSchema(doc, file, limits.maxMetrics), stamp, validate: validatorOf(doc, limits) };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (e instanceof LimitError) return { error: err.message, stamp };
    if (err.code === 'ENOTREG') return { error: `${file} is not a regular file`, stamp };
    return { error: err.code ? `cannot read ${file}: ${err.message}` : `cannot parse ${file}: ${err.message}`, stamp };
  }
}
