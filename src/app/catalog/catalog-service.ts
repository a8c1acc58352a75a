import { freeRanges, rangesSize } from '../../domain/assignment.js';
import { HOLDS_BUCKETS } from '../../domain/lifecycle.js';
import type { ContentItem, Metric, Surface } from '../../domain/schemas.js';
import { notFound } from '../../errors.js';
import type { AppDeps } from '../context.js';

export interface SurfaceView extends Surface {
  runningExperiments: { id: string; key: string; status: string; allocationPercent: number; slots: string[]; buckets: number }[];
  freeBuckets: number;
  freePercent: number;
}

/** Read side of the catalog: surfaces with their live occupancy, content items, metric definitions. */
export class CatalogService {
  constructor(private readonly d: AppDeps) {}

  surfaces(): SurfaceView[] {
    return this.d.catalog.surfaces().map((s) => this.view(s));
  }

  surface(id: string): SurfaceView {
    const s = this.d.catalog.surface(id);
    if (!s) throw notFound('surface', id, 'Call list_surfaces to see the surface ids.');
    return this.view(s);
  }

  content(): ContentItem[] {
    return this.d.catalog.contentItems();
  }

  metrics(): Metric[] {
    return this.d.catalog.metrics();
  }

  /** Free buckets = those no active experiment owns (experiments on disjoint slots may still share buckets). */
  private view(s: Surface): SurfaceView {
    const active = this.d.experiments.list({ surfaceId: s.id, status: HOLDS_BUCKETS });
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
