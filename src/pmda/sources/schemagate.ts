// A schema source's gate (src/pmda/sources/describe.ts makes its
// validator): each new document is checked against the schema within
// the author's time left, a document that does not match is pruned to
// what does, and a new generation in the data says the schema changed.
import type { JsonValue } from '../../format/json';
import { pruneInvalid, schemaGeneration, SchemaValidator, CheckBoundError, SchemaCheck } from '../../format/validate';
import * as log from '../limits/log';

export class SchemaGate {
  /** The data's generation; a new one means a new schema. */
  private generation: number | bigint | string | undefined;

  constructor(
    private readonly validate: SchemaValidator,
    /** The source's log key for schema mismatches. */
    private readonly logKey: string,
  ) {}

  /**
   * The part of `doc` (from `where`) that may be served, or why none of
   * it may (a string); `changed` is called when its generation is new.
   * The check ends by `by` (performance.now()): the author's time left.
   */
  pass(doc: JsonValue, where: string, metadataFile: string, changed: () => void, by: number): { doc: JsonValue } | string {
    const gen = schemaGeneration(doc);
    if (this.generation !== undefined && gen !== this.generation) changed();
    this.generation = gen;
    let check: SchemaCheck;
    try {
      check = this.validate(doc, by - performance.now());
    } catch (e) {
      // a check beyond its bounds: nothing of the document is served
      if (!(e instanceof CheckBoundError)) throw e;
      return `${metadataFile}: cannot check ${where}: ${e.message}${e.timedOut ? " (its author's share of fetch_max_ms)" : ''}`;
    }
    if (check.ok) {
      log.resolved(this.logKey);
      return { doc };
    }
    log.problem(this.logKey, `${where} does not match ${metadataFile}: ${check.message}`);
    const kept = pruneInvalid(doc, check.invalid);
    return kept === undefined ? `${where} does not match ${metadataFile}: ${check.message}` : { doc: kept };
  }
}
