import { hashOf } from '../../domain/canonical.js';
import { approvalRules, principalOf } from '../../domain/policy.js';
import type { Experiment } from '../../domain/schemas.js';
import { AppError, notFound, toAppError } from '../../errors.js';
import type { ApprovalRequest, ApprovalStatus } from '../../store/approval-repo.js';
import { bumpRevision } from '../../store/pg/revision.js';
import { type ConfigRepos, configRepos } from '../../store/sql/config-repos.js';
import type { AppDeps, WriteContext } from '../context.js';
import type { DeploySaga } from '../deploy/deploy-saga.js';
import type { DeployService } from '../deploy/deploy-service.js';
import type { DeployInput, RevertShipInput, StopInput } from '../deploy/deploy-types.js';
import type { StopService } from '../deploy/stop-service.js';
import type { ExperimentService } from '../experiments/experiment-service.js';
import type { ConfirmationStatus, GivenConfirmation } from '../experiments/experiment-types.js';

/** A confirmable step and the arguments that run it: the same service call the tool and REST make. */
export type StepCall =
  | { step: 'deploy'; args: Omit<DeployInput, 'dryRun' | 'confirmation'> }
  | { step: 'stop'; args: Omit<StopInput, 'confirmation'> }
  | { step: 'revert_ship'; args: Omit<RevertShipInput, 'confirmation'> };

/** What the step's tool and route answer instead of applying it. */
export interface PendingApproval {
  status: 'pending_approval';
  approvalId: string;
  summary: string;
  expiresAt: string;
  how: string;
}

const TOOL_OF: Record<StepCall['step'], string> = { deploy: 'deploy_to_surface', stop: 'stop_experiment', revert_ship: 'revert_ship' };

/**
 * Human approvals (issue 11 item 5). When the policy's mode for a step is "approval" and the client
 * cannot show a form, the step becomes a pending request instead of applying. A principal with the
 * approve scope (checked by the adapter), other than the requester unless the policy allows it,
 * approves it: the stored call then runs through the same checked path (DeploySaga), judged again
 * as of now and as the requester (allocation approvals match the requester's actor), and is refused
 * when the experiment's version or plan hash moved since the request. The approver is recorded in
 * the step's audit confirmation (`via: 'approval'`, approvalId, approvedBy). See docs/adr/0010.
 */
export class ApprovalService {
  constructor(
    private readonly d: AppDeps,
    private readonly experiments: ExperimentService,
    private readonly deploys: DeployService,
    private readonly stops: StopService,
    private readonly deployments: DeploySaga,
  ) {}

  /**
   * Holds a step for an approval: every check of the step runs now (a request is never made for a
   * step that would be refused), then the request is stored and audited. Asking again for the same
   * step with the same arguments returns the open request.
   */
  async request(call: StepCall, ctx: WriteContext, note?: string): Promise<ApprovalRequest> {
    if (call.step === 'stop') await this.stops.settleForShip(call.args); // a ship's analysis reads folded data
    // Reads the open requests and writes one: SERIALIZABLE on PostgreSQL, so two identical asks make one request.
    return this.d.sql.tx(
      async (tx) => {
        const r = configRepos(tx);
        const exp = await this.experiments.load(call.args.experimentId, r);
        const canonical = { ...call.args, experimentId: exp.id, ...(call.step === 'stop' ? { version: call.args.version ?? exp.version } : {}) };
        const status = await this.statusOf(r, { ...call, args: canonical } as StepCall, ctx);
        if (!status.required || status.mode !== 'approval') {
          throw new AppError(
            'PRECONDITION_FAILED',
            `the policy does not hold this step for an approval (${status.reason ?? 'no confirmation needed'})`,
            `Call ${TOOL_OF[call.step]} directly${status.required ? ' with the confirmation it asks for' : ''}.`,
            { reason: 'approval_not_required' },
          );
        }
        const now = this.d.clock.now();
        const argsHash = hashOf({ step: call.step, args: canonical });
        const principal = principalOf(ctx.actor);
        const open = await r.approvals.findOpen(exp.id, call.step, argsHash, principal, now.toISOString());
        if (open) return open;
        const { ttlHours } = approvalRules(this.experiments.policyFor(exp.surfaceId));
        const id = this.d.newId('apr');
        await r.approvals.insert({
          id,
          experimentId: exp.id,
          step: call.step,
          args: canonical,
          argsHash,
          experimentVersion: exp.version,
          planHash: this.experiments.planHashOf(exp),
          summary: status.summary,
          policyReason: status.reason,
          note: note ?? null,
          requester: ctx.actor,
          requesterPrincipal: principal,
          createdAt: now.toISOString(),
          expiresAt: new Date(now.getTime() + ttlHours * 3_600_000).toISOString(),
        });
        const stored = (await r.approvals.get(id, now.toISOString()))!;
        await r.audit.record({ ...ctx, operation: 'approval_requested' }, 'approval', id, null, auditView(stored), stored.createdAt);
        await bumpRevision(tx);
        return stored;
      },
      { isolation: 'serializable' },
    );
  }

  async get(id: string, r: ConfigRepos = this.d.store): Promise<ApprovalRequest> {
    const a = await r.approvals.get(id, this.now());
    if (!a)
      throw notFound(
        'approval request',
        id,
        'List the requests with sealab approvals list or GET /v1/approvals?status=pending; agents read the approvalId a held step returned with get_approval.',
      );
    return a;
  }

  list(opts: { status?: ApprovalStatus; experimentId?: string; limit?: number } = {}): Promise<ApprovalRequest[]> {
    return this.d.store.approvals.list(this.now(), opts);
  }

  /** What the tool or route answers for a held step. */
  pending(a: ApprovalRequest): PendingApproval {
    return {
      status: 'pending_approval',
      approvalId: a.id,
      summary: a.summary,
      expiresAt: a.expiresAt,
      how: `a person with the approve scope runs \`sealab approvals approve ${a.id}\` or POST /v1/approvals/${a.id}/approve; read its state with get_approval or sealab://approval/${a.id}`,
    };
  }

  /**
   * Approves and runs the step. Refused, with nothing written, for one's own request (unless the
   * policy allows it), a request no longer pending or past its expiry; refused when the plan changed
   * since the request (the request becomes failed, the experiment is untouched).
   */
  async approve(id: string, ctx: WriteContext, reason?: string): Promise<{ approval: ApprovalRequest; experiment: Experiment }> {
    const a = await this.decidable(id, ctx, 'approve');
    const exp = await this.experiments.load(a.experimentId);
    const now = this.now();
    const planHash = this.experiments.planHashOf(exp);
    if (exp.version !== a.experimentVersion || planHash !== a.planHash) {
      const error = new AppError(
        'PRECONDITION_FAILED',
        `the plan of '${exp.key}' changed after approval request ${a.id} was made (v${a.experimentVersion} → v${exp.version}${planHash === a.planHash ? '' : ', plan hash changed'}); nothing was applied`,
        `The request is now failed. Ask the agent to review the current plan (validate_config) and call ${TOOL_OF[a.step]} again for a new request.`,
        { reason: 'plan_changed', approvalId: a.id },
      );
      await this.settle(a, 'pending', 'failed', ctx, now, reason, { error: { code: error.code, message: error.message } });
      throw error;
    }
    // One conditional UPDATE: of concurrent approvers (on any replica) exactly one moves it out of pending.
    if (!(await this.d.store.approvals.decide(a.id, 'pending', 'approved', { decidedBy: ctx.actor, reason: reason ?? null, at: now })))
      throw await this.raced(a.id);
    const given: GivenConfirmation = { via: 'approval', reason: reason ?? `approved by ${ctx.actor}`, approvalId: a.id, approvedBy: ctx.actor };
    // The step is the requester's: the same service call, judged as the requester, through the approver's request.
    const stepCtx: WriteContext = { actor: a.requester, interface: ctx.interface, operation: `approve:${TOOL_OF[a.step]}`, requestId: ctx.requestId };
    try {
      const experiment = await this.run(a, given, stepCtx);
      const result = { experimentId: experiment.id, status: experiment.status, version: experiment.version, allocationPercent: experiment.allocationPercent };
      await this.settle(a, 'approved', 'applied', ctx, this.now(), reason, { result });
      return { approval: await this.get(a.id), experiment };
    } catch (err) {
      const e = toAppError(err);
      await this.settle(a, 'approved', 'failed', ctx, this.now(), reason, { error: { code: e.code, message: e.message } });
      throw err;
    }
  }

  /** Rejects a pending request: nothing is applied. The same rules as approving decide who may. */
  async reject(id: string, ctx: WriteContext, reason: string): Promise<ApprovalRequest> {
    const a = await this.decidable(id, ctx, 'reject');
    await this.settle(a, 'pending', 'rejected', ctx, this.now(), reason, {});
    return this.get(a.id);
  }

  /** The checks before any decision; they write nothing. */
  private async decidable(id: string, ctx: WriteContext, verb: 'approve' | 'reject'): Promise<ApprovalRequest> {
    const a = await this.get(id);
    const exp = await this.experiments.load(a.experimentId);
    if (principalOf(ctx.actor) === a.requesterPrincipal && !approvalRules(this.experiments.policyFor(exp.surfaceId)).allowSelfApproval) {
      throw new AppError(
        'FORBIDDEN',
        `${principalOf(ctx.actor)} made approval request ${a.id} and may not ${verb} it`,
        'Another person with the approve scope must decide it (the policy sets confirmation.allowSelfApproval: false).',
        { reason: 'self_approval', approvalId: a.id },
      );
    }
    if (a.status === 'expired')
      throw new AppError(
        'PRECONDITION_FAILED',
        `approval request ${a.id} expired at ${a.expiresAt}; nothing was applied`,
        `Ask the agent to call ${TOOL_OF[a.step]} again for a new request.`,
        { reason: 'approval_expired', approvalId: a.id },
      );
    if (a.status !== 'pending') throw await this.raced(a.id, a);
    return a;
  }

  private async raced(id: string, known?: ApprovalRequest): Promise<AppError> {
    const a = known ?? (await this.get(id));
    return new AppError(
      'CONFLICT',
      `approval request ${id} is already ${a.status}${a.decidedBy ? ` (decided by ${a.decidedBy})` : ''}`,
      'Read it with get_approval or GET /v1/approvals/<id>; only pending requests can be decided.',
      { reason: 'already_decided', status: a.status },
    );
  }

  private async settle(
    a: ApprovalRequest,
    from: ApprovalStatus,
    to: ApprovalStatus,
    ctx: WriteContext,
    at: string,
    reason: string | undefined,
    extra: { result?: unknown; error?: { code: string; message: string } },
  ): Promise<void> {
    const won = await this.d.sql.tx(async (tx) => {
      const r = configRepos(tx);
      if (!(await r.approvals.decide(a.id, from, to, { decidedBy: ctx.actor, reason: reason ?? null, at, ...extra }))) return false;
      await r.audit.record(
        { ...ctx, operation: `approval_${to}`, ...(reason ? { rationale: reason } : {}) },
        'approval',
        a.id,
        { status: from },
        { status: to, ...extra },
        at,
      );
      await bumpRevision(tx);
      return true;
    });
    if (!won) throw await this.raced(a.id);
  }

  /** The step's confirmation status as of now, every check of the step included; nothing written. */
  private async statusOf(r: ConfigRepos, call: StepCall, ctx: WriteContext): Promise<ConfirmationStatus> {
    if (call.step === 'deploy') {
      const p = await this.deploys.prepareDeploy(r, { ...call.args, dryRun: true }, ctx);
      return p.confirmation;
    }
    if (call.step === 'stop') return this.stops.stopConfirmation(call.args, ctx.actor, r);
    const { conclusion: _c, exp: _e, ...status } = await this.stops.revertConfirmation(call.args, ctx.actor, r);
    return status;
  }

  private async run(a: ApprovalRequest, confirmation: GivenConfirmation, ctx: WriteContext): Promise<Experiment> {
    const call = { step: a.step, args: a.args } as StepCall;
    if (call.step === 'deploy') return (await this.deployments.deploy({ ...call.args, confirmation }, ctx)).experiment;
    if (call.step === 'stop') return this.deployments.stop({ ...call.args, confirmation }, { ...ctx, rationale: call.args.reason });
    return (await this.deployments.revertShip({ ...call.args, confirmation }, { ...ctx, rationale: call.args.reason })).experiment;
  }

  private now(): string {
    return this.d.clock.now().toISOString();
  }
}

/** The audit row's view of a new request: what and by whom, not the stored arguments twice. */
const auditView = (a: ApprovalRequest) => ({
  status: a.status,
  step: a.step,
  experimentId: a.experimentId,
  experimentVersion: a.experimentVersion,
  summary: a.summary,
  policyReason: a.policyReason,
  expiresAt: a.expiresAt,
});
