import Database from 'better-sqlite3';
import { isMainThread } from 'node:worker_threads';
import { AppError } from '../errors.js';
import { MAIN_CACHE_KIB, WORKER_CACHE_KIB, type Db } from './db.js';

/**
 * The event log's own SQLite file, beside the database (ADR 0018, third pass): `<db>-events`. Acknowledging an
 * event (ingest, the served-exposure writer) writes only here, so an ack never waits for the write lock the fold
 * holds on the database while it applies a turn, and the fold (a worker thread) reads the log without
 * blocking either. A `:memory:` database keeps its log in itself: another connection cannot open it.
 */
export const logFileOf = (dbFile: string) => `${dbFile}-events`;

/**
 * The log file's schema, created once (IF NOT EXISTS, in the opener's transaction). `event_log` has the columns
 * of the database's table (migration 18), which a `:memory:` database still uses; `audit_log` holds the
 * audit rows of ingest batches (entity type 'event-batch'), written in the ack's transaction, with the columns
 * of the database's audit_log so one reader maps both.
 */
const LOG_SCHEMA = `
  CREATE TABLE IF NOT EXISTS event_log (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    ref TEXT NOT NULL,
    variant TEXT,
    value REAL,
    props TEXT,
    ts TEXT NOT NULL,
    received_at TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    interface TEXT NOT NULL,
    operation TEXT NOT NULL,
    request_id TEXT NOT NULL,
    rationale TEXT,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before TEXT,
    after TEXT,
    confirmation TEXT,
    on_behalf_of TEXT
  );
  CREATE INDEX IF NOT EXISTS audit_entity ON audit_log(entity_type, entity_id);
`;

/**
 * Opens the log for the database `main` opened from `dbFile`: `main` itself for `:memory:`, else the log file,
 * created when missing. Given `main` (the process's opener, not a worker thread, which passes none), entries a
 * database from before the log file still holds in its own event_log are moved into the file first, seqs kept, in
 * one transaction over both files, so the fold's watermark still points at the same entries; and a log file behind
 * the watermark is refused.
 */
export function openLogDb(dbFile: string, main?: Db): Db {
  if (dbFile === ':memory:') {
    if (!main) throw new Error('a :memory: database keeps its log in itself: pass it');
    return main;
  }
  const file = logFileOf(dbFile);
  const log = new Database(file);
  try {
    log.pragma('journal_mode = WAL');
    log.pragma('busy_timeout = 5000');
    log.pragma('synchronous = NORMAL');
    log.pragma(`cache_size = -${isMainThread ? MAIN_CACHE_KIB / 4 : WORKER_CACHE_KIB}`);
    log.pragma('temp_store = MEMORY');
    log.pragma('wal_autocheckpoint = 16384');
    log.transaction(() => log.exec(LOG_SCHEMA)).immediate();
    if (main) {
      adoptEntries(main, file);
      checkWatermark(main, log, file);
    }
    return log;
  } catch (err) {
    log.close();
    throw err;
  }
}

/** Moves the entries a database keeps from before its log had a file of its own (both files locked, seqs kept). */
function adoptEntries(main: Db, file: string): void {
  if (!main.prepare('SELECT 1 FROM event_log LIMIT 1').get()) return;
  main.prepare('ATTACH DATABASE ? AS log_file').run(file);
  try {
    main
      .transaction(() => {
        main.exec(`INSERT INTO log_file.event_log SELECT * FROM main.event_log WHERE seq > (SELECT COALESCE(MAX(seq), 0) FROM log_file.event_log);
                   INSERT INTO log_file.audit_log (at, actor, interface, operation, request_id, rationale, entity_type, entity_id, before, after, confirmation, on_behalf_of)
                     SELECT at, actor, interface, operation, request_id, rationale, entity_type, entity_id, before, after, confirmation, on_behalf_of
                     FROM main.audit_log WHERE entity_type = 'event-batch' ORDER BY id;
                   DELETE FROM main.audit_log WHERE entity_type = 'event-batch';
                   DELETE FROM main.event_log;`);
      })
      .immediate();
  } finally {
    main.exec('DETACH DATABASE log_file');
  }
}

/**
 * A log file older than the database's watermark (deleted, or restored from another backup) would hand out seqs
 * the fold has already passed: those events would be acknowledged and never counted. Refused with the fix.
 */
function checkWatermark(main: Db, log: Db, file: string): void {
  const folded = (main.prepare('SELECT folded_seq AS s FROM fold_state WHERE id = 1').get() as { s: number }).s;
  const last = (log.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM event_log').get() as { s: number }).s;
  if (last < folded)
    throw new AppError(
      'PRECONDITION_FAILED',
      `the event log file ${file} ends at entry ${last}, but the database has folded up to ${folded}: the log file is missing or from an older backup`,
      'Restore the database and its -events file from the same backup (copy both while sealab is stopped).',
    );
}
