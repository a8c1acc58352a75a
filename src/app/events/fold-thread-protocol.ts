/** What the main thread and the fold's thread share (fold-worker.ts, fold-worker-thread.ts). */

/** Slots of the shared Int32Array. */
export const WAKE = 0;
export const TURNS = 1;
export const STOP = 2;
export const ALIVE = 3;
export const FOLD_STATE_SLOTS = 4;

export interface FoldThreadInit {
  dbFile: string;
  state: Int32Array;
  turnBudgetMs: number;
  minTurn: number;
  turn: number;
  intervalMs: number;
}
export type FoldThreadMessage = { turn: { receivedAt: Float64Array; dropped: number } } | { warn: string };
