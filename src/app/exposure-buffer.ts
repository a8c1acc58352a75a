import type { EventRepo } from '../store/event-repo.js';
import type { Db } from '../store/db.js';
import type { Logger } from '../logger.js';

interface Pending {
  experimentId: string;
  unitId: string;
  variant: string;
  ts: string;
}

/**
 * Exposures from serving paths (assignment, layout, OFREP) are queued in memory and written in
 * one transaction per flush, so serving never waits on the database. Readers that need every
 * exposure (get_metrics) flush first. A failed flush keeps the queue (bounded) and retries.
 */
export class ExposureBuffer {
  private queue = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly events: EventRepo,
    private readonly logger: Logger,
    private readonly opts: { maxQueued?: number; flushMs?: number; flushAt?: number } = {},
  ) {}

  add(p: Pending): void {
    const key = `${p.experimentId}\u0000${p.unitId}`;
    if (!this.queue.has(key)) this.queue.set(key, p); // the first sighting is the first exposure
    if (this.queue.size >= (this.opts.flushAt ?? 2000)) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.opts.flushMs ?? 100);
      this.timer.unref();
    }
    const max = this.opts.maxQueued ?? 200_000;
    if (this.queue.size > max) {
      const drop = this.queue.keys().next().value as string;
      this.queue.delete(drop);
      this.logger.warn({ queued: this.queue.size }, 'exposure queue full: dropped the oldest exposure');
    }
  }

  /** Writes everything queued; returns how many exposures were written. */
  flush(): number {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.size === 0) return 0;
    const batch = [...this.queue.values()];
    try {
      const now = new Date().toISOString();
      this.db.transaction(() => this.events.pipeline.batch(now, () => {
        for (const p of batch) this.events.addExposure({ eventId: '', ...p });
      })).immediate();
      for (const p of batch) this.queue.delete(`${p.experimentId}\u0000${p.unitId}`);
      return batch.length;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, queued: this.queue.size }, 'exposure flush failed; will retry');
      this.timer = setTimeout(() => this.flush(), 1000);
      this.timer.unref();
      return 0;
    }
  }

  get size(): number {
    return this.queue.size;
  }
}
