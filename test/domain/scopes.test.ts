import { describe, expect, it } from 'vitest';
import { ALL_SCOPES, capScopes, hasScope, parseScopes, routeScope, toolScope } from '../../src/domain/scopes.js';
import { tools } from '../../tools/index.js';

describe('scopes', () => {
  it('nests read ⊂ write ⊂ deploy ⊂ admin and keeps approve apart', () => {
    expect(hasScope(['write'], 'read')).toBe(true);
    expect(hasScope(['write'], 'write')).toBe(true);
    expect(hasScope(['write'], 'deploy')).toBe(false);
    expect(hasScope(['admin'], 'deploy')).toBe(true);
    expect(hasScope(['admin'], 'approve')).toBe(false);
    expect(hasScope(['approve'], 'read')).toBe(false);
    expect(hasScope(['read', 'approve'], 'approve')).toBe(true);
    expect(hasScope([], 'read')).toBe(false);
  });

  it('caps scopes for --read-only', () => {
    expect(capScopes(ALL_SCOPES, 'read')).toEqual(['read']);
    expect(capScopes(['deploy'], 'write')).toEqual(['read', 'write']);
    expect(capScopes(['approve'], 'read')).toEqual([]);
  });

  it('derives each tool’s scope from readOnlyHint, with deploy for what reaches traffic', () => {
    const byScope = Object.fromEntries(tools.map((t) => [t.name, toolScope(t)]));
    for (const t of tools) if (t.annotations.readOnlyHint) expect(byScope[t.name], t.name).toBe('read');
    expect(byScope).toMatchObject({
      create_experiment: 'write',
      update_experiment: 'write',
      validate_config: 'write',
      archive_experiment: 'write',
      deploy_to_surface: 'deploy',
      advance_ramp: 'deploy',
      hold_ramp: 'deploy',
      stop_experiment: 'deploy',
      pause_experiment: 'deploy',
      revert_ship: 'deploy',
    });
  });

  it('maps REST routes from one table', () => {
    expect(routeScope('GET', '/v1/experiments')).toBe('read');
    expect(routeScope('GET', '/v1/experiments/abc/metrics')).toBe('read');
    expect(routeScope('POST', '/v1/experiments')).toBe('write');
    expect(routeScope('PATCH', '/v1/experiments/abc')).toBe('write');
    expect(routeScope('POST', '/v1/experiments/abc/archive')).toBe('write');
    expect(routeScope('POST', '/v1/events')).toBe('write');
    expect(routeScope('POST', '/v1/experiments/abc/deploy')).toBe('deploy');
    expect(routeScope('POST', '/v1/experiments/abc/pause')).toBe('deploy');
    expect(routeScope('POST', '/v1/experiments/abc/stop')).toBe('deploy');
    expect(routeScope('POST', '/v1/experiments/abc/revert-ship')).toBe('deploy');
    expect(routeScope('POST', '/v1/clock/advance')).toBe('deploy');
    expect(routeScope('PUT', '/v1/backend/experiments/abc')).toBe('admin');
    expect(routeScope('GET', '/v1/content-delivery/experiments')).toBe('admin');
    expect(routeScope('POST', '/v1/plans')).toBe('read');
    expect(routeScope('POST', '/ofrep/v1/evaluate/flags/x')).toBe('read');
    expect(routeScope('POST', '/mcp')).toBe('read');
    expect(routeScope('POST', '/v1/experiments/abc/deploy/extra')).toBe('write');
  });

  it('parses a scope list and names unknown scopes', () => {
    expect(parseScopes('read, write,read')).toEqual({ scopes: ['read', 'write'], unknown: [] });
    expect(parseScopes('read,root')).toEqual({ scopes: ['read'], unknown: ['root'] });
  });
});
