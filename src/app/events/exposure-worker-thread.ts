/**
 * The exposure writer's thread (exposure-worker.ts starts it): its own better-sqlite3 connection to the
 * event log's file (openLogDb: WAL, busy timeout), one IMMEDIATE transaction per batch through
 * EventLog.appendServed, then an acknowledgement on the `acks` port and the batch's sequence
 * number in `state` (Atomics.notify), so a reader that must see every exposure can wait synchronously.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { EventLog } from '../../store/event-log.js';
import { openLogDb } from '../../store/log-db.js';

export interface WorkerInit {
  dbFile: string;
  acks: MessagePort;
  /** [0]: the sequence number of the last batch settled (written or failed). */
  state: Int32Array;
}
export type BatchMessage = { seq: number; now: string; data: Uint8Array } | { close: true };
export type AckMessage = { seq: number; ok: true; seconds: number } | { seq: number; ok: false; error: string };

const { dbFile, acks, state } = workerData as WorkerInit;
// Served exposures are appends to the event log, which has its own file (log-db.ts): this connection opens only that.
const db = openLogDb(dbFile);
const log = new EventLog(db, 0);
const decoder = new TextDecoder();

parentPort!.on('message', (m: BatchMessage) => {
  if ('close' in m) {
    db.close();
    acks.close();
    parentPort!.close();
    return;
  }
  const started = performance.now();
  let ack: AckMessage;
  try {
    const rows = JSON.parse(decoder.decode(m.data)) as [string, string, string, string][];
    log.appendServed(
      rows.map(([experimentId, unitId, variant, ts]) => ({ experimentId, unitId, variant, ts })),
      m.now,
    );
    ack = { seq: m.seq, ok: true, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    ack = { seq: m.seq, ok: false, error: (err as Error).message };
  }
  acks.postMessage(ack);
  Atomics.store(state, 0, m.seq);
  Atomics.notify(state, 0);
});
