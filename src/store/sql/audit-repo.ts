import { AUDIT_INSERT, type AuditEntry, auditValues, toAuditEntry, type WriteContext } from '../audit-repo.js';
import type { Sql } from './sql.js';

/** One row for every write: who, through what, why, and the state before and after (AuditRepo over the async seam). */
export class SqlAuditRepo {
  constructor(private readonly sql: Sql) {}

  async record(ctx: WriteContext, entityType: string, entityId: string, before: unknown, after: unknown, at: string): Promise<void> {
    await this.sql.run(AUDIT_INSERT, auditValues(ctx, entityType, entityId, before, after, at));
  }

  async forEntity(entityType: string, entityId: string, limit = 100): Promise<AuditEntry[]> {
    const rows = await this.sql.all<Record<string, unknown>>('SELECT * FROM audit_log WHERE entity_type = ? AND entity_id = ? ORDER BY id DESC LIMIT ?', [
      entityType,
      entityId,
      limit,
    ]);
    return rows.map(toAuditEntry);
  }

  /** Who wrote the entity's first row (for an experiment: who created it), or null. */
  async firstActor(entityType: string, entityId: string): Promise<string | null> {
    const r = await this.sql.get<{ actor: string }>('SELECT actor FROM audit_log WHERE entity_type = ? AND entity_id = ? ORDER BY id LIMIT 1', [
      entityType,
      entityId,
    ]);
    return r?.actor ?? null;
  }

  async count(): Promise<number> {
    return (await this.sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM audit_log'))?.n ?? 0;
  }
}
