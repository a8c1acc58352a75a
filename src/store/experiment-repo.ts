import { prepared, type Db } from './db.js';
import type { Experiment, ExperimentConfig, ExperimentStatus, Outcome, Ranges } from '../domain/schemas.js';
import { AppError } from '../errors.js';

export interface ExperimentRow {
  id: string;
  status: ExperimentStatus;
  outcome: Outcome | null;
  version: number;
  config: string;
  buckets: string;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  ended_at: string | null;
}

export const toExperiment = (r: ExperimentRow): Experiment => ({
  ...(JSON.parse(r.config) as ExperimentConfig),
  id: r.id,
  status: r.status,
  outcome: r.outcome,
  version: r.version,
  buckets: JSON.parse(r.buckets) as Ranges,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  startedAt: r.started_at,
  endedAt: r.ended_at,
});

export interface ExperimentPatch {
  status?: ExperimentStatus;
  outcome?: Outcome | null;
  config?: ExperimentConfig;
  buckets?: Ranges;
  startedAt?: string | null;
  endedAt?: string | null;
}

/** A pause on automatic ramp advancement, set by hold_ramp. */
export interface RampHold {
  reason: string;
  actor: string;
  at: string;
}

/** Who reverted a ship, when and why: the surface's default layout went back to what it was without it. */
export interface ShipRevert {
  at: string;
  actor: string;
  reason: string;
}

/**
 * How an experiment ended: the outcome, the shipped variant, and for a ship the decision record it
 * rested on (the analysis's decision for that variant with its rule, alpha, numbers and what was pending).
 */
export interface Conclusion {
  outcome: Outcome;
  /** The variant whose layout became the surface's default; null unless shipped. */
  variant: string | null;
  decidedAt: string;
  actor: string;
  reason: string;
  /** The analysis behind a ship (null for a stop or roll back, which never wait on an analysis). */
  decision: Record<string, unknown> | null;
  revert: ShipRevert | null;
}

export interface RampState {
  stageStartedAt: string | null;
  hold: RampHold | null;
}

export const configOf = (e: Experiment): ExperimentConfig => ({
  key: e.key,
  name: e.name,
  hypothesis: e.hypothesis,
  owner: e.owner,
  surfaceId: e.surfaceId,
  ...(e.exclusivityGroup ? { exclusivityGroup: e.exclusivityGroup } : {}),
  variants: e.variants,
  allocationPercent: e.allocationPercent,
  rampPlan: e.rampPlan ?? { stages: [] },
  targeting: e.targeting,
  successMetrics: e.successMetrics,
  guardrails: e.guardrails,
  analysisPlan: e.analysisPlan,
});

/** Experiments with optimistic concurrency: every write names the version it read. */
export class ExperimentRepo {
  constructor(private readonly db: Db) {}

  insert(id: string, config: ExperimentConfig, now: string): Experiment {
    prepared(this.db, 'INSERT INTO experiments (id, key, surface_id, status, version, config, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?)').run(
      id,
      config.key,
      config.surfaceId,
      'draft',
      JSON.stringify(config),
      now,
      now,
    );
    return this.get(id)!;
  }

  get(id: string): Experiment | undefined {
    const r = prepared(this.db, 'SELECT * FROM experiments WHERE id = ?').get(id) as ExperimentRow | undefined;
    return r ? toExperiment(r) : undefined;
  }

  byKey(key: string): Experiment | undefined {
    const r = prepared(this.db, 'SELECT * FROM experiments WHERE key = ?').get(key) as ExperimentRow | undefined;
    return r ? toExperiment(r) : undefined;
  }

  list(filter: { surfaceId?: string; status?: ExperimentStatus[] } = {}): Experiment[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.surfaceId) {
      where.push('surface_id = ?');
      args.push(filter.surfaceId);
    }
    if (filter.status?.length) {
      where.push(`status IN (${filter.status.map(() => '?').join(',')})`);
      args.push(...filter.status);
    }
    const sql = `SELECT * FROM experiments ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id`;
    return (prepared(this.db, sql).all(...args) as ExperimentRow[]).map(toExperiment);
  }

  /** The ramp scheduler's state: when the current stage started and any hold (outside the versioned config). */
  rampState(id: string): RampState {
    const r = prepared(this.db, 'SELECT stage_started_at, ramp_hold FROM experiments WHERE id = ?').get(id) as
      | { stage_started_at: string | null; ramp_hold: string | null }
      | undefined;
    return { stageStartedAt: r?.stage_started_at ?? null, hold: r?.ramp_hold ? (JSON.parse(r.ramp_hold) as RampHold) : null };
  }

  setStageStartedAt(id: string, at: string): void {
    prepared(this.db, 'UPDATE experiments SET stage_started_at = ? WHERE id = ?').run(at, id);
  }

  setRampHold(id: string, hold: RampHold | null): void {
    prepared(this.db, 'UPDATE experiments SET ramp_hold = ? WHERE id = ?').run(hold ? JSON.stringify(hold) : null, id);
  }

  conclusion(id: string): Conclusion | null {
    const r = prepared(this.db, 'SELECT conclusion FROM experiments WHERE id = ?').get(id) as { conclusion: string | null } | undefined;
    return r?.conclusion ? (JSON.parse(r.conclusion) as Conclusion) : null;
  }

  setConclusion(id: string, c: Conclusion): void {
    prepared(this.db, 'UPDATE experiments SET conclusion = ? WHERE id = ?').run(JSON.stringify(c), id);
  }

  /** Ships in force on a surface (shipped, not reverted), oldest first: later ones win the slots they share. */
  shipsOn(surfaceId: string): { experiment: Experiment; conclusion: Conclusion }[] {
    return this.list({ surfaceId, status: ['concluded', 'archived'] })
      .filter((e) => e.outcome === 'shipped')
      .map((experiment) => ({ experiment, conclusion: this.conclusion(experiment.id) }))
      .filter((x): x is { experiment: Experiment; conclusion: Conclusion } => Boolean(x.conclusion?.variant && !x.conclusion.revert))
      .sort((a, b) => (a.experiment.endedAt ?? '').localeCompare(b.experiment.endedAt ?? '') || a.experiment.id.localeCompare(b.experiment.id));
  }

  /** Applies a patch only if the stored version is `expectedVersion`; returns the new state. */
  update(id: string, expectedVersion: number, patch: ExperimentPatch, now: string): Experiment {
    const cur = this.get(id);
    if (!cur) throw new AppError('NOT_FOUND', `experiment '${id}' does not exist`, 'Call list_experiments to find the id.');
    if (cur.version !== expectedVersion) {
      throw new AppError(
        'CONFLICT',
        `experiment '${id}' is at version ${cur.version}, not ${expectedVersion}`,
        'Someone changed it since you read it: call get_experiment, review the change, and retry with the current version.',
        { currentVersion: cur.version },
      );
    }
    const next = {
      status: patch.status ?? cur.status,
      outcome: patch.outcome !== undefined ? patch.outcome : cur.outcome,
      config: JSON.stringify(patch.config ?? configOf(cur)),
      buckets: JSON.stringify(patch.buckets ?? cur.buckets),
      started_at: patch.startedAt !== undefined ? patch.startedAt : cur.startedAt,
      ended_at: patch.endedAt !== undefined ? patch.endedAt : cur.endedAt,
    };
    const config = patch.config ?? configOf(cur);
    // key and surface_id are indexed copies of the config's fields: a draft edit may change them.
    const res = prepared(
      this.db,
      'UPDATE experiments SET status=?, outcome=?, config=?, key=?, surface_id=?, buckets=?, started_at=?, ended_at=?, version=version+1, updated_at=? WHERE id=? AND version=?',
    ).run(next.status, next.outcome, next.config, config.key, config.surfaceId, next.buckets, next.started_at, next.ended_at, now, id, expectedVersion);
    if (res.changes !== 1) throw new AppError('CONFLICT', `experiment '${id}' changed concurrently`, 'Call get_experiment and retry with the current version.');
    return this.get(id)!;
  }
}
