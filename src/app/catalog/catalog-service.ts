import { freeRanges, rangesSize } from '../../domain/assignment.js';
import { HOLDS_BUCKETS } from '../../domain/lifecycle.js';
import { slotDefaults } from '../../domain/layout.js';
import type { ContentItem, Metric, Surface } from '../../domain/schemas.js';
import { notFound } from '../../errors.js';
import type { AppDeps } from '../context.js';
import type { ContentSyncStatus } from './content-sync.js';
import type { Conclusion } from '../../store/experiment-repo.js';
import type { ConfigRepos } from '../../store/sql/config-repos.js';
import type { Experiment } from '../../domain/schemas.js';

/** Catalog defaults with shipped variants (concluded as shipped, not reverted) applied, the latest ship winning a slot. */
function layoutWithShips(s: Surface, ships: { experiment: Experiment; conclusion: Conclusion }[]): Record<string, string | null> {
  const out = slotDefaults(s);
  for (const { experiment, conclusion } of ships)
    for (const o of experiment.variants.find((v) => v.key === conclusion.variant)?.overrides ?? []) if (o.slotId in out) out[o.slotId] = o.contentId ?? null;
  return out;
}

export interface SurfaceView extends Surface {
  runningExperiments: { id: string; key: string; status: string; allocationPercent: number; slots: string[]; buckets: number }[];
  freeBuckets: number;
  freePercent: number;
}

/** Read side of the catalog: surfaces with their live occupancy, content items, metric definitions. */
export class CatalogService {
  constructor(private readonly d: AppDeps) {}

  async surfaces(): Promise<SurfaceView[]> {
    const r = this.d.store;
    return Promise.all((await r.catalog.surfaces()).map((s) => this.view(r, s)));
  }

  async surface(id: string): Promise<SurfaceView> {
    const r = this.d.store;
    const s = await r.catalog.surface(id);
    if (!s) throw notFound('surface', id, 'Call list_surfaces to see the surface ids.', await r.catalog.ids('surfaces'));
    return this.view(r, s);
  }

  /**
   * The surface's current default layout, slot → content (null: an optional slot left empty): catalog
   * defaults with shipped layouts applied. What control shows and what layout changes compile against.
   * The one place that says it.
   */
  defaultLayout(surfaceId: string): Promise<Record<string, string | null>> {
    return this.defaultLayoutIn(this.d.store, surfaceId);
  }

  /** defaultLayout() through the async store (inside a transaction: its repositories). */
  async defaultLayoutIn(r: ConfigRepos, surfaceId: string): Promise<Record<string, string | null>> {
    const s = await r.catalog.surface(surfaceId);
    if (!s) throw notFound('surface', surfaceId, 'Call list_surfaces to see the surface ids.', await r.catalog.ids('surfaces'));
    return layoutWithShips(s, await r.experiments.shipsOn(surfaceId));
  }

  content(): Promise<ContentItem[]> {
    return this.d.store.catalog.contentItems();
  }

  /** The content catalog as sealab://content and GET /v1/content show it: with a remote content delivery, how fresh it is. */
  async contentView(): Promise<{ content: ContentItem[]; sync?: ContentSyncStatus }> {
    const sync = this.d.contentSync?.status();
    return { content: await this.content(), ...(sync ? { sync } : {}) };
  }

  metrics(): Promise<Metric[]> {
    return this.d.store.catalog.metrics();
  }

  /** Free buckets = those no active experiment owns (experiments on disjoint slots may still share buckets). */
  private async view(r: ConfigRepos, s: Surface): Promise<SurfaceView> {
    const active = await r.experiments.list({ surfaceId: s.id, status: HOLDS_BUCKETS });
    const free = rangesSize(
      freeRanges(
        s.bucketCount,
        active.flatMap((e) => e.buckets),
      ),
    );
    return {
      ...s,
      runningExperiments: active.map((e) => ({
        id: e.id,
        key: e.key,
        status: e.status,
        allocationPercent: e.allocationPercent,
        slots: [...new Set(e.variants.flatMap((v) => v.overrides.map((o) => o.slotId)))],
        buckets: rangesSize(e.buckets),
      })),
      freeBuckets: free,
      freePercent: Math.round((10000 * free) / s.bucketCount) / 100,
    };
  }
}
