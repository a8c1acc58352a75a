import { Worker } from 'node:worker_threads';
import type { Logger } from '../../logger.js';
import { ALIVE, FOLD_STATE_SLOTS, type FoldThreadInit, type FoldThreadMessage, IN_TURN, READY, STOP, TURNS, URGENT, WAKE } from './fold-thread-protocol.js';
import { threadEntry } from './thread-entry.js';

/** Atomics.waitAsync (V8, Node ≥ 16); TypeScript's lib has it from es2024 only. */
type WaitAsync = (
  a: Int32Array,
  index: number,
  value: number,
  ms: number,
) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export interface FoldThreadOptions {
  /** At most this many entries per turn (a turn holds the database's write lock, which the main thread's configuration writes wait for). */
  turn: number;
  /** Fold once this many entries are pending, or the oldest has waited `intervalMs`, or the main thread waits for it. */
  gather: number;
  /** How often the thread looks for entries no ack woke it for (other processes' appends). */
  intervalMs: number;
  /** Fold through a turn's working set instead of one statement per read or write (bench/ingest.ts --split compares). */
  workingSet: boolean;
}

/**
 * The fold on its own thread (ADR 0018, third pass) for a database file: the thread folds while the main thread
 * acknowledges and serves, so sustained ingest is the slower of the two, not their sum. The main thread wakes it
 * after each ack (wake(): one atomic add), and waits on its turn counter when it must see folded data
 * (catch-up, back-pressure): waitForTurn() blocks this thread for at most `ms`, or until a turn commits.
 */
export class FoldThread {
  private worker: Worker | undefined;
  private readonly state = new Int32Array(new SharedArrayBuffer(4 * FOLD_STATE_SLOTS));

  constructor(
    private readonly dbFile: string,
    private readonly opts: FoldThreadOptions,
    private readonly logger: Logger,
    /** Each turn the thread committed: its entries' receipt times (ms) and the contradicting exposures it dropped. */
    private readonly onTurn: (receivedAt: Float64Array, dropped: number) => void,
  ) {}

  /** True while the thread runs (started and neither stopped nor dead). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  start(): void {
    if (this.worker) return;
    Atomics.store(this.state, STOP, 0);
    Atomics.store(this.state, ALIVE, 1); // the thread clears it once its connections are closed
    Atomics.store(this.state, READY, 0);
    const init: FoldThreadInit = { dbFile: this.dbFile, state: this.state, ...this.opts };
    const worker = new Worker(threadEntry('fold-worker-thread'), { eval: true, workerData: init, execArgv: [] });
    worker.unref(); // a CLI or a test ends when its work does; a server is kept alive by its socket
    worker.on('message', (m: FoldThreadMessage) => {
      if ('turn' in m) this.onTurn(m.turn.receivedAt, m.turn.dropped);
      else this.logger.warn({ err: m.warn }, 'fold turn failed on the fold thread; will retry');
    });
    worker.on('error', (err) => {
      this.logger.error({ err: err.message }, 'the fold thread failed: the main thread folds until it is started again');
      if (this.worker === worker) this.worker = undefined;
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
    });
    this.worker = worker;
  }

  /** Blocks until the thread has opened its connections (at most `ms`); true when it has. */
  waitReady(ms: number): boolean {
    const deadline = Date.now() + ms;
    while (this.worker && Atomics.load(this.state, READY) === 0 && Date.now() < deadline) Atomics.wait(this.state, READY, 0, 50);
    return Atomics.load(this.state, READY) === 1;
  }

  /** waitForTurn() without blocking this thread: the event loop goes on serving while the fold thread works. */
  async waitForTurnAsync(seen: number, ms: number): Promise<boolean> {
    Atomics.add(this.state, URGENT, 1);
    try {
      this.wake();
      const w = waitAsync(this.state, TURNS, seen, ms);
      const r = w.async ? await w.value : w.value;
      return r !== 'timed-out' || this.turns !== seen;
    } finally {
      Atomics.sub(this.state, URGENT, 1);
    }
  }

  /** Something was appended: a sleeping thread looks at once. */
  wake(): void {
    Atomics.add(this.state, WAKE, 1);
    Atomics.notify(this.state, WAKE);
  }

  /** True while the thread is inside a turn (a slow one is still progress: its commit releases the database's lock). */
  get inTurn(): boolean {
    return this.worker !== undefined && Atomics.load(this.state, IN_TURN) === 1;
  }

  /** The number of turns committed so far (compare before and after a wait to see progress). */
  get turns(): number {
    return Atomics.load(this.state, TURNS);
  }

  /**
   * Blocks until the thread commits a turn after `seen` turns, or `ms` passes; true when it did. The thread folds what
   * is pending at once while someone waits (URGENT), not gathering a larger turn.
   */
  waitForTurn(seen: number, ms: number): boolean {
    Atomics.add(this.state, URGENT, 1);
    try {
      this.wake();
      return Atomics.wait(this.state, TURNS, seen, ms) !== 'timed-out' || this.turns !== seen;
    } finally {
      Atomics.sub(this.state, URGENT, 1);
    }
  }

  /**
   * Stops the thread after its current turn and waits (at most `ms`) until it has closed its connections: a thread
   * cut off inside a transaction would leave this process's lock on the database held by a connection nobody closes.
   */
  stop(ms = 10_000): void {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    Atomics.store(this.state, STOP, 1);
    this.wake();
    const deadline = Date.now() + ms;
    while (Atomics.load(this.state, ALIVE) === 1 && Date.now() < deadline) Atomics.wait(this.state, ALIVE, 1, 50);
    if (Atomics.load(this.state, ALIVE) === 1) this.logger.warn('the fold thread did not stop in time; terminating it');
    void worker.terminate();
  }
}
