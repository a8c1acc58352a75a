import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqliteContainer } from '../../src/container.js';
import { enabledToolNames } from '../../src/mcp/toolsets.js';
import { tools } from '../../tools/index.js';
import { demoConfig, memoryClient, modernHttpClient, tableCounts, testContainer, testHttp, textOf, type ToolCallResult } from '../helpers/app.js';

let app: SqliteContainer;
beforeAll(async () => {
  app = await testContainer();
});
afterAll(() => app.close());

const names = async (selection: Parameters<typeof memoryClient>[1]) => {
  const client = await memoryClient(app, selection);
  const listed = (await client.listTools()).tools.map((t) => t.name).sort();
  return { client, listed };
};

describe('toolsets (--toolsets / --tools, SEALAB_TOOLSETS / SEALAB_TOOLS)', () => {
  it('lists the core toolset by default, and refuses a call to another tool naming the flag', async () => {
    const { client, listed } = await names({ tools: {} });
    expect(listed).toContain('create_experiment');
    expect(listed).not.toContain('revert_ship');
    expect(listed).not.toContain('plan_power');
    const before = tableCounts(app);
    const r = (await client.callTool({ name: 'archive_experiment', arguments: { experimentId: 'x', version: 1, reason: 'tidy up' } })) as ToolCallResult;
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(
      /^NOT_FOUND: tool 'archive_experiment' is not enabled on this server: it is in the 'operator' toolset\nNext: Restart sealab with --toolsets core,operator/,
    );
    expect(tableCounts(app)).toEqual(before);
    await client.close();
  });

  it('--toolsets core,operator adds the operator tools; all lists every tool', async () => {
    const ops = await names({ tools: { toolsets: ['core', 'operator'] } });
    expect(ops.listed).toEqual(expect.arrayContaining(['archive_experiment', 'revert_ship', 'pause_experiment', 'get_assignment', 'deploy_to_surface']));
    expect(ops.listed).not.toContain('plan_power');
    const all = await names({ tools: { toolsets: ['all'] } });
    expect(all.listed).toEqual(tools.map((t) => t.name).sort());
    await ops.client.close();
    await all.client.close();
  });

  it('--tools alone lists exactly those tools, for clients with tool limits; they work', async () => {
    const { client, listed } = await names({ tools: { tools: ['list_surfaces', 'validate_config'] } });
    expect(listed).toEqual(['list_surfaces', 'validate_config']);
    const r = (await client.callTool({ name: 'validate_config', arguments: { config: demoConfig() } })) as ToolCallResult;
    expect(r.isError, textOf(r)).toBeFalsy();
    await client.close();
  });

  it('over HTTP too: the default lists core, --toolsets widens it', async () => {
    const core = await modernHttpClient(testHttp(app, { tools: {} }));
    const listed = (await core.listTools()).tools.map((t) => t.name);
    expect(listed).toContain('get_metrics');
    expect(listed).not.toContain('hold_ramp');
    const refused = (await core.callTool({ name: 'hold_ramp', arguments: { experimentId: 'x', reason: 'look first' } })) as ToolCallResult;
    expect(textOf(refused)).toMatch(/^NOT_FOUND: tool 'hold_ramp' is not enabled on this server[\s\S]*--toolsets core,operator/);
    const wide = await modernHttpClient(testHttp(app, { tools: { toolsets: ['core', 'operator'] } }));
    expect((await wide.listTools()).tools.map((t) => t.name)).toContain('hold_ramp');
    await core.close();
    await wide.close();
  });

  it('unknown names are refused at startup with the known ones', () => {
    expect(() => enabledToolNames(tools, { tools: ['deploy'] })).toThrow(/--tools \/ SEALAB_TOOLS: unknown tool 'deploy'; tools: list_surfaces, /);
    expect(() => enabledToolNames(tools, { toolsets: ['admins'] })).toThrow(/unknown toolset 'admins'; toolsets: core, operator, analysis, ops, admin, all/);
  });
});
