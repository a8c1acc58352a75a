import type { AppError } from '../../errors.js';
import type { Sql } from './sql.js';

/**
 * Remembers the first outcome of a keyed request so a retry returns it instead of acting twice (the idempotency
 * table). find-then-save runs in the caller's transaction: SERIALIZABLE on PostgreSQL (ADR 0020), and the
 * primary key (scope, key) is the backstop — a second writer that raced past find gets a UniqueViolation (CONFLICT).
 */
export class SqlIdempotencyRepo {
  constructor(private readonly sql: Sql) {}

  async find(scope: string, key: string): Promise<{ requestHash: string; response: unknown } | undefined> {
    const r = await this.sql.get<{ request_hash: string; response: string }>('SELECT request_hash, response FROM idempotency WHERE scope = ? AND key = ?', [
      scope,
      key,
    ]);
    return r ? { requestHash: r.request_hash, response: JSON.parse(r.response) } : undefined;
  }

  /**
   * What a keyed write checks first, inside its transaction: the stored response when this key already carried the
   * same request (a retry: answer it again), `conflict` thrown when it carried a different one, undefined for a new key.
   */
  async replay(scope: string, key: string, requestHash: string, conflict: () => AppError): Promise<unknown | undefined> {
    const prior = await this.find(scope, key);
    if (!prior) return undefined;
    if (prior.requestHash !== requestHash) throw conflict();
    return prior.response;
  }

  async save(scope: string, key: string, requestHash: string, response: unknown, now: string): Promise<void> {
    await this.sql.run('INSERT INTO idempotency (scope, key, request_hash, response, created_at) VALUES (?,?,?,?,?)', [
      scope,
      key,
      requestHash,
      JSON.stringify(response),
      now,
    ]);
  }
}
