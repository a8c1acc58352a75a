import type { EventRepo } from '../../store/event-repo.js';

/** One served exposure: the first time a unit was served a variant, as the serving path saw it. */
export interface Pending {
  experimentId: string;
  unitId: string;
  variant: string;
  ts: string;
}

/**
 * Where exposures go when this process does not own the experiments (a backend or content role): another
 * sealab's ingest. Resolves 'sent' once it acknowledged the batch, 'dropped' when there is nowhere to send it.
 */
export type ExposureSink = (batch: Pending[]) => Promise<'sent' | 'dropped'>;

/**
 * What the exposure buffer hands batches to. `write` resolves once the batch is durable (written, or
 * acknowledged by the events gateway) or 'dropped' by a role with nowhere to send it; it rejects when the
 * batch could not be written, and the buffer queues it again. At most `maxInFlight` batches are
 * unacknowledged at once (the queue grows meanwhile: back-pressure).
 */
export interface ExposureWriter {
  /** 'pool': this process's own asynchronous database pool (PostgreSQL): its exposures are this store's, but unsettleable synchronously. */
  readonly kind: 'worker' | 'thread' | 'sink' | 'pool';
  readonly maxInFlight: number;
  write(batch: Pending[], now: string): Promise<'written' | 'dropped'>;
  /**
   * Blocks until every batch handed over is acknowledged (at most `timeoutMs`); true when they all are.
   * Only readers off the serving paths call it (buffer.flushSync). A sink cannot wait synchronously: false.
   */
  settleSync(timeoutMs: number): boolean;
  /** Releases the writer (the worker thread and its connection) once everything handed over is settled. */
  close(): void;
}

/**
 * Writes on this thread, in the buffer's flush turn (a timer or setImmediate, never a request's turn):
 * for `:memory:` databases, which another thread's connection cannot open, and nothing else.
 */
export function threadWriter(events: EventRepo): ExposureWriter {
  return {
    kind: 'thread',
    maxInFlight: 1,
    write: (batch, now) => {
      try {
        events.writeServedExposures(batch, now);
        return Promise.resolve('written');
      } catch (err) {
        return Promise.reject(err);
      }
    },
    settleSync: () => true, // a write is done when write() returns
    close: () => undefined,
  };
}

/** Sends batches to another sealab's ingest (SEALAB_EVENTS_URL), one request at a time. */
export function sinkWriter(sink: ExposureSink): ExposureWriter {
  return {
    kind: 'sink',
    maxInFlight: 1,
    write: async (batch) => ((await sink(batch)) === 'dropped' ? 'dropped' : 'written'),
    settleSync: () => false,
    close: () => undefined,
  };
}
