import { z } from 'zod';
import type { AuditEntry } from '../../store/audit-repo.js';

/**
 * What happened to an experiment's ramp, oldest first, read from its audit trail (the one record of
 * every transition, with the actor who made it): starts, advances, pauses, holds and their release,
 * circuit-breaker trips, the conclusion. Drawn on the results view's ramp timeline.
 */
export const RampEventSchema = z.object({
  at: z.string(),
  kind: z.enum(['started', 'advanced', 'paused', 'resumed', 'held', 'released', 'breaker', 'concluded']),
  /** The allocation after the event, where the event has one. */
  percent: z.number().nullable(),
  actor: z.string(),
  detail: z.string().describe('The reason, outcome or breach in words'),
});
export type RampEvent = z.infer<typeof RampEventSchema>;

type Snapshot = { status?: string; allocationPercent?: number; outcome?: string | null } | null;

const isExperiment = (x: unknown): x is NonNullable<Snapshot> => typeof x === 'object' && x !== null && 'status' in x;

/** One audit row of an experiment as ramp events (none when the row is not about the ramp). */
function eventsOf(a: AuditEntry): RampEvent[] {
  const base = { at: a.at, actor: a.actor };
  const after = a.after as Record<string, unknown> | null;
  const before = a.before as Record<string, unknown> | null;
  if (after && 'rampHold' in after) {
    const hold = after.rampHold as { reason?: string } | null;
    return [
      hold ? { ...base, kind: 'held', percent: null, detail: hold.reason ?? '' } : { ...base, kind: 'released', percent: null, detail: a.rationale ?? '' },
    ];
  }
  if (after && 'circuitBreaker' in after) {
    const cb = after.circuitBreaker as { allocationPercent?: number };
    return [{ ...base, kind: 'breaker', percent: cb.allocationPercent ?? null, detail: a.rationale ?? 'circuit breaker' }];
  }
  if (!isExperiment(after) || !isExperiment(before)) return [];
  const was = before as NonNullable<Snapshot>;
  const now = after as NonNullable<Snapshot>;
  const percent = now.allocationPercent ?? null;
  const why = a.rationale ?? '';
  if (now.status === 'running' && was.status !== 'running' && was.status !== 'paused') return [{ ...base, kind: 'started', percent, detail: why }];
  if (now.status === 'running' && was.status === 'paused') return [{ ...base, kind: 'resumed', percent, detail: why }];
  if (now.status === 'paused' && was.status === 'running') return [{ ...base, kind: 'paused', percent, detail: why }];
  if (now.status === 'concluded' && was.status !== 'concluded')
    return [{ ...base, kind: 'concluded', percent, detail: [now.outcome, why].filter(Boolean).join(': ') }];
  if (now.status === 'running' && was.status === 'running' && percent !== null && percent !== was.allocationPercent)
    return [{ ...base, kind: 'advanced', percent, detail: why }];
  return [];
}

/** The ramp's history from an experiment's audit rows (any order). */
export function rampEvents(audit: readonly AuditEntry[]): RampEvent[] {
  const events = [...audit].sort((x, y) => x.id - y.id).flatMap(eventsOf);
  // A roll back writes its conclusion, then the breach that caused it (same time): the cause goes first.
  for (let i = 1; i < events.length; i++) {
    const [prev, cur] = [events[i - 1], events[i]];
    if (cur.kind === 'breaker' && prev.kind === 'concluded' && cur.at === prev.at) [events[i - 1], events[i]] = [cur, prev];
  }
  return events;
}
