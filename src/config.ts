import { z } from 'zod';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** Decimal digits only: '', '0x50' and '1e3' are mistakes, not numbers. */
const wholeNumber = (message: string) =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    const text = String(v);
    if (!/^\d{1,12}$/.test(text)) {
      ctx.addIssue({ code: 'custom', message: `${message} (got ${JSON.stringify(text)})` });
      return z.NEVER;
    }
    return Number(text);
  });

const ConfigSchema = z
  .object({
    dataDir: z.string().min(1),
    port: wholeNumber('must be a decimal port number, e.g. 8787').pipe(z.number().max(65535, 'must be at most 65535')),
    host: z.string().min(1),
    token: z.string().min(16, 'must be at least 16 characters').optional(),
    /** Named tokens (`sealab token create`); default `<data-dir>/tokens.json`. */
    tokensFile: z.string().min(1).optional(),
    seedDemo: z.boolean(),
    catalogDir: z.string().min(1).optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    maxBodyBytes: wholeNumber('must be a whole number of bytes, e.g. 1048576').pipe(z.number().positive('must be more than 0')),
    allowedHosts: z.array(z.string()).default([]),
    policyFile: z.string().min(1),
    /** The SLO file (issue 13); unset = the shipped policy/slo.json. */
    sloFile: z.string().min(1).optional(),
    rampIntervalSeconds: wholeNumber('must be a whole number of seconds, e.g. 60 (0 disables the ramp scheduler)'),
    role: z.enum(['all', 'backend', 'content'], { message: 'must be all, backend or content' }),
    backendUrl: z.url({ message: 'must be an http(s) URL, e.g. http://127.0.0.1:8788' }).optional(),
    contentUrl: z.url({ message: 'must be an http(s) URL, e.g. http://127.0.0.1:8789' }).optional(),
    upstreamTimeoutMs: wholeNumber('must be a whole number of milliseconds, e.g. 5000').pipe(z.number().positive('must be more than 0')),
    upstreamToken: z.string().min(1).optional(),
    eventsUrl: z.url({ message: 'must be an http(s) URL, e.g. http://127.0.0.1:8787 (the gateway)' }).optional(),
    /** The store on PostgreSQL (issue 17, ADR 0020): a postgres:// URL; unset, the SQLite file in the data directory. */
    databaseUrl: z
      .string()
      .regex(
        /^postgres(ql)?:\/\/\S+$/,
        'must be a postgres:// or postgresql:// URL, e.g. postgres://sealab:secret@db.internal:5432/sealab (unset it to use the SQLite file in the data directory)',
      )
      .optional(),
    /** How often the content catalog is synced from a remote content delivery (issue 14 item 5). */
    contentSyncSeconds: wholeNumber('must be a whole number of seconds, e.g. 30').pipe(z.number().positive('must be more than 0')),
    syncIntervalMs: wholeNumber('must be a whole number of milliseconds, e.g. 1000').pipe(z.number().positive('must be more than 0')),
    watchIntervalMs: wholeNumber("must be a whole number of milliseconds, e.g. 200 (0 stops watching other processes' writes)"),
    simulatedClock: z.boolean(),
    clockStart: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time, e.g. 2026-01-05T00:00:00Z' }).optional(),
    headersTimeoutMs: wholeNumber('must be a whole number of milliseconds, e.g. 10000').pipe(z.number().positive('must be more than 0')),
    requestTimeoutMs: wholeNumber('must be a whole number of milliseconds, e.g. 30000').pipe(z.number().positive('must be more than 0')),
    keepAliveTimeoutMs: wholeNumber('must be a whole number of milliseconds, e.g. 5000').pipe(z.number().positive('must be more than 0')),
    maxConnections: wholeNumber('must be a whole number of connections, e.g. 1024').pipe(z.number().positive('must be more than 0')),
    /** OAuth 2.1 resource server (docs/adr/0009): the one authorization server whose access tokens are accepted. */
    oauthIssuer: z.url({ protocol: /^https?$/, message: 'must be the issuer URL of the authorization server, e.g. https://auth.example.com' }).optional(),
    /** This server's canonical MCP URL, the audience every access token must carry (RFC 8707 resource indicator). */
    resourceUrl: z.url({ protocol: /^https?$/, message: 'must be the public URL of /mcp, e.g. https://sealab.example.com/mcp' }).optional(),
    oauthJwksUrl: z.url({ protocol: /^https?$/, message: "must be the issuer's JWKS URL, e.g. https://auth.example.com/jwks" }).optional(),
    oauthScopePrefix: z
      .string()
      .regex(/^\S{1,64}$/, 'must be a prefix without spaces, e.g. sealab: (tokens then carry sealab:read)')
      .optional(),
    /** Prometheus metrics at /metrics (SEALAB_METRICS, default on); off builds none, for the bench's baseline. */
    metrics: z.boolean(),
    /** --metrics-port / SEALAB_METRICS_PORT: /metrics alone on its own listener (no token on loopback). */
    metricsPort: wholeNumber('must be a decimal port number, e.g. 9464').pipe(z.number().max(65535, 'must be at most 65535')).optional(),
    /** MCP tools listed by name (--tools); with toolsets, added to them. */
    tools: z.array(z.string().min(1)).optional(),
    /** MCP toolsets listed (--toolsets): core (the default), operator, analysis, all. */
    toolsets: z.array(z.enum(['core', 'operator', 'analysis', 'ops', 'all'], { message: 'must be core, operator, analysis, ops or all' })).optional(),
    /** OpenTelemetry traces go here (OTLP/HTTP); unset = tracing off (src/ops/tracing.ts). */
    otelTracesUrl: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL, e.g. http://127.0.0.1:4318' }).optional(),
    otelServiceName: z.string().min(1),
  })
  .superRefine((c, ctx) => {
    // An explicit tokens file counts even before it exists: http-app refuses every request off loopback until it holds a token.
    if (!LOOPBACK.has(c.host) && !c.token && !c.tokensFile && !c.oauthIssuer) {
      ctx.addIssue({
        code: 'custom',
        path: ['token'],
        message: `or another way to authenticate is required when binding the non-loopback address ${c.host}: set SEALAB_TOKEN, --tokens-file / SEALAB_TOKENS_FILE (named tokens), or SEALAB_OAUTH_ISSUER (OAuth access tokens)`,
      });
    }
    if (c.oauthIssuer && !c.resourceUrl && !LOOPBACK.has(c.host)) {
      ctx.addIssue({
        code: 'custom',
        path: ['resourceUrl'],
        message: `is required with SEALAB_OAUTH_ISSUER on the non-loopback address ${c.host}: the public URL clients reach /mcp at, e.g. https://sealab.example.com/mcp`,
      });
    }
    for (const key of ['resourceUrl', 'oauthJwksUrl', 'oauthScopePrefix'] as const) {
      if (!c.oauthIssuer && c[key] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'only applies with SEALAB_OAUTH_ISSUER (OAuth access tokens)' });
      }
    }
    if (c.simulatedClock && !LOOPBACK.has(c.host)) {
      ctx.addIssue({
        code: 'custom',
        path: ['simulatedClock'],
        message: `refused on the non-loopback address ${c.host}: a simulated clock is for local rehearsal; bind 127.0.0.1 (--host) or drop the flag`,
      });
    }
    if (c.headersTimeoutMs > c.requestTimeoutMs) {
      ctx.addIssue({ code: 'custom', path: ['headersTimeoutMs'], message: `must not exceed SEALAB_REQUEST_TIMEOUT_MS (${c.requestTimeoutMs})` });
    }
    if (c.clockStart && !c.simulatedClock) {
      ctx.addIssue({ code: 'custom', path: ['clockStart'], message: 'only applies with --simulated-clock (SEALAB_SIMULATED_CLOCK=true)' });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;
export const isLoopback = (host: string) => LOOPBACK.has(host);

/** Flags win over environment variables, which win over defaults. */
export interface ConfigFlags {
  dataDir?: string;
  port?: string;
  host?: string;
  seedDemo?: boolean;
  /** `--catalog DIR`: a catalog directory applied at start. */
  catalogDir?: string;
  policyFile?: string;
  /** `--slo FILE`: the SLO file. */
  sloFile?: string;
  role?: string;
  /** `serve --simulated-clock`: time moves only through POST /v1/clock/advance. */
  simulatedClock?: boolean;
  /** `--clock-start`: where the simulated clock starts (ISO 8601). */
  clockStart?: string;
  /** `--tokens-file`: the named tokens' file. */
  tokensFile?: string;
  /** `--tools a,b`: MCP tools to list by name. */
  tools?: string;
  /** `--toolsets core,operator`: MCP toolsets to list. */
  toolsets?: string;
  /** `--metrics-port N`: /metrics on its own listener. */
  metricsPort?: string;
  /** `--content-sync-seconds N`: how often the content catalog is synced from a remote content delivery. */
  contentSyncSeconds?: string;
}

/** The demo catalog shipped with sealab, applied to an empty database unless --no-seed or --catalog. */
export const DEMO_CATALOG_DIR = fileURLToPath(new URL('../catalog/demo', import.meta.url));

/** The guardrail policy shipped with sealab (policy/default.json). */
export const DEFAULT_POLICY_FILE = fileURLToPath(new URL('../policy/default.json', import.meta.url));

const list = (v: string | undefined) =>
  v
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const bool = (v: string | undefined) => (v === undefined ? undefined : !['0', 'false', 'no', 'off'].includes(v.toLowerCase()));

/** Where each key comes from, so an error names what the user actually set. */
const SOURCES: Record<string, string> = {
  dataDir: '--data-dir / SEALAB_DATA_DIR',
  port: '--port / SEALAB_PORT',
  host: '--host / SEALAB_HOST',
  token: 'SEALAB_TOKEN',
  tokensFile: '--tokens-file / SEALAB_TOKENS_FILE',
  seedDemo: '--no-seed / SEALAB_SEED_DEMO',
  catalogDir: '--catalog / SEALAB_CATALOG_DIR',
  logLevel: 'SEALAB_LOG_LEVEL',
  maxBodyBytes: 'SEALAB_MAX_BODY_BYTES',
  allowedHosts: 'SEALAB_ALLOWED_HOSTS',
  policyFile: '--policy / SEALAB_POLICY_FILE',
  sloFile: '--slo / SEALAB_SLO_FILE',
  rampIntervalSeconds: 'SEALAB_RAMP_INTERVAL_SECONDS',
  role: '--role / SEALAB_ROLE',
  backendUrl: 'SEALAB_BACKEND_URL',
  contentUrl: 'SEALAB_CONTENT_URL',
  upstreamTimeoutMs: 'SEALAB_UPSTREAM_TIMEOUT_MS',
  upstreamToken: 'SEALAB_UPSTREAM_TOKEN',
  eventsUrl: 'SEALAB_EVENTS_URL',
  databaseUrl: 'SEALAB_DATABASE_URL',
  syncIntervalMs: 'SEALAB_SYNC_INTERVAL_MS',
  contentSyncSeconds: '--content-sync-seconds / SEALAB_CONTENT_SYNC_SECONDS',
  watchIntervalMs: 'SEALAB_WATCH_INTERVAL_MS',
  simulatedClock: '--simulated-clock / SEALAB_SIMULATED_CLOCK',
  clockStart: '--clock-start / SEALAB_CLOCK_START',
  headersTimeoutMs: 'SEALAB_HEADERS_TIMEOUT_MS',
  requestTimeoutMs: 'SEALAB_REQUEST_TIMEOUT_MS',
  keepAliveTimeoutMs: 'SEALAB_KEEP_ALIVE_TIMEOUT_MS',
  maxConnections: 'SEALAB_MAX_CONNECTIONS',
  oauthIssuer: 'SEALAB_OAUTH_ISSUER',
  resourceUrl: 'SEALAB_RESOURCE_URL',
  oauthJwksUrl: 'SEALAB_OAUTH_JWKS_URL',
  oauthScopePrefix: 'SEALAB_OAUTH_SCOPE_PREFIX',
  tools: '--tools / SEALAB_TOOLS',
  toolsets: '--toolsets / SEALAB_TOOLSETS',
  metrics: 'SEALAB_METRICS',
  metricsPort: '--metrics-port / SEALAB_METRICS_PORT',
  otelTracesUrl: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT',
  otelServiceName: 'OTEL_SERVICE_NAME',
};

export class ConfigError extends Error {}

/** The only reader of process.env. Fails fast with one message per bad key. */
export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const raw = {
    dataDir: flags.dataDir ?? env.SEALAB_DATA_DIR ?? 'data',
    port: flags.port ?? env.SEALAB_PORT ?? 8787,
    host: flags.host ?? env.SEALAB_HOST ?? '127.0.0.1',
    token: env.SEALAB_TOKEN || undefined,
    tokensFile: flags.tokensFile ?? (env.SEALAB_TOKENS_FILE || undefined),
    seedDemo: flags.seedDemo ?? bool(env.SEALAB_SEED_DEMO) ?? true,
    catalogDir: flags.catalogDir ?? (env.SEALAB_CATALOG_DIR || undefined),
    logLevel: env.SEALAB_LOG_LEVEL ?? 'info',
    maxBodyBytes: env.SEALAB_MAX_BODY_BYTES ?? 1_048_576,
    allowedHosts: env.SEALAB_ALLOWED_HOSTS
      ? env.SEALAB_ALLOWED_HOSTS.split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [],
    policyFile: flags.policyFile ?? env.SEALAB_POLICY_FILE ?? DEFAULT_POLICY_FILE,
    sloFile: flags.sloFile ?? (env.SEALAB_SLO_FILE || undefined),
    rampIntervalSeconds: env.SEALAB_RAMP_INTERVAL_SECONDS ?? 60,
    role: flags.role ?? env.SEALAB_ROLE ?? 'all',
    backendUrl: env.SEALAB_BACKEND_URL || undefined,
    contentUrl: env.SEALAB_CONTENT_URL || undefined,
    upstreamTimeoutMs: env.SEALAB_UPSTREAM_TIMEOUT_MS ?? 5000,
    upstreamToken: env.SEALAB_UPSTREAM_TOKEN || undefined,
    eventsUrl: env.SEALAB_EVENTS_URL || undefined,
    databaseUrl: env.SEALAB_DATABASE_URL || undefined,
    syncIntervalMs: env.SEALAB_SYNC_INTERVAL_MS ?? 1000,
    contentSyncSeconds: flags.contentSyncSeconds ?? env.SEALAB_CONTENT_SYNC_SECONDS ?? 30,
    watchIntervalMs: env.SEALAB_WATCH_INTERVAL_MS ?? 200,
    simulatedClock: flags.simulatedClock ?? bool(env.SEALAB_SIMULATED_CLOCK) ?? false,
    clockStart: flags.clockStart ?? (env.SEALAB_CLOCK_START || undefined),
    headersTimeoutMs: env.SEALAB_HEADERS_TIMEOUT_MS ?? 10_000,
    requestTimeoutMs: env.SEALAB_REQUEST_TIMEOUT_MS ?? 30_000,
    keepAliveTimeoutMs: env.SEALAB_KEEP_ALIVE_TIMEOUT_MS ?? 5_000,
    maxConnections: env.SEALAB_MAX_CONNECTIONS ?? 1024,
    oauthIssuer: env.SEALAB_OAUTH_ISSUER || undefined,
    resourceUrl: env.SEALAB_RESOURCE_URL || undefined,
    oauthJwksUrl: env.SEALAB_OAUTH_JWKS_URL || undefined,
    oauthScopePrefix: env.SEALAB_OAUTH_SCOPE_PREFIX || undefined,
    tools: list(flags.tools ?? env.SEALAB_TOOLS),
    toolsets: list(flags.toolsets ?? env.SEALAB_TOOLSETS),
    metrics: bool(env.SEALAB_METRICS) ?? true,
    metricsPort: flags.metricsPort ?? (env.SEALAB_METRICS_PORT || undefined),
    otelTracesUrl: otlpTracesUrl(env),
    otelServiceName: env.OTEL_SERVICE_NAME || 'sealab',
  };
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${SOURCES[String(i.path[0])] ?? String(i.path[0] ?? 'config')}: ${i.message}`);
    throw new ConfigError(lines.join('\n'));
  }
  const dataDir = path.resolve(parsed.data.dataDir);
  return {
    ...parsed.data,
    dataDir,
    policyFile: path.resolve(parsed.data.policyFile),
    ...(parsed.data.sloFile ? { sloFile: path.resolve(parsed.data.sloFile) } : {}),
    ...(parsed.data.catalogDir ? { catalogDir: path.resolve(parsed.data.catalogDir) } : {}),
    tokensFile: parsed.data.tokensFile ? path.resolve(parsed.data.tokensFile) : path.join(dataDir, 'tokens.json'),
    ...(parsed.data.oauthIssuer ? { resourceUrl: parsed.data.resourceUrl ?? localResourceUrl(parsed.data.host, parsed.data.port) } : {}),
  };
}

/** The MCP endpoint on a loopback bind, the default resource (audience) when SEALAB_RESOURCE_URL is unset: `http://127.0.0.1:8787/mcp`. */
export const localResourceUrl = (host: string, port: number) => `http://${host.includes(':') ? `[${host}]` : host}:${port}/mcp`;

/**
 * Where traces are exported, from the standard OpenTelemetry variables: the traces endpoint as given,
 * else the base endpoint plus /v1/traces; none (tracing off) when neither is set or OTEL_SDK_DISABLED=true.
 */
function otlpTracesUrl(env: NodeJS.ProcessEnv): string | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
}
