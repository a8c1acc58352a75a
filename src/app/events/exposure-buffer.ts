import type { Logger } from '../../logger.js';
import type { Clock } from '../../systems/clock.js';
import type { Metrics } from '../../ops/metrics.js';
import { recordExposureFlush } from '../../ops/metric-hooks.js';
import type { CounterChild } from '../../ops/hot-series.js';
import type { ExposureWriter, Pending } from './exposure-writer.js';

export type { ExposureSink, Pending } from './exposure-writer.js';

export interface ExposureBufferOptions {
  /** Exposures held in memory at most (queued, not yet handed over); past it the oldest is dropped and counted. Default 200,000. */
  maxQueued?: number;
  /** How long an exposure waits for company before its batch is handed to the writer. Default 100 ms. */
  flushMs?: number;
  /** Queued exposures that hand a batch over at once (on the next turn), and the largest batch. Default 2,000. */
  flushAt?: number;
  /** How long a reader off the serving paths (flushSync) waits for the writer's acknowledgement. Default 10 s. */
  settleTimeoutMs?: number;
  clock?: Clock;
  metrics?: Metrics;
}

const keyOf = (p: Pending) => `${p.experimentId}\u0000${p.unitId}`;

/**
 * Exposures from serving paths (assignment, layout, OFREP) are deduplicated in memory and handed to
 * the writer in batches — a worker thread with its own SQLite connection for a database file, another
 * sealab's ingest with SEALAB_EVENTS_URL — from a timer or the next turn, never from the request that
 * served them, so no serving request waits on the database. At most `writer.maxInFlight` batches are
 * unacknowledged; meanwhile the queue grows (back-pressure, counted) up to maxQueued (drops, counted).
 * A failed batch is queued again and retried. Durability (ADR 0019): what a SIGKILL loses is what is
 * queued or in flight, at most the last flushMs of serving or flushAt exposures plus the batches in
 * flight while the writer keeps up; a drain on shutdown writes everything first.
 */
export class ExposureBuffer {
  private queue = new Map<string, Pending>();
  /** Handed to the writer and not yet acknowledged, by key (what ingest's sticky-variant check must also see). */
  private readonly flying = new Map<string, Pending>();
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Immediate | undefined;
  /** A failed batch waits a second before the next attempt (an acknowledgement does not cut that short). */
  private backoff = false;
  /** The last pump left exposures queued for want of room: the next acknowledgement pumps at once. */
  private held = false;
  private readonly batches = new Set<Promise<number>>();
  /** sealab_exposures_queued_total, counted in a plain number (hot-series.ts): every serving request may queue one. */
  private readonly queued: CounterChild | undefined;
  private readonly flushAt: number;

  constructor(
    private readonly writer: ExposureWriter,
    private readonly logger: Logger,
    private readonly opts: ExposureBufferOptions = {},
  ) {
    this.queued = opts.metrics?.exposuresQueued.child();
    this.flushAt = opts.flushAt ?? 2000;
    if (opts.metrics) opts.metrics.sources.exposureQueue = () => ({ queued: this.queue.size, inFlight: this.flying.size });
  }

  /** Where batches go: 'worker' (a thread writes them), 'thread' (`:memory:`: this thread, off the request's turn), 'sink' or 'pool' (PostgreSQL). */
  get mode(): ExposureWriter['kind'] {
    return this.writer.kind;
  }

  /** Queues a served exposure; the request's turn does nothing more (the batch is handed over on a timer or the next turn). */
  add(p: Pending): void {
    const key = keyOf(p);
    if (!this.queue.has(key)) {
      this.queue.set(key, p); // the first sighting is the first exposure
      this.queued?.inc();
    }
    if (this.queue.size >= this.flushAt) this.soon ??= setImmediate(() => this.pump());
    else if (!this.timer) {
      this.timer = setTimeout(() => this.pump(), this.opts.flushMs ?? 100);
      this.timer.unref();
    }
    if (this.queue.size > (this.opts.maxQueued ?? 200_000)) {
      const drop = this.queue.keys().next().value as string;
      this.queue.delete(drop);
      this.opts.metrics?.exposuresDropped.inc();
      this.logger.warn({ queued: this.queue.size }, 'exposure queue full: dropped the oldest exposure');
    }
  }

  /**
   * Hands everything queued to the writer (past the in-flight bound: a reader asked) and resolves once
   * every batch in flight is settled, with how many exposures were written. A failed batch stays queued.
   */
  async flush(): Promise<number> {
    this.pump(true);
    const settled = await Promise.all([...this.batches]);
    return settled.reduce((n, x) => n + x, 0);
  }

  /**
   * flush() for readers that must see every exposure and cannot wait asynchronously (get_metrics, a clock
   * move, close): it blocks this thread until the writer acknowledges, at most settleTimeoutMs. Never
   * called on a serving path; those readers already run synchronous SQLite reads on this thread, and the
   * wait costs what writing the batch here would. A sink or a pool is only kicked: it is acknowledged later (a pool's readers await flush()).
   */
  flushSync(): void {
    this.pump(true);
    if (this.writer.kind === 'sink' || this.writer.kind === 'pool') return;
    if (!this.writer.settleSync(this.opts.settleTimeoutMs ?? 10_000))
      this.logger.warn({ inFlight: this.flying.size }, 'the exposure writer did not acknowledge in time: a reader may miss the latest exposures');
  }

  /** Resolves when nothing is queued or in flight, or after a few attempts (at shutdown the sink may be down). */
  async drain(maxAttempts = 3): Promise<void> {
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      await this.flush();
      if (!this.queue.size) return;
    }
  }

  /** Drains synchronously (flushSync) and releases the writer: container.close(). */
  closeSync(): void {
    this.flushSync();
    if (this.timer) clearTimeout(this.timer);
    if (this.soon) clearImmediate(this.soon);
    this.timer = this.soon = undefined;
    this.writer.close();
  }

  /** The variant a unit was served in an experiment and that is not written yet (ingest's sticky-variant check). */
  pendingVariant(experimentId: string, unitId: string): string | undefined {
    if (this.writer.kind === 'sink') return undefined; // those exposures are recorded by another sealab
    const key = `${experimentId}\u0000${unitId}`;
    return (this.queue.get(key) ?? this.flying.get(key))?.variant;
  }

  /** Exposures queued and not yet handed to the writer. */
  get size(): number {
    return this.queue.size;
  }

  /** Exposures handed to the writer and not yet acknowledged. */
  get inFlightSize(): number {
    return this.flying.size;
  }

  /**
   * Hands queued batches to the writer while it has room. `all` (a reader asked): every queued exposure
   * now, whatever is in flight — except to a sink, which gets one request at a time.
   */
  private pump(all = false): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.soon) clearImmediate(this.soon);
    this.timer = this.soon = undefined;
    this.backoff = false;
    const past = all && this.writer.kind !== 'sink';
    while (this.queue.size && (past || this.inFlight < this.writer.maxInFlight)) this.handOver();
    // The writer has its maximum of unacknowledged batches: the next acknowledgement pumps again.
    this.held = this.queue.size > 0;
    if (this.held) this.opts.metrics?.exposureBackpressure.inc();
  }

  private handOver(): void {
    const batch: Pending[] = [];
    for (const [key, p] of this.queue) {
      batch.push(p);
      this.queue.delete(key);
      this.flying.set(key, p);
      if (batch.length >= this.flushAt) break;
    }
    const now = this.opts.clock?.now() ?? new Date(); // the injected clock: a simulated day's snapshot is that day's
    const started = performance.now();
    this.inFlight++;
    let written: Promise<number>;
    try {
      written = this.writer.write(batch, now.toISOString()).then(
        (r) => {
          recordExposureFlush(this.opts.metrics, batch.length, r === 'dropped');
          this.opts.metrics?.exposureWriteDuration.observe((performance.now() - started) / 1000);
          return r === 'written' ? batch.length : 0;
        },
        (err: unknown) => this.failed(batch, err),
      );
    } catch (err) {
      written = Promise.resolve(this.failed(batch, err));
    }
    const done = written.finally(() => {
      this.inFlight--;
      this.batches.delete(done);
      for (const p of batch) if (this.flying.get(keyOf(p)) === p) this.flying.delete(keyOf(p));
      if (this.held && !this.backoff && !this.soon) this.soon = setImmediate(() => this.pump());
    });
    this.batches.add(done);
  }

  /** A batch the writer could not take: queued again (the earliest sighting wins) and retried in a second. */
  private failed(batch: Pending[], err: unknown): number {
    for (const p of batch) {
      const cur = this.queue.get(keyOf(p));
      if (!cur || p.ts < cur.ts) this.queue.set(keyOf(p), p);
    }
    this.opts.metrics?.exposureWriteFailures.inc();
    this.logger.warn({ err: (err as Error).message, queued: this.queue.size, writer: this.writer.kind }, 'writing exposures failed; will retry');
    if (this.timer) clearTimeout(this.timer);
    this.backoff = true;
    this.timer = setTimeout(() => this.pump(), 1000);
    this.timer.unref();
    return 0;
  }
}
