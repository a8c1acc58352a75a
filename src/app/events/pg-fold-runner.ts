import { AppError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../ops/metrics.js';
import type { LogPosition, PgEventLog } from '../../store/pg/pg-event-log.js';
import type { PgFold } from '../../store/pg/pg-fold.js';
import { StoreUnavailable } from '../../store/sql/sql-errors.js';
import type { Clock } from '../../systems/clock.js';
import { FOLD_DEFAULTS, type FoldStatus, foldStatusOf, observeTurn } from './fold-runner.js';

export interface PgFoldOptions {
  /** At most this many entries per turn (one transaction; PgFold's bulk statements make a large turn cheap per entry). */
  turn?: number;
  /** How often an idle runner looks for work (a full turn is followed by the next at once). */
  intervalMs?: number;
  /** Back-pressure: past this many events acknowledged and not folded, ingest helps fold before it appends and before it answers. */
  backlogMax?: number;
  /**
   * How long each of those two waits may last: before the append, the batch is then refused (UPSTREAM_UNAVAILABLE,
   * nothing written); after it, answered all the same.
   */
  backlogWaitMs?: number;
}

export const PG_FOLD_DEFAULTS = { turn: 20_000, intervalMs: FOLD_DEFAULTS.intervalMs, backlogMax: FOLD_DEFAULTS.backlogMax, backlogWaitMs: 5_000 } as const;

/** What ingest asks of the fold on PostgreSQL (PgIngest): room before a batch, and news of what it appended. */
export interface PgBackPressure {
  admit(events: number): Promise<void>;
  appended(lastSeq: number, receivedAt: string): Promise<void>;
}

/** One drain at a time per replica, shared by the requests waiting for room: how far down, and until when. */
interface Drain {
  target: number;
  until: number;
  /** Settles when the drain stops: undefined, or the error that stopped it. */
  done: Promise<unknown>;
}

/**
 * FoldRunner's API on PostgreSQL (ADR 0020, conversion part 3): background turns of `PgFold.turn` on a timer, a
 * catch-up for get_metrics, the backlog as FoldStatus, and back-pressure for ingest (`admit`, ADR 0020 "Ingest
 * back-pressure and first exposures on PostgreSQL"). Every replica may run one: a turn locks the watermark row, so
 * turns of several replicas serialise and none folds an entry twice. Turns are async (round trips), so the event
 * loop serves while one runs.
 */
export class PgFoldRunner implements PgBackPressure {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;
  /** Where the fold stands as this replica last knew it: read after each turn, moved by its own appends. */
  private pos: LogPosition = { folded: 0, last: 0, oldestReceivedAt: null };
  private drain: Drain | undefined;
  /** When the position was last read (performance.now()), and the read in flight. */
  private readAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<LogPosition> | undefined;
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

  get backlogMax(): number {
    return this.opts.backlogMax;
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

  /** Stops the timer and waits for a turn in progress, a drain's and the fold's read-ahead (so a pool can be ended after them). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await this.drain?.done;
    await this.fold.idle();
  }

  /**
   * One turn through PgFold (a transaction holding the watermark row), then the position read again (the status and
   * back-pressure follow it turn by turn); returns how many entries the turn folded. With `lockTimeoutMs` the turn
   * waits at most that long for the watermark row (StoreUnavailable after it).
   */
  async turn(limit = this.opts.turn, opts: { lockTimeoutMs?: number } = {}): Promise<number> {
    const t = await this.fold.turn(limit, opts);
    this.foldedHere += t.folded;
    observeTurn(this.metrics, this.logger, this.clock, t.receivedAt, t.dropped);
    await this.refreshStatus();
    return t.folded;
  }

  /**
   * Folds until everything acknowledged when called (by any replica) is folded — by this replica's turns or another's
   * (a turn waits for another's on the watermark row, then finds less to do) — and returns the backlog left.
   */
  async catchUpAsync(): Promise<FoldStatus> {
    const target = (await this.refreshPosition()).last;
    while (this.pos.folded < target) if (!(await this.turn(this.opts.turn))) break;
    return await this.refreshStatus();
  }

  /**
   * The backlog as last known (get_metrics' `fold`, the gauges): the position read after each turn, each catch-up and
   * refreshStatus, moved by this replica's appends in between; the lag is reckoned now from the oldest entry seen.
   * `pending` bounds the backlog from above (LogPosition: seq gaps count until the fold passes them).
   */
  status(): FoldStatus {
    const pending = this.pending();
    return foldStatusOf({ pending, oldestReceivedAt: pending ? this.pos.oldestReceivedAt : null }, this.clock.now());
  }

  async refreshStatus(): Promise<FoldStatus> {
    await this.refreshPosition();
    return this.status();
  }

  /**
   * Back-pressure before an ingest batch of `events` events is validated and appended (PgIngest): resolves at once
   * while the backlog is within `backlogMax`, judged from the position this replica knows (no round trip; read again
   * once before any wait); past it the request helps fold down to half the bound (makeRoom). Past `backlogWaitMs`
   * without getting back under the bound: UPSTREAM_UNAVAILABLE with a Retry-After, and the batch is not written.
   */
  async admit(events: number): Promise<void> {
    if (!(await this.makeRoom())) throw this.refuse(events);
  }

  /**
   * After an ingest on this replica committed entries up to `lastSeq` (received at `receivedAt`): the backlog it knows
   * grows with them (the seq is global: appends of every replica before it count), and past the bound the request
   * helps fold down to half before it answers, as SQLite's afterAck does. Past `backlogWaitMs` it answers all the same
   * (the batch is durable; the next batches are refused by admit until the fold catches up); a failed turn is logged.
   */
  async appended(lastSeq: number, receivedAt: string): Promise<void> {
    if (lastSeq > this.pos.last)
      this.pos = { ...this.pos, last: lastSeq, oldestReceivedAt: this.pos.last > this.pos.folded ? this.pos.oldestReceivedAt : receivedAt };
    try {
      await this.makeRoom();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'fold turn failed while making room after an ingest; answering it');
    }
  }

  /**
   * True when the backlog is within the bound; else helps fold down to half of it: this replica's turns (one drain at a
   * time, shared by its waiting requests), each waiting on the watermark row while another replica's turn holds it —
   * never polling — for at most `backlogWaitMs`. False when the backlog is still past the bound then.
   */
  private async makeRoom(): Promise<boolean> {
    const max = this.opts.backlogMax;
    // What other replicas appended since this one last looked: read at most once per intervalMs (a started runner's turns read it as often).
    if (performance.now() - this.readAt > this.opts.intervalMs) await this.sharedRefresh();
    if (this.pending() <= max) return true;
    await this.sharedRefresh();
    if (this.pending() <= max) return true;
    const deadline = Date.now() + this.opts.backlogWaitMs;
    while (this.pending() > max / 2) {
      const left = deadline - Date.now();
      if (left <= 0) return this.pending() <= max;
      const err = await this.drainTo(Math.floor(max / 2), deadline, left);
      // The watermark row stayed locked (another replica's turn, or a stuck one) until the deadline: decided above.
      if (err && !isLockTimeout(err)) throw err;
    }
    return true;
  }

  private pending(): number {
    return Math.max(0, this.pos.last - this.pos.folded);
  }

  /** Back-pressure's reads of the position: requests at the same moment share one (catch-up and refreshStatus read their own). */
  private sharedRefresh(): Promise<LogPosition> {
    this.reading ??= this.refreshPosition().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  /** Reads the position and keeps the newest of what is known (a read that raced an append of this replica is older). */
  private async refreshPosition(): Promise<LogPosition> {
    this.readAt = performance.now();
    const r = await this.log.position();
    const folded = Math.max(this.pos.folded, r.folded);
    const last = Math.max(this.pos.last, r.last);
    const oldest = r.folded >= this.pos.folded ? r.oldestReceivedAt : this.pos.oldestReceivedAt;
    this.pos = { folded, last, oldestReceivedAt: last > folded ? oldest : null };
    return this.pos;
  }

  /** Joins the drain under way (lowering its target, extending its deadline) or starts one; waits for it at most `wait` ms. */
  private async drainTo(target: number, until: number, wait: number): Promise<unknown> {
    let d = this.drain;
    if (d) {
      d.target = Math.min(d.target, target);
      d.until = Math.max(d.until, until);
    } else {
      const drain: Drain = { target, until, done: Promise.resolve() };
      drain.done = this.drainTurns(drain)
        .then(
          () => undefined,
          (err: unknown) => err,
        )
        .finally(() => {
          if (this.drain === drain) this.drain = undefined;
        });
      this.drain = d = drain;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), wait);
    });
    try {
      return await Promise.race([d.done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Turns until the backlog is at the drain's target or its deadline passes; each waits for the watermark row no longer than that. */
  private async drainTurns(d: Drain): Promise<void> {
    while (this.pending() > d.target) {
      const left = d.until - Date.now();
      if (left <= 0) return;
      await this.turn(this.opts.turn, { lockTimeoutMs: left });
    }
  }

  /** The refusal past the deadline: retryable, with the backlog and the bound, the batch counted as rejected. */
  private refuse(events: number): AppError {
    const pending = this.pending();
    const retryAfterSeconds = Math.max(1, Math.ceil(this.opts.backlogWaitMs / 1000));
    this.metrics?.eventsRejected.inc({ reason: 'backlog_full' }, events);
    this.logger.warn({ pending, backlogMax: this.opts.backlogMax, events }, 'ingest refused: the fold did not make room in time');
    return new AppError(
      'UPSTREAM_UNAVAILABLE',
      `ingest is ahead of the fold: ${pending} events wait to be folded (bound ${this.opts.backlogMax}); nothing from this batch was stored`,
      `Retry the same batch in ${retryAfterSeconds} s (Retry-After): event ids make it idempotent. If refusals persist, the fold is stuck or too slow: check sealab_fold_backlog_events and sealab_fold_lag_seconds.`,
      { retryAfterSeconds, pending, backlogMax: this.opts.backlogMax },
    );
  }
}

/** PostgreSQL's lock_not_available (55P03), as the store reports it: a turn's wait for the watermark row ran out. */
function isLockTimeout(err: unknown): boolean {
  return err instanceof StoreUnavailable && (err.cause as { code?: string } | null)?.code === '55P03';
}
