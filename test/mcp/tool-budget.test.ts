import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import type { SqliteContainer } from '../../src/container.js';
import { memoryClient, testContainer } from '../helpers/app.js';

/** The default tool list is paid in every conversation of every user: README "Context budget". */
const BUDGET_BYTES = 40_000;

let app: SqliteContainer;
let client: Client;
let listed: Awaited<ReturnType<Client['listTools']>>;

beforeAll(async () => {
  app = await testContainer();
  client = await memoryClient(app, { tools: {} }); // the server's own default: the core toolset
  listed = await client.listTools();
});
afterAll(async () => {
  await client.close();
  app.close();
});

const bytes = (x: unknown) => (x === undefined ? 0 : Buffer.byteLength(JSON.stringify(x), 'utf8'));

describe('context budget (the default tools/list)', () => {
  it(`stays within ${BUDGET_BYTES} bytes, bytes per tool printed`, () => {
    const rows = listed.tools.map((t) => ({
      tool: t.name,
      total: bytes(t),
      description: bytes(t.description),
      input: bytes(t.inputSchema),
      output: bytes(t.outputSchema),
    }));
    const total = bytes(listed);
    console.table(rows);
    console.log(`default tools/list: ${total} bytes for ${listed.tools.length} tools (budget ${BUDGET_BYTES})`);
    expect(total).toBeLessThanOrEqual(BUDGET_BYTES);
  });

  it('every listed tool keeps an outputSchema', () => {
    for (const t of listed.tools) expect(t.outputSchema?.type, t.name).toBe('object');
  });
});
