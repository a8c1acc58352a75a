import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runApprovals } from '../../src/cli/approvals.js';
import type { SqliteContainer } from '../../src/container.js';
import type { Policy } from '../../src/domain/policy.js';
import type { HttpApp } from '../../src/server/http-app.js';
import type { WriteContext } from '../../src/store/audit-repo.js';
import { createToken } from '../../src/store/tokens-file.js';
import { SimulatedClock } from '../../src/systems/clock.js';
import {
  APPROVED,
  commitShip,
  demoConfig,
  memoryClient,
  permissivePolicy,
  tableCounts,
  testContainer,
  testHttp,
  textOf,
  type ToolCallResult,
} from '../helpers/app.js';

const LOCAL: WriteContext = { actor: 'test', interface: 'cli', operation: 'test', requestId: 'r1' };
const START = new Date('2026-12-01T09:00:00Z');

/** Deploys and stops need a person's approval; ships are not in play here. */
const approvalPolicy = (confirmation: Record<string, unknown> = {}): Policy =>
  permissivePolicy({ confirmation: { deploy: 'approval', rampAbovePercent: 100, stop: 'approval', ship: false, ...confirmation } });

let dir: string;
let file: string;
let app: SqliteContainer;
let http: HttpApp;
let clock: SimulatedClock;
let clients: Client[] = [];

async function setup(policy: Policy = approvalPolicy()) {
  clock = new SimulatedClock(START);
  app = await testContainer({ policy, clock });
  http = testHttp(app, { tokensFile: file });
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sealab-approvals-'));
  file = path.join(dir, 'tokens.json');
});
afterEach(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  clients = [];
  await http?.close();
  app?.close();
  rmSync(dir, { recursive: true, force: true });
});

const token = (name: string, scopes: Parameters<typeof createToken>[1]['scopes']) => createToken(file, { name, scopes }).secret;

async function rest(method: string, p: string, secret: string, body?: unknown) {
  const headers: Record<string, string> = { host: '127.0.0.1', authorization: `Bearer ${secret}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await http.app.request(p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as any };
}

async function client(opts: Parameters<typeof memoryClient>[1] = {}) {
  const c = await memoryClient(app, opts);
  clients.push(c);
  return c;
}

/** A validated draft: its id, version and plan hash. */
async function validatedDraft() {
  const { experiment } = await app.experiments.create({ config: demoConfig() }, LOCAL);
  const v = await app.experiments.validate({ experimentId: experiment.id }, LOCAL);
  return { id: experiment.id, version: experiment.version, planHash: v.planHash! };
}

const call = async (c: Client, name: string, args: Record<string, unknown>) => (await c.callTool({ name, arguments: args })) as ToolCallResult;

/** An agent without elicitation asks to start a draft: the answer is a pending approval request. */
async function requestedDeploy(c?: Client) {
  const d = await validatedDraft();
  const r = await call(c ?? (await client()), 'deploy_to_surface', { experimentId: d.id, version: d.version, planHash: d.planHash });
  expect(r.isError).toBeFalsy();
  const approval = r.structuredContent!.approval as { status: string; approvalId: string; expiresAt: string; how: string };
  return { d, r, approval };
}

const serving = (id: string) => app.localSystems.backend.listSync().filter((b) => b.experimentId === id);

describe('human approvals', () => {
  it('a step the policy holds becomes a pending request: nothing deployed, the agent reads its state (tool and resource)', async () => {
    await setup();
    const c = await client();
    const d = await validatedDraft();
    const before = tableCounts(app);
    const r = await call(c, 'deploy_to_surface', { experimentId: d.id, version: d.version, planHash: d.planHash });

    const approval = r.structuredContent!.approval as Record<string, string>;
    expect(r.structuredContent).toMatchObject({ applied: false, confirmation: { required: true, mode: 'approval' } });
    expect(approval).toMatchObject({ status: 'pending_approval', approvalId: expect.stringMatching(/^apr_/), expiresAt: '2026-12-02T09:00:00.000Z' });
    expect(approval.summary).toMatch(/^start 'home-focus-shelf' on home: 0% → 10%/);
    expect(approval.how).toContain(`sealab approvals approve ${approval.approvalId}`);
    expect(textOf(r)).toMatch(/Not applied: the policy wants a person's approval/);
    // Only the request and its audit row were written: the experiment is a draft, nothing is served.
    expect(tableCounts(app)).toEqual({ ...before, approval_requests: 1, audit_log: before.audit_log + 1 });
    expect((await app.experiments.get(d.id)).status).toBe('draft');
    expect(serving(d.id)).toEqual([]);

    const got = await call(c, 'get_approval', { approvalId: approval.approvalId });
    expect(got.structuredContent).toMatchObject({ id: approval.approvalId, status: 'pending', step: 'deploy', requester: 'agent:test-agent', decidedBy: null });
    const res = await c.readResource({ uri: `sealab://approval/${approval.approvalId}` });
    const full = JSON.parse((res.contents[0] as { text: string }).text);
    expect(full.approval).toMatchObject({ status: 'pending', args: { experimentId: d.id, version: d.version, planHash: d.planHash }, planHash: d.planHash });

    // Asking again for the same step returns the same open request.
    const again = await call(c, 'deploy_to_surface', { experimentId: d.id, version: d.version, planHash: d.planHash });
    expect((again.structuredContent!.approval as { approvalId: string }).approvalId).toBe(approval.approvalId);
    expect(tableCounts(app).approval_requests).toBe(1);
  });

  it('another principal with approve applies it through the checked path; the audit shows requester and approver', async () => {
    await setup();
    const dana = token('dana', ['read', 'approve']);
    const { d, approval } = await requestedDeploy();

    const pending = await rest('GET', '/v1/approvals?status=pending', dana);
    expect(pending.json.approvals.map((a: { id: string }) => a.id)).toEqual([approval.approvalId]);
    const res = await rest('POST', `/v1/approvals/${approval.approvalId}/approve`, dana, { reason: 'guardrails reviewed' });

    expect(res.status).toBe(200);
    expect(res.json.approval).toMatchObject({ status: 'applied', decidedBy: 'rest:token:dana', decisionReason: 'guardrails reviewed' });
    expect(res.json.experiment).toMatchObject({ id: d.id, status: 'running', allocationPercent: 10 });
    expect(serving(d.id)).toHaveLength(1);
    const [row] = await app.deps.store.audit.forEntity('experiment', d.id);
    expect(row).toMatchObject({
      actor: 'agent:test-agent',
      interface: 'rest',
      operation: 'approve:deploy_to_surface',
      confirmation: { via: 'approval', approvalId: approval.approvalId, approvedBy: 'rest:token:dana', reason: 'guardrails reviewed' },
    });
    const c = await client();
    const got = await call(c, 'get_approval', { approvalId: approval.approvalId });
    expect(got.structuredContent).toMatchObject({ status: 'applied', decidedBy: 'rest:token:dana' });
    const twice = await rest('POST', `/v1/approvals/${approval.approvalId}/approve`, dana, {});
    expect(twice.status).toBe(409);
    expect(twice.json.details).toMatchObject({ reason: 'already_decided', status: 'applied' });
  });

  it("refuses approving one's own request (403, nothing written) unless the policy allows self-approval", async () => {
    await setup();
    const bob = token('bob', ['deploy', 'approve']);
    const d = await validatedDraft();
    const held = await rest('POST', `/v1/experiments/${d.id}/deploy`, bob, { version: d.version, planHash: d.planHash });
    expect(held.status).toBe(202);
    expect(held.json).toMatchObject({ status: 'pending_approval', approvalId: expect.stringMatching(/^apr_/) });
    const before = tableCounts(app);

    const self = await rest('POST', `/v1/approvals/${held.json.approvalId}/approve`, bob, {});

    expect(self.status).toBe(403);
    expect(self.json).toMatchObject({ code: 'FORBIDDEN', details: { reason: 'self_approval' } });
    expect(self.json.hint).toMatch(/Another person with the approve scope/);
    expect(tableCounts(app)).toEqual(before);
    expect((await app.approvals.get(held.json.approvalId)).status).toBe('pending');
    expect((await app.experiments.get(d.id)).status).toBe('draft');

    app.setPolicy(approvalPolicy({ allowSelfApproval: true }));
    const allowed = await rest('POST', `/v1/approvals/${held.json.approvalId}/approve`, bob, {});
    // The policy changed, so the plan hash the request was judged on did too: refused as a changed plan.
    expect(allowed.json.details).toMatchObject({ reason: 'plan_changed' });
  });

  it('self-approval passes where the policy allows it', async () => {
    await setup(approvalPolicy({ allowSelfApproval: true }));
    const bob = token('bob', ['deploy', 'approve']);
    const d = await validatedDraft();
    const held = await rest('POST', `/v1/experiments/${d.id}/deploy`, bob, { version: d.version, planHash: d.planHash });
    const self = await rest('POST', `/v1/approvals/${held.json.approvalId}/approve`, bob, {});
    expect(self.status).toBe(200);
    expect(self.json.approval).toMatchObject({ status: 'applied', requester: 'rest:token:bob', decidedBy: 'rest:token:bob' });
  });

  it('a principal without the approve scope gets 403 insufficient_scope (admin does not imply approve), nothing written', async () => {
    await setup();
    const admin = token('root', ['admin']);
    const { approval } = await requestedDeploy();
    const before = tableCounts(app);

    const res = await rest('POST', `/v1/approvals/${approval.approvalId}/approve`, admin, {});
    const reject = await rest('POST', `/v1/approvals/${approval.approvalId}/reject`, admin, { reason: 'nope' });

    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ code: 'INSUFFICIENT_SCOPE', details: { needed: 'approve' } });
    expect(reject.status).toBe(403);
    expect(tableCounts(app)).toEqual(before);
    expect((await rest('GET', `/v1/approvals/${approval.approvalId}`, admin)).json.approval.status).toBe('pending');
  });

  it('refuses a changed plan: the experiment was edited after the request; nothing applied, the request fails', async () => {
    await setup();
    const dana = token('dana', ['read', 'approve']);
    const { d, approval } = await requestedDeploy();
    await app.experiments.update({ experimentId: d.id, version: d.version, patch: [{ op: 'replace', path: '/allocationPercent', value: 5 }] }, LOCAL);
    const experimentsBefore = tableCounts(app).experiments;
    const auditBefore = (await app.deps.store.audit.forEntity('experiment', d.id)).length;

    const res = await rest('POST', `/v1/approvals/${approval.approvalId}/approve`, dana, {});

    expect(res.status).toBe(412);
    expect(res.json).toMatchObject({ code: 'PRECONDITION_FAILED', details: { reason: 'plan_changed' } });
    expect(res.json.detail).toMatch(/changed after approval request .* \(v1 → v2, plan hash changed\); nothing was applied/);
    expect(await app.experiments.get(d.id)).toMatchObject({ status: 'draft', version: 2 });
    expect(serving(d.id)).toEqual([]);
    expect(tableCounts(app).experiments).toBe(experimentsBefore);
    expect(await app.deps.store.audit.forEntity('experiment', d.id)).toHaveLength(auditBefore);
    expect(await app.approvals.get(approval.approvalId)).toMatchObject({ status: 'failed', error: { code: 'PRECONDITION_FAILED' } });
  });

  it('refuses an expired request (simulated clock, no sleep): typed error, nothing written, it reads expired', async () => {
    await setup();
    const dana = token('dana', ['read', 'approve']);
    const { d, approval } = await requestedDeploy();
    clock.advance(24 * 3_600_000 + 1);
    const before = tableCounts(app);

    const res = await rest('POST', `/v1/approvals/${approval.approvalId}/approve`, dana, {});

    expect(res.status).toBe(412);
    expect(res.json).toMatchObject({ code: 'PRECONDITION_FAILED', details: { reason: 'approval_expired' } });
    expect(tableCounts(app)).toEqual(before);
    expect((await app.experiments.get(d.id)).status).toBe('draft');
    expect((await rest('GET', `/v1/approvals/${approval.approvalId}`, dana)).json.approval.status).toBe('expired');
    expect((await rest('GET', '/v1/approvals?status=pending', dana)).json.approvals).toEqual([]);
    expect((await rest('GET', '/v1/approvals?status=expired', dana)).json.approvals).toHaveLength(1);
  });

  it('reject marks the request rejected and applies nothing; it cannot be approved afterwards', async () => {
    await setup();
    const dana = token('dana', ['read', 'approve']);
    const { d, approval } = await requestedDeploy();

    const res = await rest('POST', `/v1/approvals/${approval.approvalId}/reject`, dana, { reason: 'not during the launch week' });
    const noReason = await rest('POST', `/v1/approvals/${approval.approvalId}/reject`, dana, {});
    const later = await rest('POST', `/v1/approvals/${approval.approvalId}/approve`, dana, {});

    expect(res.status).toBe(200);
    expect(res.json.approval).toMatchObject({ status: 'rejected', decidedBy: 'rest:token:dana', decisionReason: 'not during the launch week' });
    expect(noReason.status).toBe(400);
    expect(later.status).toBe(409);
    expect((await app.experiments.get(d.id)).status).toBe('draft');
    expect(serving(d.id)).toEqual([]);
  });

  it('an argument confirmation does not stand in for an approval (a request instead) nor for a form under "elicit" (refused, nothing written)', async () => {
    await setup();
    const c = await client();
    const d = await validatedDraft();
    const typed = await call(c, 'deploy_to_surface', {
      experimentId: d.id,
      version: d.version,
      planHash: d.planHash,
      confirmation: { reason: 'approved by me' },
    });
    expect(typed.structuredContent).toMatchObject({ applied: false, approval: { status: 'pending_approval' } });
    expect((await app.experiments.get(d.id)).status).toBe('draft');
    expect((await app.approvals.get((typed.structuredContent!.approval as { approvalId: string }).approvalId)).note).toBe('approved by me');
    // The service refuses it whatever adapter calls.
    await expect(app.deploys.deploy({ experimentId: d.id, version: d.version, planHash: d.planHash, confirmation: APPROVED }, LOCAL)).rejects.toThrow(
      /an argument confirmation is not enough/,
    );

    app.setPolicy(approvalPolicy({ deploy: 'elicit' }));
    const v = await app.experiments.validate({ experimentId: d.id }, LOCAL);
    const secret = token('bob', ['deploy']);
    const before = tableCounts(app);
    const elicitOnly = await call(c, 'deploy_to_surface', {
      experimentId: d.id,
      version: d.version,
      planHash: v.planHash,
      confirmation: { reason: 'approved by me' },
    });
    const viaRest = await rest('POST', `/v1/experiments/${d.id}/deploy`, secret, {
      version: d.version,
      planHash: v.planHash,
      confirmation: { reason: 'approved' },
    });

    expect(textOf(elicitOnly)).toMatch(/^PRECONDITION_FAILED: a person must confirm through a form[\s\S]*argument_confirmation_refused/);
    expect(viaRest.status).toBe(412);
    expect(viaRest.json.details).toMatchObject({ reason: 'argument_confirmation_refused', mode: 'elicit' });
    expect(tableCounts(app)).toEqual(before);
    expect((await app.experiments.get(d.id)).status).toBe('draft');
  });

  it('elicitation stays the fast path: a client that shows a form applies at once, no request', async () => {
    await setup();
    const c = await client({ elicit: () => ({ action: 'accept', content: { approve: true, reason: 'dana: looks right' } }) });
    const d = await validatedDraft();
    const r = await call(c, 'deploy_to_surface', { experimentId: d.id, version: d.version, planHash: d.planHash });
    expect(r.structuredContent).toMatchObject({ applied: true, confirmation: { given: { via: 'elicitation', reason: 'dana: looks right' } } });
    expect(r.structuredContent!.approval).toBeUndefined();
    expect(tableCounts(app).approval_requests).toBe(0);
  });

  it('a held stop is applied by the CLI operator (sealab approvals list|approve), as local:<user>', async () => {
    await setup(approvalPolicy({ deploy: true }));
    const c = await client();
    const d = await validatedDraft();
    await app.deployments.deploy({ experimentId: d.id, version: d.version, planHash: d.planHash, confirmation: APPROVED }, LOCAL);
    const r = await call(c, 'stop_experiment', { experimentId: d.id, reason: 'crash-rate up in treatment', outcome: 'rolled_back' });
    const id = (r.structuredContent!.approval as { approvalId: string }).approvalId;
    expect(r.structuredContent).toMatchObject({ experiment: { status: 'running' }, conclusion: null });

    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), note: () => undefined, actor: 'local:ops' };
    await runApprovals(app, { action: 'list', ...io });
    expect(out).toEqual([expect.stringMatching(new RegExp(`^${id}\\tpending\\tagent:test-agent\\t.*roll back 'home-focus-shelf'`))]);
    await runApprovals(app, { action: 'approve', id, reason: 'on call agrees', ...io });

    expect(out[1]).toBe(`${id}\tapplied`);
    expect(await app.experiments.get(d.id)).toMatchObject({ status: 'concluded', outcome: 'rolled_back' });
    expect(await app.deps.store.experiments.conclusion(d.id)).toMatchObject({ actor: 'agent:test-agent', reason: 'crash-rate up in treatment' });
    expect((await app.deps.store.audit.forEntity('experiment', d.id))[0]).toMatchObject({
      interface: 'cli',
      confirmation: { via: 'approval', approvalId: id, approvedBy: 'local:ops' },
    });
    await expect(runApprovals(app, { action: 'approve', ...io })).rejects.toThrow(/request id is missing/);
    await expect(runApprovals(app, { action: 'list', status: 'nope', ...io })).rejects.toThrow(/unknown 'nope'/);
  });

  it('a ramp above the threshold is held; approved, it ramps to the next stage through the same deploy path', async () => {
    await setup(approvalPolicy({ deploy: true, rampAbovePercent: 10, ramp: 'approval' }));
    const dana = token('dana', ['read', 'approve']);
    const c = await client();
    const { experiment } = await app.experiments.create({ config: demoConfig({ rampPlan: { stages: [25], minHours: 0 } }) }, LOCAL);
    const v = await app.experiments.validate({ experimentId: experiment.id }, LOCAL);
    const started = await app.deployments.deploy({ experimentId: experiment.id, version: 1, planHash: v.planHash!, confirmation: APPROVED }, LOCAL);
    const ramp = { experimentId: experiment.id, version: started.experiment.version, planHash: started.planHash, confirmation: { reason: 'gate reviewed' } };

    const r = await call(c, 'advance_ramp', ramp);
    expect(r.structuredContent).toMatchObject({
      applied: false,
      plan: { toPercent: 25 },
      ramp: { allocationPercent: 10 },
      approval: { status: 'pending_approval' },
    });
    expect((await app.experiments.get(experiment.id)).allocationPercent).toBe(10);
    const id = (r.structuredContent!.approval as { approvalId: string }).approvalId;

    const res = await rest('POST', `/v1/approvals/${id}/approve`, dana, {});
    expect(res.status).toBe(200);
    expect(res.json.experiment).toMatchObject({ status: 'running', allocationPercent: 25 });
    expect((await app.deps.store.audit.forEntity('experiment', experiment.id))[0].confirmation).toMatchObject({
      via: 'approval',
      approvedBy: 'rest:token:dana',
      reason: 'approved by rest:token:dana',
    });
  });

  it("stopping another principal's experiment takes the policy's stopOthers mode; one's own keeps stop's", async () => {
    await setup(approvalPolicy({ deploy: true, stop: true, stopOthers: 'approval' }));
    const c = await client();
    const theirs = await validatedDraft();
    await app.deployments.deploy({ experimentId: theirs.id, version: theirs.version, planHash: theirs.planHash, confirmation: APPROVED }, LOCAL);
    const created = await call(c, 'create_experiment', {
      config: demoConfig({
        key: 'home-mine',
        variants: [
          { key: 'control', isControl: true, weight: 50, overrides: [] },
          { key: 'albums', weight: 50, overrides: [{ slotId: 'shelf-4', contentId: 'al-classics' }] },
        ],
      }),
    });
    const mine = (created.structuredContent as { experiment: { id: string; version: number } }).experiment;
    const v = await app.experiments.validate({ experimentId: mine.id }, LOCAL);
    await app.deployments.deploy({ experimentId: mine.id, version: mine.version, planHash: v.planHash!, confirmation: APPROVED }, LOCAL);
    const stop = { reason: 'done here', confirmation: { reason: 'the on-call said so' } };

    const other = await call(c, 'stop_experiment', { experimentId: theirs.id, ...stop });
    const own = await call(c, 'stop_experiment', { experimentId: mine.id, ...stop });

    expect(other.structuredContent).toMatchObject({ experiment: { status: 'running' }, approval: { status: 'pending_approval' } });
    expect((await app.approvals.list({ status: 'pending' }))[0].policyReason).toBe(
      "the policy asks for a person's approval to stop an experiment another principal created",
    );
    expect(own.structuredContent).toMatchObject({ experiment: { status: 'concluded' }, conclusion: { outcome: 'stopped' } });
    expect(own.structuredContent!.approval).toBeUndefined();
  });

  it('a held revert of a ship is applied on approval: the conclusion records the revert', async () => {
    await setup(approvalPolicy({ deploy: true }));
    const dana = token('dana', ['read', 'approve']);
    const c = await client();
    const d = await validatedDraft();
    await app.deployments.deploy({ experimentId: d.id, version: d.version, planHash: d.planHash, confirmation: APPROVED }, LOCAL);
    // A concluded ship written by the stop's commit step (test/app/deploy/ship.test.ts reaches a real ship decision).
    const ship = { variant: 'focus', at: clock.now().toISOString(), decision: { decision: 'ship' } };
    await commitShip(app, d.id, ship, 'shipped', LOCAL);

    const r = await call(c, 'revert_ship', { experimentId: d.id, reason: 'retention dropped after the ship' });
    const id = (r.structuredContent!.approval as { approvalId: string }).approvalId;
    expect(r.structuredContent).toMatchObject({ conclusion: { variant: 'focus', revert: null }, approval: { status: 'pending_approval' } });
    const res = await rest('POST', `/v1/approvals/${id}/approve`, dana, { reason: 'confirmed with the home team' });

    expect(res.status).toBe(200);
    expect((await app.deps.store.experiments.conclusion(d.id))?.revert).toMatchObject({
      actor: 'agent:test-agent',
      reason: 'retention dropped after the ship',
    });
    expect(res.json.approval.status).toBe('applied');
  });
});
