import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { Container } from '../container.js';
import { AppError } from '../errors.js';
import type { WriteContext } from '../store/audit-repo.js';
import type { HttpVars } from './http-vars.js';
import { openApiDocument } from './openapi.js';
import { sloView } from '../ops/slo/slo-view.js';
import {
  AdvanceClockBody,
  ApprovalsQuery,
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
import type { StepCall } from '../app/approvals/approval-service.js';
import type { ConfirmationStatus } from '../app/experiments/experiment-types.js';
import { stripControl } from '../domain/schemas.js';
import { ruleCatalog } from '../domain/rules/index.js';
import { policyView } from '../app/catalog/policy-view.js';
import { DiagnosisOptionsSchema } from '../ops/diagnosis-schema.js';

type C = Context<{ Variables: HttpVars }>;

export async function body(c: C): Promise<unknown> {
  try {
    return JSON.parse(await c.req.text());
  } catch {
    throw new AppError('INVALID_INPUT', 'the request body is not valid JSON', 'Send a JSON body with Content-Type: application/json.');
  }
}

/** A body that may be left out (an empty POST reads as {}). */
async function optionalBody(c: C): Promise<unknown> {
  return (await c.req.text()).trim() ? body(c) : {};
}

export function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success)
    throw new AppError(
      'INVALID_INPUT',
      r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
      'Correct the listed fields and retry.',
    );
  return r.data;
}

/**
 * The audit context of a REST write. The actor is the authenticated principal (`rest:client:bearer`
 * with SEALAB_TOKEN, `rest:local:anonymous` without), which allocation approvals match; `x-actor`
 * is only a label of whom the caller acts for, recorded beside it and matched by nothing.
 */
const write = (c: C, operation: string, rationale?: string): WriteContext => {
  const onBehalfOf = stripControl(c.req.header('x-actor') ?? '').slice(0, 120);
  return {
    actor: `rest:${c.get('principal')}`,
    interface: 'rest',
    operation,
    requestId: c.get('requestId'),
    ...(rationale ? { rationale } : {}),
    ...(onBehalfOf ? { onBehalfOf } : {}),
  };
};

/** REST has no elicitation: a confirmation the policy asks for comes in the body, with its reason. */
const argued = (c?: { reason: string }) => (c ? { confirmation: { via: 'argument' as const, reason: stripControl(c.reason) } } : {});

/**
 * REST cannot show a form: a step the policy holds for a person's approval becomes a pending
 * approval request (202 with its id), whatever confirmation the body carries (kept as a note).
 */
async function heldForApproval(app: Container, c: C, status: ConfirmationStatus, call: StepCall, ctx: WriteContext, note?: { reason: string }) {
  if (!status.required || status.mode !== 'approval') return null;
  const a = await app.approvals.request(call, ctx, note ? stripControl(note.reason) : undefined);
  return c.json(app.approvals.pending(a), 202);
}

/**
 * What surfaces call to render: assignment and layout from the in-memory configuration compiled
 * from the systems' state. Served by the gateway and by both system roles.
 */
export function servingRoutes(app: Container) {
  const r = new Hono<{ Variables: HttpVars }>();
  r.get('/surfaces/:id/assignment', (c) => c.json(app.events.assign(c.req.param('id'), c.req.query('unit') ?? '', c.req.query('platform'))));
  r.get('/surfaces/:id/layout', (c) =>
    c.json(app.events.layout(c.req.param('id'), c.req.query('unit') ?? '', c.req.query('platform'), c.req.query('slots')?.split(',').filter(Boolean))),
  );
  return r;
}

/** REST for the same use cases as the MCP tools; errors become problem JSON in the app's onError. */
export function restRoutes(app: Container) {
  const r = new Hono<{ Variables: HttpVars }>();
  // A write is served by this process's next request (a replica on PostgreSQL reloads serving asynchronously).
  r.use('*', async (c, next) => {
    await next();
    if (c.req.method !== 'GET') await app.serving.settled();
  });
  r.get('/openapi.json', async (c) => c.json(openApiDocument()));
  r.get('/surfaces', async (c) => c.json({ surfaces: await app.catalog.surfaces() }));
  r.get('/surfaces/:id', async (c) => c.json(await app.catalog.surface(c.req.param('id'))));
  r.get('/metrics', async (c) => c.json({ metrics: await app.catalog.metrics() }));
  r.get('/content', async (c) => c.json(await app.catalog.contentView()));
  r.get('/experiments', async (c) => c.json({ experiments: await app.experiments.list({ surfaceId: c.req.query('surface') }) }));
  r.post('/experiments', async (c) => {
    const b = parse(CreateBody, await body(c));
    const res = await app.experiments.create(b, write(c, 'POST /v1/experiments'));
    return c.json(res, res.replayed ? 200 : 201);
  });
  r.post('/experiments/validate', async (c) =>
    c.json(
      await app.experiments.validate({ config: parse(z.object({ config: z.unknown() }), await body(c)).config }, write(c, 'POST /v1/experiments/validate')),
    ),
  );
  r.get('/experiments/:id', async (c) => {
    const experiment = await app.experiments.get(c.req.param('id'));
    return c.json({ experiment, conclusion: await app.deps.store.experiments.conclusion(experiment.id) });
  });
  r.post('/experiments/:id/validate', async (c) =>
    c.json(await app.experiments.validate({ experimentId: c.req.param('id') }, write(c, 'POST /v1/experiments/:id/validate'))),
  );
  r.post('/experiments/:id/pause', async (c) => {
    const b = parse(TransitionBody, await body(c));
    return c.json({ experiment: await app.deployments.pause({ experimentId: c.req.param('id'), ...b }, write(c, 'POST /v1/experiments/:id/pause', b.reason)) });
  });
  r.post('/experiments/:id/archive', async (c) => {
    const b = parse(TransitionBody, await body(c));
    return c.json({
      experiment: await app.experiments.archive({ experimentId: c.req.param('id'), ...b }, write(c, 'POST /v1/experiments/:id/archive', b.reason)),
    });
  });
  r.post('/experiments/:id/deploy', async (c) => {
    const { confirmation, dryRun, ...b } = parse(DeployBody, await body(c));
    const input = { experimentId: c.req.param('id'), ...b };
    const ctx = write(c, 'POST /v1/experiments/:id/deploy');
    const preview = await app.deploys.deploy({ ...input, dryRun: true }, ctx);
    if (dryRun) return c.json(preview);
    const held = preview.replayed ? null : await heldForApproval(app, c, preview.confirmation, { step: 'deploy', args: input }, ctx, confirmation);
    return held ?? c.json(await app.deployments.deploy({ ...input, ...argued(confirmation) }, ctx));
  });
  r.post('/experiments/:id/stop', async (c) => {
    const { confirmation, ...b } = parse(StopBody, await body(c));
    const input = { experimentId: c.req.param('id'), ...b };
    const ctx = write(c, 'POST /v1/experiments/:id/stop', b.reason);
    const held = await heldForApproval(app, c, await app.stops.stopConfirmation(input, ctx.actor), { step: 'stop', args: input }, ctx, confirmation);
    if (held) return held;
    const experiment = await app.deployments.stop({ ...input, ...argued(confirmation) }, ctx);
    return c.json({ experiment, conclusion: await app.deps.store.experiments.conclusion(experiment.id) });
  });
  r.post('/experiments/:id/revert-ship', async (c) => {
    const { confirmation, ...b } = parse(RevertShipBody, await body(c));
    const input = { experimentId: c.req.param('id'), ...b };
    const ctx = write(c, 'POST /v1/experiments/:id/revert-ship', b.reason);
    const { exp: _exp, conclusion: _conclusion, ...status } = await app.stops.revertConfirmation(input, ctx.actor);
    const held = await heldForApproval(app, c, status, { step: 'revert_ship', args: input }, ctx, confirmation);
    return held ?? c.json(await app.deployments.revertShip({ ...input, ...argued(confirmation) }, ctx));
  });
  r.get('/approvals', async (c) => c.json({ approvals: await app.approvals.list(parse(ApprovalsQuery, c.req.query())) }));
  r.get('/approvals/:id', async (c) => c.json({ approval: await app.approvals.get(c.req.param('id')) }));
  r.post('/approvals/:id/approve', async (c) => {
    const b = parse(ApproveBody, await optionalBody(c));
    return c.json(await app.approvals.approve(c.req.param('id'), write(c, 'POST /v1/approvals/:id/approve', b.reason), b.reason));
  });
  r.post('/approvals/:id/reject', async (c) => {
    const b = parse(RejectBody, await body(c));
    return c.json({ approval: await app.approvals.reject(c.req.param('id'), write(c, 'POST /v1/approvals/:id/reject', b.reason), b.reason) });
  });
  r.patch('/experiments/:id', async (c) => {
    const b = parse(UpdateBody, await body(c));
    return c.json(await app.experiments.update({ experimentId: c.req.param('id'), ...b }, write(c, 'PATCH /v1/experiments/:id')));
  });
  r.post('/plans', async (c) => c.json(await app.generator.plan(parse(PlanBody, await body(c)))));
  r.post('/catalog/plan', async (c) => c.json(await app.catalogChanges.planInput(parse(CatalogChangeBody, await body(c)))));
  r.post('/catalog/apply', async (c) => {
    const { dryRun, ...input } = parse(CatalogApplyBody, await body(c));
    return c.json(await app.catalogChanges.applyInput(input, write(c, 'POST /v1/catalog/apply'), dryRun));
  });
  r.get('/policy', async (c) =>
    c.json(
      policyView(
        app.deps.policy,
        (await app.catalog.surfaces()).map((s) => s.id),
      ),
    ),
  );
  r.get('/rules', (c) => c.json({ rules: ruleCatalog() }));
  r.get('/experiments/:id/metrics', async (c) => c.json(await app.metrics.reportCurrent(c.req.param('id'))));
  r.get('/experiments/:id/ramp', async (c) => c.json(await app.ramps.status(c.req.param('id'))));
  r.get('/experiments/:id/metrics/history', async (c) => c.json(await app.metrics.historyCurrent(c.req.param('id'))));
  r.get('/experiments/:id/audit', async (c) =>
    c.json({ audit: await app.deps.store.audit.forEntity('experiment', (await app.experiments.get(c.req.param('id'))).id) }),
  );
  r.get('/ops/operations', async (c) => c.json(await app.diagnose(parse(DiagnosisOptionsSchema, c.req.query()))));
  r.get('/clock', (c) => c.json(app.clock.read()));
  r.get('/ops/slo', (c) => c.json(sloView(app.slo.status(c.req.query('slo')))));
  r.post('/clock/advance', async (c) => c.json(await app.clock.advance(parse(AdvanceClockBody, await body(c)), write(c, 'POST /v1/clock/advance'))));
  r.post('/events', async (c) => {
    const res = await app.events.ingest(await body(c), write(c, 'POST /v1/events'));
    return c.json(res, res.rejected.length && !res.accepted && !res.duplicates ? 422 : 200);
  });
  return r;
}
