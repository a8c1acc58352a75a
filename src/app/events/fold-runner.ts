import type { EventFold } from '../../store/event-fold.js';
import { TAIL_MAX, type EventLog } from '../../store/event-log.js';
import type { Clock } from '../../systems/clock.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../ops/metrics.js';
import { FoldThread } from './fold-worker.js';

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
  /**
   * For a database file: fold on a thread of its own once started (FoldThread), with turns sized to this budget
   * (they hold the database's write lock, which only the main thread's configuration writes wait for). Undefined:
   * fold on the main thread (`:memory:` databases, which another connection cannot open).
   */
  thread?: { dbFile?: string; turn?: number; gather?: number; workingSet?: boolean };
}

export const FOLD_DEFAULTS = { turn: 2_000, turnBudgetMs: 5, minTurn: 50, backlogMax: 100_000, intervalMs: 200 } as const;
/**
 * The fold thread's turns take everything pending up to this many entries. A turn's cost is mostly the pages it
 * dirties (random units spread over the whole state), rewritten once at commit: folding 100,000 metric events over
 * 50,000 units measured 16k events/s in turns of 2,000, 28k in turns of 9,000 and 46k in turns of 50,000 (load 6).
 * The cost is how long the main thread's configuration writes may wait for the database's lock while a backlog is
 * folded: about one turn, ≈ 1 s at the bound.
 */
export const FOLD_THREAD_TURN = 50_000;
/**
 * For the same reason the thread lets a backlog gather to this many entries (or for `intervalMs`, 200 ms, whichever
 * comes first) before a turn, unless the main thread waits for it: woken by every ack of 1,000 events it would
 * otherwise fold 1,000 at a time, at a third of the rate. Results trail acknowledgement by at most about intervalMs
 * plus a turn; get_metrics with current data waits for the fold either way.
 */
export const FOLD_THREAD_GATHER = 20_000;
/**
 * How long a waiting main thread gives the fold thread to commit a turn before it folds itself (a thread stuck or
 * gone). A thread inside a turn is given up to THREAD_STUCK_MS: on a loaded machine a 50,000-entry turn can take
 * longer than the patience, and folding here meanwhile would only wait for its lock and fail with SQLITE_BUSY.
 */
const THREAD_PATIENCE_MS = 5_000;
const THREAD_STUCK_MS = 120_000;

/** SQLite's "database is locked" (another connection holds the write lock past the busy timeout). */
const isBusy = (err: unknown) => (err as { code?: string } | null)?.code?.startsWith('SQLITE_BUSY') === true;

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
  private readonly opts: Required<Omit<FoldOptions, 'thread'>>;
  /** The fold's own thread (a database file), once started; until then, and if it dies, this thread folds. */
  private readonly thread: FoldThread | undefined;

  constructor(
    private readonly fold: EventFold,
    private readonly log: EventLog,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly metrics?: Metrics,
    { thread, ...opts }: FoldOptions = {},
  ) {
    this.opts = { ...FOLD_DEFAULTS, ...opts };
    if (thread?.dbFile)
      this.thread = new FoldThread(
        thread.dbFile,
        {
          turn: thread.turn ?? FOLD_THREAD_TURN,
          gather: thread.gather ?? FOLD_THREAD_GATHER,
          intervalMs: this.opts.intervalMs,
          workingSet: thread.workingSet ?? false,
        },
        logger,
        (receivedAt, dropped) => this.observe(receivedAt, dropped),
      );
  }

  /** Entries folded on this thread so far (with a fold thread running: only its fallback, or explicit turns). */
  foldedHere = 0;

  /** Where the fold runs now: its own thread, or this one (not started, a `:memory:` database, or the thread died). */
  get where(): 'thread' | 'main' {
    return this.thread?.running ? 'thread' : 'main';
  }

  get backlogMax(): number {
    return this.opts.backlogMax;
  }

  /**
   * Background turns until stop(): a turn when the log has work, the next one at once while it stays full; each turn
   * sized to the time budget (nextTurnSize), so serving on this thread waits at most about that long for a turn.
   */
  start(): void {
    if (this.thread) {
      this.log.rememberAtMost(0); // the thread reads its turns from the table
      return this.thread.start();
    }
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

  /** With a fold thread: blocks until it has opened its connections (at most `ms`); true when it has, or there is none. */
  waitReady(ms = 10_000): boolean {
    return this.thread ? this.thread.waitReady(ms) : true;
  }

  stop(): void {
    if (this.thread?.running) {
      this.thread.stop();
      this.log.rememberAtMost(TAIL_MAX);
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Folds what was pending when called (bounded by the backlog bound plus what other processes append meanwhile),
   * in turns as large as the backlog: a turn's cost is mostly the pages it dirties, which random units spread
   * over the whole state, so one large turn costs little more than a small one.
   */
  catchUp(): FoldStatus {
    if (this.thread?.running) {
      const target = this.log.lastSeq();
      this.waitForThread(() => this.log.foldedSeq() >= target);
    }
    let left = this.log.backlog().pending;
    while (left > 0) {
      let n: number;
      try {
        n = this.turn(Math.max(this.opts.turn, Math.min(left, this.opts.backlogMax)));
      } catch (err) {
        // The thread came back with a turn of its own and holds the lock: wait for it again rather than fail the read.
        if (!isBusy(err) || !this.thread?.running) throw err;
        const target = this.log.lastSeq();
        this.waitForThread(() => this.log.foldedSeq() >= target);
        left = this.log.backlog().pending;
        continue;
      }
      if (!n) break;
      left -= n;
    }
    return this.status();
  }

  /**
   * catchUp() for callers that can wait asynchronously (get_metrics over MCP and REST): with the fold thread running,
   * the event loop goes on serving while it folds what was pending at the call; anything left (the thread stuck or
   * gone) is folded here, as catchUp() does.
   */
  async catchUpAsync(): Promise<FoldStatus> {
    const thread = this.thread;
    if (thread?.running) {
      const target = this.log.lastSeq();
      const since = Date.now();
      while (this.log.foldedSeq() < target && thread.running) {
        const seen = thread.turns;
        if (!(await thread.waitForTurnAsync(seen, THREAD_PATIENCE_MS)) && this.log.foldedSeq() < target && !this.slowTurn(thread, since)) break;
      }
    }
    return this.catchUp();
  }

  /** Back-pressure after an ack that appended `_appended` entries: past the bound, fold down to half of it now. */
  afterAck(appended = 0): void {
    if (this.thread?.running) {
      if (appended) this.thread.wake();
      const pending = () => this.log.lastSeq() - this.log.foldedSeq();
      if (pending() > this.opts.backlogMax) this.waitForThread(() => pending() <= this.opts.backlogMax / 2);
      return;
    }
    let pending = this.log.backlog().pending;
    if (pending <= this.opts.backlogMax) return;
    while (pending > this.opts.backlogMax / 2) {
      const n = this.turn(Math.max(this.opts.turn, pending - this.opts.backlogMax / 2));
      if (!n) break;
      pending -= n;
    }
  }

  status(): FoldStatus {
    return foldStatusOf(this.log.backlog(), this.clock.now());
  }

  /**
   * Blocks this thread while the fold thread works towards `done`, turn by turn. A thread that commits no turn
   * within THREAD_PATIENCE_MS (stuck on a lock, or gone) is not waited for any longer: the caller's own turns finish
   * the job (a turn is safe from any connection: it re-reads the watermark under the lock).
   */
  private waitForThread(done: () => boolean): void {
    const thread = this.thread!;
    const since = Date.now();
    while (!done() && thread.running) {
      const seen = thread.turns;
      if (!thread.waitForTurn(seen, THREAD_PATIENCE_MS) && !done() && !this.slowTurn(thread, since)) return;
    }
  }

  /** After a patience without a committed turn: true to keep waiting (the thread is inside a turn, not for too long); false (warned) to fold here. */
  private slowTurn(thread: FoldThread, since: number): boolean {
    if (thread.inTurn && Date.now() - since < THREAD_STUCK_MS) return true;
    this.logger.warn({ patienceMs: THREAD_PATIENCE_MS }, 'the fold thread committed no turn in time; folding on the main thread');
    return false;
  }

  /** One fold transaction on this thread; returns how many entries it folded. */
  turn(limit = this.opts.turn): number {
    const t = this.fold.turn(limit);
    this.foldedHere += t.folded;
    this.observe(t.receivedAt, t.dropped);
    return t.folded;
  }

  /** A committed turn's ingest lags and dropped exposures, wherever it ran. */
  private observe(receivedAt: ArrayLike<number>, dropped: number): void {
    observeTurn(this.metrics, this.logger, this.clock, receivedAt, dropped);
  }
}

/** Feeds a committed turn to the ingest-lag histogram and the dropped-exposures counter (both engines' runners). */
export function observeTurn(metrics: Metrics | undefined, logger: Logger, clock: Clock, receivedAt: ArrayLike<number>, dropped: number): void {
  if (metrics && receivedAt.length) {
    const now = clock.now().getTime();
    for (let i = 0; i < receivedAt.length; i++) metrics.ingestLag.observe(Math.max(0, (now - receivedAt[i]) / 1000));
    if (dropped) metrics.foldDropped.inc(dropped);
  }
  if (dropped) logger.warn({ dropped }, 'fold dropped exposures that contradict a unit’s stored variant');
}

/** Backlog → FoldStatus as of `now`. */
export function foldStatusOf(b: { pending: number; oldestReceivedAt: string | null }, now: Date): FoldStatus {
  const lag = b.oldestReceivedAt ? Math.max(0, (now.getTime() - Date.parse(b.oldestReceivedAt)) / 1000) : 0;
  return { pending: b.pending, lagSeconds: Math.round(lag * 1000) / 1000 };
}
