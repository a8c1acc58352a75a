import { statSync } from 'node:fs';
import { logFileOf } from '../store/log-db.js';
import type { Db } from '../store/db.js';
import type { Sql } from '../store/sql/sql.js';
import type { Clock } from '../systems/clock.js';
import type { CounterChild, HistogramChild } from './hot-series.js';
import { secondsSince, type Metrics } from './metrics.js';

/**
 * The one-line hooks the rest of the code calls (each takes `metrics` possibly undefined:
 * SEALAB_METRICS=off builds none, and then every hook returns at once).
 */

/** Serving routes by hono route pattern: their answers also count as serving requests. */
const SERVING_ROUTES: Readonly<Record<string, string>> = {
  '/v1/surfaces/:id/assignment': 'assignment',
  '/v1/surfaces/:id/layout': 'layout',
  '/ofrep/v1/evaluate/flags/:key': 'ofrep',
  '/ofrep/v1/evaluate/flags/:surface/:slot': 'ofrep',
  '/ofrep/v1/evaluate/flags': 'ofrep_bulk',
};

const outcomeOf = (status: number) => (status >= 500 ? 'server_error' : status >= 400 ? 'client_error' : 'ok');

/** The series one answer adds to: RED for its route, and the serving pair when the route is a serving one. */
type RouteSeries = { requests: CounterChild; duration: HistogramChild; served?: CounterChild; serving?: HistogramChild };
const routeSeries = new WeakMap<Metrics, Map<string, RouteSeries>>();

/**
 * REST RED from the access-log middleware. `route` is hono's route pattern (never the raw path, so
 * the label set stays bounded); a request no route matched counts under "unmatched". Each (route,
 * method, status) resolves its label set and children once; a request then adds plain numbers.
 */
export function recordHttp(m: Metrics | undefined, route: string, method: string, status: number, started: number): void {
  if (!m) return;
  const seconds = secondsSince(started);
  let byKey = routeSeries.get(m);
  if (!byKey) routeSeries.set(m, (byKey = new Map()));
  const key = `${status} ${method} ${route}`;
  let s = byKey.get(key);
  if (!s) byKey.set(key, (s = seriesOf(m, route === '*' || route.endsWith('/*') ? 'unmatched' : route, method, status)));
  observe(s, seconds);
}

function seriesOf(m: Metrics, route: string, method: string, status: number): RouteSeries {
  const serving = SERVING_ROUTES[route];
  return {
    requests: m.httpRequests.child({ route, method, code: String(status) }),
    duration: m.httpDuration.child({ route, method }),
    ...(serving
      ? { served: m.servingRequests.child({ route: serving, outcome: outcomeOf(status) }), serving: m.servingDuration.child({ route: serving }) }
      : {}),
  };
}

function observe(s: RouteSeries, seconds: number): void {
  s.requests.inc();
  s.duration.observe(seconds);
  s.served?.inc();
  s.serving?.observe(seconds);
}

const FAST_ROUTE = '/ofrep/v1/evaluate/flags/:key';
const fastSeries = new WeakMap<Metrics, Map<number, RouteSeries>>();

/**
 * The OFREP fast path (answered without hono): the same series as the hono route it stands in for.
 * The hottest path: its series are found by status alone, no key string built per request.
 */
export function recordFastOfrep(m: Metrics | undefined, status: number, started: number): void {
  if (!m) return;
  const seconds = secondsSince(started);
  let byStatus = fastSeries.get(m);
  if (!byStatus) fastSeries.set(m, (byStatus = new Map()));
  let s = byStatus.get(status);
  if (!s) byStatus.set(status, (s = seriesOf(m, FAST_ROUTE, 'POST', status)));
  observe(s, seconds);
}

/** One MCP tool call: outcome ok, input_required or the error code (OpenTelemetry's error.type for the latter). */
export function recordToolCall(m: Metrics | undefined, tool: string, outcome: string, started: number): void {
  if (!m) return;
  m.toolCalls.inc({ tool, outcome });
  const errorType = outcome === 'ok' || outcome === 'input_required' ? '' : outcome;
  m.mcpDuration.observe({ mcp_method_name: 'tools/call', gen_ai_tool_name: tool, error_type: errorType }, secondsSince(started));
}

/** An ingest batch, once acknowledged: events by type (duplicates are acknowledged too) and refusals by reason; the fold observes the lag. */
export function recordIngest(m: Metrics | undefined, events: readonly unknown[], rejected: readonly { index: number; code: string }[]): void {
  if (!m) return;
  const refused = new Set(rejected.map((r) => r.index));
  let exposures = 0;
  let metrics = 0;
  let raw = 0;
  events.forEach((e, i) => {
    if (refused.has(i)) return;
    const type = (e as { type?: string }).type;
    if (type === 'exposure') exposures++;
    else if (type === 'event') raw++;
    else metrics++;
  });
  if (exposures) m.eventsAccepted.child({ type: 'exposure' }).inc(exposures);
  if (metrics) m.eventsAccepted.child({ type: 'metric' }).inc(metrics);
  if (raw) m.eventsAccepted.child({ type: 'event' }).inc(raw);
  for (const r of rejected) m.eventsRejected.inc({ reason: r.code.toLowerCase() });
}

/** A flush of the exposure buffer: written (or dropped by a role with nowhere to send them). */
export function recordExposureFlush(m: Metrics | undefined, count: number, dropped = false): void {
  if (!m || !count) return;
  // The ingest lag is observed where an exposure reaches the aggregates: the fold (ADR 0018), not here.
  (dropped ? m.exposuresDropped : m.exposuresWritten).inc(count);
}

/** Times a saga step (a system write, or the local commit), whether it lands or throws. */
export async function timeStep<T>(m: Metrics | undefined, kind: string, step: string, run: () => Promise<T> | T): Promise<T> {
  const started = performance.now();
  try {
    return await run();
  } finally {
    m?.sagaStepDuration.observe({ kind, step }, secondsSince(started));
  }
}

/** A remote-system call's latency, and its failure reason (timeout, network, http_4xx, http_5xx, bad_answer). */
export function recordRemoteCall(m: Metrics | undefined, system: string, started: number, err?: unknown): void {
  if (!m) return;
  const label = system.replace(/\s+/g, '_');
  m.remoteDuration.observe({ system: label, outcome: err === undefined ? 'ok' : 'error' }, secondsSince(started));
  if (err !== undefined) m.remoteErrors.inc({ system: label, reason: remoteReason(err) });
}

function remoteReason(err: unknown): string {
  const e = err as { name?: string; response?: { status?: number } };
  if (e?.name === 'TimeoutError') return 'timeout';
  const status = e?.response?.status;
  if (typeof status === 'number') return status >= 500 ? 'http_5xx' : 'http_4xx';
  return e?.name === 'ZodError' || e?.name === 'bad_answer' ? 'bad_answer' : 'network';
}

/**
 * One ramp decision: advances, circuit-breaker trips, and holds by reason. A hold counts when it
 * starts (the previous tick's decision for the experiment was not the same hold), not on every tick it lasts.
 */
export function recordRampDecision(m: Metrics | undefined, now: { action: string; reason: string }, previous?: { action: string; reason: string }): void {
  if (!m) return;
  if (now.action === 'advanced') return m.rampAdvances.inc();
  if (now.action === 'rolled_back') return m.rampBreakerTrips.inc();
  const reason = holdReason(now);
  if (reason && (!previous || holdReason(previous) !== reason)) m.rampHolds.inc({ reason });
}

function holdReason(d: { action: string; reason: string }): string | undefined {
  if (d.action === 'refused') return 'advance_refused';
  if (d.action === 'held') return d.reason.includes('no guardrail data after') ? 'blind_guardrail' : d.reason.startsWith('slo_burn') ? 'slo_burn' : 'manual';
  if (d.action === 'waiting' && d.reason.startsWith('gate holds, but the policy')) return 'approval_required';
  return undefined;
}

/**
 * The serving configuration as this process compiles it: the configuration revision it holds every write up to (the
 * same number on every converged process, on either engine), the age of the compile, and for every compile that
 * brought a newer revision (after the first), the time from that revision's commit to serving it here: the
 * propagation SLI (sealab_config_propagation_seconds; policy/slo.json's config-propagation). Writes merged into one
 * compile count once, at the newest one's age.
 */
export function servingConfigTracker(m: Metrics | undefined): {
  compiled(c: { revision: number | null; propagationSeconds: number | null }): void;
  failed(): void;
} {
  let revision = 0;
  let compiledAt = 0;
  if (m) m.sources.servingConfig = () => ({ revision, ageSeconds: compiledAt ? (Date.now() - compiledAt) / 1000 : 0 });
  return {
    compiled: (c) => {
      if (!m) return;
      if (c.revision !== null) revision = c.revision;
      compiledAt = Date.now();
      if (c.propagationSeconds !== null) m.configPropagation.observe(c.propagationSeconds);
    },
    failed: () => m?.servingSnapshotFailures.inc(),
  };
}

/** Scrape-time sources that read the database: WAL size and results freshness per running experiment. */
export function watchStore(m: Metrics | undefined, db: Db, dbFile: string, clock: Clock): void {
  if (!m) return;
  // The database's WAL and the event log file's (log-db.ts): both grow with ingest, and both are checkpointed alike.
  const walSize = (file: string) => {
    try {
      return statSync(`${file}-wal`).size;
    } catch {
      return 0; // no WAL yet (or a checkpoint truncated it away)
    }
  };
  m.sources.walBytes = () => (dbFile === ':memory:' ? 0 : walSize(dbFile) + walSize(logFileOf(dbFile)));
  const freshness = db.prepare(FRESHNESS);
  m.sources.freshness = () => freshnessOf(freshness.all() as FreshRow[], clock);
}

/** When each running experiment's aggregates were last folded (the same query on both engines). */
const FRESHNESS = `SELECT e.id AS experiment, MAX(a.updated_at) AS at FROM experiments e JOIN metric_aggregates a ON a.experiment_id = e.id
     WHERE e.status = 'running' GROUP BY e.id`;
type FreshRow = { experiment: string; at: string };
const freshnessOf = (rows: FreshRow[], clock: Clock) => {
  const now = clock.now().getTime();
  return rows.map((r) => ({ experiment: r.experiment, seconds: Math.max(0, (now - Date.parse(r.at)) / 1000) }));
};

/**
 * watchStore for a replica on PostgreSQL: no WAL file of its own to report (0; the server's are PostgreSQL's to
 * export), and results' freshness read through the pool on a timer (a scrape never waits on the database; a failed
 * read keeps the last rows). Returns the stop function.
 */
export function watchPgStore(m: Metrics | undefined, sql: Sql, clock: Clock, everyMs = 5000): () => void {
  if (!m) return () => undefined;
  let rows: FreshRow[] = [];
  const read = () =>
    void sql.all<FreshRow>(FRESHNESS).then(
      (r) => (rows = r),
      () => undefined,
    );
  read();
  const timer = setInterval(read, everyMs);
  timer.unref();
  m.sources.walBytes = () => 0;
  m.sources.freshness = () => freshnessOf(rows, clock);
  return () => clearInterval(timer);
}
