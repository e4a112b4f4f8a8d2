// Labels: each source's cluster is labelled with its name and path plus
// its metadata's `labels`, each metric with its own `labels`, each
// instance with its array's `instance-labels` (pointers into its
// element); the control metrics' instances with their source's name.
// The domain label (agent) and the rest are libpcp_pmda's (pmdaLabel).
import { C } from './native';
import type { Registry } from './sources/registry';
import type { JsonValue } from '../format/json';
import { pmidCluster, pmidItem, indomSerial, clusterOfIndom } from './numbering/numbering';

/**
 * Labels: each source's cluster is labelled with its name and path plus
 * the metadata's `labels`; each metric with its own `labels`. The domain
 * label (agent) is libpcp_pmda's.
 */
export function labelsOf(registry: Registry, type: number, ident: number): string | null {
  if (type === C.PM_LABEL_CLUSTER) {
    const src = registry.byCluster.get(pmidCluster(ident));
    if (!src) return null;
    const base = JSON.stringify({ source: src.name, source_path: src.dir });
    return src.md.labels ? base.slice(0, -1) + ',' + src.md.labels.slice(1) : base;
  }
  if (type === C.PM_LABEL_ITEM) {
    const src = registry.byCluster.get(pmidCluster(ident));
    return src?.metrics.get(pmidItem(ident))?.spec.labels ?? null;
  }
  return null;
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
    if (at >= 0) Object.assign(labels, src.instanceLabels(ai, rows!.elements[at]!));
  });
  return Object.keys(labels).length > 0 ? JSON.stringify(labels) : null;
}
