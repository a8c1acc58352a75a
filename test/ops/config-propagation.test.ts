import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SqliteContainer, createContainer, dbFileIn } from '../../src/container.js';
import { demoConfig, permissivePolicy, startRunning } from '../helpers/app.js';
import { startServe, type ServeProcess } from '../helpers/cli.js';

/**
 * Configuration propagation across two processes on one SQLite file: a write committed by this
 * process (a container on the file, as a stdio server beside `serve` would be) reaches a spawned
 * `sealab serve`, whose /metrics shows the new revision and one more propagation observation.
 */

let dir: string;
let serve: ServeProcess;
let writer: SqliteContainer;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sealab-propagation-'));
  writeFileSync(path.join(dir, 'policy.json'), JSON.stringify(permissivePolicy()));
  serve = await startServe(dir, path.join(dir, 'policy.json'));
  writer = await createContainer({ dbFile: dbFileIn(dir), policy: permissivePolicy() });
}, 30_000);

afterAll(async () => {
  writer?.close();
  serve?.child.kill('SIGTERM');
  await serve?.exited;
  rmSync(dir, { recursive: true, force: true });
});

const sample = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};
const scrape = async () => (await fetch(`${serve.url}/metrics`)).text();

describe('configuration propagation between two processes sharing one database file', () => {
  it("a deploy written by one process is served by the other: its revision metric matches the writer's and the propagation histogram observes it", async () => {
    const before = await scrape();
    const observed = sample(before, 'sealab_config_propagation_seconds_count') ?? 0;

    const exp = await startRunning(writer, demoConfig({ allocationPercent: 50 }));
    const revision = sample(await writer.opsMetrics!.registry.metrics(), 'sealab_serving_config_revision');
    expect(revision).toBeGreaterThan(sample(before, 'sealab_serving_config_revision') ?? 0);

    // The serving process picks the write up through its watcher, with no request to it in between.
    await expect.poll(async () => sample(await scrape(), 'sealab_serving_config_revision'), { timeout: 15_000, interval: 100 }).toBe(revision);
    const after = await scrape();
    const count = sample(after, 'sealab_config_propagation_seconds_count')!;
    expect(count).toBeGreaterThan(observed);
    // Commit to serving, across processes: every observation is in a finite bucket (not a clock skew of hours).
    expect(sample(after, 'sealab_config_propagation_seconds_bucket{le="30"}')).toBe(count);
    expect(sample(after, 'sealab_config_propagation_seconds_sum')).toBeGreaterThanOrEqual(0);
    // And it serves the experiment.
    const flag = await fetch(`${serve.url}/ofrep/v1/evaluate/flags/${exp.key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ context: { targetingKey: 'u1' } }),
    });
    expect(((await flag.json()) as { metadata: { status: string } }).metadata.status).toBe('running');
  });
});
