import { McpServer, type Server } from '@modelcontextprotocol/server';

/** What a factory returns: the high-level server or the low-level one it wraps. */
export type AnyMcpServer = McpServer | Server;

/** The protocol era one server instance serves (the factory's `ctx.era`). */
export type ServedEra = 'legacy' | 'modern';

/** Fans resource change events out to every connected server instance of this process. */
export interface SubscriptionHub {
  /**
   * Advertise subscriptions on `server` and, for a 2025-era instance, answer
   * `resources/subscribe` / `resources/unsubscribe`. Call before `connect()`.
   * Detaches by itself when the server closes; the returned function detaches early.
   */
  attach(server: AnyMcpServer, era?: ServedEra): () => void;
  /** Send `notifications/resources/updated` to the instances that asked for `uri`. */
  resourceUpdated(uri: string): void;
  /** Send `notifications/resources/list_changed` to every attached instance. */
  resourcesChanged(): void;
  /** Attached instances (for health and tests). */
  readonly size: number;
}

interface Attached {
  server: Server;
  era: ServedEra;
  uris: Set<string>;
}

/** The low-level server behind either kind of factory product. */
export function lowLevelServer(server: AnyMcpServer): Server {
  return server instanceof McpServer ? server.server : server;
}

/**
 * Declare `resources: { subscribe, listChanged }` so that 2025 clients may subscribe and
 * 2026 `subscriptions/listen` filters asking for resource URIs are honoured. Before `connect()`.
 */
export function advertiseResourceSubscriptions(server: AnyMcpServer): void {
  lowLevelServer(server).registerCapabilities({ resources: { subscribe: true, listChanged: true } });
}

/**
 * One hub per process. HTTP: the route attaches each 2025 session. stdio: the factory
 * attaches its one instance with `ctx.era`; a modern stdio instance gets every event and the
 * SDK's listen router forwards only what the client's `subscriptions/listen` asked for.
 */
export function createSubscriptionHub(options: { onerror?: (error: Error) => void } = {}): SubscriptionHub {
  const attached = new Set<Attached>();
  const report = (error: unknown) => options.onerror?.(error instanceof Error ? error : new Error(String(error)));
  const send = (entry: Attached, notify: (server: Server) => Promise<void>) => {
    // A closed or not-yet-initialised connection cannot take notifications; that is not a fault.
    if (entry.server.transport === undefined) return;
    notify(entry.server).catch(report);
  };

  return {
    attach(product, era = 'legacy') {
      const server = lowLevelServer(product);
      advertiseResourceSubscriptions(server);
      const entry: Attached = { server, era, uris: new Set() };
      server.setRequestHandler('resources/subscribe', (request) => {
        entry.uris.add(request.params.uri);
        return {};
      });
      server.setRequestHandler('resources/unsubscribe', (request) => {
        entry.uris.delete(request.params.uri);
        return {};
      });
      attached.add(entry);
      const detach = () => {
        attached.delete(entry);
      };
      const previousOnClose = server.onclose;
      server.onclose = () => {
        detach();
        previousOnClose?.();
      };
      return detach;
    },
    resourceUpdated(uri) {
      for (const entry of attached) {
        if (entry.era === 'modern' || entry.uris.has(uri)) {
          send(entry, (server) => server.sendResourceUpdated({ uri }));
        }
      }
    },
    resourcesChanged() {
      for (const entry of attached) send(entry, (server) => server.sendResourceListChanged());
    },
    get size() {
      return attached.size;
    },
  };
}
