import type { Db } from '../../store/db.js';
import type { ContentSyncStatus } from '../catalog/content-sync.js';
import type { ChangeWatcher } from './change-watcher.js';
import type { ServingSync } from './serving-sync.js';

export interface ReadinessCheck {
  ok: boolean;
  reason?: string;
  /** Content catalog only: validation is judging against a last good catalog content delivery has not confirmed lately. */
  stale?: boolean;
}

export interface Readiness {
  ready: boolean;
  /** `content` only with a remote content delivery. */
  checks: { serving: ReadinessCheck; database: ReadinessCheck; systems: ReadinessCheck; content?: ReadinessCheck };
}

/** How long the writability check waits for another writer before calling the database not writable. */
const WRITE_CHECK_TIMEOUT_MS = 500;

/**
 * What /readyz reports: serving compiled from every commit in the file (the change watcher), the
 * database writable (a write lock taken and released), and, with remote systems, the last sync good.
 * With a remote content delivery, the content catalog: not ready until there is one (synced now or
 * kept from an earlier run); a stale one stays ready (validation and serving work from the last good
 * catalog) and says so (`stale`, the reason, sealab_content_sync_age_seconds).
 */
export function readiness(db: Db, watcher: ChangeWatcher, serving: ServingSync, content?: ContentSyncStatus): Readiness {
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
  const contentCheck = content ? contentReadiness(content) : undefined;
  return {
    ready: checks.serving.ok && checks.database.ok && checks.systems.ok && (contentCheck?.ok ?? true),
    checks: contentCheck ? { ...checks, content: contentCheck } : checks,
  };
}

function contentReadiness(s: ContentSyncStatus): ReadinessCheck {
  const why = s.lastError ? `: ${s.lastError}` : '';
  if (s.syncedAt === null) return { ok: false, stale: true, reason: `content catalog not synced from ${s.source} yet${why}` };
  if (!s.stale) return { ok: true, stale: false };
  return {
    ok: true,
    stale: true,
    reason: `content catalog stale: ${s.source} last confirmed it at ${s.syncedAt} (${Math.round(s.ageSeconds ?? 0)} s ago)${why}; validation uses this last good catalog`,
  };
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
