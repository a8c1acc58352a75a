import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Container } from '../container.js';
import { createHttpApp, type HttpApp, type HttpOptions } from './http-app.js';
import { ofrepFastPath } from './ofrep-fast-path.js';

/**
 * How long a client may take and how many may connect at once, so slow or idle sockets cannot pile up.
 * Each defaults to the value below; config.ts reads them from SEALAB_* variables.
 */
export interface ListenLimits {
  /** Time to receive a request's headers (node `headersTimeout`); a socket still sending them is closed. Default 10 s. */
  headersTimeoutMs?: number;
  /**
   * Time to receive a whole request, headers and body (node `requestTimeout`; 0 disables). It ends
   * once the request is in: a long response, such as the MCP GET stream or an SSE answer, is not cut. Default 30 s.
   */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection waits for its next request (node `keepAliveTimeout`). Default 5 s. */
  keepAliveTimeoutMs?: number;
  /** Open connections at most (node `maxConnections`); a connection beyond it is closed on accept. Default 1024. */
  maxConnections?: number;
}

export const LISTEN_DEFAULTS: Required<ListenLimits> = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1024,
};

/**
 * Binds the hono app on host:port; resolves with the bound port (0 picks a free one). Single-flag
 * OFREP evaluations, the hot serving path, are answered by a node listener in front of hono
 * (ofrep-fast-path.ts) wherever the app serves them.
 */
export function listenHttp(container: Container, opts: HttpOptions & ListenLimits & { port: number }): Promise<{ port: number; close(): Promise<void> }> {
  const http = createHttpApp(container, opts);
  const hono = getRequestListener(http.app.fetch, { hostname: opts.host });
  const limits = { ...LISTEN_DEFAULTS, ...definedOnly(opts) };
  const server: Server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks the two timeouts above on this interval (30 s unless set), so a slow-header socket
      // would otherwise outlive headersTimeout by up to that much.
      connectionsCheckingInterval: checkingInterval(limits),
    },
    servesSingleFlags(http) ? ofrepFastPath(container, http.guard, hono) : hono,
  );
  server.maxConnections = limits.maxConnections;
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

/** Just the limits of a larger object (the Config, say), so they can be spread into listenHttp's options. */
export const listenLimits = ({ headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, maxConnections }: ListenLimits): ListenLimits => ({
  headersTimeoutMs,
  requestTimeoutMs,
  keepAliveTimeoutMs,
  maxConnections,
});

const definedOnly = (opts: ListenLimits): ListenLimits => Object.fromEntries(Object.entries(listenLimits(opts)).filter(([, v]) => v !== undefined));

/** A quarter of the shortest timeout, between 10 ms and 1 s: a socket is cut at most that late. */
const checkingInterval = (l: Required<ListenLimits>) => {
  const shortest = Math.min(l.headersTimeoutMs, l.requestTimeoutMs || Number.POSITIVE_INFINITY);
  return Math.max(10, Math.min(1000, Math.floor(shortest / 4)));
};
