import { parseArgs } from 'node:util';
import { isLoopback, loadConfig, ConfigError, type ConfigFlags } from './config.js';
import { createLogger } from './logger.js';
import { createContainer, dbFileIn } from './container.js';
import { startStdio } from './server/stdio.js';
import { listenHttp, listenLimits } from './server/http-listen.js';
import { listenMetrics } from './server/ops-routes.js';
import { runSimulation } from './cli/simulate.js';
import { runSimulatedDays } from './cli/simulate-days.js';
import { parseDaysFlags } from './cli/simulate-flags.js';
import { SimulatedClock } from './systems/clock.js';
import { runToken } from './cli/token.js';
import { runApprovals } from './cli/approvals.js';
import { AppError } from './errors.js';
import { runClientConfig } from './cli/client-config.js';
import { runSlo } from './cli/slo-rules.js';
import { runCatalog } from './cli/catalog.js';
import { TokensFileError } from './store/tokens-file.js';
import { startTracing } from './ops/tracing.js';

const USAGE = `usage:
  sealab [--data-dir DIR] [--no-seed] [--policy FILE]   MCP over stdio (for mcp.json / Claude Desktop)
  sealab serve|stdio --catalog DIR                      apply a catalog directory at start (refused, nothing written, exit 1
                                                        if invalid or unsafe); without it an empty database gets catalog/demo
  sealab catalog validate DIR                           check catalog files (*.yaml, *.yml, *.json): file, path, line and fix
  sealab catalog plan DIR [--json]                      the diff against the data directory's catalog, additive or breaking
  sealab catalog apply DIR [--json]                     write it in one audited transaction (a new catalog version), as
                                                        local:<os user>; changes that break experiments in use are refused
  sealab serve [--port N] [--host ADDR] [--data-dir DIR] [--no-seed] [--role all|backend|content]
                                                        HTTP: /mcp (streamable HTTP), /v1 REST, /healthz;
                                                        --role backend|content serves only that system's contract
  sealab serve --metrics-port N                         also GET /metrics alone on port N (no token on loopback)
  sealab serve|stdio --read-only                        every principal capped at the read scope (read-only tools only)
  sealab serve|stdio --toolsets core,operator|all       MCP toolsets listed (default core; also analysis); --tools a,b lists tools by name
  sealab token create --name N --scopes read,write[,deploy,admin,approve] [--expires-days D]
                                                        a named token: prints its secret once (only its hash is stored)
  sealab token list | sealab token revoke --name N      names, scopes and expiry (never secrets) | refuse it from now on
  sealab approvals list [--status S] | approve ID [--reason R] | reject ID --reason R
                                                        decide steps the policy held for a person's approval, on the
                                                        data directory, as local:<os user> (the operator needs no token)
  sealab config claude|cursor|vscode [--http URL] [--data-dir DIR]
                                                        prints a ready-to-paste client config: this Node binary and
                                                        this checkout's absolute paths (or the HTTP form with a token placeholder)
  sealab slo rules [--slo FILE]                         Prometheus recording and alerting rules (burn-rate pairs) for the SLO file
  sealab serve --simulated-clock [--clock-start ISO]    a rehearsal server (loopback only): time moves only on
                                                        POST /v1/clock/advance, which ticks the ramp scheduler hourly
  sealab simulate [--url URL] [--experiment ID|KEY] [--units N] [--effect E] [--seed S]
                                                        synthetic traffic through the HTTP API
  sealab simulate --days N [--experiment ID|KEY] [--units-per-day N] [--effect E (default 0)] [--effects KEY:METRIC=E,...]
                  [--harm [KEY:]METRIC=E,...] [--silence METRIC,...] [--until-decision] [--seed S] [--url URL]
                                                        rehearse N days against a --simulated-clock server: each hour
                                                        a share of the surface's daily traffic, events for every metric
                                                        of every experiment a unit is in, then the clock moves an hour.
                                                        Units whose bucket no running experiment owns see the default
                                                        layout and are not measured (they are counted, not requested).
environment: SEALAB_DATA_DIR SEALAB_CATALOG_DIR (--catalog) SEALAB_POLICY_FILE SEALAB_SLO_FILE (--slo; default policy/slo.json) SEALAB_PORT SEALAB_HOST SEALAB_TOKEN SEALAB_SEED_DEMO
             SEALAB_TOKENS_FILE (--tokens-file; default <data-dir>/tokens.json; once it exists every HTTP request needs a token) SEALAB_LOG_LEVEL SEALAB_MAX_BODY_BYTES SEALAB_ALLOWED_HOSTS SEALAB_TOOLS SEALAB_TOOLSETS
             SEALAB_RAMP_INTERVAL_SECONDS (ramp scheduler tick, default 60; 0 disables)
             SEALAB_ROLE SEALAB_BACKEND_URL SEALAB_CONTENT_URL (remote systems; unset = embedded)
             SEALAB_UPSTREAM_TIMEOUT_MS (default 5000) SEALAB_UPSTREAM_TOKEN
             SEALAB_SYNC_INTERVAL_MS (how often serving re-reads remote systems, default 1000)
             SEALAB_CONTENT_SYNC_SECONDS (--content-sync-seconds; with SEALAB_CONTENT_URL, how often the content catalog is
             synced from the remote content delivery, default 30; a failed sync keeps the last good catalog)
             SEALAB_WATCH_INTERVAL_MS (how often to look for other processes' writes to the data directory, default 200; 0 disables)
             SEALAB_EVENTS_URL (backend/content roles: the gateway that records their exposures)
             SEALAB_SIMULATED_CLOCK SEALAB_CLOCK_START (serve: a simulated clock, default start = today 00:00 UTC)
             SEALAB_OAUTH_ISSUER (accept OAuth access tokens from this authorization server) SEALAB_RESOURCE_URL (this
             server's public /mcp URL, the tokens' audience; default http://<host>:<port>/mcp on loopback)
             SEALAB_OAUTH_JWKS_URL (default: discovered from the issuer) SEALAB_OAUTH_SCOPE_PREFIX (e.g. sealab: for sealab:read)
             OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (OpenTelemetry traces over OTLP/HTTP; off when unset)
             OTEL_SERVICE_NAME (default sealab) OTEL_SDK_DISABLED=true (tracing off)
flags win over environment variables, which win over defaults.`;

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'data-dir': { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'no-seed': { type: 'boolean' },
      catalog: { type: 'string' },
      json: { type: 'boolean' },
      policy: { type: 'string' },
      slo: { type: 'string' },
      role: { type: 'string' },
      url: { type: 'string' },
      experiment: { type: 'string' },
      units: { type: 'string' },
      effect: { type: 'string' },
      seed: { type: 'string' },
      'simulated-clock': { type: 'boolean' },
      'clock-start': { type: 'string' },
      days: { type: 'string' },
      'units-per-day': { type: 'string' },
      effects: { type: 'string' },
      harm: { type: 'string' },
      'until-decision': { type: 'boolean' },
      silence: { type: 'string' },
      'tokens-file': { type: 'string' },
      'read-only': { type: 'boolean' },
      tools: { type: 'string' },
      toolsets: { type: 'string' },
      'metrics-port': { type: 'string' },
      'content-sync-seconds': { type: 'string' },
      name: { type: 'string' },
      scopes: { type: 'string' },
      'expires-days': { type: 'string' },
      reason: { type: 'string' },
      status: { type: 'string' },
      http: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0] ?? 'stdio';
  if (values.help || !['stdio', 'serve', 'simulate', 'token', 'approvals', 'config', 'slo', 'catalog'].includes(command)) {
    process.stderr.write(`${USAGE}\n`);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const flags: ConfigFlags = {
    dataDir: values['data-dir'],
    port: values.port,
    host: values.host,
    policyFile: values.policy,
    sloFile: values.slo,
    catalogDir: values.catalog,
    role: values.role,
    clockStart: values['clock-start'],
    tokensFile: values['tokens-file'],
    tools: values.tools,
    toolsets: values.toolsets,
    metricsPort: values['metrics-port'],
    contentSyncSeconds: values['content-sync-seconds'],
    ...(values['no-seed'] ? { seedDemo: false } : {}),
    ...(values['simulated-clock'] ? { simulatedClock: true } : {}),
  };
  const config = loadConfig(flags);
  const logger = createLogger(config.logLevel);

  if (command === 'token') {
    runToken({
      action: positionals[1],
      file: config.tokensFile ?? '',
      name: values.name,
      scopes: values.scopes,
      expiresDays: values['expires-days'],
      out: (line) => process.stdout.write(`${line}\n`),
      note: (line) => process.stderr.write(`${line}\n`),
    });
    return;
  }

  if (command === 'slo') {
    process.exitCode = runSlo({
      action: positionals[1],
      file: config.sloFile,
      out: (t) => process.stdout.write(t),
      note: (l) => process.stderr.write(`${l}\n`),
    });
    return;
  }

  if (command === 'config') {
    process.exitCode = runClientConfig({
      client: positionals[1],
      http: values.http,
      dataDir: config.dataDir,
      out: (text) => process.stdout.write(`${text}\n`),
      note: (line) => process.stderr.write(`${line}\n`),
    });
    return;
  }

  if (command === 'simulate' && values.days !== undefined) {
    await runSimulatedDays(
      parseDaysFlags(values, {
        url: values.url ?? `http://127.0.0.1:${config.port}`,
        token: config.token,
        out: (line) => process.stderr.write(`${line}\n`),
      }),
    );
    return;
  }
  if (command === 'simulate') {
    await runSimulation({
      url: values.url ?? `http://127.0.0.1:${config.port}`,
      token: config.token,
      experiment: values.experiment,
      units: values.units ? Number(values.units) : 30000,
      effect: values.effect ? Number(values.effect) : 0.08,
      seed: values.seed ? Number(values.seed) : 42,
      out: (line) => process.stderr.write(`${line}\n`),
    });
    return;
  }

  const remote = {
    backendUrl: config.backendUrl,
    contentUrl: config.contentUrl,
    timeoutMs: config.upstreamTimeoutMs,
    token: config.upstreamToken,
    eventsUrl: config.eventsUrl,
    contentSyncSeconds: config.contentSyncSeconds,
  };
  // SEALAB_DATABASE_URL: this process is a gateway replica on that PostgreSQL (src/root/postgres-root.ts), else the SQLite file.
  const databaseUrl = config.databaseUrl;
  if (command === 'catalog') {
    process.exitCode = await runCatalog({
      action: positionals[1],
      dir: positionals[2],
      json: values.json ?? false,
      contentManaged: !config.contentUrl,
      open: () =>
        createContainer({
          dbFile: dbFileIn(config.dataDir),
          databaseUrl,
          seedDemo: false,
          logger,
          policyFile: config.policyFile,
          sloFile: config.sloFile,
          remote,
        }),
      out: (text) => process.stdout.write(text),
      note: (line) => process.stderr.write(`${line}\n`),
    });
    return;
  }
  if (command === 'approvals') {
    const app = await createContainer({
      dbFile: dbFileIn(config.dataDir),
      databaseUrl,
      seedDemo: config.seedDemo,
      logger,
      policyFile: config.policyFile,
      sloFile: config.sloFile,
      remote,
    });
    try {
      await runApprovals(app, {
        action: positionals[1],
        id: positionals[2],
        reason: values.reason,
        status: values.status,
        out: (line) => process.stdout.write(`${line}\n`),
        note: (line) => process.stderr.write(`${line}\n`),
      });
    } finally {
      await app.close();
    }
    return;
  }
  // Before the container and the HTTP app exist, so their hooks see tracing on (it stays off unless an OTLP endpoint is set).
  const tracing = config.otelTracesUrl ? startTracing({ url: config.otelTracesUrl, serviceName: config.otelServiceName, logger }) : undefined;
  const servesOthers = command === 'serve' && config.role !== 'all';
  if (config.simulatedClock && command !== 'serve')
    throw new ConfigError(
      '--simulated-clock / SEALAB_SIMULATED_CLOCK: only `sealab serve` runs on a simulated clock (it is moved through POST /v1/clock/advance)',
    );
  const clock = config.simulatedClock ? new SimulatedClock(config.clockStart ? new Date(config.clockStart) : startOfUtcDay(new Date())) : undefined;
  const container = await createContainer({
    dbFile: dbFileIn(config.dataDir),
    databaseUrl,
    seedDemo: config.seedDemo,
    ...(config.catalogDir ? { catalogDir: config.catalogDir } : {}),
    logger,
    policyFile: config.policyFile,
    sloFile: config.sloFile,
    remote,
    dropExposures: servesOthers && !config.eventsUrl,
    metrics: config.metrics,
    ...(clock ? { clock } : {}),
  });
  if (servesOthers && !config.eventsUrl)
    logger.warn({ role: config.role }, 'exposures served by this process are not recorded: set SEALAB_EVENTS_URL to the gateway that owns the experiments');
  if (config.role === 'content' && !config.backendUrl)
    logger.warn('content role without SEALAB_BACKEND_URL: layouts show surface defaults only (no backend allocations to assign from)');
  const stops: (() => Promise<void>)[] = [];
  const stopSync = container.serving.start(config.syncIntervalMs);
  stops.push(async () => stopSync());
  // Another sealab on the same data directory (stdio beside serve): its writes reach serving within a period.
  const stopWatch = container.watcher.start(config.watchIntervalMs);
  stops.push(async () => stopWatch());
  // A remote content delivery owns the content catalog: synced now (/readyz waits for a first catalog) and every interval.
  const stopContentSync = container.contentSync?.start();
  if (stopContentSync) stops.push(async () => stopContentSync());
  // Operations a crash left unfinished are finished or compensated before serving; unreachable systems are retried on a timer.
  await container.deployments.recover().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'saga recovery failed; retrying later'));
  const recovery = setInterval(() => void container.deployments.recover().catch(() => undefined), 10_000);
  recovery.unref();
  stops.push(async () => clearInterval(recovery));
  // On a simulated clock the scheduler ticks only when the clock moves (POST /v1/clock/advance), never on a wall-clock timer.
  const stopRamps = container.ramps.start(clock ? 0 : config.rampIntervalSeconds);
  stops.push(async () => stopRamps());
  // The event log is folded into the aggregates in background turns (ADR 0018); get_metrics also catches up before it answers.
  container.fold.start();
  stops.push(async () => await container.fold.stop());
  const stopSlo = container.slo.start();
  stops.push(async () => stopSlo());
  if (clock)
    logger.info({ now: clock.now().toISOString() }, 'simulated clock: time moves only on POST /v1/clock/advance, which ticks the ramp scheduler hourly');
  else if (config.rampIntervalSeconds > 0) logger.info({ intervalSeconds: config.rampIntervalSeconds }, 'ramp scheduler running');
  if (command === 'serve') {
    const httpOptions = {
      role: config.role,
      host: config.host,
      port: config.port,
      token: config.token,
      tokensFile: config.tokensFile,
      ...(config.oauthIssuer && config.resourceUrl
        ? {
            oauth: {
              issuer: config.oauthIssuer,
              resource: config.resourceUrl,
              ...(config.oauthScopePrefix ? { scopePrefix: config.oauthScopePrefix } : {}),
              timeoutMs: config.upstreamTimeoutMs,
              ...(config.oauthJwksUrl ? { jwksUrl: config.oauthJwksUrl } : {}),
            },
          }
        : {}),
      readOnly: values['read-only'] ?? false,
      tools: { tools: config.tools, toolsets: config.toolsets },
      maxBodyBytes: config.maxBodyBytes,
      allowedHosts: config.allowedHosts,
      ...listenLimits(config),
    };
    const http = await listenHttp(container, httpOptions);
    if (config.metricsPort !== undefined) {
      const metricsHttp = await listenMetrics(container, { ...httpOptions, port: config.metricsPort });
      logger.info({ url: `http://${config.host}:${metricsHttp.port}/metrics`, auth: !isLoopback(config.host) }, 'metrics listening');
      stops.push(metricsHttp.close);
    }
    logger.info(
      {
        url: `http://${config.host}:${http.port}`,
        role: config.role,
        systems: container.deployments.systems.embedded ? 'embedded' : 'remote',
        store: container.engine,
        ...(container.engine === 'sqlite' ? { dataDir: config.dataDir } : {}),
        auth: Boolean(config.token),
        tokensFile: config.tokensFile,
        ...(config.oauthIssuer ? { oauthIssuer: config.oauthIssuer, resource: config.resourceUrl } : {}),
        readOnly: values['read-only'] ?? false,
        clock: clock ? 'simulated' : 'wall',
      },
      'sealab HTTP listening: /mcp /v1 /healthz /readyz /metrics',
    );
    stops.push(http.close);
  } else {
    const stdio = startStdio(container, { readOnly: values['read-only'] ?? false, tools: { tools: config.tools, toolsets: config.toolsets } });
    logger.info({ dataDir: config.dataDir }, 'sealab MCP on stdio');
    stops.push(stdio.close);
  }
  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    for (const stop of stops) await stop().catch(() => undefined);
    await container.exposures.drain().catch(() => undefined);
    await tracing?.shutdown().catch(() => undefined);
    await container.close().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'close failed'));
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

const startOfUtcDay = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof TokensFileError) process.stderr.write(`sealab: ${err.message}\n`);
  else if (err instanceof AppError) process.stderr.write(`sealab: ${err.code}: ${err.message}\nNext: ${err.hint}\n`);
  else if (err instanceof ConfigError) process.stderr.write(`sealab: invalid configuration\n${err.message}\n`);
  else process.stderr.write(`sealab: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
