import { z } from 'zod';
import { EventBatchSchema, EventSchema } from '../app/events/event-schemas.js';
import { ExperimentConfigSchema } from '../domain/schemas.js';
import {
  BackendStateSchema,
  BackendWriteSchema,
  ContentCatalogSchema,
  ContentStateSchema,
  ContentWriteSchema,
  WriteResultSchema,
} from '../systems/contracts.js';
import { CatalogDocumentSchema } from '../app/catalog/catalog-document.js';
import {
  AdvanceClockBody,
  CatalogApplyBody,
  CatalogChangeBody,
  ApproveBody,
  CreateBody,
  DeployBody,
  PlanBody,
  RejectBody,
  RevertShipBody,
  StopBody,
  TransitionBody,
  UpdateBody,
} from './rest-schemas.js';
import { Responses as R } from './rest-responses.js';
import { OfrepBulkSchema, OfrepSchemas } from './ofrep-schemas.js';

/** An answer besides 200: its description and, when it has a body, its shape (always application/json). */
export interface Answer {
  description: string;
  schema?: z.ZodType;
}

export interface Operation {
  method: 'get' | 'post' | 'patch' | 'put';
  path: string;
  summary: string;
  tag: 'catalog' | 'experiments' | 'approvals' | 'data' | 'serving' | 'ofrep' | 'ops' | 'backend' | 'content-delivery';
  body?: z.ZodType;
  /** The 200 answer's shape (rest-responses.ts, the system contracts, ofrep-schemas.ts). */
  response: z.ZodType;
  /** The 200 answer's media type when it is not JSON (/metrics: Prometheus' text exposition). */
  media?: 'text/plain';
  /** Other statuses the route answers with a defined body: 201, 422, 503, and OFREP's own error shapes. */
  also?: Record<string, Answer>;
  query?: Record<string, string>;
}

/** Every HTTP route sealab serves besides /mcp; a test keeps this list equal to the routers. */
export const OPERATIONS: Operation[] = [
  { method: 'get', path: '/healthz', summary: 'Liveness and version; with remote systems, when serving last synced from them', tag: 'ops', response: R.health },
  {
    method: 'get',
    path: '/readyz',
    summary:
      "Readiness: 200 when serving is current with every process's writes, the database is writable and remote systems are synced; else 503 with the reasons",
    tag: 'ops',
    response: R.readiness,
    also: { '503': { description: 'Not ready: the failing checks with their reasons', schema: R.readiness } },
  },
  {
    method: 'get',
    path: '/metrics',
    summary: "Prometheus metrics (text exposition format 0.0.4): RED per route and tool, serving latency, ingest, sagas, ramps (README 'Operating sealab')",
    tag: 'ops',
    response: R.metricsText,
    media: 'text/plain',
  },
  { method: 'get', path: '/v1/openapi.json', summary: 'This document', tag: 'ops', response: R.document },
  { method: 'get', path: '/v1/surfaces', summary: 'Surfaces with slots, running experiments and free buckets', tag: 'catalog', response: R.surfaces },
  { method: 'get', path: '/v1/surfaces/{id}', summary: 'One surface', tag: 'catalog', response: R.surface },
  {
    method: 'get',
    path: '/v1/surfaces/{id}/assignment',
    summary: "The unit's variants and layout; records exposures",
    tag: 'serving',
    query: { unit: 'unit id (required)', platform: 'ios | android | web | desktop' },
    response: R.assignment,
  },
  {
    method: 'get',
    path: '/v1/surfaces/{id}/layout',
    summary: 'The slots served to the unit; exposes only experiments deciding a served slot',
    tag: 'serving',
    query: { unit: 'unit id (required)', platform: 'platform', slots: 'comma-separated slot ids' },
    response: R.layout,
  },
  { method: 'get', path: '/v1/metrics', summary: 'Metric catalog', tag: 'catalog', response: R.metrics },
  { method: 'get', path: '/v1/content', summary: 'Content catalog', tag: 'catalog', response: R.content },
  { method: 'get', path: '/v1/policy', summary: 'Guardrail policy in force, per surface', tag: 'catalog', response: R.policy },
  { method: 'get', path: '/v1/rules', summary: 'Validation rules catalog', tag: 'catalog', response: R.rules },
  {
    method: 'post',
    path: '/v1/catalog/plan',
    summary: 'Plan a catalog change (stores nothing): added, changed field by field, removed; additive or breaking with the experiments affected',
    tag: 'catalog',
    body: CatalogChangeBody.extend({ catalog: CatalogDocumentSchema }),
    response: R.catalogPlan,
  },
  {
    method: 'post',
    path: '/v1/catalog/apply',
    summary:
      'Apply a catalog change in one audited transaction (admin scope; dryRun defaults to true); breaking changes are refused whole (409 CATALOG_CHANGE_UNSAFE, details.unsafe), invalid documents with 422 (details.issues)',
    tag: 'catalog',
    body: CatalogApplyBody.extend({ catalog: CatalogDocumentSchema }),
    response: R.catalogApply,
  },
  { method: 'get', path: '/v1/experiments', summary: 'Experiments', tag: 'experiments', query: { surface: 'surface id' }, response: R.experiments },
  {
    method: 'post',
    path: '/v1/experiments',
    summary: 'Create a draft (idempotency key optional)',
    tag: 'experiments',
    body: CreateBody.extend({ config: ExperimentConfigSchema }),
    response: R.created,
    also: { '201': { description: 'Created', schema: R.created } },
  },
  {
    method: 'post',
    path: '/v1/experiments/validate',
    summary: 'Validate an inline config',
    tag: 'experiments',
    body: z.object({ config: ExperimentConfigSchema }),
    response: R.validation,
  },
  {
    method: 'post',
    path: '/v1/plans',
    summary: 'Generate a draft plan with safe defaults (stores nothing)',
    tag: 'experiments',
    body: PlanBody,
    response: R.plan,
  },
  { method: 'get', path: '/v1/experiments/{id}', summary: 'One experiment', tag: 'experiments', response: R.experiment },
  {
    method: 'patch',
    path: '/v1/experiments/{id}',
    summary: 'Edit a draft (JSON Patch or full config)',
    tag: 'experiments',
    body: UpdateBody,
    response: R.updated,
  },
  {
    method: 'post',
    path: '/v1/experiments/{id}/validate',
    summary: 'Validate a stored experiment; returns the plan hash',
    tag: 'experiments',
    response: R.validation,
  },
  {
    method: 'post',
    path: '/v1/experiments/{id}/deploy',
    summary: 'Start, resume or ramp (needs the current plan hash)',
    tag: 'experiments',
    body: DeployBody,
    response: R.deploy,
    also: { '202': { description: "Held for a person's approval (the policy's approval mode); nothing applied", schema: R.pendingApproval } },
  },
  {
    method: 'post',
    path: '/v1/experiments/{id}/pause',
    summary: 'Pause (keeps buckets)',
    tag: 'experiments',
    body: TransitionBody,
    response: R.withExperiment,
  },
  {
    method: 'post',
    path: '/v1/experiments/{id}/stop',
    summary: "Kill switch, roll back, or ship (outcome shipped: the variant's layout becomes the surface default; needs a ship decision)",
    tag: 'experiments',
    body: StopBody,
    response: R.concluded,
    also: { '202': { description: "Held for a person's approval (the policy's approval mode); nothing applied", schema: R.pendingApproval } },
  },
  {
    method: 'post',
    path: '/v1/experiments/{id}/revert-ship',
    summary: "Revert a ship: the shipped variant's layout stops being the surface default",
    tag: 'experiments',
    body: RevertShipBody,
    response: R.concluded,
    also: { '202': { description: "Held for a person's approval (the policy's approval mode); nothing applied", schema: R.pendingApproval } },
  },
  {
    method: 'post',
    path: '/v1/experiments/{id}/archive',
    summary: 'Archive a concluded experiment or a draft',
    tag: 'experiments',
    body: TransitionBody,
    response: R.withExperiment,
  },
  { method: 'get', path: '/v1/experiments/{id}/metrics', summary: 'Results and decision (get_metrics)', tag: 'experiments', response: R.report },
  {
    method: 'get',
    path: '/v1/experiments/{id}/ramp',
    summary: 'Ramp status (get_ramp_status): stage, hours in stage, the gate with its numbers, the breaker, any hold, and what the scheduler does next',
    tag: 'experiments',
    response: R.ramp,
  },
  {
    method: 'get',
    path: '/v1/experiments/{id}/metrics/history',
    summary: "The effect over time: per metric and treatment, get_metrics' interval at each daily snapshot (the confidence sequence under always-valid plans)",
    tag: 'experiments',
    response: R.history,
  },
  { method: 'get', path: '/v1/experiments/{id}/audit', summary: 'Audit trail', tag: 'experiments', response: R.audit },
  {
    method: 'get',
    path: '/v1/approvals',
    summary: 'Approval requests, newest first (steps the policy held for a person)',
    tag: 'approvals',
    response: R.approvals,
    query: { status: 'pending | approved | rejected | expired | applied | failed', experiment: 'experiment id' },
  },
  { method: 'get', path: '/v1/approvals/{id}', summary: 'One approval request', tag: 'approvals', response: R.approval },
  {
    method: 'post',
    path: '/v1/approvals/{id}/approve',
    summary: 'Approve (approve scope; not your own request): runs the held step through its checks, refused if the plan changed or it expired',
    tag: 'approvals',
    body: ApproveBody,
    response: R.approved,
  },
  {
    method: 'post',
    path: '/v1/approvals/{id}/reject',
    summary: 'Reject (approve scope): nothing is applied',
    tag: 'approvals',
    body: RejectBody,
    response: R.approval,
  },
  {
    method: 'post',
    path: '/v1/events',
    summary:
      'Batch of exposures, pre-computed metric events and raw product events ({"type":"event","name","unitId","value"?,"properties"?,"ts"}: every metric whose source matches is computed from them); idempotent by event id (a raw event without one: by a hash of its content)',
    tag: 'data',
    body: EventBatchSchema.extend({ events: z.array(EventSchema).min(1).max(10_000) }),
    response: R.ingest,
    also: { '422': { description: 'Every event in the batch was rejected (reasons per event)', schema: R.ingest } },
  },
  {
    method: 'get',
    path: '/v1/ops/operations',
    summary:
      'Orchestration diagnosis: slowest recent saga operations and their dominant step, p50/p95 per step, per remote system and per MCP tool, queue depths, stuck operations with owner and lease',
    tag: 'ops',
    query: {
      windowMinutes: 'how far back to read, in minutes (default 60)',
      limit: 'slowest operations listed (default 5)',
      stuckAfterSeconds: 'an unfinished operation older than this is stuck (default 60)',
    },
    response: R.operations,
  },
  {
    method: 'get',
    path: '/v1/ops/slo',
    summary: "sealab's own SLOs: objective, SLI over 30 days, error budget left, burn rates per window, burn-rate alerts firing (?slo=NAME for one)",
    tag: 'ops',
    query: { slo: 'SLO name, e.g. assignment-availability (default: every SLO)' },
    response: R.slo,
  },
  { method: 'get', path: '/v1/clock', summary: "The server's time and whether it is simulated (serve --simulated-clock)", tag: 'ops', response: R.clock },
  {
    method: 'post',
    path: '/v1/clock/advance',
    summary: 'Simulated clock only: move forward hour by hour, one ramp-scheduler tick per hour; returns the ticks that changed something',
    tag: 'ops',
    body: AdvanceClockBody,
    response: R.advance,
  },
  {
    method: 'post',
    path: '/ofrep/v1/evaluate/flags/{key}',
    summary: 'OFREP single flag evaluation (experiment key or surface/slot)',
    tag: 'ofrep',
    body: z.object({ context: z.object({ targetingKey: z.string() }).passthrough() }),
    response: OfrepSchemas.success,
    also: {
      '400': { description: 'OFREP evaluation failure', schema: OfrepSchemas.failure },
      '404': { description: 'OFREP flag not found', schema: OfrepSchemas.notFound },
    },
  },
  {
    method: 'post',
    path: '/ofrep/v1/evaluate/flags',
    summary: 'OFREP bulk evaluation (ETag / If-None-Match)',
    tag: 'ofrep',
    body: z.object({ context: z.object({ targetingKey: z.string() }).passthrough() }),
    response: OfrepBulkSchema,
    also: {
      '304': { description: 'Not modified (If-None-Match matched the ETag)' },
      '400': { description: 'OFREP bulk evaluation failure', schema: OfrepSchemas.bulkFailure },
    },
  },
  { method: 'get', path: '/ofrep/v1/configuration', summary: 'OFREP provider configuration', tag: 'ofrep', response: OfrepSchemas.configuration },
  {
    method: 'get',
    path: '/v1/backend/experiments',
    summary: 'Backend: every experiment it allocates, with status and buckets',
    tag: 'backend',
    response: z.object({ experiments: z.array(BackendStateSchema) }),
  },
  {
    method: 'get',
    path: '/v1/backend/experiments/{id}',
    summary: "Backend: one experiment's allocation (404 if never allocated)",
    tag: 'backend',
    response: BackendStateSchema,
  },
  {
    method: 'put',
    path: '/v1/backend/experiments/{id}',
    summary: 'Backend: set status, buckets and variants; idempotent by (opId, step), a forward step after its compensation is ignored',
    tag: 'backend',
    body: BackendWriteSchema,
    response: WriteResultSchema(BackendStateSchema),
  },
  {
    method: 'get',
    path: '/v1/content-delivery/experiments',
    summary: 'Content delivery: experiments whose overrides surfaces serve',
    tag: 'content-delivery',
    query: { surface: 'surface id' },
    response: z.object({ experiments: z.array(ContentStateSchema) }),
  },
  {
    method: 'get',
    path: '/v1/content-delivery/experiments/{id}',
    summary: "Content delivery: one experiment's override set (404 if never applied)",
    tag: 'content-delivery',
    response: ContentStateSchema,
  },
  {
    method: 'put',
    path: '/v1/content-delivery/experiments/{id}',
    summary: "Content delivery: serve or stop serving an experiment's per-variant slot overrides; idempotent by (opId, step)",
    tag: 'content-delivery',
    body: ContentWriteSchema,
    response: WriteResultSchema(ContentStateSchema),
  },
  {
    method: 'get',
    path: '/v1/content-delivery/content',
    summary:
      'Content delivery: the content items it delivers, ordered by id, with a strong ETag (sha256 of the canonical list); send it back in If-None-Match to get 304 while nothing changed. Gateways sync their content catalog from it',
    tag: 'content-delivery',
    response: ContentCatalogSchema,
    also: { '304': { description: 'Not modified: the If-None-Match tag is still current (no body; the ETag header repeats it)' } },
  },
];
