import { afterEach, describe, expect, it, vi } from 'vitest';
import { InMemoryTransport, McpServer, type McpRequestContext } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { Client } from '@modelcontextprotocol/client';
import { createSubscriptionHub, type SubscriptionHub } from '../../src/server/subscriptions.js';

const SURFACES = 'sealab://surfaces';
const OTHER = 'sealab://experiments';

function newServer() {
  const server = new McpServer({ name: 'hub-test', version: '0.0.0' });
  server.registerResource('surfaces', SURFACES, { description: 'Surfaces' }, (uri) => ({ contents: [{ uri: uri.href, text: '[]' }] }));
  return server;
}

let cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  cleanups = [];
});

/** What a client saw, in arrival order (one in-memory pipe keeps order). */
function record(client: Client) {
  const seen: string[] = [];
  client.setNotificationHandler('notifications/resources/updated', (n) => {
    seen.push(n.params.uri);
  });
  client.setNotificationHandler('notifications/resources/list_changed', () => {
    seen.push('list_changed');
  });
  return seen;
}

/** The way the stdio entry is meant to use the hub: attach inside the factory with ctx.era. */
function serveOverStdio(hub: SubscriptionHub) {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const handle = serveStdio(
    (ctx: McpRequestContext) => {
      const server = newServer();
      hub.attach(server, ctx.era);
      return server;
    },
    { transport: serverSide },
  );
  cleanups.push(() => handle.close());
  return clientSide;
}

describe('SubscriptionHub on a 2025-era connection', () => {
  it('delivers updates only for subscribed URIs, and stops after unsubscribe', async () => {
    const hub = createSubscriptionHub();
    const client = new Client({ name: 'c', version: '1' });
    await client.connect(serveOverStdio(hub));
    cleanups.push(() => client.close());
    const seen = record(client);

    await client.subscribeResource({ uri: SURFACES });
    hub.resourceUpdated(OTHER);
    hub.resourceUpdated(SURFACES);
    await client.unsubscribeResource({ uri: SURFACES });
    hub.resourceUpdated(SURFACES);
    hub.resourcesChanged();

    await vi.waitFor(() => expect(seen).toEqual([SURFACES, 'list_changed']), { timeout: 2_000, interval: 10 });
    expect(client.getServerCapabilities()?.resources).toMatchObject({ subscribe: true, listChanged: true });
  });

  it('detaches a server when it closes', async () => {
    const hub = createSubscriptionHub();
    const server = newServer();
    hub.attach(server);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'c', version: '1' });
    await client.connect(clientSide);
    expect(hub.size).toBe(1);

    await client.close();

    await vi.waitFor(() => expect(hub.size).toBe(0), { timeout: 2_000, interval: 10 });
  });
});

describe('SubscriptionHub on a 2026-07-28 stdio connection', () => {
  it('reaches a subscriptions/listen stream that asked for the URI', async () => {
    const hub = createSubscriptionHub();
    const client = new Client({ name: 'c', version: '2' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await client.connect(serveOverStdio(hub));
    cleanups.push(() => client.close());
    const seen = record(client);

    const subscription = await client.listen({ resourceSubscriptions: [SURFACES] });
    cleanups.push(() => subscription.close());
    hub.resourceUpdated(OTHER);
    hub.resourceUpdated(SURFACES);

    await vi.waitFor(() => expect(seen).toEqual([SURFACES]), { timeout: 2_000, interval: 10 });
  });
});
