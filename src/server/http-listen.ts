import { serve, type ServerType } from '@hono/node-server';
import type { Container } from '../container.js';
import { createHttpApp, type HttpOptions } from './http-app.js';

/** Binds the hono app on host:port; resolves with the bound port (0 picks a free one). */
export function listenHttp(container: Container, opts: HttpOptions & { port: number }): Promise<{ port: number; close(): Promise<void> }> {
  const http = createHttpApp(container, opts);
  return new Promise((resolve) => {
    const server: ServerType = serve({ fetch: http.app.fetch, port: opts.port, hostname: opts.host }, (info) => {
      resolve({
        port: info.port,
        close: async () => {
          await http.close();
          await new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}
