import type { Logger } from '../../logger.js';
import type { Metrics } from '../../ops/metrics.js';
import type { PgEventLog } from '../../store/pg/pg-event-log.js';
import type { PgFold } from '../../store/pg/pg-fold.js';
import type { Clock } from '../../systems/clock.js';
import { FOLD_DEFAULTS, type FoldStatus, foldStatusOf, observeTurn } from './fold-runner.js';

export interface PgFoldOptions {
  /** At most this many entries per turn (one transaction; PgFold's bulk statements make a large turn cheap per entry). */
  turn?: number;
  /** How often an idle runner looks for work (a full turn is followed by the next at once). */
  intervalMs?: number;
}

export const PG_FOLD_DEFAULTS = { turn: 20_000, intervalMs: FOLD_DEFAULTS.intervalMs } as const;

/**
 * FoldRunner's API on PostgreSQL (ADR 0020, conversion part 3): background turns of `PgFold.turn` on a timer, a
 * catch-up for get_metrics, the backlog as FoldStatus. Every replica may run one: a turn locks the watermark row, so
 * turns of several replicas serialise and none folds an entry twice. Turns are async (round trips), so the event
 * loop serves while one runs; there is no back-pressure on ingest here (the backlog is bounded by the fold's rate
 * across replicas, not by an ack waiting: left for later, see ADR 0020 part 3).
 */
export class PgFoldRunner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;
  private last: FoldStatus = { pending: 0, lagSeconds: 0 };
  private readonly opts: Required<PgFoldOptions>;
  /** Entries this replica's turns folded. */
  foldedHere = 0;

  constructor(
    private readonly fold: PgFold,
    private readonly log: PgEventLog,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly metrics?: Metrics,
    opts: PgFoldOptions = {},
  ) {
    this.opts = { ...PG_FOLD_DEFAULTS, ...opts };
  }

  get where(): 'main' {
    return 'main';
  }

  /** Background turns until stop(): the next at once while turns come back full, else after intervalMs. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = async () => {
      let full = false;
      try {
        full = (await this.turn(this.opts.turn)) === this.opts.turn;
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'fold turn failed; will retry');
      }
      if (this.stopped) return;
      this.timer = setTimeout(run, full ? 0 : this.opts.intervalMs);
      this.timer.unref();
    };
    const run = () => {
      this.running = tick();
    };
    this.timer = setTimeout(run, this.opts.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a turn in progress and its read-ahead (so a pool can be ended after it). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await this.fold.idle();
  }

  /** One turn through PgFold (a transaction holding the watermark row); returns how many entries it folded. */
  async turn(limit = this.opts.turn): Promise<number> {
    const t = await this.fold.turn(limit);
    this.foldedHere += t.folded;
    observeTurn(this.metrics, this.logger, this.clock, t.receivedAt, t.dropped);
    return t.folded;
  }

  /**
   * Folds until everything acknowledged when called (by any replica) is folded — by this replica's turns or another's
   * (a turn waits for another's on the watermark row, then finds less to do) — and returns the backlog left.
   */
  async catchUpAsync(): Promise<FoldStatus> {
    const target = await this.log.lastSeq();
    while ((await this.log.foldedSeq()) < target) if (!(await this.turn(this.opts.turn))) break;
    return await this.refreshStatus();
  }

  /** The backlog as last measured (get_metrics' `fold`, the gauges): refreshed by catchUpAsync and refreshStatus. */
  status(): FoldStatus {
    return this.last;
  }

  async refreshStatus(): Promise<FoldStatus> {
    this.last = foldStatusOf(await this.log.backlog(), this.clock.now());
    return this.last;
  }
}
