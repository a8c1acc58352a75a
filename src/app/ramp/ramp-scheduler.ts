import { randomUUID } from 'node:crypto';
import type { Experiment } from '../../domain/schemas.js';
import { AppError } from '../../errors.js';
import type { RampHold } from '../../store/experiment-repo.js';
import type { AppDeps, WriteContext } from '../context.js';
import type { ExperimentService } from '../experiments/experiment-service.js';
import type { MetricsReport, MetricsService } from '../results/metrics-service.js';
import type { DeploySaga } from '../deploy/deploy-saga.js';
import type { SqlLeaseRepo } from '../../store/sql/lease-repo.js';
import { configRepos } from '../../store/sql/config-repos.js';
import { bumpRevision } from '../../store/pg/revision.js';

/** The lease that lets one process at a time tick the ramp scheduler on a shared database. */
export const RAMP_LEASE = 'ramp-scheduler';

/** Defaults for configs whose rampPlan names no minimum duration or gate. */
export const DEFAULT_STAGE_MIN_HOURS = 24;
export const DEFAULT_MIN_UNITS_PER_ARM = 100;
export { RAMP_SCHEDULER_ACTOR } from '../../domain/policy.js';
import { missingApproval, RAMP_SCHEDULER_ACTOR } from '../../domain/policy.js';
import { recordRampDecision } from '../../ops/metric-hooks.js';
import { secondsSince } from '../../ops/metrics.js';
/** Hours a success or guardrail metric may stay without data in an arm before a blind guardrail holds the ramp (policy.blindGraceHours). */
export const DEFAULT_BLIND_GRACE_HOURS = 24;

export interface GateCheck {
  name: 'min_duration' | 'srm' | 'guardrails' | 'data' | 'enough_data';
  pass: boolean;
  detail: string;
}

export interface GuardrailReading {
  metricId: string;
  variant: string;
  assessment: string;
  controlMean: number | null;
  mean: number | null;
  /** Treatment minus control, with its always-valid interval. */
  absolute: { estimate: number; lower: number; upper: number } | null;
  relativeEstimate: number | null;
  pValue: number | null;
}

/** A metric the gate cannot see: the arm has exposed units and none of them has an event for it yet. */
export interface BlindMetric {
  metricId: string;
  role: 'success' | 'guardrail';
  variant: string;
  units: number;
}

export type RampAction = 'advance' | 'wait' | 'held' | 'roll_back' | 'complete' | 'none';

export interface RampStatus {
  experimentId: string;
  key: string;
  status: Experiment['status'];
  version: number;
  allocationPercent: number;
  /** 1-based stage number and the number of stages, the start allocation counting as stage 1. */
  stage: number;
  stageCount: number;
  plannedStages: number[];
  nextPercent: number | null;
  stageStartedAt: string | null;
  hoursInStage: number | null;
  minHours: number;
  gate: {
    holds: boolean;
    checks: GateCheck[];
    minUnitsPerArm: number;
    unitsPerArm: { variant: string; units: number }[];
    srm: { checked: boolean; pValue: number | null; mismatch: boolean };
    guardrails: GuardrailReading[];
    /** Metrics with no data yet in some arm: the gate does not pass while any is listed. */
    blind: BlindMetric[];
    /** How long a guardrail may stay blind before the scheduler holds the ramp itself. */
    blindGraceHours: number;
  };
  breaker: { tripped: boolean; reasons: string[] };
  hold: RampHold | null;
  nextAction: RampAction;
  reason: string;
  /** The plan hash of the config in force: what advance_ramp (or deploy_to_surface) cites. */
  planHash: string;
  lastTick: TickOutcome | null;
}

export interface TickOutcome {
  experimentId: string;
  key: string;
  at: string;
  action: 'advanced' | 'rolled_back' | 'waiting' | 'held' | 'complete' | 'refused';
  reason: string;
}

/**
 * Walks running experiments through their ramp plans: a stage advances only after its minimum
 * duration and while its gate holds; a guardrail significantly worse under the always-valid
 * analysis rolls the experiment back at once (the circuit breaker). Time comes from the injected clock.
 */
export class RampScheduler {
  private readonly last = new Map<string, TickOutcome>();
  private readonly leases: SqlLeaseRepo;
  /** This scheduler's name in the lease table: unique per instance (two containers in one process are two owners). */
  readonly owner = `${process.pid}:${randomUUID().slice(0, 8)}`;
  /** How long a held lease lasts without renewal: three tick periods (start sets it), so a dead holder's lease lapses. */
  private leaseMs = 3 * 60_000;

  constructor(
    private readonly d: AppDeps,
    private readonly experiments: ExperimentService,
    private readonly metrics: MetricsService,
    /** Every write of the scheduler goes through the saga: the systems change with the record. */
    private readonly saga: DeploySaga,
  ) {
    this.leases = d.store.leases;
  }

  /**
   * One pass over every running experiment; each is judged and acted on independently. Roll backs
   * and advances go through the saga, so with remote systems the backend and content delivery
   * change with the record (embedded, the saga writes all three in one transaction).
   */
  async tick(): Promise<TickOutcome[]> {
    const out: TickOutcome[] = [];
    // Several processes on one data directory: only the lease holder acts (renewed every tick), the others skip.
    if (!(await this.leases.acquire(RAMP_LEASE, this.owner, this.leaseMs))) {
      const holder = await this.leases.get(RAMP_LEASE);
      this.d.logger.debug({ holder: holder?.owner, until: holder?.until }, 'ramp scheduler tick skipped: another process holds the lease');
      return out;
    }
    this.d.opsMetrics?.rampTicks.inc();
    for (const exp of await this.d.store.experiments.list({ status: ['running'] })) {
      let outcome: TickOutcome;
      try {
        outcome = await this.step(exp);
      } catch (err) {
        if (!(err instanceof AppError)) this.d.logger.error({ err, experimentId: exp.id }, 'ramp scheduler failed on an experiment');
        outcome = this.outcome(
          exp,
          'refused',
          err instanceof AppError ? `${err.code}: ${err.message}. ${err.hint}` : `internal error: ${(err as Error).message}`,
        );
      }
      this.logDecision(outcome, this.last.get(exp.id));
      recordRampDecision(this.d.opsMetrics, outcome, this.last.get(exp.id));
      this.last.set(exp.id, outcome);
      out.push(outcome);
    }
    return out;
  }

  /** Runs a pass every `seconds` (0 disables) on an unref'd timer; returns the function that stops it. */
  start(seconds: number): () => void {
    if (seconds <= 0) return () => undefined;
    this.leaseMs = Math.max(3 * seconds * 1000, 10_000);
    const timer = setInterval(() => {
      this.tick().catch((err: unknown) => this.d.logger.error({ err }, 'ramp scheduler tick failed'));
    }, seconds * 1000);
    timer.unref();
    return () => {
      clearInterval(timer);
      // Hand the lease over at once rather than when it lapses.
      this.leases.release(RAMP_LEASE, this.owner).catch(() => {
        /* the database is closing */
      });
    };
  }

  /** Where the experiment is in its ramp, the gate with its numbers, and what the scheduler will do next. */
  async status(experimentId: string): Promise<RampStatus> {
    const exp = await this.experiments.get(experimentId);
    const report = await this.metrics.report(exp.id, { alwaysValid: true });
    const s = await this.evaluate(exp, report);
    const sloHold = s.nextAction === 'advance' ? this.d.slo?.holdReason() : null;
    return sloHold ? { ...s, nextAction: 'held', reason: sloHold } : s;
  }

  /** Pauses automatic advancement (the circuit breaker stays armed); audited. */
  async hold(experimentId: string, reason: string, ctx: WriteContext): Promise<RampStatus> {
    await this.setHold(experimentId, { reason, actor: ctx.actor, at: this.d.clock.now().toISOString() }, ctx);
    return this.status(experimentId);
  }

  /** Lifts a hold; the next tick judges the gate again. */
  async resume(experimentId: string, ctx: WriteContext): Promise<RampStatus> {
    await this.setHold(experimentId, null, ctx);
    return this.status(experimentId);
  }

  private async setHold(experimentId: string, hold: RampHold | null, ctx: WriteContext): Promise<void> {
    await this.d.sql.tx(async (tx) => {
      const r = configRepos(tx);
      const exp = await this.experiments.load(experimentId, r);
      if (exp.status !== 'running' && exp.status !== 'paused') {
        throw new AppError(
          'PRECONDITION_FAILED',
          `experiment '${exp.key}' is ${exp.status}; only a running or paused experiment has a ramp to hold`,
          'Call get_ramp_status or list_experiments to find a running experiment.',
        );
      }
      const before = (await r.experiments.rampState(exp.id)).hold;
      await r.experiments.setRampHold(exp.id, hold);
      await r.audit.record(ctx, 'experiment', exp.id, { rampHold: before }, { rampHold: hold }, this.d.clock.now().toISOString());
      await bumpRevision(tx);
    });
  }

  private async step(exp: Experiment): Promise<TickOutcome> {
    const s = await this.evaluate(exp, await this.metrics.report(exp.id, { alwaysValid: true }));
    if (s.nextAction === 'roll_back') {
      const reason = `circuit breaker: ${s.breaker.reasons.join('; ')}`;
      const detected = performance.now();
      await this.saga.rollBack(
        {
          experimentId: exp.id,
          reason,
          details: {
            stage: s.stage,
            allocationPercent: s.allocationPercent,
            guardrails: s.gate.guardrails.filter((g) => g.assessment === 'worse'),
            srm: s.gate.srm,
            unitsPerArm: s.gate.unitsPerArm,
          },
        },
        this.ctx('circuit_breaker'),
      );
      this.d.opsMetrics?.guardrailReaction.observe(secondsSince(detected));
      return this.outcome(exp, 'rolled_back', reason);
    }
    if (s.nextAction === 'held' && !s.hold) {
      // A guardrail blind past the grace period: the scheduler holds the ramp itself, audited, until a person resumes it.
      await this.setHold(
        exp.id,
        { reason: s.reason, actor: RAMP_SCHEDULER_ACTOR, at: this.d.clock.now().toISOString() },
        this.ctx('blind_guardrail_hold', s.reason),
      );
      return this.outcome(exp, 'held', s.reason);
    }
    const sloHold = s.nextAction === 'advance' ? await this.d.slo?.rampHold(exp.id) : null;
    if (sloHold) return this.outcome(exp, 'held', sloHold);
    if (s.nextAction === 'advance') {
      const reason = `stage ${s.stage}/${s.stageCount} → ${s.nextPercent}%: ${s.gate.checks.map((c) => c.detail).join('; ')}`;
      try {
        await this.saga.advance({ experimentId: exp.id, version: exp.version, toPercent: s.nextPercent! }, this.ctx('ramp_advance', reason));
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        return this.outcome(exp, 'refused', `advance to ${s.nextPercent}% refused: ${err.code}: ${err.message}. ${err.hint}`);
      }
      return this.outcome(exp, 'advanced', reason);
    }
    return this.outcome(exp, s.nextAction === 'wait' ? 'waiting' : s.nextAction === 'held' ? 'held' : 'complete', s.reason);
  }

  private async evaluate(exp: Experiment, report: MetricsReport): Promise<RampStatus> {
    const now = this.d.clock.now();
    const state = await this.d.store.experiments.rampState(exp.id);
    const since = state.stageStartedAt ?? exp.startedAt;
    const hoursInStage = since ? (now.getTime() - Date.parse(since)) / 3_600_000 : null;
    const minHours = exp.rampPlan.minHours ?? DEFAULT_STAGE_MIN_HOURS;
    const minUnitsPerArm = exp.rampPlan.gate?.minUnitsPerArm ?? DEFAULT_MIN_UNITS_PER_ARM;
    const stages = exp.rampPlan.stages;
    const nextPercent = stages.find((x) => x > exp.allocationPercent) ?? null;
    const guardrails = guardrailReadings(report);
    const worse = guardrails.filter((g) => g.assessment === 'worse');
    const units = report.exposures.map((x) => ({ variant: x.variant, units: x.units }));
    const blind = blindMetrics(report);
    const policy = this.experiments.policyFor(exp.surfaceId) as { blindGraceHours?: number };
    const blindGraceHours = policy.blindGraceHours ?? DEFAULT_BLIND_GRACE_HOURS;
    const blindTooLong = hoursInStage !== null && hoursInStage >= blindGraceHours ? blind.filter((b) => b.role === 'guardrail') : [];
    const checks: GateCheck[] = [
      {
        name: 'min_duration',
        pass: hoursInStage !== null && hoursInStage >= minHours,
        detail: `${hoursInStage === null ? 'not started' : `${hoursInStage.toFixed(1)}h`} in stage, minimum ${minHours}h`,
      },
      {
        name: 'srm',
        pass: !report.srm.mismatch,
        detail: report.srm.checked
          ? `SRM p=${report.srm.pValue!.toPrecision(3)} (${report.srm.mismatch ? 'mismatch' : 'ok'})`
          : `SRM not checked yet: ${report.srm.note}`,
      },
      {
        name: 'guardrails',
        pass: worse.length === 0,
        detail: worse.length
          ? `worse: ${worse.map(describeWorse).join(', ')}`
          : `no guardrail significantly worse (${guardrails.map((g) => `${g.metricId}/${g.variant} ${g.assessment}`).join(', ') || 'none'})`,
      },
      {
        name: 'data',
        pass: blind.length === 0,
        detail: blind.length ? `no data yet: ${blind.map(describeBlind).join(', ')}` : 'every success and guardrail metric has data in every arm',
      },
      {
        name: 'enough_data',
        pass: units.every((u) => u.units >= minUnitsPerArm),
        detail: `units per arm ${units.map((u) => `${u.variant} ${u.units}`).join(', ')} (minimum ${minUnitsPerArm})`,
      },
    ];
    const holds = checks.every((c) => c.pass);
    const breakerReasons = worse.map((g) => `guardrail ${describeWorse(g)} is significantly worse under the always-valid analysis`);
    const [nextAction, reason] = ((): [RampAction, string] => {
      if (exp.status !== 'running') return ['none', `experiment is ${exp.status}; the scheduler acts only on running experiments`];
      if (breakerReasons.length) return ['roll_back', breakerReasons.join('; ')];
      if (nextPercent === null) return ['complete', `at the last planned stage (${exp.allocationPercent}%); stop_experiment concludes it`];
      if (state.hold) return ['held', `held by ${state.hold.actor} since ${state.hold.at}: ${state.hold.reason}`];
      if (blindTooLong.length) return ['held', blindHoldReason(blindTooLong, hoursInStage!, blindGraceHours)];
      const approval = missingApproval(this.experiments.policyFor(exp.surfaceId), RAMP_SCHEDULER_ACTOR, nextPercent);
      if (holds && approval)
        return [
          'wait',
          `gate holds, but the policy lets only ${approval.actors.join(', ')} deploy above ${approval.abovePercent}%: an approved caller advances to ${nextPercent}% with advance_ramp (the scheduler keeps guarding meanwhile)`,
        ];
      if (holds) return ['advance', `gate holds; the next tick advances to ${nextPercent}%`];
      return [
        'wait',
        `waiting: ${checks
          .filter((c) => !c.pass)
          .map((c) => c.detail)
          .join('; ')}`,
      ];
    })();
    const stage = 1 + stages.filter((x) => x <= exp.allocationPercent).length;
    return {
      experimentId: exp.id,
      key: exp.key,
      status: exp.status,
      version: exp.version,
      allocationPercent: exp.allocationPercent,
      stage,
      stageCount: stage + stages.filter((x) => x > exp.allocationPercent).length,
      plannedStages: stages,
      nextPercent,
      stageStartedAt: since,
      hoursInStage,
      minHours,
      gate: {
        holds,
        checks,
        minUnitsPerArm,
        unitsPerArm: units,
        srm: { checked: report.srm.checked, pValue: report.srm.pValue, mismatch: report.srm.mismatch },
        guardrails,
        blind,
        blindGraceHours,
      },
      breaker: { tripped: breakerReasons.length > 0, reasons: breakerReasons },
      hold: state.hold,
      nextAction,
      reason,
      planHash: this.experiments.planHashOf(exp),
      lastTick: this.last.get(exp.id) ?? null,
    };
  }

  /**
   * One line per experiment per tick, so an operator can follow a ramp from the log alone: advance,
   * wait and hold at info with the reason; a circuit-breaker roll back, a refused advance and a hold
   * that starts (the scheduler's own, for a blind guardrail, or a person's) at warn.
   */
  private logDecision(outcome: TickOutcome, previous: TickOutcome | undefined): void {
    const notable = outcome.action === 'rolled_back' || outcome.action === 'refused' || (outcome.action === 'held' && previous?.action !== 'held');
    this.d.logger[notable ? 'warn' : 'info'](
      { experimentId: outcome.experimentId, key: outcome.key, action: outcome.action, reason: outcome.reason },
      'ramp decision',
    );
  }

  private ctx(operation: string, rationale?: string): WriteContext {
    return { actor: RAMP_SCHEDULER_ACTOR, interface: 'system', operation, requestId: randomUUID(), ...(rationale ? { rationale } : {}) };
  }

  private outcome(exp: Experiment, action: TickOutcome['action'], reason: string): TickOutcome {
    return { experimentId: exp.id, key: exp.key, at: this.d.clock.now().toISOString(), action, reason };
  }
}

function guardrailReadings(report: MetricsReport): GuardrailReading[] {
  return report.metrics
    .filter((m) => m.role === 'guardrail')
    .flatMap((m) => {
      const control = m.variants.find((v) => v.isControl);
      return m.variants
        .filter((v) => !v.isControl)
        .map((v) => ({
          metricId: m.metricId,
          variant: v.variant,
          assessment: v.assessment,
          controlMean: control?.mean ?? null,
          mean: v.mean,
          absolute: v.absolute ? { estimate: v.absolute.estimate, lower: v.absolute.lower, upper: v.absolute.upper } : null,
          relativeEstimate: v.relative?.estimate ?? null,
          pValue: v.pValue,
        }));
    });
}

/**
 * Metrics without data in some arm. The analysis marks them (`blind`); until every analysis does,
 * an arm with units whose mean is 0 or missing counts as blind (no unit has reported the metric).
 */
function blindMetrics(report: MetricsReport): BlindMetric[] {
  return report.metrics.flatMap((m) =>
    m.variants
      .filter((v) => ((v as { blind?: boolean }).blind ?? (v.units > 0 && (v.mean === null || v.mean === 0))) && v.units > 0)
      .map((v) => ({ metricId: m.metricId, role: m.role, variant: v.variant, units: v.units })),
  );
}

const describeBlind = (b: BlindMetric) => `${b.role} ${b.metricId} in '${b.variant}' (${b.units} units, none with an event)`;

const blindHoldReason = (blind: BlindMetric[], hours: number, grace: number) =>
  `no guardrail data after ${hours.toFixed(1)}h in stage (grace ${grace}h): ${blind.map((b) => `${b.metricId} in '${b.variant}'`).join(', ')} without any event, so the circuit breaker cannot trip on it; ramping is paused. Fix the metric's events, then hold_ramp with action "resume"`;

const describeWorse = (g: GuardrailReading) =>
  `${g.metricId} in '${g.variant}' (${g.mean?.toPrecision(3)} vs control ${g.controlMean?.toPrecision(3)}${g.relativeEstimate !== null ? `, ${(100 * g.relativeEstimate).toFixed(1)}%` : ''}${g.absolute ? `, interval [${g.absolute.lower.toPrecision(3)}, ${g.absolute.upper.toPrecision(3)}]` : ''}, p=${g.pValue?.toPrecision(3)})`;
