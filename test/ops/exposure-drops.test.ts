import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listenHttp } from '../../src/server/http-listen.js';
import { demoConfig, permissivePolicy, startRunning, testContainer } from '../helpers/app.js';

let cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

/** An events gateway (POST /v1/events) that holds every request until released, then acknowledges them all. */
async function stalledIngest() {
  const held: Array<{ req: IncomingMessage; res: ServerResponse; events: number }> = [];
  let released = false;
  const answer = (res: ServerResponse, events: number) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: events, duplicates: 0, rejected: [] }));
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const events = (JSON.parse(body) as { events: unknown[] }).events.length;
      if (released) answer(res, events);
      else held.push({ req, res, events });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    release: () => {
      released = true;
      for (const h of held.splice(0)) answer(h.res, h.events);
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const sample = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('sealab_exposures_dropped_total', () => {
  it('counts the exposures a full queue drops while the events gateway does not answer, as a real /metrics scrape shows', async () => {
    const ingest = await stalledIngest();
    cleanups.push(() => ingest.close());
    const app = await testContainer({ policy: permissivePolicy(), remote: { eventsUrl: ingest.url, timeoutMs: 60_000 }, exposureQueueMax: 5 });
    cleanups.push(() => app.close());
    const exp = await startRunning(app, demoConfig({ allocationPercent: 50 }));
    // Units in the experiment (any arm), chosen by their assignment: each evaluation queues one exposure.
    const units: string[] = [];
    for (let i = 0; units.length < 9; i++) if (app.assignments.view('home', `u${i}`)?.assignments.some((a) => a.experimentId === exp.id)) units.push(`u${i}`);
    const http = await listenHttp(app, { host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576 });
    cleanups.push(() => http.close());
    const evaluate = (unit: string) =>
      fetch(`http://127.0.0.1:${http.port}/ofrep/v1/evaluate/flags/${exp.key}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ context: { targetingKey: unit } }),
      });

    // The first exposure goes out and the gateway holds it: every later batch waits behind it.
    expect((await evaluate(units[0])).status).toBe(200);
    void app.exposures.flush(); // the first batch goes out (one request at a time to a sink)
    await expect.poll(() => ingest.held.length).toBe(1);
    for (const unit of units.slice(1)) expect((await evaluate(unit)).status).toBe(200);
    // Eight more exposures, a queue of five: the three oldest were dropped.
    expect(app.exposures.size).toBe(5);

    const scrape = await (await fetch(`http://127.0.0.1:${http.port}/metrics`)).text();
    expect(sample(scrape, 'sealab_exposures_queued_total')).toBe(9);
    expect(sample(scrape, 'sealab_exposures_dropped_total')).toBe(3);
    expect(sample(scrape, 'sealab_exposures_written_total')).toBe(0);

    // Once the gateway answers, what was kept is sent and counted as written; the drops stay counted.
    ingest.release();
    await app.exposures.drain();
    const after = await (await fetch(`http://127.0.0.1:${http.port}/metrics`)).text();
    expect(sample(after, 'sealab_exposures_written_total')).toBe(6);
    expect(sample(after, 'sealab_exposures_dropped_total')).toBe(3);
  });
});
