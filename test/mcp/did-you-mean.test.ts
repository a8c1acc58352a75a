import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import type { SqliteContainer } from '../../src/container.js';
import { didYouMean, nearest } from '../../src/domain/suggest.js';
import type { HttpApp } from '../../src/server/http-app.js';
import { demoConfig, memoryClient, tableCounts, testContainer, testHttp, textOf, type ToolCallResult } from '../helpers/app.js';

let app: SqliteContainer;
let http: HttpApp;
let client: Client;
beforeEach(async () => {
  app = await testContainer();
  http = testHttp(app);
  client = await memoryClient(app);
});
afterEach(async () => {
  await client.close();
  await http.close();
  app.close();
});

const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as ToolCallResult;
const get = async (path: string) => {
  const res = await http.app.request(path, { headers: { host: '127.0.0.1' } });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
};

describe('nearest', () => {
  const metrics = ['stream-rate', 'streams-per-user', 'skips', 'skips-per-stream', 'saves', 'minutes-played'];

  it('ranks typos, case and containment, closest first, at most three', () => {
    expect(nearest('homee', ['home', 'search', 'now-playing'])).toEqual(['home']);
    expect(nearest('HOME', ['home', 'search'])).toEqual(['home']);
    expect(nearest('streams', metrics)).toEqual(['streams-per-user']);
    expect(nearest('skip', metrics)).toEqual(['skips', 'skips-per-stream']);
    expect(nearest('s', metrics)).toEqual([]);
    expect(nearest('revenue', metrics)).toEqual([]);
    expect(nearest('shelf', ['shelf-1', 'shelf-2', 'shelf-3', 'shelf-4'])).toHaveLength(3);
  });

  it('words the hint for one or several', () => {
    expect(didYouMean(['home'])).toBe("Did you mean 'home'?");
    expect(didYouMean(['a', 'b', 'c'])).toBe("Did you mean 'a', 'b' or 'c'?");
    expect(didYouMean([])).toBe('');
  });
});

describe('unknown ids suggest the nearest known ones', () => {
  it('plan_power: a metric and a surface', async () => {
    const metric = await call('plan_power', { metricId: 'streams', mde: 0.05 });
    expect(metric.isError).toBe(true);
    expect(textOf(metric)).toMatch(
      /^NOT_FOUND: metric 'streams' does not exist\nDetails: \{"suggestions":\["streams-per-user"\]\}\nNext: Did you mean 'streams-per-user'\? /,
    );
    const surface = await call('plan_power', { metricId: 'stream-rate', mde: 0.05, surfaceId: 'homee' });
    expect(textOf(surface)).toContain("Next: Did you mean 'home'?");
    const unrelated = await call('plan_power', { metricId: 'revenue', mde: 0.05 });
    expect(textOf(unrelated)).not.toContain('Did you mean');
  });

  it('plan_experiment: a surface', async () => {
    const r = await call('plan_experiment', { surfaceId: 'serch', goal: 'more searches end in a stream' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain("Did you mean 'search'?");
  });

  it('get_assignment (operator toolset): a surface', async () => {
    const r = await call('get_assignment', { surfaceId: 'homee', unitId: 'user-1' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain("Did you mean 'home'?");
  });

  it('get_experiment: an experiment key', async () => {
    const created = await call('create_experiment', { config: demoConfig() });
    expect(created.isError, textOf(created)).toBeFalsy();
    const counts = tableCounts(app);
    const r = await call('get_experiment', { experimentId: 'home-focus-shelff' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain("Did you mean 'home-focus-shelf'?");
    expect(tableCounts(app)).toEqual(counts);
  });

  it('validate_config: surface, metric and content findings carry the suggestion in their fix', async () => {
    const typos = await call('validate_config', {
      config: demoConfig({
        successMetrics: ['streams'],
        guardrails: [{ metricId: 'crash-rates', margin: 0.02, test: 'no_deterioration' }],
        variants: [
          { key: 'control', isControl: true, weight: 50, overrides: [] },
          { key: 'focus', weight: 50, overrides: [{ slotId: 'shelf-2', contentId: 'sh-focuss' }] },
        ],
      }),
    });
    const findings = (typos.structuredContent as { findings: { code: string; path: string; fix: string }[] }).findings;
    const fix = (code: string, path: string) => findings.find((f) => f.code === code && f.path === path)?.fix;
    expect(fix('UNKNOWN_METRIC', '$.successMetrics[0]')).toMatch(/^Did you mean 'streams-per-user'\? /);
    expect(fix('UNKNOWN_METRIC', '$.guardrails[0].metricId')).toMatch(/^Did you mean 'crash-rate'\? /);
    expect(fix('UNKNOWN_CONTENT', '$.variants[1].overrides[0].contentId')).toMatch(/^Did you mean 'sh-focus'\? /);
    const surface = await call('validate_config', { config: demoConfig({ surfaceId: 'homee' }) });
    const found = (surface.structuredContent as { findings: { code: string; fix: string }[] }).findings.find((f) => f.code === 'UNKNOWN_SURFACE');
    expect(found?.fix).toMatch(/^Did you mean 'home'\? /);
  });

  it('REST: a problem with the suggestions in its hint and details', async () => {
    const surface = await get('/v1/surfaces/homee');
    expect(surface.status).toBe(404);
    expect(surface.json).toMatchObject({ code: 'NOT_FOUND', hint: expect.stringMatching(/^Did you mean 'home'\? /), details: { suggestions: ['home'] } });
    const layout = await get('/v1/surfaces/Search/layout?unit=u1');
    expect(layout.json.details).toEqual({ suggestions: ['search'] });
    expect((await call('create_experiment', { config: demoConfig() })).isError).toBeFalsy();
    const experiment = await get('/v1/experiments/home-focus-shelv');
    expect(experiment.status).toBe(404);
    expect(experiment.json.details).toEqual({ suggestions: ['home-focus-shelf'] });
    const far = await get('/v1/experiments/checkout-redesign');
    expect(far.status).toBe(404);
    expect(far.json.details).toBeUndefined();
  });
});
