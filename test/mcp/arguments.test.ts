import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import type { SqliteContainer } from '../../src/container.js';
import { memoryClient, tableCounts, testContainer, textOf, type ToolCallResult } from '../helpers/app.js';

let app: SqliteContainer;
let client: Client;
beforeAll(async () => {
  app = await testContainer();
  client = await memoryClient(app);
});
afterAll(async () => {
  await client.close();
  app.close();
});

const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as ToolCallResult;

describe('tool arguments', () => {
  it('an unknown argument is refused with the allowed names (and a guess), writing nothing', async () => {
    const before = tableCounts(app);
    const r = await call('deploy_to_surface', { experimentId: 'home-focus-shelf', version: 1, planhash: 'x'.repeat(16) });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(
      /^INVALID_INPUT: unknown argument 'planhash' \(did you mean 'planHash'\?\) for deploy_to_surface; allowed: experimentId, version, planHash, allocationPercent, dryRun, idempotencyKey, confirmation\n/,
    );
    expect(textOf(r)).toMatch(/\nNext: Call deploy_to_surface again with only the allowed arguments\.$/);
    expect(tableCounts(app)).toEqual(before);
  });

  it('a missing required argument says what it is and where to get it', async () => {
    const r = await call('deploy_to_surface', { experimentId: 'home-focus-shelf', version: 'one' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(
      /^INVALID_INPUT: invalid arguments for deploy_to_surface: version: .*; planHash is required: planHash from validate_config \(or from the previous deploy\)/,
    );
    expect(textOf(r)).not.toMatch(/received undefined/);
  });

  it('the listed input schemas say unknown arguments are not accepted', async () => {
    const { tools } = await client.listTools();
    for (const t of tools) expect(t.inputSchema.additionalProperties, t.name).toBe(false);
  });
});
