import Database from 'better-sqlite3';
import { logFileOf } from '../../src/store/log-db.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExposureBuffer } from '../../src/app/events/exposure-buffer.js';
import { WorkerExposureWriter } from '../../src/app/events/exposure-worker.js';
import type { SqliteContainer } from '../../src/container.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { listenHttp } from '../../src/server/http-listen.js';
import { demoConfig, permissivePolicy, startRunning, testContainer } from '../helpers/app.js';

let cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sealab-exposure-writer-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A file-backed container (as `sealab serve` builds one) with a running experiment, and units in it chosen by their arm. */
async function fileBacked(units: number): Promise<{ app: SqliteContainer; experimentId: string; key: string; units: string[] }> {
  const app = await testContainer({ dbFile: path.join(tempDir(), 'sealab.db'), policy: permissivePolicy() });
  cleanups.push(() => app.close());
  const exp = await startRunning(app, demoConfig({ allocationPercent: 50 }));
  const chosen: string[] = [];
  for (let i = 0; chosen.length < units; i++)
    if (app.assignments.view('home', `u${i}`)?.assignments.some((a) => a.experimentId === exp.id)) chosen.push(`u${i}`);
  return { app, experimentId: exp.id, key: exp.key, units: chosen };
}

const stored = (app: SqliteContainer) => (app.deps.db.prepare('SELECT COUNT(*) AS n FROM exposures').get() as { n: number }).n;
/** Served exposures appended to the event log, folded or not. */
const logged = (app: SqliteContainer) => {
  const log = new Database(logFileOf(app.deps.db.name), { readonly: true }); // the event log's own file (log-db.ts)
  try {
    return (log.prepare("SELECT COUNT(*) AS n FROM event_log WHERE type = 'exposure'").get() as { n: number }).n;
  } finally {
    log.close();
  }
};
/** Rows this connection changed since it opened (SQLite counts per connection): the serving thread's own writes. */
const changesHere = (app: SqliteContainer) => (app.deps.db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;

describe('served exposures on a database file', () => {
  it('are written by the worker thread on its own connection: OFREP answers, the serving connection writes nothing', async () => {
    const { app, key, units } = await fileBacked(40);
    expect(app.exposures.mode).toBe('worker');
    const http = await listenHttp(app, { host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576 });
    cleanups.push(() => http.close());
    const before = changesHere(app);
    for (const unit of units) {
      const res = await fetch(`http://127.0.0.1:${http.port}/ofrep/v1/evaluate/flags/${key}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ context: { targetingKey: unit } }),
      });
      expect(res.status).toBe(200);
    }
    expect(await app.exposures.flush()).toBeGreaterThan(0);
    expect(logged(app)).toBe(units.length); // durable in the event log (ADR 0018)…
    expect(changesHere(app)).toBe(before); // …every row through another connection
    expect(app.exposures.size + app.exposures.inFlightSize).toBe(0);
    app.fold.catchUp();
    expect(stored(app)).toBe(units.length);
  });

  it('get_metrics waits for the worker: a report right after serving counts every unit served', async () => {
    const { app, experimentId, units } = await fileBacked(30);
    for (const unit of units) app.events.assign('home', unit);
    expect(stored(app)).toBe(0); // queued, not written: nothing waits on the database while serving
    const report = await app.metrics.report(experimentId);
    expect(stored(app)).toBe(units.length);
    expect(JSON.stringify(report)).toContain(experimentId);
  });

  it("ingest's sticky-variant check sees a served exposure the worker has not written yet", async () => {
    const { app, experimentId, units } = await fileBacked(1);
    const served = app.events.assign('home', units[0]).assignments.find((a) => a.experimentId === experimentId)!.variant;
    const other = served === 'control' ? 'focus' : 'control';
    const result = await app.events.ingest({
      events: [{ id: 'e1', type: 'exposure', experimentId, unitId: units[0], variant: other, ts: new Date().toISOString() }],
    });
    expect(result.rejected.map((r) => r.code)).toEqual(['VARIANT_MISMATCH']);
  });
});

describe('the exposure buffer in front of a worker thread', () => {
  it('holds batches while the writer is busy (back-pressure, counted), bounds what is in flight, and writes everything once it can', async () => {
    const { app, experimentId, units } = await fileBacked(36);
    const file = app.deps.db.name;
    const logger = createLogger('silent');
    const metrics = createMetrics({ defaultMetrics: false });
    const buffer = new ExposureBuffer(new WorkerExposureWriter(file, logger, 1), logger, { flushAt: 10, metrics });
    cleanups.push(() => buffer.closeSync());
    const variant = (i: number) => app.assignments.view('home', units[i])!.assignments.find((a) => a.experimentId === experimentId)!.variant;
    const exposure = (i: number) => ({ experimentId, unitId: units[i], variant: variant(i), ts: new Date().toISOString() });
    buffer.add(exposure(0));
    expect(await buffer.flush()).toBe(1); // the thread is up

    // Another connection holds the log file's write lock: the worker's next transaction waits for it (busy timeout).
    const blocker = new Database(logFileOf(file));
    cleanups.push(() => blocker.close());
    blocker.exec('BEGIN IMMEDIATE');
    for (let i = 1; i <= 10; i++) buffer.add(exposure(i)); // flushAt: handed over on the next turn
    await new Promise((r) => setImmediate(r));
    expect(buffer.inFlightSize).toBe(10);
    for (let i = 11; i <= 35; i++) buffer.add(exposure(i));
    await new Promise((r) => setImmediate(r));
    expect(buffer.inFlightSize).toBe(10); // one batch in flight at most (maxInFlight 1)
    expect(buffer.size).toBe(25);
    expect(buffer.pendingVariant(experimentId, units[3])).toBe(variant(3)); // in flight
    expect(buffer.pendingVariant(experimentId, units[20])).toBe(variant(20)); // queued
    const scrape = await metrics.registry.metrics();
    expect(scrape).toMatch(/^sealab_exposure_backpressure_total [1-9]/m);
    expect(scrape).toMatch(/^sealab_exposure_queue_depth 25$/m);
    expect(scrape).toMatch(/^sealab_exposure_in_flight 10$/m);

    blocker.exec('COMMIT');
    await buffer.drain();
    expect(buffer.size + buffer.inFlightSize).toBe(0);
    expect((blocker.prepare("SELECT COUNT(*) AS n FROM event_log WHERE type = 'exposure'").get() as { n: number }).n).toBe(36);
    expect(await metrics.registry.getSingleMetricAsString('sealab_exposures_written_total')).toMatch(/ 36$/m);
  });
});
