import type { LogEntry } from '../../store/event-log.js';
import { didYouMean, nearest } from '../../domain/suggest.js';
import { eventTime, parseEvent, productEventId } from './event-schemas.js';

/** A batch's outcome, as ingest_events and POST /v1/events return it. */
export interface IngestResult {
  accepted: number;
  duplicates: number;
  /** Raw events accepted whose name no metric's source uses (yet, by the catalog at ack time): stored all the same, for metrics defined later. */
  unmatched: number;
  rejected: { index: number; id: string | null; code: string; message: string }[];
}

/** What an exposure's experiment must be: known, not a draft, with the variant. */
export interface BatchExperiment {
  id: string;
  status: string;
  variants: { key: string }[];
}

/**
 * What validating one batch reads, answered synchronously: on SQLite from the shared connection inside the
 * append's transaction (as ingest always did), on PostgreSQL from what was read for the batch before (ingest-paths.ts).
 */
export interface BatchReads {
  experiment(idOrKey: string): BatchExperiment | undefined;
  metric(id: string): { kind: string; source?: { event: string } } | undefined;
  /** The event names some metric's source uses. */
  sourceNames(): Set<string>;
  /** What an unknown id is compared with (experiment keys and ids; metric ids). */
  known(what: 'experiments' | 'metrics'): string[];
  /** The unit's variant as first seen: folded, or acknowledged and not folded yet (any replica, any process). */
  storedVariant(experimentId: string, unitId: string): string | undefined;
  /** Served and not written yet (this process's exposure buffer: ingest never waits for its writer). */
  pendingVariant(experimentId: string, unitId: string): string | undefined;
}

/** An entry to append; `used`: a raw event whose name some metric's source uses (the others count as unmatched). */
export interface Candidate {
  entry: LogEntry;
  used: boolean;
}

/**
 * Validates a parsed batch's events one by one, as ingest always has: invalid events are reported by index and never
 * block the valid ones; an exposure must agree with the unit's variant as first seen (sticky assignment), including
 * exposures earlier in the same batch. Returns the entries to append, in the batch's order.
 */
export function validateBatch(events: readonly unknown[], now: string, reads: BatchReads): { candidates: Candidate[]; rejected: IngestResult['rejected'] } {
  const rejected: IngestResult['rejected'] = [];
  const candidates: Candidate[] = [];
  // An exposure names its experiment by id or key, as every tool does; it is stored under the id.
  const experiments = new Map<string, { id: string; status: string; variants: Set<string> }>();
  const lookup = (idOrKey: string) => {
    let e = experiments.get(idOrKey);
    if (!e) {
      const found = reads.experiment(idOrKey);
      e = found
        ? { id: found.id, status: found.status, variants: new Set(found.variants.map((v) => v.key)) }
        : { id: idOrKey, status: 'missing', variants: new Set() };
      experiments.set(idOrKey, e);
    }
    return e;
  };
  // Exposures earlier in this batch, not folded yet: (experiment, unit) → variant.
  const batchVariants = new Map<string, string>();
  let sourceNames: Set<string> | undefined;
  // What an unknown id is compared with: read once per batch, and only when an id is unknown.
  const known: { experiments?: string[]; metrics?: string[] } = {};
  const suggest = (what: 'experiments' | 'metrics', id: string) => didYouMean(nearest(id, (known[what] ??= reads.known(what))));
  events.forEach((raw, index) => {
    const id = typeof (raw as { id?: unknown })?.id === 'string' ? (raw as { id: string }).id : null;
    const reject = (code: string, message: string) => void rejected.push({ index, id, code, message });
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
      const pair = `${e.id}\u0000${ev.unitId}`;
      const seen = reads.storedVariant(e.id, ev.unitId) ?? reads.pendingVariant(e.id, ev.unitId) ?? batchVariants.get(pair);
      if (seen && seen !== ev.variant)
        return reject(
          'VARIANT_MISMATCH',
          `unit '${ev.unitId}' was already exposed to '${seen}' in '${ev.experimentId}'; assignment is sticky, so this exposure is inconsistent`,
        );
      batchVariants.set(pair, ev.variant);
      candidates.push({
        entry: { key: `x:${ev.id}`, type: 'exposure', unitId: ev.unitId, ref: e.id, variant: ev.variant, value: null, props: null, ts },
        used: true,
      });
    } else if (ev.type === 'metric') {
      const m = reads.metric(ev.metricId);
      if (!m) return reject('UNKNOWN_METRIC', `metric '${ev.metricId}' does not exist${suffix(suggest('metrics', ev.metricId))}`);
      if (m.source)
        return reject(
          'METRIC_FROM_EVENTS',
          `metric '${ev.metricId}' is computed from raw '${m.source.event}' events: send {"type":"event","name":"${m.source.event}",...}, not its values`,
        );
      if (m.kind === 'binary' && ev.value !== 0 && ev.value !== 1)
        return reject('INVALID_VALUE', `metric '${ev.metricId}' is binary: its value is 0 or 1 (got ${ev.value})`);
      candidates.push({
        entry: { key: `m:${ev.id}`, type: 'metric', unitId: ev.unitId, ref: ev.metricId, variant: null, value: ev.value, props: null, ts },
        used: true,
      });
    } else {
      const props = ev.properties && Object.keys(ev.properties).length ? JSON.stringify(ev.properties) : null;
      candidates.push({
        entry: { key: `e:${productEventId(ev, ts)}`, type: 'event', unitId: ev.unitId, ref: ev.name, variant: null, value: ev.value ?? 1, props, ts },
        used: (sourceNames ??= reads.sourceNames()).has(ev.name),
      });
    }
  });
  return { candidates, rejected };
}

const suffix = (hint: string) => (hint ? `. ${hint}` : '');
