import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { HotCounter, HotHistogram } from './hot-series.js';

/**
 * The Prometheus metrics of one container (README "Operating sealab"). Each container owns its
 * registry, never prom-client's global one, so several containers in one process (tests, a backend
 * beside a gateway) do not collide. The SLO rules and evaluator read these names: they are a contract.
 */

/** Sub-millisecond serving up to a slow request: assignment, layout and OFREP answer from memory. */
const SERVING_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** Prometheus' defaults with a finer low end: REST answers in milliseconds, writes in tens of them. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** The OpenTelemetry MCP semantic conventions' advice for mcp.server.operation.duration. */
const MCP_BUCKETS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];
/** Saga steps and remote calls: a local write in a millisecond up to a remote system's timeout. */
const STEP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Ingest to aggregate: a fold every few seconds, minutes when behind, hours for late events. */
const LAG_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400];
/** A write to this process serving it: within a second by design (DESIGN.md rule 9). */
const PROPAGATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];
/** Guardrail breach detected to rollback applied: one saga, seconds; minutes means something is stuck. */
const REACTION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

/** A batch of served exposures handed to the writer (a worker thread's SQLite write) until its acknowledgement. */
const EXPOSURE_WRITE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Read on scrape (collect callbacks), so the request paths pay nothing for them. */
export interface MetricSources {
  /** Bytes in the SQLite write-ahead log (0 when there is none, e.g. :memory:). */
  walBytes?: () => number;
  /** Seconds since each running experiment's aggregates were last folded. */
  freshness?: () => Array<{ experiment: string; seconds: number }>;
  /** Events acknowledged but not folded yet, and seconds since the oldest of them was received (ADR 0018). */
  fold?: () => { pending: number; lagSeconds: number };
  /** The serving configuration's revision and the seconds since it was compiled. */
  servingConfig?: () => { revision: number; ageSeconds: number };
  /** With a remote content delivery: seconds since it last confirmed the content catalog, and the items kept though it dropped them. */
  contentSync?: () => { ageSeconds: number; missingUpstream: number };
  /** A replica on PostgreSQL: whether its LISTEN connection for configuration revisions is up. */
  configListening?: () => boolean;
  /** Served exposures waiting in memory: queued (not yet handed to the writer) and in flight (handed, not yet acknowledged). */
  exposureQueue?: () => { queued: number; inFlight: number };
}

/** Builds the registry and every metric of the contract (with SEALAB_METRICS=off the container builds none). */
export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  const registers = [registry];
  const sources: MetricSources = {};
  if (opts.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // Gauges named *_total fail `promtool check metrics`; each is the sum of its by-type sibling (nodejs_active_handles{type}).
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  }
  const metrics = {
    registry,
    sources,
    httpRequests: new HotCounter({
      name: 'sealab_http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status code.',
      labelNames: ['route', 'method', 'code'] as const,
      registers,
    }),
    httpDuration: new HotHistogram({
      name: 'sealab_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by route pattern and method.',
      labelNames: ['route', 'method'] as const,
      buckets: HTTP_BUCKETS,
      registers,
    }),
    mcpDuration: new Histogram({
      name: 'mcp_server_operation_duration_seconds',
      help: 'MCP request duration (OpenTelemetry mcp.server.operation.duration); error_type is empty when it succeeded.',
      labelNames: ['mcp_method_name', 'gen_ai_tool_name', 'error_type'] as const,
      buckets: MCP_BUCKETS,
      registers,
    }),
    toolCalls: new Counter({
      name: 'sealab_mcp_tool_calls_total',
      help: 'MCP tool calls, by tool and outcome (ok, input_required or the error code).',
      labelNames: ['tool', 'outcome'] as const,
      registers,
    }),
    servingRequests: new HotCounter({
      name: 'sealab_serving_requests_total',
      help: 'Serving requests (assignment, layout, ofrep, ofrep_bulk), by outcome (ok, client_error, server_error).',
      labelNames: ['route', 'outcome'] as const,
      registers,
    }),
    servingDuration: new HotHistogram({
      name: 'sealab_serving_duration_seconds',
      help: 'Time to answer a serving request (OFREP fast path included), by route.',
      labelNames: ['route'] as const,
      buckets: SERVING_BUCKETS,
      registers,
    }),
    exposuresQueued: new HotCounter({ name: 'sealab_exposures_queued_total', help: 'Exposures queued for writing.', registers }),
    exposuresWritten: new Counter({ name: 'sealab_exposures_written_total', help: 'Exposures written durably (or sent to the events gateway).', registers }),
    exposuresDropped: new Counter({ name: 'sealab_exposures_dropped_total', help: 'Exposures dropped (queue full or no store to write them to).', registers }),
    exposureQueued: new Gauge({
      name: 'sealab_exposure_queue_depth',
      help: 'Served exposures queued in memory, not yet handed to the writer (a SIGKILL loses them).',
      registers,
      collect() {
        this.set(sources.exposureQueue?.().queued ?? 0);
      },
    }),
    exposureInFlight: new Gauge({
      name: 'sealab_exposure_in_flight',
      help: 'Served exposures handed to the writer (worker thread or events gateway) and not yet acknowledged.',
      registers,
      collect() {
        this.set(sources.exposureQueue?.().inFlight ?? 0);
      },
    }),
    exposureBackpressure: new Counter({
      name: 'sealab_exposure_backpressure_total',
      help: 'Flushes that found the writer with its maximum of unacknowledged batches: the queue grows until one is acknowledged.',
      registers,
    }),
    exposureWriteFailures: new Counter({
      name: 'sealab_exposure_write_failures_total',
      help: 'Batches of served exposures the writer failed to write (re-queued and retried).',
      registers,
    }),
    exposureWriteDuration: new Histogram({
      name: 'sealab_exposure_write_duration_seconds',
      help: 'Time from handing a batch of served exposures to the writer to its acknowledgement.',
      buckets: EXPOSURE_WRITE_BUCKETS,
      registers,
    }),
    eventsAccepted: new HotCounter({
      name: 'sealab_events_accepted_total',
      help: 'Ingested events acknowledged, by type (exposure, metric, event: raw product events).',
      labelNames: ['type'] as const,
      registers,
    }),
    eventsRejected: new Counter({
      name: 'sealab_events_rejected_total',
      help: 'Ingested events refused, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    ingestLag: new Histogram({
      name: 'sealab_ingest_lag_seconds',
      help: 'Time from an event (its receipt) to its fold into the aggregates analysis reads.',
      buckets: LAG_BUCKETS,
      registers,
    }),
    foldBacklog: new Gauge({
      name: 'sealab_fold_backlog_events',
      help: 'Events acknowledged (in the event log) but not yet folded into the aggregates.',
      registers,
      collect() {
        const f = sources.fold?.();
        if (f) this.set(f.pending);
      },
    }),
    foldLag: new Gauge({
      name: 'sealab_fold_lag_seconds',
      help: 'Seconds since the oldest event not yet folded was received (0 when the fold is caught up).',
      registers,
      collect() {
        const f = sources.fold?.();
        if (f) this.set(f.lagSeconds);
      },
    }),
    foldDropped: new Counter({
      name: 'sealab_fold_dropped_total',
      help: "Exposures the fold did not apply because they contradict the unit's stored variant (sent before it was folded).",
      registers,
    }),
    resultsFreshness: new Gauge({
      name: 'sealab_results_freshness_seconds',
      help: "Seconds since a running experiment's aggregates were last folded.",
      labelNames: ['experiment'] as const,
      registers,
      collect() {
        this.reset();
        for (const f of sources.freshness?.() ?? []) this.set({ experiment: f.experiment }, f.seconds);
      },
    }),
    sagaOperations: new Counter({
      name: 'sealab_saga_operations_total',
      help: 'Saga operations finished, by kind (deploy, stop, ...) and outcome (ok, compensated, failed).',
      labelNames: ['kind', 'outcome'] as const,
      registers,
    }),
    sagaStepDuration: new Histogram({
      name: 'sealab_saga_step_duration_seconds',
      help: 'Duration of each saga step, by operation kind and step.',
      labelNames: ['kind', 'step'] as const,
      buckets: STEP_BUCKETS,
      registers,
    }),
    remoteDuration: new Histogram({
      name: 'sealab_remote_call_duration_seconds',
      help: 'Calls to remote systems (backend, content, events), by system and outcome (ok, error).',
      labelNames: ['system', 'outcome'] as const,
      buckets: STEP_BUCKETS,
      registers,
    }),
    remoteErrors: new Counter({
      name: 'sealab_remote_call_errors_total',
      help: 'Failed calls to remote systems, by system and reason (timeout, network, http_4xx, http_5xx).',
      labelNames: ['system', 'reason'] as const,
      registers,
    }),
    rampTicks: new Counter({ name: 'sealab_ramp_ticks_total', help: 'Ramp scheduler ticks.', registers }),
    rampAdvances: new Counter({ name: 'sealab_ramp_advances_total', help: 'Ramp stages advanced.', registers }),
    rampHolds: new Counter({
      name: 'sealab_ramp_holds_total',
      help: 'Ramps held at their stage, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    rampBreakerTrips: new Counter({ name: 'sealab_ramp_breaker_trips_total', help: 'Circuit-breaker trips (guardrail breach rolled back).', registers }),
    servingConfigRevision: new Gauge({
      name: 'sealab_serving_config_revision',
      help: 'Revision of the serving configuration this process answers from.',
      registers,
      collect() {
        const c = sources.servingConfig?.();
        if (c) this.set(c.revision);
      },
    }),
    servingConfigAge: new Gauge({
      name: 'sealab_serving_config_age_seconds',
      help: 'Seconds since this process compiled its serving configuration.',
      registers,
      collect() {
        const c = sources.servingConfig?.();
        if (c) this.set(c.ageSeconds);
      },
    }),
    servingSnapshotFailures: new Counter({
      name: 'sealab_serving_snapshot_failures_total',
      help: 'Serving snapshot reads that failed (serving kept its last good configuration).',
      registers,
    }),
    configRevisionsHeard: new Counter({
      name: 'sealab_config_revisions_heard_total',
      help: 'Configuration revisions a replica on PostgreSQL learnt of before serving held them, by how (notify, poll, reconnect, start).',
      labelNames: ['via'] as const,
      registers,
    }),
    configListening: new Gauge({
      name: 'sealab_config_listening',
      help: 'PostgreSQL replicas: 1 while the LISTEN connection for configuration revisions is up, 0 while polling instead.',
      registers,
      collect() {
        const l = sources.configListening?.();
        if (l !== undefined) this.set(l ? 1 : 0);
      },
    }),
    configPropagation: new Histogram({
      name: 'sealab_config_propagation_seconds',
      help: 'Time from a configuration revision committed (bumped) to this process serving a compile that holds it.',
      buckets: PROPAGATION_BUCKETS,
      registers,
    }),
    guardrailReaction: new Histogram({
      name: 'sealab_guardrail_reaction_seconds',
      help: 'Time from a guardrail breach detected to its rollback applied.',
      buckets: REACTION_BUCKETS,
      registers,
    }),
    contentSyncs: new Counter({
      name: 'sealab_content_sync_total',
      help: 'Content catalog syncs from a remote content delivery, by outcome (changed, unchanged, not_modified, failed).',
      labelNames: ['outcome'] as const,
      registers,
    }),
    contentSyncAge: new Gauge({
      name: 'sealab_content_sync_age_seconds',
      help: 'Seconds since the remote content delivery last confirmed the content catalog validation uses (since start when never; 0 when embedded).',
      registers,
      collect() {
        this.set(sources.contentSync?.().ageSeconds ?? 0);
      },
    }),
    contentMissingUpstream: new Gauge({
      name: 'sealab_content_missing_upstream_items',
      help: 'Content items the remote content delivery no longer lists, kept because experiments or slot defaults use them.',
      registers,
      collect() {
        this.set(sources.contentSync?.().missingUpstream ?? 0);
      },
    }),
    sqliteWalBytes: new Gauge({
      name: 'sealab_sqlite_wal_bytes',
      help: 'Size of the SQLite write-ahead logs: the database and its event log file.',
      registers,
      collect() {
        this.set(sources.walBytes?.() ?? 0);
      },
    }),
  };
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Seconds since `started` (a performance.now() reading). */
export const secondsSince = (started: number) => (performance.now() - started) / 1000;
