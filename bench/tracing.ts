/**
 * What tracing costs a request the hono app serves: `GET /v1/surfaces/home/layout` (a serving route,
 * a fresh unit per request) called in process (no socket, so the overhead is not hidden behind the
 * network), with tracing off (the default) and on (a server span per request, exported in batches
 * over OTLP/HTTP to a local receiver that discards them). Rounds alternate and the order flips each
 * round; the overhead is taken per round (on against off, paired) and its median printed. Random unit
 * ids (--consecutive for u0, u1, …); the shipped logging (info on stderr). The OFREP fast path is not
 * measured: it has no tracing hook.
 *
 *   npx tsx bench/tracing.ts [--requests 20000] [--rounds 3] [--consecutive]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpApp } from '../src/server/http-app.js';
import { startTracing } from '../src/ops/tracing.js';
import { arg, benchContainer, fmt, loadLine, median, shippedLogger, unitIds } from './helpers.js';

const REQUESTS = arg('requests', 20_000);
const ROUNDS = arg('rounds', 3);
const WARMUP = 2000;

let exported = 0;
const receiver = createServer((req, res) => {
  req.on('data', (d: Buffer) => {
    exported += d.length;
  });
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
});
await new Promise<void>((done) => receiver.listen(0, '127.0.0.1', done));
const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`;

const units = unitIds(REQUESTS + WARMUP);

/** Mean microseconds per request over n sequential requests. */
async function round(on: boolean): Promise<number> {
  const tracing = on ? startTracing({ url, serviceName: 'sealab-bench' }) : undefined;
  const { app, dispose } = await benchContainer(on ? 'trace-on' : 'trace-off', { logger: shippedLogger() });
  let unit = 0;
  const http = createHttpApp(app, { host: '127.0.0.1', maxBodyBytes: 1_048_576 });
  const get = async () => {
    const res = await http.app.request(`/v1/surfaces/home/layout?unit=${encodeURIComponent(units[unit++])}`, { headers: { host: '127.0.0.1' } });
    if (res.status !== 200) throw new Error(`layout answered ${res.status}`);
    await res.arrayBuffer();
  };
  for (let i = 0; i < WARMUP; i++) await get();
  const started = performance.now();
  for (let i = 0; i < REQUESTS; i++) await get();
  const micros = ((performance.now() - started) * 1000) / REQUESTS;
  await tracing?.shutdown();
  await http.close();
  await app.exposures.drain();
  dispose();
  return micros;
}

const off: number[] = [];
const on: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  for (const mode of r % 2 ? [true, false] : [false, true]) (mode ? on : off).push(await round(mode));
  process.stderr.write(`round ${r + 1}: off ${off.at(-1)!.toFixed(1)} µs, on ${on.at(-1)!.toFixed(1)} µs per request\n`);
}
const a = median(off);
const b = median(on);
const overhead = median(on.map((x, i) => x / off[i] - 1));
process.stdout.write(
  `GET /v1/surfaces/home/layout in process, ${fmt(REQUESTS)} requests x ${ROUNDS} rounds (medians); ${loadLine()}\n` +
    `  tracing off: ${a.toFixed(1)} µs/request (${fmt(1e6 / a)}/s)\n` +
    `  tracing on:  ${b.toFixed(1)} µs/request (${fmt(1e6 / b)}/s), +${(overhead * 100).toFixed(1)}% (median of per-round ratios); ${fmt(exported / 1024)} KiB of OTLP JSON exported\n`,
);
receiver.close();
