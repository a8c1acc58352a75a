import type { Db } from '../../store/db.js';
import type { ChangeWatcher } from './change-watcher.js';
import type { ServingSync } from './serving-sync.js';

export interface ReadinessCheck {
  ok: boolean;
  reason?: string;
}

export interface Readiness {
  ready: boolean;
  checks: { serving: ReadinessCheck; database: ReadinessCheck; systems: ReadinessCheck };
}

/** How long the writability check waits for another writer before calling the database not writable. */
const WRITE_CHECK_TIMEOUT_MS = 500;

/**
 * What /readyz reports: serving compiled from every commit in the file (the change watcher), the
 * database writable (a write lock taken and released), and, with remote systems, the last sync good.
 */
export function readiness(db: Db, watcher: ChangeWatcher, serving: ServingSync): Readiness {
  const fresh = watcher.freshness();
  const checks = {
    serving: fresh.current ? { ok: true } : { ok: false, reason: fresh.reason ?? 'serving is behind the database' },
    database: writable(db),
    systems: !serving.remote
      ? { ok: true }
      : serving.status.error || !serving.status.syncedAt
        ? {
            ok: false,
            reason: serving.status.error
              ? `remote systems not synced (last good sync ${serving.status.syncedAt ?? 'never'}): ${serving.status.error}`
              : 'remote systems not synced yet',
          }
        : { ok: true },
  };
  return { ready: checks.serving.ok && checks.database.ok && checks.systems.ok, checks };
}

function writable(db: Db): ReadinessCheck {
  // Synchronous, so nothing else runs on this connection while the shorter timeout is in force.
  const before = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma(`busy_timeout = ${WRITE_CHECK_TIMEOUT_MS}`);
  try {
    db.exec('BEGIN IMMEDIATE');
    db.exec('ROLLBACK');
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: `database not writable: ${(err as Error).message}` };
  } finally {
    db.pragma(`busy_timeout = ${before}`);
  }
}
