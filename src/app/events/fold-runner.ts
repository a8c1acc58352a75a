import type { EventFold } from '../../store/event-fold.js';
import type { EventLog } from '../../store/event-log.js';
import type { Clock } from '../../systems/clock.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../ops/metrics.js';

/** How far results are behind what was acknowledged: events not folded yet and the age of the oldest. */
export interface FoldStatus {
  pending: number;
  lagSeconds: number;
}

export interface FoldOptions {
  /** At most this many entries per fold transaction (one turn of the event loop). */
  turn?: number;
  /**
   * A background turn aims to hold the event loop at most this long: its size follows the last turns' cost per entry,
   * between `minTurn` and `turn` entries, so a turn never stalls serving (OFREP, layout) for long whatever it folds.
   */
  turnBudgetMs?: number;
  minTurn?: number;
  /** After an ingest call returns, at most this many events wait for the fold: past it, the ack folds (back-pressure). */
  backlogMax?: number;
  /** How often the background turns look for work. */
  intervalMs?: number;
}

export const FOLD_DEFAULTS = { turn: 2_000, turnBudgetMs: 5, minTurn: 50, backlogMax: 100_000, intervalMs: 200 } as const;

/**
 * The size of the next background turn: as many entries as fit the budget at the cost per entry measured so far
 * (a moving average, so one slow turn does not halve the next), within [minTurn, turn].
 */
export function nextTurnSize(msPerEntry: number, o: { turnBudgetMs: number; minTurn: number; turn: number }): number {
  if (!(msPerEntry > 0)) return o.turn;
  return Math.max(o.minTurn, Math.min(o.turn, Math.floor(o.turnBudgetMs / msPerEntry)));
}

/**
 * Runs the fold (ADR 0018): timer turns on the main thread in the background (one bounded transaction
 * per turn, yielding between turns), a catch-up for readers that want current data (get_metrics), and
 * back-pressure for ingest: an ack that leaves more than `backlogMax` pending folds down to half of it
 * before it answers, so the backlog stays bounded and a producer faster than the fold is slowed, never refused.
 */
export class FoldRunner {
  private timer: NodeJS.Timeout | undefined;
  private readonly opts: Required<FoldOptions>;

  constructor(
    private readonly fold: EventFold,
    private readonly log: EventLog,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly metrics?: Metrics,
    opts: FoldOptions = {},
  ) {
    this.opts = { ...FOLD_DEFAULTS, ...opts };
  }

  get backlogMax(): number {
    return this.opts.backlogMax;
  }

  /**
   * Background turns until stop(): a turn when the log has work, the next one at once while it stays full; each turn
   * sized to the time budget (nextTurnSize), so serving on this thread waits at most about that long for a turn.
   */
  start(): void {
    if (this.timer) return;
    let msPerEntry = 0;
    const tick = () => {
      try {
        const limit = nextTurnSize(msPerEntry, this.opts);
        const started = performance.now();
        const folded = this.turn(limit);
        if (folded) {
          const cost = (performance.now() - started) / folded;
          msPerEntry = msPerEntry ? 0.7 * msPerEntry + 0.3 * cost : cost;
        }
        if (folded === limit) {
          this.timer = setTimeout(tick, 0);
          return;
        }
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'fold turn failed; will retry');
      }
      this.timer = setTimeout(tick, this.opts.intervalMs);
      this.timer.unref();
    };
    this.timer = setTimeout(tick, this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Folds what was pending when called (bounded by the backlog bound plus what other processes append meanwhile),
   * in turns as large as the backlog: a turn's cost is mostly the pages it dirties, which random units spread
   * over the whole state, so one large turn costs little more than a small one.
   */
  catchUp(): FoldStatus {
    let left = this.log.backlog().pending;
    while (left > 0) {
      const n = this.turn(Math.max(this.opts.turn, Math.min(left, this.opts.backlogMax)));
      if (!n) break;
      left -= n;
    }
    return this.status();
  }

  /** Back-pressure after an ack that appended `_appended` entries: past the bound, fold down to half of it now. */
  afterAck(_appended = 0): void {
    let pending = this.log.backlog().pending;
    if (pending <= this.opts.backlogMax) return;
    while (pending > this.opts.backlogMax / 2) {
      const n = this.turn(Math.max(this.opts.turn, pending - this.opts.backlogMax / 2));
      if (!n) break;
      pending -= n;
    }
  }

  status(): FoldStatus {
    const b = this.log.backlog();
    const lag = b.oldestReceivedAt ? Math.max(0, (this.clock.now().getTime() - Date.parse(b.oldestReceivedAt)) / 1000) : 0;
    return { pending: b.pending, lagSeconds: Math.round(lag * 1000) / 1000 };
  }

  /** One fold transaction; returns how many entries it folded. */
  turn(limit = this.opts.turn): number {
    const t = this.fold.turn(limit);
    if (this.metrics && t.folded) {
      const now = this.clock.now().getTime();
      for (const at of t.receivedAt) this.metrics.ingestLag.observe(Math.max(0, (now - at) / 1000));
      if (t.dropped) this.metrics.foldDropped.inc(t.dropped);
    }
    if (t.dropped) this.logger.warn({ dropped: t.dropped }, 'fold dropped exposures that contradict a unit’s stored variant');
    return t.folded;
  }
}
