import { z } from 'zod';
import { EventBatchSchema, EventSchema } from '../app/events/event-service.js';
import { ExperimentConfigSchema } from '../domain/schemas.js';
import { SERVER_VERSION } from '../version.js';
import { BackendStateSchema, BackendWriteSchema, ContentStateSchema, ContentWriteSchema, WriteResultSchema } from '../systems/contracts.js';
import {
  AdvanceClockBody,
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

interface Operation {
  method: 'get' | 'post' | 'patch' | 'put';
  path: string;
  summary: string;
  tag: 'catalog' | 'experiments' | 'approvals' | 'data' | 'serving' | 'ofrep' | 'ops' | 'backend' | 'content-delivery';
  body?: z.ZodType;
  /** The 200 answer's shape, where a zod schema states it (the system contracts). */
  response?: z.ZodType;
  query?: Record<string, string>;
}

/** Every HTTP route sealab serves besides /mcp; a test keeps this list equal to the routers. */
export const OPERATIONS: Operation[] = [
  { method: 'get', path: '/healthz', summary: 'Liveness and version; with remote systems, when serving last synced from them', tag: 'ops' },
  {
    method: 'get',
    path: '/readyz',
    summary:
      "Readiness: 200 when serving is current with every process's writes, the database is writable and remote systems are synced; else 503 with the reasons",
    tag: 'ops',
  },
  { method: 'get', path: '/v1/openapi.json', summary: 'This document', tag: 'ops' },
  { method: 'get', path: '/v1/surfaces', summary: 'Surfaces with slots, running experiments and free buckets', tag: 'catalog' },
  { method: 'get', path: '/v1/surfaces/{id}', summary: 'One surface', tag: 'catalog' },
  {
    method: 'get',
    path: '/v1/surfaces/{id}/assignment',
    summary: "The unit's variants and layout; records exposures",
    tag: 'serving',
    query: { unit: 'unit id (required)', platform: 'ios | android | web | desktop' },
  },
  {
    method: 'get',
    path: '/v1/surfaces/{id}/layout',
    summary: 'The slots served to the unit; exposes only experiments deciding a served slot',
    tag: 'serving',
    query: { unit: 'unit id (required)', platform: 'platform', slots: 'comma-separated slot ids' },
  },
  { method: 'get', path: '/v1/metrics', summary: 'Metric catalog', tag: 'catalog' },
  { method: 'get', path: '/v1/content', summary: 'Content catalog', tag: 'catalog' },
  { method: 'get', path: '/v1/policy', summary: 'Guardrail policy in force, per surface', tag: 'catalog' },
  { method: 'get', path: '/v1/rules', summary: 'Validation rules catalog', tag: 'catalog' },
  { method: 'get', path: '/v1/experiments', summary: 'Experiments', tag: 'experiments', query: { surface: 'surface id' } },
  {
    method: 'post',
    path: '/v1/experiments',
    summary: 'Create a draft (idempotency key optional)',
    tag: 'experiments',
    body: CreateBody.extend({ config: ExperimentConfigSchema }),
  },
  {
    method: 'post',
    path: '/v1/experiments/validate',
    summary: 'Validate an inline config',
    tag: 'experiments',
    body: z.object({ config: ExperimentConfigSchema }),
  },
  { method: 'post', path: '/v1/plans', summary: 'Generate a draft plan with safe defaults (stores nothing)', tag: 'experiments', body: PlanBody },
  { method: 'get', path: '/v1/experiments/{id}', summary: 'One experiment', tag: 'experiments' },
  { method: 'patch', path: '/v1/experiments/{id}', summary: 'Edit a draft (JSON Patch or full config)', tag: 'experiments', body: UpdateBody },
  { method: 'post', path: '/v1/experiments/{id}/validate', summary: 'Validate a stored experiment; returns the plan hash', tag: 'experiments' },
  { method: 'post', path: '/v1/experiments/{id}/deploy', summary: 'Start, resume or ramp (needs the current plan hash)', tag: 'experiments', body: DeployBody },
  { method: 'post', path: '/v1/experiments/{id}/pause', summary: 'Pause (keeps buckets)', tag: 'experiments', body: TransitionBody },
  {
    method: 'post',
    path: '/v1/experiments/{id}/stop',
    summary: "Kill switch, roll back, or ship (outcome shipped: the variant's layout becomes the surface default; needs a ship decision)",
    tag: 'experiments',
    body: StopBody,
  },
  {
    method: 'post',
    path: '/v1/experiments/{id}/revert-ship',
    summary: "Revert a ship: the shipped variant's layout stops being the surface default",
    tag: 'experiments',
    body: RevertShipBody,
  },
  { method: 'post', path: '/v1/experiments/{id}/archive', summary: 'Archive a concluded experiment or a draft', tag: 'experiments', body: TransitionBody },
  { method: 'get', path: '/v1/experiments/{id}/metrics', summary: 'Results and decision (get_metrics)', tag: 'experiments' },
  { method: 'get', path: '/v1/experiments/{id}/audit', summary: 'Audit trail', tag: 'experiments' },
  {
    method: 'get',
    path: '/v1/approvals',
    summary: 'Approval requests, newest first (steps the policy held for a person)',
    tag: 'approvals',
    query: { status: 'pending | approved | rejected | expired | applied | failed', experiment: 'experiment id' },
  },
  { method: 'get', path: '/v1/approvals/{id}', summary: 'One approval request', tag: 'approvals' },
  {
    method: 'post',
    path: '/v1/approvals/{id}/approve',
    summary: 'Approve (approve scope; not your own request): runs the held step through its checks, refused if the plan changed or it expired',
    tag: 'approvals',
    body: ApproveBody,
  },
  { method: 'post', path: '/v1/approvals/{id}/reject', summary: 'Reject (approve scope): nothing is applied', tag: 'approvals', body: RejectBody },
  {
    method: 'post',
    path: '/v1/events',
    summary: 'Batch of exposures and metric events; idempotent by event id',
    tag: 'data',
    body: EventBatchSchema.extend({ events: z.array(EventSchema).min(1).max(10_000) }),
  },
  { method: 'get', path: '/v1/clock', summary: "The server's time and whether it is simulated (serve --simulated-clock)", tag: 'ops' },
  {
    method: 'post',
    path: '/v1/clock/advance',
    summary: 'Simulated clock only: move forward hour by hour, one ramp-scheduler tick per hour; returns the ticks that changed something',
    tag: 'ops',
    body: AdvanceClockBody,
  },
  {
    method: 'post',
    path: '/ofrep/v1/evaluate/flags/{key}',
    summary: 'OFREP single flag evaluation (experiment key or surface/slot)',
    tag: 'ofrep',
    body: z.object({ context: z.object({ targetingKey: z.string() }).passthrough() }),
  },
  {
    method: 'post',
    path: '/ofrep/v1/evaluate/flags',
    summary: 'OFREP bulk evaluation (ETag / If-None-Match)',
    tag: 'ofrep',
    body: z.object({ context: z.object({ targetingKey: z.string() }).passthrough() }),
  },
  { method: 'get', path: '/ofrep/v1/configuration', summary: 'OFREP provider configuration', tag: 'ofrep' },
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
];

/** The routes each `serve --role` exposes. */
const ROLE_TAGS: Record<'backend' | 'content', Operation['tag'][]> = {
  backend: ['backend', 'serving', 'ofrep'],
  content: ['content-delivery', 'serving', 'ofrep'],
};

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });

/** OpenAPI 3.1 for the REST, serving and OFREP routes, generated from the zod schemas the routes parse with. */
export function openApiDocument(role: 'all' | 'backend' | 'content' = 'all') {
  const paths: Record<string, Record<string, unknown>> = {};
  const ops =
    role === 'all'
      ? OPERATIONS
      : OPERATIONS.filter((o) => ROLE_TAGS[role].includes(o.tag) || o.path === '/healthz' || o.path === '/readyz' || o.path === '/v1/openapi.json');
  for (const op of ops) {
    const params = [
      ...[...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
      ...Object.entries(op.query ?? {}).map(([name, description]) => ({
        name,
        in: 'query',
        required: description.includes('required'),
        description,
        schema: { type: 'string' },
      })),
    ];
    (paths[op.path] ??= {})[op.method] = {
      summary: op.summary,
      tags: [op.tag],
      ...(params.length ? { parameters: params } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: schema(op.body) } } } } : {}),
      responses: {
        '200': {
          description: 'OK (application/json)',
          ...(op.response
            ? { content: { 'application/json': { schema: z.toJSONSchema(op.response, { io: 'output', unrepresentable: 'any', target: 'draft-2020-12' }) } } }
            : {}),
        },
        default: {
          description: 'Error as RFC 9457 problem JSON with code and hint (OFREP routes answer in the OFREP error shape)',
          content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'sealab', version: SERVER_VERSION, description: 'REST, serving and OFREP routes. MCP is at /mcp (streamable HTTP).' },
    paths,
    components: {
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'code', 'hint'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            code: { type: 'string' },
            hint: { type: 'string' },
            requestId: { type: 'string' },
          },
        },
      },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Required when SEALAB_TOKEN is set' } },
    },
  };
}
