import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Container } from '../container.js';
import { AppError } from '../errors.js';
import { isLoopback } from '../config.js';
import { problemAnswer, requestGuard, requestIdOf, type HttpOptions } from './http-app.js';
import { metricsAnswer } from './metrics-answer.js';

/**
 * `--metrics-port N`: GET /metrics alone on its own listener, so a scraper needs no access to the
 * API port. On loopback it asks for no token (only local processes reach it); on any other host
 * it runs the same guards as the main port (a token with the read scope).
 */
export function listenMetrics(container: Container, opts: HttpOptions & { port: number }): Promise<{ port: number; close(): Promise<void> }> {
  const guard = isLoopback(opts.host) ? undefined : requestGuard(opts);
  const server = createServer(async (req, res) => {
    const requestId = requestIdOf(req.headers['x-request-id'] as string | undefined);
    const send = (a: { status: number; headers: Record<string, string>; body: unknown }) => {
      res.writeHead(a.status, { ...a.headers, 'x-request-id': requestId });
      res.end(typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
    };
    try {
      const path = (req.url ?? '/').split('?', 1)[0];
      if (req.method !== 'GET' || path !== '/metrics')
        throw new AppError('NOT_FOUND', `no route ${req.method} ${path} on the metrics port`, 'This port serves GET /metrics only.');
      if (guard) {
        const h = { host: req.headers.host, origin: req.headers.origin, authorization: req.headers.authorization };
        const who = await guard.check(h, 'GET', '/metrics');
        if ('error' in who) return send(problemAnswer(who.error, requestId, who.headers));
      }
      send(await metricsAnswer(container));
    } catch (err) {
      send(problemAnswer(err, requestId));
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () =>
      resolve({ port: (server.address() as AddressInfo).port, close: () => new Promise<void>((done) => server.close(() => done())) }),
    );
  });
}
