import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Container } from '../container.js';
import { createHttpApp, requestGuard, type HttpApp, type HttpOptions } from './http-app.js';
import { ofrepFastPath } from './ofrep-fast-path.js';

/**
 * Binds the hono app on host:port; resolves with the bound port (0 picks a free one). Single-flag
 * OFREP evaluations, the hot serving path, are answered by a node listener in front of hono
 * (ofrep-fast-path.ts) wherever the app serves them.
 */
export function listenHttp(container: Container, opts: HttpOptions & { port: number }): Promise<{ port: number; close(): Promise<void> }> {
  const http = createHttpApp(container, opts);
  const hono = getRequestListener(http.app.fetch, { hostname: opts.host });
  const server: Server = createServer(servesSingleFlags(http) ? ofrepFastPath(container, requestGuard(opts), hono) : hono);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: async () => {
          await http.close();
          await new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}

/** The fast path answers only where the hono app mounts the same route (roles decide that in http-app.ts). */
const servesSingleFlags = (http: HttpApp) => http.app.routes.some((r) => r.method === 'POST' && r.path === '/ofrep/v1/evaluate/flags/:key');
