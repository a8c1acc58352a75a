import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createContainer, dbFileIn } from '../../src/container.js';
import { demoConfig, permissivePolicy, startRunning } from '../helpers/app.js';
import { startServe, type ServeProcess } from '../helpers/cli.js';

/**
 * How durable a served exposure is (ADR 0019), through the real `sealab serve`: a SIGTERM drains
 * every exposure served before it exits; a SIGKILL loses at most what was not yet acknowledged by the
 * writer thread — never an exposure written before the kill.
 */
let cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

/** A data directory with a running experiment (50%), and `count` units in it chosen by their arm. */
async function dataDir(count: number): Promise<{ dir: string; key: string; units: string[] }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sealab-durability-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'policy.json'), JSON.stringify(permissivePolicy()));
  const app = await createContainer({ dbFile: dbFileIn(dir), policy: permissivePolicy() });
  try {
    const exp = await startRunning(app, demoConfig({ allocationPercent: 50 }));
    const units: string[] = [];
    for (let i = 0; units.length < count; i++)
      if (app.assignments.view('home', `d${i}`)?.assignments.some((a) => a.experimentId === exp.id)) units.push(`d${i}`);
    return { dir, key: exp.key, units };
  } finally {
    app.close();
  }
}

async function serveOn(dir: string): Promise<ServeProcess> {
  const serve = await startServe(dir, path.join(dir, 'policy.json'));
  cleanups.push(async () => {
    serve.child.kill('SIGKILL');
    await serve.exited;
  });
  return serve;
}

/** Evaluates the flag for each unit, a few requests at a time; every answer is a 200 (each queued one exposure). */
async function evaluate(serve: ServeProcess, key: string, units: string[]): Promise<void> {
  for (let i = 0; i < units.length; i += 10)
    await Promise.all(
      units.slice(i, i + 10).map(async (unit) => {
        const res = await fetch(`${serve.url}/ofrep/v1/evaluate/flags/${key}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ context: { targetingKey: unit } }),
        });
        expect(res.status).toBe(200);
      }),
    );
}

/**
 * Exposures stored durably after the process is gone: a served exposure is durable once it is in the event
 * log (ADR 0018), folded or not, so the count is taken after the next process folds what is pending.
 */
const storedIn = async (dir: string) => {
  const app = await createContainer({ dbFile: dbFileIn(dir), policy: permissivePolicy() });
  try {
    app.fold.catchUp();
    return (app.deps.db.prepare('SELECT COUNT(*) AS n FROM exposures').get() as { n: number }).n;
  } finally {
    app.close();
  }
};

const metric = async (serve: ServeProcess, name: string) => {
  const text = await (await fetch(`${serve.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
};

describe('a served exposure is durable', () => {
  it('SIGTERM: every exposure served before the signal is stored before the process exits', { timeout: 90_000 }, async () => {
    const { dir, key, units } = await dataDir(300);
    const serve = await serveOn(dir);
    await evaluate(serve, key, units);
    serve.child.kill('SIGTERM');
    await serve.exited;
    expect(serve.child.exitCode).toBe(0);
    expect(await storedIn(dir)).toBe(units.length);
  });

  it('SIGKILL: exposures the writer acknowledged survive; only what was queued or in flight is lost', { timeout: 90_000 }, async () => {
    const { dir, key, units } = await dataDir(600);
    const [first, second] = [units.slice(0, 300), units.slice(300)];
    const serve = await serveOn(dir);
    await evaluate(serve, key, first);
    // Without any reader asking, the writer thread stores them within its flush interval: nothing left at risk.
    await expect.poll(() => metric(serve, 'sealab_exposures_written_total'), { timeout: 15_000 }).toBe(first.length);
    expect(await metric(serve, 'sealab_exposure_queue_depth')).toBe(0);
    expect(await metric(serve, 'sealab_exposure_in_flight')).toBe(0);

    await evaluate(serve, key, second);
    serve.child.kill('SIGKILL');
    await serve.exited;
    const stored = await storedIn(dir);
    const lost = units.length - stored;
    // Every acknowledged exposure survived; the loss is confined to the last ones served before the kill.
    expect(stored).toBeGreaterThanOrEqual(first.length);
    expect(lost).toBeGreaterThanOrEqual(0);
    expect(lost).toBeLessThanOrEqual(second.length);
  });
});
