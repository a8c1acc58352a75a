import type { Experiment, ExperimentConfig, ExperimentStatus } from '../../domain/schemas.js';
import { AppError } from '../../errors.js';
import { type Conclusion, configOf, type ExperimentPatch, type ExperimentRow, type RampHold, type RampState, toExperiment } from '../experiment-repo.js';
import type { Param, Sql } from './sql.js';

/**
 * Experiments with optimistic concurrency (ExperimentRepo over the async seam): every write names the version it
 * read, and the UPDATE carries the check (`WHERE id = ? AND version = ?`), so of two writers racing from the same
 * version exactly one succeeds on either engine; the other gets CONFLICT with the current version.
 */
export class SqlExperimentRepo {
  constructor(private readonly sql: Sql) {}

  async insert(id: string, config: ExperimentConfig, now: string): Promise<Experiment> {
    await this.sql.run('INSERT INTO experiments (id, key, surface_id, status, version, config, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?)', [
      id,
      config.key,
      config.surfaceId,
      'draft',
      JSON.stringify(config),
      now,
      now,
    ]);
    return (await this.get(id))!;
  }

  async get(id: string): Promise<Experiment | undefined> {
    const r = await this.sql.get<ExperimentRow>('SELECT * FROM experiments WHERE id = ?', [id]);
    return r ? toExperiment(r) : undefined;
  }

  async byKey(key: string): Promise<Experiment | undefined> {
    const r = await this.sql.get<ExperimentRow>('SELECT * FROM experiments WHERE key = ?', [key]);
    return r ? toExperiment(r) : undefined;
  }

  async list(filter: { surfaceId?: string; status?: ExperimentStatus[] } = {}): Promise<Experiment[]> {
    const where: string[] = [];
    const args: Param[] = [];
    if (filter.surfaceId) {
      where.push('surface_id = ?');
      args.push(filter.surfaceId);
    }
    if (filter.status?.length) {
      where.push(`status IN (${filter.status.map(() => '?').join(',')})`);
      args.push(...filter.status);
    }
    const q = `SELECT * FROM experiments ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id`;
    return (await this.sql.all<ExperimentRow>(q, args)).map(toExperiment);
  }

  /** The ramp scheduler's state: when the current stage started and any hold (outside the versioned config). */
  async rampState(id: string): Promise<RampState> {
    const r = await this.sql.get<{ stage_started_at: string | null; ramp_hold: string | null }>(
      'SELECT stage_started_at, ramp_hold FROM experiments WHERE id = ?',
      [id],
    );
    return { stageStartedAt: r?.stage_started_at ?? null, hold: r?.ramp_hold ? (JSON.parse(r.ramp_hold) as RampHold) : null };
  }

  async setStageStartedAt(id: string, at: string): Promise<void> {
    await this.sql.run('UPDATE experiments SET stage_started_at = ? WHERE id = ?', [at, id]);
  }

  async setRampHold(id: string, hold: RampHold | null): Promise<void> {
    await this.sql.run('UPDATE experiments SET ramp_hold = ? WHERE id = ?', [hold ? JSON.stringify(hold) : null, id]);
  }

  async conclusion(id: string): Promise<Conclusion | null> {
    const r = await this.sql.get<{ conclusion: string | null }>('SELECT conclusion FROM experiments WHERE id = ?', [id]);
    return r?.conclusion ? (JSON.parse(r.conclusion) as Conclusion) : null;
  }

  async setConclusion(id: string, c: Conclusion): Promise<void> {
    await this.sql.run('UPDATE experiments SET conclusion = ? WHERE id = ?', [JSON.stringify(c), id]);
  }

  /** Ships in force on a surface (shipped, not reverted), oldest first: later ones win the slots they share. */
  async shipsOn(surfaceId: string): Promise<{ experiment: Experiment; conclusion: Conclusion }[]> {
    const shipped = (await this.list({ surfaceId, status: ['concluded', 'archived'] })).filter((e) => e.outcome === 'shipped');
    const withConclusion = await Promise.all(shipped.map(async (experiment) => ({ experiment, conclusion: await this.conclusion(experiment.id) })));
    return withConclusion
      .filter((x): x is { experiment: Experiment; conclusion: Conclusion } => Boolean(x.conclusion?.variant && !x.conclusion.revert))
      .sort((a, b) => (a.experiment.endedAt ?? '').localeCompare(b.experiment.endedAt ?? '') || a.experiment.id.localeCompare(b.experiment.id));
  }

  /** Applies a patch only if the stored version is `expectedVersion`; returns the new state. */
  async update(id: string, expectedVersion: number, patch: ExperimentPatch, now: string): Promise<Experiment> {
    const cur = await this.get(id);
    if (!cur) throw new AppError('NOT_FOUND', `experiment '${id}' does not exist`, 'Call list_experiments to find the id.');
    if (cur.version !== expectedVersion) throw staleVersion(id, cur.version, expectedVersion);
    const config = patch.config ?? configOf(cur);
    // key and surface_id are indexed copies of the config's fields: a draft edit may change them.
    const res = await this.sql.run(
      'UPDATE experiments SET status=?, outcome=?, config=?, key=?, surface_id=?, buckets=?, started_at=?, ended_at=?, version=version+1, updated_at=? WHERE id=? AND version=?',
      [
        patch.status ?? cur.status,
        patch.outcome !== undefined ? patch.outcome : cur.outcome,
        JSON.stringify(config),
        config.key,
        config.surfaceId,
        JSON.stringify(patch.buckets ?? cur.buckets),
        patch.startedAt !== undefined ? patch.startedAt : cur.startedAt,
        patch.endedAt !== undefined ? patch.endedAt : cur.endedAt,
        now,
        id,
        expectedVersion,
      ],
    );
    if (res.changes !== 1) {
      // Another writer committed from the same version between the read and the UPDATE (PostgreSQL's READ COMMITTED
      // re-checks the WHERE against the committed row): say which version is current, as the read-time check does.
      const current = (await this.get(id))?.version;
      throw current === undefined
        ? new AppError('CONFLICT', `experiment '${id}' changed concurrently`, 'Call get_experiment and retry with the current version.')
        : staleVersion(id, current, expectedVersion);
    }
    return (await this.get(id))!;
  }
}

const staleVersion = (id: string, current: number, expected: number) =>
  new AppError(
    'CONFLICT',
    `experiment '${id}' is at version ${current}, not ${expected}`,
    'Someone changed it since you read it: call get_experiment, review the change, and retry with the current version.',
    { currentVersion: current },
  );
