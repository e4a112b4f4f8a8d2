// The producer's error. A producer throws it when it is used wrongly (a bad
// name, a duplicate, a value of the wrong type) and, as its subclass
// UnsafeDirectoryError (files.ts), when it refuses its source directory.

/** A producer was used wrongly (bad name, duplicate, wrong value type) or refused its directory. */
export class ProducerError extends Error {}
