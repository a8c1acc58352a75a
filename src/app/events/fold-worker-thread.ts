/**
 * The fold's thread (fold-worker.ts starts it, ADR 0018): its own connections, to the database read-write and
 * to the event log's file, and EventFold turns back to back while the log has work. Each turn is one IMMEDIATE
 * transaction on the database, its watermark included, exactly as on the main thread; only the thread differs.
 * It sleeps on the shared state's wake counter (the main thread bumps it after every ack) or `intervalMs` (what
 * other processes append), counts its turns there (catch-up waits on that), reports each turn's receipt times
 * for the ingest-lag histogram, and stops at the stop flag after closing its connections.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MAIN_CACHE_KIB, openDb, prepared } from '../../store/db.js';
import { EventFold } from '../../store/event-fold.js';
import { EventRepo } from '../../store/event-repo.js';
import { openLogDb } from '../../store/log-db.js';
import { nextTurnSize } from './fold-runner.js';
import { ALIVE, type FoldThreadInit, type FoldThreadMessage, STOP, TURNS, WAKE } from './fold-thread-protocol.js';

const init = workerData as FoldThreadInit;
const { state } = init;
const db = openDb(init.dbFile, { cacheKib: MAIN_CACHE_KIB }); // the fold's turns are the heaviest work on the database
const logDb = openLogDb(init.dbFile);
const events = new EventRepo(db, logDb, 0);
// The event names some metric's source uses now, read each turn (a catalog change applies from the next turn).
const sourceNames = () =>
  new Set(
    (
      prepared(db, "SELECT json_extract(doc, '$.source.event') AS name FROM metrics WHERE json_extract(doc, '$.source.event') IS NOT NULL").all() as {
        name: string;
      }[]
    ).map((r) => r.name),
  );
const fold = new EventFold(db, events.log, events, sourceNames);

let msPerEntry = 0;
while (Atomics.load(state, STOP) === 0) {
  const seen = Atomics.load(state, WAKE);
  const limit = nextTurnSize(msPerEntry, init);
  let folded = 0;
  try {
    const started = performance.now();
    const t = fold.turn(limit);
    folded = t.folded;
    if (folded) {
      const cost = (performance.now() - started) / folded;
      msPerEntry = msPerEntry ? 0.7 * msPerEntry + 0.3 * cost : cost;
      const receivedAt = Float64Array.from(t.receivedAt);
      parentPort!.postMessage({ turn: { receivedAt, dropped: t.dropped } } satisfies FoldThreadMessage, [receivedAt.buffer]);
      Atomics.add(state, TURNS, 1);
      Atomics.notify(state, TURNS);
    }
  } catch (err) {
    parentPort!.postMessage({ warn: (err as Error).message } satisfies FoldThreadMessage);
    Atomics.wait(state, STOP, 0, 1_000); // a failing turn (a locked file past the busy timeout) is retried, not spun on
    continue;
  }
  // Caught up: sleep until an ack wakes the thread, or look again after intervalMs (other processes' appends).
  if (folded < limit) Atomics.wait(state, WAKE, seen, init.intervalMs);
}
logDb.close();
db.close();
Atomics.store(state, ALIVE, 0);
Atomics.add(state, TURNS, 1);
Atomics.notify(state, ALIVE);
Atomics.notify(state, TURNS);
parentPort!.close();
