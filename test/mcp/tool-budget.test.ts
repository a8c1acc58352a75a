import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import type { Container } from '../../src/container.js';
import { memoryClient, testContainer } from '../helpers/app.js';

let app: Container;
let client: Client;
let listed: Awaited<ReturnType<Client['listTools']>>;

beforeAll(async () => {
  app = testContainer();
  client = await memoryClient(app);
  listed = await client.listTools();
});
afterAll(async () => {
  await client.close();
  app.close();
});

const bytes = (x: unknown) => (x === undefined ? 0 : Buffer.byteLength(JSON.stringify(x), 'utf8'));

describe('context budget', () => {
  it('prints bytes per tool', () => {
    const rows = listed.tools.map((t) => ({
      tool: t.name,
      total: bytes(t),
      description: bytes(t.description),
      input: bytes(t.inputSchema),
      output: bytes(t.outputSchema),
    }));
    console.log(JSON.stringify(rows));
    console.table(rows);
    console.log(`tools/list: ${bytes(listed)} bytes for ${listed.tools.length} tools`);
  });
});
