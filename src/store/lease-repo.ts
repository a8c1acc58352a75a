import { prepared, type Db } from './db.js';

export interface Lease {
  name: string;
  owner: string;
  /** ISO time (wall clock) after which another process may take it. */
  until: string;
}

/**
 * Named leases in the shared database: one process at a time holds each (the ramp scheduler runs
 * where its lease is held). Times are wall-clock: a lease is about processes being alive, not about
 * the simulated time a rehearsal runs on.
 */
export class LeaseRepo {
  constructor(private readonly db: Db) {}

  /** Takes the lease when it is free, expired or already ours, and holds it for ttlMs; false when another owner holds it. */
  acquire(name: string, owner: string, ttlMs: number, now = new Date()): boolean {
    return this.db
      .transaction(() => {
        const held = this.get(name);
        if (held && held.owner !== owner && Date.parse(held.until) > now.getTime()) return false;
        prepared(
          this.db,
          'INSERT INTO leases (name, owner, until) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, until = excluded.until',
        ).run(name, owner, new Date(now.getTime() + ttlMs).toISOString());
        return true;
      })
      .immediate();
  }

  /** Gives the lease up (only if ours), so another process takes it at its next attempt. */
  release(name: string, owner: string): void {
    prepared(this.db, 'DELETE FROM leases WHERE name = ? AND owner = ?').run(name, owner);
  }

  /** Every lease and its holder (diagnosis shows them beside stuck operations). */
  list(): Lease[] {
    return prepared(this.db, 'SELECT name, owner, until FROM leases ORDER BY name').all() as Lease[];
  }

  get(name: string): Lease | undefined {
    return prepared(this.db, 'SELECT name, owner, until FROM leases WHERE name = ?').get(name) as Lease | undefined;
  }
}
