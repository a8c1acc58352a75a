import type { Experiment, ExperimentStatus, Metric, Ranges } from '../../domain/schemas.js';
import type { SqlExperimentRepo } from '../../store/sql/experiment-repo.js';

/**
 * "In use" (docs/adr/0014-catalog-as-code.md): an experiment that is a draft, running, paused, or
 * concluded and not archived (its results are still read against these definitions) uses its
 * surface, the slots and content its variants override, and its success and guardrail metrics (a
 * ratio's numerator and denominator too). A shipped variant, archived or not and until reverted, is
 * part of the surface's default layout: it keeps using its slots and content.
 */
export const IN_USE: readonly ExperimentStatus[] = ['draft', 'running', 'paused', 'concluded'];

export interface ExperimentRef {
  id: string;
  key: string;
  status: ExperimentStatus;
}

export interface CatalogUsage {
  /** In-use experiments per surface. */
  surfaces: Map<string, ExperimentRef[]>;
  /** Every experiment record per surface, archived ones too: their rows reference the surface. */
  records: Map<string, ExperimentRef[]>;
  /** `surface/slot` → the experiments overriding it and the content they put there. */
  slots: Map<string, { ref: ExperimentRef; contentIds: string[] }[]>;
  content: Map<string, ExperimentRef[]>;
  metrics: Map<string, ExperimentRef[]>;
  /** Bucket ranges running or paused experiments own, per surface. */
  buckets: Map<string, { ref: ExperimentRef; ranges: Ranges }[]>;
}

const push = <K, V>(m: Map<K, V[]>, k: K, v: V) => {
  const list = m.get(k);
  if (!list) m.set(k, [v]);
  else if (!list.includes(v)) list.push(v);
};

/** Who uses what in the stored catalog, from every experiment record. */
export async function catalogUsage(experiments: SqlExperimentRepo, metrics: Metric[]): Promise<CatalogUsage> {
  const u: CatalogUsage = { surfaces: new Map(), records: new Map(), slots: new Map(), content: new Map(), metrics: new Map(), buckets: new Map() };
  const byId = new Map(metrics.map((m) => [m.id, m]));
  const shipped = new Map<string, string>();
  const all = await experiments.list();
  for (const s of new Set(all.map((e) => e.surfaceId)))
    for (const { experiment, conclusion } of await experiments.shipsOn(s)) if (conclusion.variant) shipped.set(experiment.id, conclusion.variant);
  for (const e of all) {
    const ref: ExperimentRef = { id: e.id, key: e.key, status: e.status };
    push(u.records, e.surfaceId, ref);
    const inUse = IN_USE.includes(e.status);
    if (inUse) {
      push(u.surfaces, e.surfaceId, ref);
      for (const id of [...e.successMetrics, ...e.guardrails.map((g) => g.metricId)]) {
        push(u.metrics, id, ref);
        const m = byId.get(id);
        if (m?.kind === 'ratio') for (const part of [m.numeratorId, m.denominatorId]) if (part) push(u.metrics, part, ref);
      }
    }
    if (e.status === 'running' || e.status === 'paused') u.buckets.set(e.surfaceId, [...(u.buckets.get(e.surfaceId) ?? []), { ref, ranges: e.buckets }]);
    const variants = inUse ? e.variants : e.variants.filter((v) => v.key === shipped.get(e.id));
    for (const o of overridesOf(variants)) {
      const key = `${e.surfaceId}/${o.slotId}`;
      const list = u.slots.get(key) ?? [];
      const entry = list.find((x) => x.ref === ref) ?? { ref, contentIds: [] };
      if (!list.includes(entry)) u.slots.set(key, [...list, entry]);
      if (o.contentId) {
        entry.contentIds.push(o.contentId);
        push(u.content, o.contentId, ref);
      }
    }
  }
  return u;
}

const overridesOf = (variants: Experiment['variants']) => variants.flatMap((v) => v.overrides);

/** "home-focus-shelf (exp_1a2b, running)" lists for messages. */
export const refsText = (refs: readonly ExperimentRef[]) => refs.map((r) => `${r.key} (${r.id}, ${r.status})`).join(', ');
