import { AppError } from '../../errors.js';

/**
 * A write hit a unique key that another row holds (SQLite SQLITE_CONSTRAINT_UNIQUE/PRIMARYKEY, PostgreSQL 23505):
 * a CONFLICT, as the repos' own checks raise it. `constraint` names the key where the engine says (PostgreSQL).
 */
export class UniqueViolation extends AppError {
  constructor(
    readonly constraint: string | null,
    override readonly cause: unknown,
  ) {
    super('CONFLICT', 'a record with the same key already exists', 'Read the existing record and update it, or use a different key.');
    this.name = 'UniqueViolation';
  }
}

/**
 * The database could not take the write in time or is unreachable (SQLite SQLITE_BUSY after the busy timeout;
 * PostgreSQL lock timeout, cancelled statement, connection lost or server shutting down): retryable.
 */
export class StoreUnavailable extends AppError {
  constructor(override readonly cause: unknown) {
    super('UPSTREAM_UNAVAILABLE', 'the database is busy or unreachable', 'Retry in a few seconds; if it persists, check the database (GET /readyz).');
    this.name = 'StoreUnavailable';
  }
}

/** Serialization failures and deadlocks kept failing after the retries: another writer keeps changing the same rows. */
export class TxConflict extends AppError {
  constructor(
    readonly attempts: number,
    override readonly cause: unknown,
  ) {
    super('CONFLICT', `the change conflicted with concurrent writes ${attempts} times`, 'Retry: the records it touches are being changed by others right now.');
    this.name = 'TxConflict';
  }
}

const code = (err: unknown): string => String((err as { code?: unknown })?.code ?? '');

export function isSqliteUnique(err: unknown): boolean {
  return code(err) === 'SQLITE_CONSTRAINT_UNIQUE' || code(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export function isSqliteBusy(err: unknown): boolean {
  return code(err).startsWith('SQLITE_BUSY') || code(err).startsWith('SQLITE_LOCKED');
}

/** 40001 serialization_failure, 40P01 deadlock_detected: the transaction may succeed if run again. */
export function isPgRetryable(err: unknown): boolean {
  return code(err) === '40001' || code(err) === '40P01';
}

/** Lock or statement timeouts, lost connections (class 08), shutdowns and too many connections (57P0x, 53300). */
export function isPgUnavailable(err: unknown): boolean {
  const c = code(err);
  return (
    c === '55P03' ||
    c === '57014' ||
    c.startsWith('08') ||
    c.startsWith('57P') ||
    c === '53300' ||
    c === 'ECONNREFUSED' ||
    c === 'ECONNRESET' ||
    // node-postgres' own errors carry no code: a lost connection, and a statement sent on a client that lost its own.
    /Connection terminated|connection timeout|encountered a connection error/i.test((err as Error)?.message ?? '')
  );
}

/** The engine's error as the store's typed error where one exists; anything else is returned as it is (a bug). */
export function mapSqliteError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  if (isSqliteUnique(err)) return new UniqueViolation(null, err);
  if (isSqliteBusy(err)) return new StoreUnavailable(err);
  return err;
}

export function mapPgError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  if (code(err) === '23505') return new UniqueViolation((err as { constraint?: string }).constraint ?? null, err);
  if (isPgUnavailable(err)) return new StoreUnavailable(err);
  return err;
}
