import { prepared, type Db } from './db.js';

/** Remembers the first outcome of a keyed request so a retry returns it instead of acting twice. */
export class IdempotencyRepo {
  constructor(private readonly db: Db) {}

  find(scope: string, key: string): { requestHash: string; response: unknown } | undefined {
    const r = prepared(this.db, 'SELECT request_hash, response FROM idempotency WHERE scope = ? AND key = ?').get(scope, key) as
      | { request_hash: string; response: string }
      | undefined;
    return r ? { requestHash: r.request_hash, response: JSON.parse(r.response) } : undefined;
  }

  save(scope: string, key: string, requestHash: string, response: unknown, now: string): void {
    prepared(this.db, 'INSERT INTO idempotency (scope, key, request_hash, response, created_at) VALUES (?,?,?,?,?)').run(
      scope,
      key,
      requestHash,
      JSON.stringify(response),
      now,
    );
  }
}
