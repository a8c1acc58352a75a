import { prepared, type Db } from './db.js';
import type { Finding } from '../domain/schemas.js';

export interface ValidationRecord {
  experimentId: string;
  version: number;
  configHash: string;
  valid: boolean;
  findings: Finding[];
  createdAt: string;
}

/** Validation results recorded against the exact experiment version and config hash they judged. */
export class ValidationRepo {
  constructor(private readonly db: Db) {}

  record(v: ValidationRecord): void {
    prepared(this.db, 'INSERT INTO validations (experiment_id, version, config_hash, valid, findings, created_at) VALUES (?,?,?,?,?,?)')
      .run(v.experimentId, v.version, v.configHash, v.valid ? 1 : 0, JSON.stringify(v.findings), v.createdAt);
  }

  /** The latest verdict on this exact config of the experiment (status-only version bumps keep it). */
  latestForConfig(experimentId: string, configHash: string): ValidationRecord | undefined {
    const r = prepared(this.db, 'SELECT * FROM validations WHERE experiment_id = ? AND config_hash = ? ORDER BY id DESC LIMIT 1')
      .get(experimentId, configHash) as Record<string, unknown> | undefined;
    if (!r) return undefined;
    return {
      experimentId,
      version: r.version as number,
      configHash: r.config_hash as string,
      valid: r.valid === 1,
      findings: JSON.parse(r.findings as string) as Finding[],
      createdAt: r.created_at as string,
    };
  }
}
