// metadata.json as a document: the types of what producers and the
// generator write, and what src/format/metadata.ts reads (pmdajson's
// format, with this PMDA's additions: labels, help, instance-labels,
// data-url, object maps, nested arrays, trees and value maps).

/** PCP semantics as written in metadata.json. */
export type Semantics = 'instant' | 'counter' | 'discrete';

/** One single-valued metric (or array member) of a metadata.json document. */
export interface MetricJson {
  name: string;
  pointer: string;
  type: 'integer' | 'double' | 'string';
  description?: string;
  /** Long help text. */
  help?: string;
  units?: string;
  semantics?: Semantics;
  /** PCP labels of this metric. */
  labels?: Record<string, string | number | boolean | null>;
  /** Integer and double metrics: strings (and "true", "false", "null") served as these numbers. */
  map?: Record<string, number>;
  /** Integer and double metrics: a string holding a JSON number is served as that number. */
  'numeric-strings'?: boolean;
}

/** An array entry of a metadata.json document; its members name instances' values. */
export interface ArrayJson {
  name: string;
  pointer: string;
  type: 'array';
  description?: string;
  /** Pointer, inside each element, to the instance name; left out, an object's keys name them. */
  index?: string;
  /** Instance labels: label name -> pointer inside each element. */
  'instance-labels'?: Record<string, string>;
  /** A tree: pointer, inside each element, to more elements of the same shape. */
  children?: string;
  /** A tree's instance names: each level's index joined with '/' (path, the default), or the element's own (leaf). */
  'instance-names'?: 'path' | 'leaf';
  /** Its members; an array among them is nested: its pointer and index are inside each element. */
  metrics: Array<MetricJson | ArrayJson>;
}

/** A whole metadata.json document, in pmdajson's format. */
export interface MetadataJson {
  prefix?: string;
  'data-path'?: string;
  'data-exec'?: string;
  'data-url'?: string;
  'data-url-headers'?: string;
  /** TLS settings of a trusted source's data-url: root-owned files, and the server name. */
  'data-url-ca'?: string;
  'data-url-cert'?: string;
  'data-url-key'?: string;
  'data-url-servername'?: string;
  /** Seconds: a command's last output is served while the next runs, at most this old. */
  'data-max-age'?: number;
  /** PCP labels of every metric of the source. */
  labels?: Record<string, string | number | boolean | null>;
  metrics: Array<MetricJson | ArrayJson>;
}
