import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import type { SqliteContainer } from '../../src/container.js';
import { demoConfig, memoryClient, testContainer, type ToolCallResult } from '../helpers/app.js';

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

type Content = { type: string; uri?: string; name?: string; text?: string };
type Answer = Omit<ToolCallResult, 'content'> & { content: Content[]; structuredContent: Record<string, any> };
const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as unknown as Answer;

describe('write tools answer a summary and link the full record', () => {
  it('create, validate and deploy: summary fields, plan hash once validated, a resource_link that reads the full experiment', async () => {
    const created = await call('create_experiment', { config: demoConfig({ key: 'compact-answer' }) });
    const summary = created.structuredContent.experiment;
    expect(Object.keys(summary).sort()).toEqual(['allocationPercent', 'id', 'key', 'outcome', 'planHash', 'status', 'surfaceId', 'version']);
    expect(summary).toMatchObject({ key: 'compact-answer', status: 'draft', version: 1, planHash: null });

    const link = created.content.find((c) => c.type === 'resource_link');
    expect(link).toMatchObject({ uri: `sealab://experiment/${summary.id}`, name: 'compact-answer' });
    const read = await client.readResource({ uri: link!.uri! });
    const full = JSON.parse((read.contents[0] as { text: string }).text);
    expect(full.experiment).toMatchObject({ id: summary.id, version: 1, variants: expect.any(Array), analysisPlan: expect.any(Object) });

    const { planHash } = (await call('validate_config', { experimentId: summary.id })).structuredContent;
    const deployed = await call('deploy_to_surface', { experimentId: summary.id, version: 1, planHash, confirmation: { reason: 'approved in the test' } });
    expect(deployed.structuredContent.experiment).toMatchObject({ status: 'running', version: 2, planHash });
    expect(deployed.structuredContent.experiment).not.toHaveProperty('variants');
  });
});
