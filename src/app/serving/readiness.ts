import type { Db } from '../../store/db.js';
import type { Sql } from '../../store/sql/sql.js';
import type { ContentSyncStatus } from '../catalog/content-sync.js';
import type { ServingWatcher } from './change-watcher.js';
import type { ServingSync } from './serving-sync.js';

export interface ReadinessCheck {
  ok: boolean;
  reason?: string;
  /** Content catalog only: validation is judging against a last good catalog content delivery has not confirmed lately. */
  stale?: boolean;
  /** Serving only: the configuration revision it holds and the last commit-to-serving time measured (seconds). */
  revision?: number | null;
  propagationSeconds?: number | null;
}

export interface Readiness {
  ready: boolean;
  /** `content` only with a remote content delivery. */
  checks: { serving: ReadinessCheck; database: ReadinessCheck; systems: ReadinessCheck; content?: ReadinessCheck };
}

/** How long the writability check waits for another writer before calling the database not writable. */
const WRITE_CHECK_TIMEOUT_MS = 500;

/**
 * What /readyz reports: serving loaded its first snapshot and holds every configuration write seen (the change
 * watcher: another process's commit to the file on SQLite, the newest revision heard on PostgreSQL), within the bound;
 * the database writable (SQLite: a write lock taken and released; otherwise the probe given); with remote systems,
 * the last sync good. With a remote content delivery, the content catalog: not ready until there is one (synced now
 * or kept from an earlier run); a stale one stays ready (validation and serving work from the last good catalog) and
 * says so (`stale`, the reason, sealab_content_sync_age_seconds). The serving check carries the revision and the
 * last propagation time either way.
 */
export function readiness(database: Db | (() => ReadinessCheck), watcher: ServingWatcher, serving: ServingSync, content?: ContentSyncStatus): Readiness {
  const checks = {
    serving: servingReadiness(watcher, serving),
    database: typeof database === 'function' ? database() : writable(database),
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

function servingReadiness(watcher: ServingWatcher, serving: ServingSync): ReadinessCheck {
  const s = serving.snapshot;
  const facts = { revision: s.revision, propagationSeconds: s.propagationSeconds };
  if (!s.loaded) {
    const why = s.lastError ? `: ${s.lastError}` : '';
    return { ok: false, reason: `serving has not loaded its first configuration snapshot yet${why}`, ...facts };
  }
  const fresh = watcher.freshness();
  return fresh.current ? { ok: true, ...facts } : { ok: false, reason: fresh.reason ?? 'serving is behind the database', ...facts };
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

/**
 * The database check for a store reached over the network (a replica on PostgreSQL): /readyz answers from memory,
 * so it reports the last probe's answer and starts the next one when that answer is older than `everyMs`. Writable
 * means reachable and not a standby (`pg_is_in_recovery()`); not ready until the first probe has answered.
 */
export function databaseProbe(sql: Sql, everyMs = 1000): () => ReadinessCheck {
  let last: ReadinessCheck = { ok: false, reason: 'database not probed yet' };
  let at = 0;
  let inFlight = false;
  const probe = async () => {
    inFlight = true;
    try {
      const q = sql.dialect === 'postgres' ? 'SELECT pg_is_in_recovery()::int AS ro' : 'SELECT 0 AS ro';
      const row = await sql.get<{ ro: number }>(q);
      last = Number(row?.ro) === 1 ? { ok: false, reason: 'database is a read-only standby' } : { ok: true };
    } catch (err) {
      last = { ok: false, reason: `database not reachable: ${(err as Error).message}` };
    } finally {
      at = Date.now();
      inFlight = false;
    }
  };
  void probe();
  return () => {
    if (!inFlight && Date.now() - at >= everyMs) void probe();
    return last;
  };
}
