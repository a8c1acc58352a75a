/** What the main thread and the fold's thread share (fold-worker.ts, fold-worker-thread.ts). */

/** Slots of the shared Int32Array. */
export const WAKE = 0;
export const TURNS = 1;
export const STOP = 2;
export const ALIVE = 3;
/** Set by the thread once its connections are open (booting a thread from the TypeScript sources takes about a second). */
export const READY = 4;
/** How many callers on the main thread wait for folded data now: the thread folds at once, not gathering a turn. */
export const URGENT = 5;
/** 1 while the thread is inside a turn: a waiting main thread keeps waiting for a slow turn instead of folding itself. */
export const IN_TURN = 6;
export const FOLD_STATE_SLOTS = 7;

export interface FoldThreadInit {
  dbFile: string;
  state: Int32Array;
  /** At most this many entries per turn. */
  turn: number;
  /** Fold once this many entries are pending (or the oldest has waited intervalMs, or someone waits). */
  gather: number;
  intervalMs: number;
  /** Fold through a turn's working set instead of one statement per read or write (EventFold's `workingSet`; bench/ingest.ts --split compares). */
  workingSet: boolean;
}
export type FoldThreadMessage = { turn: { receivedAt: Float64Array; dropped: number } } | { warn: string };
