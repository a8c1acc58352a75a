import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { AppError } from '../../errors.js';

/** Who runs a saga operation when several sealab processes share the database, and the errors that say so. */

export const inProgress = () =>
  new AppError('CONFLICT', 'another deploy, pause or stop of this experiment is in progress', 'Retry when it has finished: get_experiment shows its outcome.');
export const takenOver = (opId: string) =>
  new AppError(
    'CONFLICT',
    `operation ${opId} was taken over by another sealab process sharing this database (this process's claim lapsed)`,
    'Call get_experiment for the outcome; retry with the same idempotency key if needed.',
    { takenOver: true },
  );
export const isTakenOver = (err: unknown) => err instanceof AppError && (err.details as { takenOver?: boolean } | undefined)?.takenOver === true;

/** How long a process's claim on a running operation holds without renewal (it renews before every step). */
export const OPERATION_LEASE_MS = 30_000;

/** This process, as the owner of the operations it runs: host/pid/random, so a restarted or second process is someone else. */
export const processOwner = () => `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;

/** True when the owner is a process on this host that no longer exists: its operations can be recovered at once. */
export function ownerIsGone(owner: string | null): boolean {
  if (!owner) return true;
  const [host, pid] = owner.split('/');
  if (host !== hostname() || Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
