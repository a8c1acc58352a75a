import type { Sql } from './sql.js';

export interface Lease {
  name: string;
  owner: string;
  /** ISO time (wall clock) after which another process may take it. */
  until: string;
}

/**
 * Named leases in the shared database, one holder at a time (the ramp scheduler runs where its lease is held), for
 * either engine. Times are wall-clock: a lease is about processes being alive, not a rehearsal's simulated time. Taking a lease is one conditional
 * upsert — insert, or take over the row only if it is ours or has expired — so it needs no read-then-write
 * transaction: under PostgreSQL's READ COMMITTED, ON CONFLICT DO UPDATE locks the row and checks the WHERE against
 * its latest committed version, so of several replicas racing for an expired lease exactly one wins. SQLite runs
 * the same statement under its single writer. Times are ISO strings (wall clock), compared as text.
 */
export class SqlLeaseRepo {
  constructor(private readonly sql: Sql) {}

  /** Takes the lease when it is free, expired or already ours, and holds it for ttlMs; false when another owner holds it. */
  async acquire(name: string, owner: string, ttlMs: number, now = new Date()): Promise<boolean> {
    const { changes } = await this.sql.run(
      `INSERT INTO leases (name, owner, until) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
       WHERE leases.owner = excluded.owner OR leases.until <= ?`,
      [name, owner, new Date(now.getTime() + ttlMs).toISOString(), now.toISOString()],
    );
    return changes === 1;
  }

  /** Gives the lease up (only if ours), so another process takes it at its next attempt. */
  async release(name: string, owner: string): Promise<void> {
    await this.sql.run('DELETE FROM leases WHERE name = ? AND owner = ?', [name, owner]);
  }

  /** Every lease and its holder (diagnosis shows them beside stuck operations). */
  async list(): Promise<Lease[]> {
    return this.sql.all<Lease>('SELECT name, owner, until FROM leases ORDER BY name');
  }

  async get(name: string): Promise<Lease | undefined> {
    return this.sql.get<Lease>('SELECT name, owner, until FROM leases WHERE name = ?', [name]);
  }
}
