import { prepared, type Db } from './db.js';
import type { Finding } from '../domain/schemas.js';

export interface ValidationRecord {
  experimentId: string;
  version: number;
  configHash: string;
  /** sha256 of the config and the surface policy it was judged under; deploy cites it. */
  planHash: string;
  policyHash: string;
  valid: boolean;
  findings: Finding[];
  createdAt: string;
}

/** Validation results recorded against the exact experiment version, config and policy they judged. */
export class ValidationRepo {
  constructor(private readonly db: Db) {}

  record(v: ValidationRecord): void {
    prepared(
      this.db,
      'INSERT INTO validations (experiment_id, version, config_hash, plan_hash, policy_hash, valid, findings, created_at) VALUES (?,?,?,?,?,?,?,?)',
    ).run(v.experimentId, v.version, v.configHash, v.planHash, v.policyHash, v.valid ? 1 : 0, JSON.stringify(v.findings), v.createdAt);
  }

  /** The latest verdict on this exact config of the experiment (status-only version bumps keep it). */
  latestForConfig(experimentId: string, configHash: string): ValidationRecord | undefined {
    return this.one('SELECT * FROM validations WHERE experiment_id = ? AND config_hash = ? ORDER BY id DESC LIMIT 1', experimentId, configHash);
  }

  /** The latest verdict recorded under a plan hash an agent cites. */
  byPlanHash(experimentId: string, planHash: string): ValidationRecord | undefined {
    return this.one('SELECT * FROM validations WHERE experiment_id = ? AND plan_hash = ? ORDER BY id DESC LIMIT 1', experimentId, planHash);
  }

  private one(sql: string, ...args: unknown[]): ValidationRecord | undefined {
    const r = prepared(this.db, sql).get(...args) as Record<string, unknown> | undefined;
    if (!r) return undefined;
    return {
      experimentId: r.experiment_id as string,
      version: r.version as number,
      configHash: r.config_hash as string,
      planHash: (r.plan_hash as string | null) ?? '',
      policyHash: (r.policy_hash as string | null) ?? '',
      valid: r.valid === 1,
      findings: JSON.parse(r.findings as string) as Finding[],
      createdAt: r.created_at as string,
    };
  }
}
