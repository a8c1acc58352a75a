import type { Clock } from '../systems/clock.js';
import type { SqlOperationRepo } from '../store/sql/operation-repo.js';
import type { Lease } from '../store/sql/lease-repo.js';
import type { OperationStepRow, StepPhase } from '../store/operation-step-repo.js';
import type { ToolCallLog } from './tool-calls.js';

export interface DiagnosisOptions {
  /** How far back operations and tool calls are read. */
  windowMinutes: number;
  /** How many of the slowest operations are listed. */
  limit: number;
  /** An unfinished operation older than this is stuck. */
  stuckAfterSeconds: number;
}

export const DIAGNOSIS_DEFAULTS: DiagnosisOptions = { windowMinutes: 60, limit: 5, stuckAfterSeconds: 60 };

export interface Latency {
  count: number;
  errors: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

export interface Diagnosis {
  window: { from: string; to: string; minutes: number };
  slowest: {
    opId: string;
    kind: string;
    experimentId: string;
    status: string;
    totalMs: number;
    dominant: { step: string; system: string | null; ms: number; share: number };
  }[];
  steps: (Latency & { step: string; phase: StepPhase; system: string | null; retries: number })[];
  systems: (Latency & { system: string; retries: number })[];
  queues: { pendingOperations: number; compensatingOperations: number; inFlightHere: number; exposureBuffer: number };
  stuck: {
    opId: string;
    kind: string;
    experimentId: string;
    status: string;
    startedAt: string;
    ageSeconds: number;
    owner: string | null;
    ownerIsThisProcess: boolean;
    leaseUntil: string | null;
    leaseExpired: boolean;
    attempting: string | null;
    stepsDone: string[];
  }[];
  leases: Lease[];
  tools: (Latency & { tool: string })[];
}

/** Nearest-rank percentile of sorted values (0 when there are none). */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

function latency(samples: { ms: number; ok: boolean }[]): Latency {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  return {
    count: samples.length,
    errors: samples.filter((s) => !s.ok).length,
    p50Ms: round(percentile(sorted, 0.5)),
    p95Ms: round(percentile(sorted, 0.95)),
    maxMs: round(sorted.at(-1) ?? 0),
  };
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const group = m.get(k);
    if (group) group.push(x);
    else m.set(k, [x]);
  }
  return m;
}

const byP95 = <T extends Latency>(a: T, b: T) => b.p95Ms - a.p95Ms;

/** What this process reads to diagnose slow orchestration; each source is owned elsewhere. */
export interface DiagnosisSources {
  ops: SqlOperationRepo;
  leases: () => Promise<Lease[]>;
  clock: Clock;
  toolCalls: ToolCallLog;
  exposureBuffer: () => number;
  /** The saga's owner id for this process (DeploySaga.owner). */
  owner: string;
}

/**
 * Where orchestration spends its time: the slowest recent saga operations and the step that
 * dominated each, latency per step and per downstream system, queue depths, operations stuck
 * unfinished with their owner and lease, and tool-call latency per tool.
 */
export async function diagnose(src: DiagnosisSources, opts: DiagnosisOptions = DIAGNOSIS_DEFAULTS): Promise<Diagnosis> {
  const now = src.clock.now();
  const from = new Date(now.getTime() - opts.windowMinutes * 60_000);
  const rows = await src.ops.timings.since(from.toISOString());
  const unfinished = await src.ops.unfinished();
  const leases = await src.leases();
  return {
    window: { from: from.toISOString(), to: now.toISOString(), minutes: opts.windowMinutes },
    slowest: slowest(rows, opts.limit),
    steps: [...groupBy(rows, (r) => `${r.phase}\u0000${r.step}\u0000${r.system ?? ''}`).values()]
      .map((rs) => ({ step: rs[0]!.step, phase: rs[0]!.phase, system: rs[0]!.system, retries: sum(rs.map((r) => r.retries)), ...latency(samples(rs)) }))
      .sort(byP95),
    systems: [
      ...groupBy(
        rows.filter((r) => r.phase === 'call' && r.system),
        (r) => r.system!,
      ).entries(),
    ]
      .map(([system, rs]) => ({ system, retries: sum(rs.map((r) => r.retries)), ...latency(samples(rs)) }))
      .sort(byP95),
    queues: {
      pendingOperations: unfinished.filter((o) => o.status === 'pending').length,
      compensatingOperations: unfinished.filter((o) => o.status === 'compensating').length,
      inFlightHere: unfinished.filter((o) => o.owner === src.owner).length,
      exposureBuffer: src.exposureBuffer(),
    },
    stuck: unfinished
      .map((o) => ({ o, age: (now.getTime() - Date.parse(o.createdAt)) / 1000 }))
      .filter(({ age }) => age > opts.stuckAfterSeconds)
      .map(({ o, age }) => ({
        opId: o.id,
        kind: o.kind,
        experimentId: o.experimentId,
        status: o.status,
        startedAt: o.createdAt,
        ageSeconds: Math.round(age),
        owner: o.owner,
        ownerIsThisProcess: o.owner === src.owner,
        leaseUntil: o.leaseUntil,
        leaseExpired: !o.leaseUntil || Date.parse(o.leaseUntil) < now.getTime(),
        attempting: o.attempting,
        stepsDone: o.steps,
      })),
    leases,
    tools: [...groupBy(src.toolCalls.since(Date.now() - opts.windowMinutes * 60_000), (c) => c.tool).entries()]
      .map(([tool, cs]) => ({ tool, ...latency(cs.map((c) => ({ ms: c.durationMs, ok: c.outcome === 'ok' || c.outcome === 'input_required' }))) }))
      .sort(byP95),
  };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const samples = (rs: OperationStepRow[]) => rs.map((r) => ({ ms: r.durationMs, ok: r.outcome === 'ok' }));

function slowest(rows: OperationStepRow[], limit: number): Diagnosis['slowest'] {
  return [...groupBy(rows, (r) => r.opId).values()]
    .map((rs) => {
      const totalMs = sum(rs.map((r) => r.durationMs));
      const top = rs.reduce((a, b) => (b.durationMs > a.durationMs ? b : a));
      return {
        opId: top.opId,
        kind: top.kind,
        experimentId: top.experimentId,
        status: top.status,
        totalMs: round(totalMs),
        dominant: {
          step: top.step,
          system: top.system,
          ms: round(top.durationMs),
          share: totalMs > 0 ? Math.round((top.durationMs / totalMs) * 100) / 100 : 0,
        },
      };
    })
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, limit);
}

/** A few lines an operator or agent reads first: the slowest step and system, the stuck operations. */
export function diagnosisText(d: Diagnosis): string {
  const lines = [`Orchestration over the last ${d.window.minutes} min:`];
  const op = d.slowest[0];
  if (op)
    lines.push(
      `slowest operation ${op.opId} (${op.kind}, ${op.status}) took ${op.totalMs} ms; ${op.dominant.step}${op.dominant.system ? ` on ${op.dominant.system}` : ''} took ${Math.round(op.dominant.share * 100)}% of it.`,
    );
  else lines.push('no saga operation with remote systems in the window.');
  const sys = d.systems[0];
  if (sys)
    lines.push(
      `slowest system: ${sys.system} p50 ${sys.p50Ms} ms, p95 ${sys.p95Ms} ms over ${sys.count} calls (${sys.errors} failed, ${sys.retries} retries).`,
    );
  lines.push(`queues: ${d.queues.pendingOperations} pending, ${d.queues.compensatingOperations} compensating, ${d.queues.exposureBuffer} exposures buffered.`);
  for (const s of d.stuck)
    lines.push(
      `STUCK ${s.opId} (${s.kind}, ${s.status}) for ${s.ageSeconds} s, owner ${s.owner ?? 'none'}, lease ${s.leaseExpired ? 'expired' : `until ${s.leaseUntil}`}${s.attempting ? `, sending ${s.attempting}` : ''}.`,
    );
  if (d.stuck.length)
    lines.push(
      'A stuck operation whose lease expired is finished or compensated by the next recovery (every 10 s in serve, or at the next write to that experiment).',
    );
  return lines.join('\n');
}
