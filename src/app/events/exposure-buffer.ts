import type { EventRepo } from '../../store/event-repo.js';
import type { Logger } from '../../logger.js';
import type { Clock } from '../../systems/clock.js';
import type { Metrics } from '../../ops/metrics.js';
import { recordExposureFlush } from '../../ops/metric-hooks.js';
import type { CounterChild } from '../../ops/hot-series.js';

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

const keyOf = (p: Pending) => `${p.experimentId}\u0000${p.unitId}`;

/**
 * Exposures from serving paths (assignment, layout, OFREP) are queued in memory and written in
 * one transaction per flush, so serving never waits on the database. Readers that need every
 * exposure (get_metrics) flush first. A failed flush keeps the queue (bounded) and retries.
 * With a sink (SEALAB_EVENTS_URL) batches are sent there instead, one request at a time.
 */
export class ExposureBuffer {
  private queue = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  /** sealab_exposures_queued_total, counted in a plain number (hot-series.ts): every serving request may queue one. */
  private readonly queued: CounterChild | undefined;

  constructor(
    private readonly events: EventRepo,
    private readonly logger: Logger,
    private readonly opts: { maxQueued?: number; flushMs?: number; flushAt?: number; sink?: ExposureSink; clock?: Clock; metrics?: Metrics } = {},
  ) {
    this.queued = opts.metrics?.exposuresQueued.child();
  }

  add(p: Pending): void {
    const key = keyOf(p);
    if (!this.queue.has(key)) {
      this.queue.set(key, p); // the first sighting is the first exposure
      this.queued?.inc();
    }
    if (this.queue.size >= (this.opts.flushAt ?? 2000)) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.opts.flushMs ?? 100);
      this.timer.unref();
    }
    const max = this.opts.maxQueued ?? 200_000;
    if (this.queue.size > max) {
      const drop = this.queue.keys().next().value as string;
      this.queue.delete(drop);
      this.opts.metrics?.exposuresDropped.inc();
      this.logger.warn({ queued: this.queue.size }, 'exposure queue full: dropped the oldest exposure');
    }
  }

  /** Writes everything queued; returns how many exposures were written. */
  flush(): number {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.size === 0) return 0;
    const batch = [...this.queue.values()];
    if (this.opts.sink) return this.send(batch);
    try {
      const now = (this.opts.clock?.now() ?? new Date()).toISOString(); // the injected clock: a simulated day's snapshot is that day's
      this.events.writeServedExposures(batch, now);
      for (const p of batch) this.queue.delete(keyOf(p));
      recordExposureFlush(this.opts.metrics, batch.length, batch[0]?.ts, new Date(now));
      return batch.length;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, queued: this.queue.size }, 'exposure flush failed; will retry');
      this.retryLater();
      return 0;
    }
  }

  /** Resolves when nothing is queued or in flight to the sink, or after a few sends (at shutdown the sink may be down). */
  async drain(maxSends = 3): Promise<void> {
    this.flush();
    for (let sends = 1; this.sending; sends++) {
      await this.sending;
      if (!this.queue.size || sends >= maxSends || this.flush() === 0) return;
    }
  }

  private send(batch: Pending[]): number {
    if (this.sending) {
      this.retryLater(this.opts.flushMs ?? 100);
      return 0;
    }
    for (const p of batch) this.queue.delete(keyOf(p));
    this.sending = this.opts.sink!(batch)
      .then(
        (r) => recordExposureFlush(this.opts.metrics, batch.length, batch[0]?.ts, this.opts.clock?.now() ?? new Date(), r === 'dropped'),
        (err: unknown) => {
          for (const p of batch) {
            const cur = this.queue.get(keyOf(p));
            if (!cur || p.ts < cur.ts) this.queue.set(keyOf(p), p);
          }
          this.logger.warn({ err: (err as Error).message, queued: this.queue.size }, 'sending exposures failed; will retry');
          this.retryLater();
        },
      )
      .finally(() => {
        this.sending = undefined;
      });
    return batch.length;
  }

  private retryLater(ms = 1000): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), ms);
    this.timer.unref();
  }

  get size(): number {
    return this.queue.size;
  }
}
