/**
 * Child process for bench/ofrep-http.ts: serves either sealab (with a running experiment) or a bare
 * hono constant endpoint. `--log` turns sealab's HTTP log on at info, written to /dev/null, to
 * measure what the per-request log line costs.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { pino } from 'pino';
import { listenHttp } from '../src/server/http-listen.js';
import { benchContainer } from './helpers.js';

const mode = process.argv[2];
const port = Number(process.argv[3]);

if (mode === 'bare') {
  const app = new Hono();
  const body = { key: 'bench', value: 'treatment', variant: 'treatment', reason: 'SPLIT', metadata: { bucket: 1 }, cacheable: false };
  app.post('/ofrep/v1/evaluate/flags/:key', (c) => c.json(body));
  serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => process.stdout.write('ready\n'));
} else {
  const { app } = benchContainer('ofrep');
  // The HTTP layer logs through container.logger; this is createLogger('info') with /dev/null for stderr.
  if (process.argv.includes('--log')) app.logger = pino({ level: 'info', base: { svc: 'sealab' } }, pino.destination('/dev/null'));
  await listenHttp(app, { host: '127.0.0.1', port, maxBodyBytes: 1 << 20 });
  process.stdout.write('ready\n');
}
