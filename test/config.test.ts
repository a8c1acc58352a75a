import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, DEFAULT_POLICY_FILE, loadConfig } from '../src/config.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The ConfigError's message lines, or a failure if loadConfig did not throw one. */
function configErrorLines(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message.split('\n');
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('uses the defaults when nothing is set', () => {
    expect(loadConfig({}, {})).toEqual({
      dataDir: path.resolve('data'),
      port: 8787,
      host: '127.0.0.1',
      token: undefined,
      tokensFile: path.resolve('data', 'tokens.json'),
      seedDemo: true,
      logLevel: 'info',
      maxBodyBytes: 1_048_576,
      allowedHosts: [],
      policyFile: DEFAULT_POLICY_FILE,
      rampIntervalSeconds: 60,
      role: 'all',
      upstreamTimeoutMs: 5000,
      syncIntervalMs: 1000,
      contentSyncSeconds: 30,
      watchIntervalMs: 200,
      simulatedClock: false,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: 1024,
      metrics: true,
      otelServiceName: 'sealab',
    });
    expect(DEFAULT_POLICY_FILE).toMatch(/policy\/default\.json$/);
  });

  it('reads every SEALAB_* variable', () => {
    const config = loadConfig(
      {},
      {
        SEALAB_DATA_DIR: '/var/lib/sealab',
        SEALAB_PORT: '9000',
        SEALAB_HOST: '0.0.0.0',
        SEALAB_TOKEN: 'a-very-long-test-token-123',
        SEALAB_SEED_DEMO: 'false',
        SEALAB_LOG_LEVEL: 'debug',
        SEALAB_MAX_BODY_BYTES: '2048',
        SEALAB_ALLOWED_HOSTS: 'sealab.example, api.sealab.example',
        SEALAB_POLICY_FILE: '/etc/sealab/policy.json',
        SEALAB_SLO_FILE: '/etc/sealab/slo.json',
        SEALAB_RAMP_INTERVAL_SECONDS: '0',
        SEALAB_ROLE: 'backend',
        SEALAB_BACKEND_URL: 'http://127.0.0.1:8788',
        SEALAB_CONTENT_URL: 'http://127.0.0.1:8789',
        SEALAB_UPSTREAM_TIMEOUT_MS: '1500',
        SEALAB_UPSTREAM_TOKEN: 'upstream-token',
        SEALAB_EVENTS_URL: 'http://127.0.0.1:8787',
        SEALAB_SYNC_INTERVAL_MS: '250',
        SEALAB_CONTENT_SYNC_SECONDS: '5',
        SEALAB_WATCH_INTERVAL_MS: '0',
        SEALAB_HEADERS_TIMEOUT_MS: '2000',
        SEALAB_REQUEST_TIMEOUT_MS: '4000',
        SEALAB_KEEP_ALIVE_TIMEOUT_MS: '1000',
        SEALAB_MAX_CONNECTIONS: '64',
        SEALAB_METRICS: 'off',
        SEALAB_METRICS_PORT: '9464',
      },
    );
    expect(config).toEqual({
      dataDir: '/var/lib/sealab',
      port: 9000,
      host: '0.0.0.0',
      token: 'a-very-long-test-token-123',
      tokensFile: '/var/lib/sealab/tokens.json',
      seedDemo: false,
      logLevel: 'debug',
      maxBodyBytes: 2048,
      allowedHosts: ['sealab.example', 'api.sealab.example'],
      policyFile: '/etc/sealab/policy.json',
      sloFile: '/etc/sealab/slo.json',
      rampIntervalSeconds: 0,
      role: 'backend',
      backendUrl: 'http://127.0.0.1:8788',
      contentUrl: 'http://127.0.0.1:8789',
      upstreamTimeoutMs: 1500,
      upstreamToken: 'upstream-token',
      eventsUrl: 'http://127.0.0.1:8787',
      syncIntervalMs: 250,
      contentSyncSeconds: 5,
      watchIntervalMs: 0,
      simulatedClock: false,
      headersTimeoutMs: 2000,
      requestTimeoutMs: 4000,
      keepAliveTimeoutMs: 1000,
      maxConnections: 64,
      metrics: false,
      metricsPort: 9464,
      otelServiceName: 'sealab',
    });
  });

  it('reads --content-sync-seconds over SEALAB_CONTENT_SYNC_SECONDS, and refuses 0 or a non-number', () => {
    expect(loadConfig({ contentSyncSeconds: '10' }, { SEALAB_CONTENT_SYNC_SECONDS: '60' })).toMatchObject({ contentSyncSeconds: 10 });
    expect(() => loadConfig({}, { SEALAB_CONTENT_SYNC_SECONDS: '0' })).toThrow(/--content-sync-seconds \/ SEALAB_CONTENT_SYNC_SECONDS: must be more than 0/);
    expect(() => loadConfig({}, { SEALAB_CONTENT_SYNC_SECONDS: '30s' })).toThrow(/SEALAB_CONTENT_SYNC_SECONDS: must be a whole number of seconds/);
  });

  it('reads --metrics-port over SEALAB_METRICS_PORT, and refuses a port that is not a number', () => {
    expect(loadConfig({ metricsPort: '9100' }, { SEALAB_METRICS_PORT: '9464' })).toMatchObject({ metricsPort: 9100, metrics: true });
    expect(() => loadConfig({}, { SEALAB_METRICS_PORT: 'prom' })).toThrow(/--metrics-port \/ SEALAB_METRICS_PORT: must be a decimal port number/);
  });

  it('turns tracing on from the standard OTEL_* variables, and refuses an endpoint that is not an http(s) URL', () => {
    expect(loadConfig({}, {}).otelTracesUrl).toBeUndefined();
    expect(loadConfig({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toMatchObject({
      otelTracesUrl: 'http://collector:4318/v1/traces',
      otelServiceName: 'sealab',
    });
    const both = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/custom',
      OTEL_SERVICE_NAME: 'sealab-gw',
    };
    expect(loadConfig({}, both)).toMatchObject({ otelTracesUrl: 'http://traces:4318/custom', otelServiceName: 'sealab-gw' });
    expect(loadConfig({}, { ...both, OTEL_SDK_DISABLED: 'true' }).otelTracesUrl).toBeUndefined();
    expect(() => loadConfig({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT: must be an http\(s\) URL/);
  });

  it('reads the simulated clock from --simulated-clock / --clock-start or SEALAB_SIMULATED_CLOCK / SEALAB_CLOCK_START', () => {
    expect(loadConfig({}, { SEALAB_SIMULATED_CLOCK: 'true', SEALAB_CLOCK_START: '2026-01-05T00:00:00Z' })).toMatchObject({
      simulatedClock: true,
      clockStart: '2026-01-05T00:00:00Z',
    });
    expect(loadConfig({ simulatedClock: true }, {})).toMatchObject({ simulatedClock: true });
    expect(loadConfig({ simulatedClock: false }, { SEALAB_SIMULATED_CLOCK: 'true' }).simulatedClock).toBe(false);
    expect(configErrorLines(() => loadConfig({ simulatedClock: true, clockStart: 'monday' }, {}))).toEqual([
      expect.stringMatching(/^--clock-start \/ SEALAB_CLOCK_START: must be an ISO 8601 time/),
    ]);
    expect(configErrorLines(() => loadConfig({ clockStart: '2026-01-05T00:00:00Z' }, {}))).toEqual([
      expect.stringMatching(/^--clock-start \/ SEALAB_CLOCK_START: only applies with --simulated-clock/),
    ]);
  });

  it('refuses a simulated clock on a non-loopback address, in one line naming the flag', () => {
    for (const [flags, env] of [
      [{ simulatedClock: true, host: '0.0.0.0' }, { SEALAB_TOKEN: 'a-very-long-test-token-123' }],
      [{}, { SEALAB_SIMULATED_CLOCK: 'yes', SEALAB_HOST: '192.168.1.20', SEALAB_TOKEN: 'a-very-long-test-token-123' }],
    ] as const) {
      const lines = configErrorLines(() => loadConfig(flags, env));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^--simulated-clock \/ SEALAB_SIMULATED_CLOCK: refused on the non-loopback address .*bind 127\.0\.0\.1/);
    }
    for (const host of ['127.0.0.1', 'localhost', '::1']) expect(loadConfig({ simulatedClock: true, host }, {}).simulatedClock).toBe(true);
  });

  it('reads the MCP tool selection from --tools / --toolsets or SEALAB_TOOLS / SEALAB_TOOLSETS, flags first', () => {
    expect(loadConfig({}, { SEALAB_TOOLSETS: 'core, operator', SEALAB_TOOLS: 'plan_power' })).toMatchObject({
      toolsets: ['core', 'operator'],
      tools: ['plan_power'],
    });
    expect(loadConfig({ toolsets: 'all' }, { SEALAB_TOOLSETS: 'core' }).toolsets).toEqual(['all']);
    expect(loadConfig({}, {}).toolsets).toBeUndefined();
    expect(configErrorLines(() => loadConfig({}, { SEALAB_TOOLSETS: 'core,admin' }))).toEqual([
      '--toolsets / SEALAB_TOOLSETS: must be core, operator, analysis, ops or all',
    ]);
  });

  it('lets flags win over the environment', () => {
    const env = { SEALAB_DATA_DIR: '/from/env', SEALAB_PORT: '9000', SEALAB_HOST: 'localhost', SEALAB_SEED_DEMO: 'true' };
    const config = loadConfig({ dataDir: '/from/flag', port: '9100', host: '::1', seedDemo: false }, env);
    expect(config).toMatchObject({ dataDir: '/from/flag', port: 9100, host: '::1', seedDemo: false });
    expect(loadConfig({ port: '9100' }, env)).toMatchObject({ dataDir: '/from/env', port: 9100, host: 'localhost', seedDemo: true });
  });

  it.each([
    ['0', false],
    ['no', false],
    ['OFF', false],
    ['1', true],
    ['yes', true],
  ])('reads SEALAB_SEED_DEMO=%s as %s', (value, expected) => {
    expect(loadConfig({}, { SEALAB_SEED_DEMO: value }).seedDemo).toBe(expected);
  });

  it('reports every bad key at once, one line each', () => {
    const lines = configErrorLines(() => loadConfig({}, { SEALAB_PORT: 'abc', SEALAB_LOG_LEVEL: 'loud' }));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^--port \/ SEALAB_PORT: /);
    expect(lines[1]).toMatch(/^SEALAB_LOG_LEVEL: .*"info"/);
  });

  it.each([
    ['a port out of range', { SEALAB_PORT: '70000' }, /^--port \/ SEALAB_PORT: /],
    ['a fractional port', { SEALAB_PORT: '80.5' }, /^--port \/ SEALAB_PORT: /],
    ['a zero body limit', { SEALAB_MAX_BODY_BYTES: '0' }, /^SEALAB_MAX_BODY_BYTES: /],
    ['a non-numeric body limit', { SEALAB_MAX_BODY_BYTES: '1MB' }, /^SEALAB_MAX_BODY_BYTES: /],
    ['a short token', { SEALAB_TOKEN: 'short' }, /^SEALAB_TOKEN: must be at least 16 characters/],
    [
      'a fractional ramp interval',
      { SEALAB_RAMP_INTERVAL_SECONDS: '0.5' },
      /^SEALAB_RAMP_INTERVAL_SECONDS: must be a whole number of seconds, e\.g\. 60 \(0 disables the ramp scheduler\) \(got "0\.5"\)/,
    ],
  ])('refuses %s', (_label, env, pattern) => {
    const lines = configErrorLines(() => loadConfig({}, env));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
  });

  it('refuses bad connection limits, one line per key naming its variable', () => {
    const lines = configErrorLines(() =>
      loadConfig({}, { SEALAB_HEADERS_TIMEOUT_MS: '0', SEALAB_REQUEST_TIMEOUT_MS: '30s', SEALAB_KEEP_ALIVE_TIMEOUT_MS: '-1', SEALAB_MAX_CONNECTIONS: '1e3' }),
    );
    expect(lines).toEqual([
      expect.stringMatching(/^SEALAB_HEADERS_TIMEOUT_MS: must be more than 0/),
      expect.stringMatching(/^SEALAB_REQUEST_TIMEOUT_MS: must be a whole number of milliseconds, e\.g\. 30000 \(got "30s"\)/),
      expect.stringMatching(/^SEALAB_KEEP_ALIVE_TIMEOUT_MS: must be a whole number of milliseconds/),
      expect.stringMatching(/^SEALAB_MAX_CONNECTIONS: must be a whole number of connections, e\.g\. 1024 \(got "1e3"\)/),
    ]);
    // Node refuses a headers timeout longer than the request timeout; say so before it does.
    expect(configErrorLines(() => loadConfig({}, { SEALAB_HEADERS_TIMEOUT_MS: '40000' }))).toEqual([
      'SEALAB_HEADERS_TIMEOUT_MS: must not exceed SEALAB_REQUEST_TIMEOUT_MS (30000)',
    ]);
  });

  it('refuses a bad --port flag even when the environment is fine', () => {
    const lines = configErrorLines(() => loadConfig({ port: 'abc' }, { SEALAB_PORT: '9000' }));
    expect(lines).toEqual([expect.stringMatching(/^--port \/ SEALAB_PORT: /)]);
  });

  it('refuses a non-loopback host without a token, naming SEALAB_TOKEN', () => {
    for (const [flags, env] of [
      [{}, { SEALAB_HOST: '0.0.0.0' }],
      [{ host: '192.168.1.20' }, {}],
    ] as const) {
      const lines = configErrorLines(() => loadConfig(flags, env));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^SEALAB_TOKEN: .*non-loopback.*SEALAB_TOKEN/);
    }
    expect(loadConfig({ host: '0.0.0.0' }, { SEALAB_TOKEN: 'a-very-long-test-token-123' }).host).toBe('0.0.0.0');
    for (const host of ['127.0.0.1', 'localhost', '::1']) expect(loadConfig({ host }, {}).token).toBeUndefined();
  });
});

describe('loadConfig: OAuth and non-loopback authentication', () => {
  const ISSUER = { SEALAB_OAUTH_ISSUER: 'https://auth.example.com' };

  it('accepts a non-loopback host with any way to authenticate: SEALAB_TOKEN, an explicit tokens file, or an OAuth issuer', () => {
    expect(loadConfig({ host: '0.0.0.0', tokensFile: 'tokens.json' }, {}).host).toBe('0.0.0.0');
    expect(loadConfig({ host: '0.0.0.0' }, { SEALAB_TOKENS_FILE: 'tokens.json' }).host).toBe('0.0.0.0');
    const oauth = loadConfig({ host: '0.0.0.0' }, { ...ISSUER, SEALAB_RESOURCE_URL: 'https://sealab.example.com/mcp' });
    expect(oauth).toMatchObject({ oauthIssuer: 'https://auth.example.com', resourceUrl: 'https://sealab.example.com/mcp' });
    const lines = configErrorLines(() => loadConfig({ host: '0.0.0.0' }, {}));
    expect(lines).toEqual([expect.stringMatching(/SEALAB_TOKEN.*--tokens-file \/ SEALAB_TOKENS_FILE.*SEALAB_OAUTH_ISSUER/)]);
  });

  it('derives the resource URL from host and port on loopback, and requires SEALAB_RESOURCE_URL off loopback', () => {
    expect(loadConfig({ port: '9000' }, ISSUER).resourceUrl).toBe('http://127.0.0.1:9000/mcp');
    expect(loadConfig({ host: '::1' }, ISSUER).resourceUrl).toBe('http://[::1]:8787/mcp');
    expect(configErrorLines(() => loadConfig({ host: '0.0.0.0' }, ISSUER))).toEqual([
      expect.stringMatching(/^SEALAB_RESOURCE_URL: is required with SEALAB_OAUTH_ISSUER/),
    ]);
  });

  it('refuses OAuth settings without an issuer, and bad URLs, one line each', () => {
    const lines = configErrorLines(() => loadConfig({}, { SEALAB_OAUTH_JWKS_URL: 'https://auth.example.com/jwks', SEALAB_OAUTH_SCOPE_PREFIX: 'sealab:' }));
    expect(lines).toEqual([
      expect.stringMatching(/^SEALAB_OAUTH_JWKS_URL: only applies with SEALAB_OAUTH_ISSUER/),
      expect.stringMatching(/^SEALAB_OAUTH_SCOPE_PREFIX: only applies with SEALAB_OAUTH_ISSUER/),
    ]);
    expect(configErrorLines(() => loadConfig({}, { ...ISSUER, SEALAB_RESOURCE_URL: 'ftp://x/mcp' }))).toEqual([
      expect.stringMatching(/^SEALAB_RESOURCE_URL: must be the public URL of \/mcp/),
    ]);
    expect(configErrorLines(() => loadConfig({}, { SEALAB_OAUTH_ISSUER: 'auth.example.com' }))).toEqual([
      expect.stringMatching(/^SEALAB_OAUTH_ISSUER: must be the issuer URL/),
    ]);
  });
});

describe('sealab CLI with a bad configuration', () => {
  const cli = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });

  it('exits non-zero on `serve --port abc` with a clear message on stderr and nothing on stdout', () => {
    const r = cli(['serve', '--port', 'abc']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^sealab: invalid configuration\n--port \/ SEALAB_PORT: /);
    expect(r.stderr).not.toMatch(/\bat .*\.[cm]?[jt]s:\d+/);
  });

  it('names every bad key from the environment, and refuses an open host without a token', () => {
    const bad = cli(['serve'], { SEALAB_PORT: 'abc', SEALAB_LOG_LEVEL: 'loud' });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/--port \/ SEALAB_PORT: /);
    expect(bad.stderr).toMatch(/SEALAB_LOG_LEVEL: /);

    const open = cli(['serve', '--host', '0.0.0.0', '--port', '0']);
    expect(open.status).toBe(1);
    expect(open.stdout).toBe('');
    expect(open.stderr).toMatch(/SEALAB_TOKEN/);
  });

  it('refuses to start with an invalid policy file, naming the file and every bad key', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sealab-policy-'));
    try {
      const file = path.join(dir, 'policy.json');
      writeFileSync(file, JSON.stringify({ version: 'x', srmThreshold: 0.001, defaults: { maxAllocationPercent: 150 }, surfaces: {} }));
      const r = cli(['--data-dir', dir], { SEALAB_POLICY_FILE: file });
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`sealab: invalid configuration\npolicy file ${file} is invalid:`);
      expect(r.stderr).toMatch(/defaults\.maxAllocationPercent: /);
      expect(r.stderr).toMatch(/defaults\.firstStageCapPercent: /);
      const missing = cli(['--data-dir', dir, '--policy', path.join(dir, 'nope.json')]);
      expect(missing.status).toBe(1);
      expect(missing.stderr).toMatch(/policy file .*nope\.json: cannot be read \(ENOENT\)/);
      writeFileSync(file, '{ not json');
      expect(cli(['--data-dir', dir], { SEALAB_POLICY_FILE: file }).stderr).toMatch(/not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses `serve --simulated-clock --host 0.0.0.0` and a simulated clock outside `serve`', () => {
    const open = cli(['serve', '--simulated-clock', '--host', '0.0.0.0', '--port', '0'], { SEALAB_TOKEN: 'a-very-long-test-token-123' });
    expect(open.status).toBe(1);
    expect(open.stdout).toBe('');
    expect(open.stderr).toMatch(/^sealab: invalid configuration\n--simulated-clock \/ SEALAB_SIMULATED_CLOCK: refused on the non-loopback address 0\.0\.0\.0/);
    const dir = mkdtempSync(path.join(tmpdir(), 'sealab-sim-'));
    try {
      const stdio = cli(['--simulated-clock', '--data-dir', dir]);
      expect(stdio.status).toBe(1);
      expect(stdio.stderr).toMatch(/only `sealab serve` runs on a simulated clock/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints usage to stderr and exits 2 on an unknown command', () => {
    const r = cli(['launch']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^usage:/);
  });
});

describe('loadConfig refuses values that only look like numbers or paths', () => {
  it.each([
    ['an empty port', { SEALAB_PORT: '' }, /^--port \/ SEALAB_PORT: must be a decimal port number/],
    ['a hex port', { SEALAB_PORT: '0x50' }, /^--port \/ SEALAB_PORT: must be a decimal port number/],
    ['an exponent port', { SEALAB_PORT: '1e3' }, /^--port \/ SEALAB_PORT: /],
    ['an empty data dir', { SEALAB_DATA_DIR: '' }, /^--data-dir \/ SEALAB_DATA_DIR: /],
  ])('%s', (_label, env, pattern) => {
    let message = '';
    try {
      loadConfig({}, env as NodeJS.ProcessEnv);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(pattern);
  });

  it('drops empty entries from SEALAB_ALLOWED_HOSTS', () => {
    expect(loadConfig({}, { SEALAB_ALLOWED_HOSTS: 'a.example,, b.example' }).allowedHosts).toEqual(['a.example', 'b.example']);
  });
});
