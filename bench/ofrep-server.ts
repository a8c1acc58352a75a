/**
 * Child process for bench/ofrep-http.ts: serves either sealab (with a running experiment) or a bare
 * hono constant endpoint on a free port (port 0), and prints `ready <port> <log level>`. sealab logs
 * as `sealab serve` does: createLogger(config.logLevel) to stderr, so SEALAB_LOG_LEVEL (default info)
 * sets what the bench measures; SEALAB_METRICS=off builds no Prometheus metrics (the overhead baseline).
 * As `sealab serve` does (main.ts), sealab folds the event log in background turns on its main thread, so
 * the served exposures the worker appends are folded as they would be in production; `--no-fold` (after the
 * mode) leaves them in the log, as this bench did before (ADR 0007, issue 16 addendum).
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { listenHttp } from '../src/server/http-listen.js';
import { answerSingle } from '../src/server/ofrep-evaluate.js';
import { benchContainer } from './helpers.js';

const mode = process.argv[2];

if (mode === 'bare') {
  const app = new Hono();
  const body = { key: 'bench', value: 'treatment', variant: 'treatment', reason: 'SPLIT', metadata: { bucket: 1 }, cacheable: false };
  app.post('/ofrep/v1/evaluate/flags/:key', (c) => c.json(body));
  serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => process.stdout.write(`ready ${info.port} -\n`));
} else {
  const config = loadConfig();
  const { app } = await benchContainer('ofrep', { logger: createLogger(config.logLevel), metrics: config.metrics });
  const fold = !process.argv.includes('--no-fold');
  if (fold) app.fold.start();
  const http = await listenHttp(app, { host: '127.0.0.1', port: 0, maxBodyBytes: config.maxBodyBytes });
  // The exposure worker starts on the first batch and compiles its modules (seconds of CPU from source): started
  // and acknowledged before the load, so the warm-up does not measure it.
  for (let i = 0; i < 100; i++) answerSingle(app, 'bench-ofrep', JSON.stringify({ context: { targetingKey: `prime-${i}` } }));
  await app.exposures.flush();
  process.stdout.write(`ready ${http.port} ${config.logLevel} metrics=${config.metrics ? 'on' : 'off'} fold=${fold ? 'on' : 'off'}\n`);
}
