// Labels: each source's cluster is labelled with its name and path plus
// its metadata's `labels`, each metric with its own `labels`, each
// instance with its array's `instance-labels` (pointers into its
// element); the control metrics' instances with their source's name.
// The domain label (agent) and the rest are libpcp_pmda's (pmdaLabel).
//
// Every set handed to libpcp fits what libpcp takes (LABEL_LIMITS): a set
// it refused would be logged whole by pmdaAddLabels at every request.
// Metadata labels are bounded when metadata is read; what is only known
// here (a source's path, values from the data) is bounded here, and what
// does not fit is left out with one log line about the source.
import { C } from './native';
import * as log from './limits/log';
import type { Registry } from './sources/registry';
import type { Source } from './sources/source';
import type { JsonValue } from '../format/json';
import { LABEL_LIMITS } from '../format/labels';
import { pmidCluster, pmidItem, indomSerial, clusterOfIndom } from './numbering/numbering';

/**
 * The JSON text of `labels` in their order, leaving out those past
 * LABEL_LIMITS; and how many were left out.
 */
function fit(labels: Record<string, JsonValue>): { json: string; dropped: number } {
  const parts: string[] = [];
  let bytes = 2; // {}
  let dropped = 0;
  for (const [k, v] of Object.entries(labels)) {
    const part = `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    const size = Buffer.byteLength(part) + (parts.length > 0 ? 1 : 0);
    if (parts.length >= LABEL_LIMITS.count || bytes + size > LABEL_LIMITS.jsonBytes) dropped++;
    else {
      parts.push(part);
      bytes += size;
    }
  }
  return { json: `{${parts.join(',')}}`, dropped };
}

/** Log once (until it is gone) that `what` of `src` did not fit. */
function tooBig(src: Source, key: string, what: string, dropped: number): void {
  if (dropped === 0) log.resolved(`${src.dir}:labels:${key}`);
  else log.problem(`${src.dir}:labels:${key}`, `${src.metadataFile}: ${what}: labels left out: PCP takes at most ${LABEL_LIMITS.count} labels and ${LABEL_LIMITS.jsonBytes} bytes of JSON in a set`);
}

/**
 * Labels: each source's cluster is labelled with its name and path plus
 * the metadata's `labels`; each metric with its own `labels`. The domain
 * label (agent) is libpcp_pmda's.
 */
export function labelsOf(registry: Registry, type: number, ident: number): string | null {
  if (type === C.PM_LABEL_CLUSTER) {
    const src = registry.byCluster.get(pmidCluster(ident));
    if (!src) return null;
    // the PMDA's own labels first: metadata cannot name them (parseLabels), and they are never left out
    const own = { source: src.name, source_path: src.dir };
    const r = fit({ ...own, ...(src.md.labels ? JSON.parse(src.md.labels) as Record<string, JsonValue> : {}) });
    tooBig(src, 'source', "the source's labels with its name and path", r.dropped);
    return r.json;
  }
  if (type === C.PM_LABEL_ITEM) {
    const src = registry.byCluster.get(pmidCluster(ident));
    return src?.metrics.get(pmidItem(ident))?.spec.labels ?? null;
  }
  return null;
}

/** The instance labels of element `e` of `src`'s array `a` (its index in `arrays`): numbers, strings, booleans, null. */
export function elementLabels(src: Source, a: number, e: number): Record<string, JsonValue> {
  const labels: Record<string, JsonValue> = {};
  const spec = src.arrays[a]!.instanceLabels ?? [];
  if (!src.view) return labels;
  for (let j = 0; j < spec.length; j++) {
    const v = src.view.label(a, e, j);
    if (v === undefined || (v !== null && typeof v === 'object')) continue;
    labels[spec[j]![0]] = typeof v === 'bigint' ? Number(v) : v;
  }
  return labels;
}

/** Instance labels: the control indom names its sources; arrays use `instance-labels`. */
export function instanceLabelsOf(registry: Registry, indom: number, inst: number): string | null {
  if (indomSerial(indom) === 0) {
    const src = registry.byCluster.get(inst);
    return src ? JSON.stringify({ source: src.name }) : null;
  }
  const cluster = clusterOfIndom(indom);
  const src = cluster !== undefined ? registry.byCluster.get(cluster) : undefined;
  if (!src) return null;
  const labels: Record<string, JsonValue> = {};
  src.arrays.forEach((a, ai) => {
    if (!a.instanceLabels) return;
    const rows = src.rows.get(a.name);
    const at = rows ? rows.insts.indexOf(inst) : -1;
    if (at >= 0) Object.assign(labels, elementLabels(src, ai, rows!.elements[at]!));
  });
  if (Object.keys(labels).length === 0) return null;
  // values come from the data: a 100 KB string is only known now
  const r = fit(labels);
  if (r.dropped > 0) tooBig(src, 'instances', 'instance labels from the data', r.dropped);
  return r.json;
}
