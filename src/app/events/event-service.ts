import type { UnitAssignment } from '../../domain/assignment.js';
import type { AssignmentIndex } from '../serving/assignment-index.js';
import type { ExposureBuffer } from './exposure-buffer.js';
import type { IngestPath } from './ingest-paths.js';
import type { IngestResult } from './ingest-batch.js';
import { AppError, notFound } from '../../errors.js';
import { systemWrite, type AppDeps, type WriteContext } from '../context.js';
import { recordIngest } from '../../ops/metric-hooks.js';
import { EventBatchSchema } from './event-schemas.js';

export type { IngestResult };

export interface AssignmentResult {
  surfaceId: string;
  unitId: string;
  bucket: number;
  assignments: Omit<UnitAssignment, 'bucket'>[];
  layout: { slotId: string; contentId: string | null; experimentId: string | null; variant: string | null }[];
}

/** Data in: batched exposures, metric events and raw product events, and the assignment endpoint that services call. */
export class EventService {
  constructor(
    private readonly d: AppDeps,
    private readonly index: AssignmentIndex,
    private readonly exposures: ExposureBuffer,
    private readonly path: IngestPath,
  ) {}

  /**
   * One transaction per batch that appends every valid event to the event log (ADR 0018): acknowledged
   * means durable there; the fold applies it to the aggregates later. Invalid events are reported by
   * index and never block the valid ones. Validated and appended by the engine's path (ingest-paths.ts).
   */
  async ingest(body: unknown, ctx: WriteContext = systemWrite('ingest')): Promise<IngestResult> {
    const batch = EventBatchSchema.safeParse(body);
    if (!batch.success) {
      this.d.opsMetrics?.eventsRejected.inc({ reason: 'invalid_batch' });
      throw new AppError(
        'INVALID_INPUT',
        `the batch is malformed: ${batch.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`,
        'Send {"events": [...]} with 1 to 10,000 events.',
      );
    }
    const now = this.d.clock.now().toISOString();
    const result = await this.path.ingest(batch.data.events, now, ctx, (e, u) => this.exposures.pendingVariant(e, u));
    recordIngest(this.d.opsMetrics, batch.data.events, result.rejected);
    return result;
  }

  /** Which variants the unit sees on the surface now, and the resulting layout; queues the exposures. */
  assign(surfaceId: string, unitId: string, platform?: string): AssignmentResult {
    if (!unitId) throw new AppError('INVALID_INPUT', 'unit is required', 'Pass ?unit=<stable unit id>, e.g. a user or device id.');
    const view = this.index.view(surfaceId, unitId, platform);
    if (!view) throw notFound('surface', surfaceId, 'GET /v1/surfaces lists the surface ids.', this.index.surfaceIds());
    const ts = this.d.clock.now().toISOString();
    for (const a of view.assignments) this.exposures.add({ experimentId: a.experimentId, unitId, variant: a.variant, ts });
    return { ...view, assignments: view.assignments.map(({ experimentId, experimentKey, variant }) => ({ experimentId, experimentKey, variant })) };
  }

  /**
   * The layout a content-delivery service renders for the unit (all slots, or the ones asked for),
   * with variants' overrides applied. Only experiments that decide a served slot record an exposure
   * (control included: it was served the default in that slot).
   */
  layout(surfaceId: string, unitId: string, platform?: string, slots?: string[]): AssignmentResult & { exposed: string[] } {
    if (!unitId) throw new AppError('INVALID_INPUT', 'unit is required', 'Pass ?unit=<stable unit id>, e.g. a user or device id.');
    const view = this.index.view(surfaceId, unitId, platform);
    if (!view) throw notFound('surface', surfaceId, 'GET /v1/surfaces lists the surface ids.', this.index.surfaceIds());
    const unknown = (slots ?? []).filter((s) => !view.layout.some((l) => l.slotId === s));
    if (unknown.length)
      throw new AppError(
        'INVALID_INPUT',
        `surface '${surfaceId}' has no slot ${unknown.join(', ')}`,
        `Ask for slots among: ${view.layout.map((l) => l.slotId).join(', ')}.`,
      );
    const served = new Set(slots?.length ? slots : view.layout.map((l) => l.slotId));
    const ts = this.d.clock.now().toISOString();
    const exposed: string[] = [];
    for (const a of view.assignments) {
      const e = this.index.experiment(a.experimentId)!;
      if (!e.variants.some((v) => v.overrides.some((o) => served.has(o.slotId)))) continue;
      this.exposures.add({ experimentId: a.experimentId, unitId, variant: a.variant, ts });
      exposed.push(a.experimentId);
    }
    return {
      surfaceId,
      unitId,
      bucket: view.bucket,
      assignments: view.assignments.map(({ experimentId, experimentKey, variant }) => ({ experimentId, experimentKey, variant })),
      layout: view.layout.filter((l) => served.has(l.slotId)),
      exposed,
    };
  }
}
