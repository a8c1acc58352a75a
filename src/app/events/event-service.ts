import type { UnitAssignment } from '../../domain/assignment.js';
import type { AssignmentIndex } from '../serving/assignment-index.js';
import type { ExposureBuffer } from './exposure-buffer.js';
import type { FoldRunner } from './fold-runner.js';
import type { LogEntry, LoggedEntry } from '../../store/event-log.js';
import { AppError, notFound } from '../../errors.js';
import { didYouMean, nearest } from '../../domain/suggest.js';
import { systemWrite, type AppDeps, type WriteContext } from '../context.js';
import { recordIngest } from '../../ops/metric-hooks.js';
import { EventBatchSchema, eventTime, parseEvent, productEventId } from './event-schemas.js';

export interface IngestResult {
  accepted: number;
  duplicates: number;
  /** Raw events accepted whose name no metric's source uses (yet, by the catalog at ack time): stored all the same, for metrics defined later. */
  unmatched: number;
  rejected: { index: number; id: string | null; code: string; message: string }[];
}

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
    private readonly fold: FoldRunner,
  ) {}

  /**
   * One transaction per batch that appends every valid event to the event log (ADR 0018): acknowledged
   * means durable there; the fold applies it to the aggregates later. Invalid events are reported by
   * index and never block the valid ones.
   */
  ingest(body: unknown, ctx: WriteContext = systemWrite('ingest')): IngestResult {
    const batch = EventBatchSchema.safeParse(body);
    if (!batch.success) {
      this.d.opsMetrics?.eventsRejected.inc({ reason: 'invalid_batch' });
      throw new AppError(
        'INVALID_INPUT',
        `the batch is malformed: ${batch.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`,
        'Send {"events": [...]} with 1 to 10,000 events.',
      );
    }
    const result: IngestResult = { accepted: 0, duplicates: 0, unmatched: 0, rejected: [] };
    // An exposure names its experiment by id or key, as every tool does; it is stored under the id.
    const experiments = new Map<string, { id: string; status: string; variants: Set<string> }>();
    const lookup = (idOrKey: string) => {
      if (!experiments.has(idOrKey)) {
        const e = this.d.experiments.get(idOrKey) ?? this.d.experiments.byKey(idOrKey);
        experiments.set(
          idOrKey,
          e ? { id: e.id, status: e.status, variants: new Set(e.variants.map((v) => v.key)) } : { id: idOrKey, status: 'missing', variants: new Set() },
        );
      }
      return experiments.get(idOrKey)!;
    };
    const now = this.d.clock.now().toISOString();
    const log = this.d.events.log;
    // Sticky-variant checks read the folded exposures and those acknowledged but not folded yet (never waiting for the fold).
    if (batch.data.events.some((e) => (e as { type?: unknown })?.type === 'exposure')) log.refreshUnfolded();
    // Exposures acknowledged earlier in this batch, not folded yet: (experiment, unit) → variant.
    const batchVariants = new Map<string, string>();
    // What this batch appended, handed to the fold once committed (it need not read them back: EventLog.remember).
    const appended: LoggedEntry[] = [];
    const metricDefs = new Map<string, { kind: string; event?: string } | null>();
    const metricOf = (id: string) => {
      if (!metricDefs.has(id)) {
        const m = this.d.catalog.metric(id);
        metricDefs.set(id, m ? { kind: m.kind, event: m.source?.event } : null);
      }
      return metricDefs.get(id)!;
    };
    // The event names metric sources use: read once per batch, and only for a batch with raw events.
    let sourceNames: Set<string> | undefined;
    const usesEvent = (name: string) => (sourceNames ??= new Set(this.d.catalog.metrics().flatMap((m) => (m.source ? [m.source.event] : [])))).has(name);
    // What an unknown id is compared with: read once per batch, and only when an id is unknown.
    const known: { experiments?: string[]; metrics?: string[] } = {};
    const suggest = (what: 'experiments' | 'metrics', id: string) =>
      didYouMean(nearest(id, (known[what] ??= what === 'metrics' ? this.d.catalog.ids('metrics') : this.d.experiments.list().flatMap((e) => [e.key, e.id]))));
    log.transaction(() => {
      batch.data.events.forEach((raw, index) => {
        const id = typeof (raw as { id?: unknown })?.id === 'string' ? (raw as { id: string }).id : null;
        const reject = (code: string, message: string) => result.rejected.push({ index, id, code, message });
        const parsed = parseEvent(raw);
        if (!parsed.ok) return reject(parsed.code, parsed.message);
        const ev = parsed.event;
        const time = eventTime(ev, ev.type === 'event' ? null : now);
        if (!('ts' in time)) return reject(time.code, time.message);
        const ts = time.ts;
        if (ev.type === 'exposure') {
          const e = lookup(ev.experimentId);
          if (e.status === 'missing')
            return reject('UNKNOWN_EXPERIMENT', `experiment '${ev.experimentId}' does not exist${suffix(suggest('experiments', ev.experimentId))}`);
          if (e.status === 'draft') return reject('NOT_RUNNING', `experiment '${ev.experimentId}' is a draft and serves nothing`);
          if (!e.variants.has(ev.variant)) return reject('UNKNOWN_VARIANT', `variant '${ev.variant}' is not in experiment '${ev.experimentId}'`);
          // The unit's variant as first seen: folded, acknowledged and not folded yet, served and not written yet (the
          // writer's thread writes those; ingest never waits for it), or earlier in this batch.
          const seen =
            this.d.events.exposureVariant(e.id, ev.unitId) ??
            log.unfoldedVariant(e.id, ev.unitId) ??
            this.exposures.pendingVariant(e.id, ev.unitId) ??
            batchVariants.get(`${e.id}\u0000${ev.unitId}`);
          if (seen && seen !== ev.variant)
            return reject(
              'VARIANT_MISMATCH',
              `unit '${ev.unitId}' was already exposed to '${seen}' in '${ev.experimentId}'; assignment is sticky, so this exposure is inconsistent`,
            );
        } else if (ev.type === 'metric') {
          const m = metricOf(ev.metricId);
          if (!m) return reject('UNKNOWN_METRIC', `metric '${ev.metricId}' does not exist${suffix(suggest('metrics', ev.metricId))}`);
          if (m.event)
            return reject(
              'METRIC_FROM_EVENTS',
              `metric '${ev.metricId}' is computed from raw '${m.event}' events: send {"type":"event","name":"${m.event}",...}, not its values`,
            );
          if (m.kind === 'binary' && ev.value !== 0 && ev.value !== 1)
            return reject('INVALID_VALUE', `metric '${ev.metricId}' is binary: its value is 0 or 1 (got ${ev.value})`);
        }
        let entry: LogEntry;
        let used = true;
        if (ev.type === 'exposure')
          entry = {
            key: `x:${ev.id}`,
            type: 'exposure',
            unitId: ev.unitId,
            ref: lookup(ev.experimentId).id,
            variant: ev.variant,
            value: null,
            props: null,
            ts,
          };
        else if (ev.type === 'metric')
          entry = { key: `m:${ev.id}`, type: 'metric', unitId: ev.unitId, ref: ev.metricId, variant: null, value: ev.value, props: null, ts };
        else {
          used = usesEvent(ev.name);
          const props = ev.properties && Object.keys(ev.properties).length ? JSON.stringify(ev.properties) : null;
          entry = { key: `e:${productEventId(ev, ts)}`, type: 'event', unitId: ev.unitId, ref: ev.name, variant: null, value: ev.value ?? 1, props, ts };
        }
        if (!log.append(entry, now, appended)) return void result.duplicates++;
        result.accepted++;
        if (!used) result.unmatched++;
        if (ev.type === 'exposure') batchVariants.set(`${entry.ref}\u0000${ev.unitId}`, ev.variant);
      });
      // A batch that stored nothing (every event rejected) is bad input, and bad input writes nothing: no audit row either.
      // Its audit row sits in the log's file beside the appends (EventLog.recordBatch): an ack touches one file only.
      if (result.accepted || result.duplicates)
        log.recordBatch(ctx, ctx.requestId, { received: batch.data.events.length, ...result, rejected: result.rejected.length }, now);
    });
    log.remember(appended);
    recordIngest(this.d.opsMetrics, batch.data.events, result.rejected);
    this.fold.afterAck(appended.length);
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

const suffix = (hint: string) => (hint ? `. ${hint}` : '');
