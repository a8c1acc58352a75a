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
import { ALIVE, type FoldThreadInit, type FoldThreadMessage, IN_TURN, READY, STOP, TURNS, URGENT, WAKE } from './fold-thread-protocol.js';

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
const fold = new EventFold(db, events.log, events, sourceNames, { workingSet: init.workingSet });
Atomics.store(state, READY, 1);
Atomics.notify(state, READY);

// A turn takes everything pending, up to `turn` entries: its cost is mostly the pages it dirties and rewrites once at
// commit, so folding a backlog in few large turns is several times faster than in many small ones (ADR 0018). So the
// thread lets a backlog gather: it folds once `gather` entries are pending, or the oldest it saw has waited
// `intervalMs`, or at once when the main thread waits for it (URGENT: a catch-up, back-pressure).
let pendingSince: number | undefined;
while (Atomics.load(state, STOP) === 0) {
  const seen = Atomics.load(state, WAKE);
  let pending = 0;
  try {
    pending = events.log.lastSeq() - events.log.foldedSeq();
    const now = performance.now();
    if (pending > 0) pendingSince ??= now;
    const due = pending >= init.gather || Atomics.load(state, URGENT) > 0 || (pendingSince !== undefined && now - pendingSince >= init.intervalMs);
    if (pending > 0 && due) {
      Atomics.store(state, IN_TURN, 1);
      let t: ReturnType<typeof fold.turn>;
      try {
        t = fold.turn(init.turn);
      } finally {
        Atomics.store(state, IN_TURN, 0);
      }
      pendingSince = undefined;
      if (t.folded) {
        const receivedAt = Float64Array.from(t.receivedAt);
        parentPort!.postMessage({ turn: { receivedAt, dropped: t.dropped } } satisfies FoldThreadMessage, [receivedAt.buffer]);
        Atomics.add(state, TURNS, 1);
        Atomics.notify(state, TURNS);
        continue;
      }
    }
  } catch (err) {
    parentPort!.postMessage({ warn: (err as Error).message } satisfies FoldThreadMessage);
    Atomics.wait(state, STOP, 0, 1_000); // a failing turn (a locked file past the busy timeout) is retried, not spun on
    continue;
  }
  // Nothing due: sleep until an ack wakes the thread, or until the oldest pending entry is due (intervalMs: also how
  // soon other processes' appends, which wake nobody here, are seen).
  const wait = pendingSince === undefined ? init.intervalMs : Math.max(1, init.intervalMs - (performance.now() - pendingSince));
  Atomics.wait(state, WAKE, seen, wait);
}
logDb.close();
db.close();
Atomics.store(state, ALIVE, 0);
Atomics.add(state, TURNS, 1);
Atomics.notify(state, ALIVE);
Atomics.notify(state, TURNS);
parentPort!.close();
