import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Container } from '../container.js';
import { AppError } from '../errors.js';
import { APPROVAL_STATUSES, type ApprovalStatus } from '../store/approval-repo.js';
import type { WriteContext } from '../store/audit-repo.js';

export interface ApprovalsCommand {
  action: string | undefined;
  id?: string;
  reason?: string;
  status?: string;
  /** Who decides: the operator on this machine (`local:<os user>`), like `sealab token` needing no token. */
  actor?: string;
  /** Results: stdout. */
  out: (line: string) => void;
  /** What a person reads: stderr. */
  note: (line: string) => void;
}

const USAGE =
  'usage: sealab approvals list [--status pending|approved|rejected|expired|applied|failed] | approvals approve ID [--reason R] | approvals reject ID --reason R';

/** The local operator's audit actor. */
export const localActor = () => `local:${os.userInfo().username}`;

/**
 * `sealab approvals list|approve|reject` on the data directory: the operator on the machine decides
 * held steps through the same ApprovalService as REST (same checks, same audit), as `local:<os user>`.
 */
export async function runApprovals(app: Container, cmd: ApprovalsCommand): Promise<void> {
  const ctx = (operation: string, rationale?: string): WriteContext => ({
    actor: cmd.actor ?? localActor(),
    interface: 'cli',
    operation,
    requestId: randomUUID(),
    ...(rationale ? { rationale } : {}),
  });
  if (cmd.action === 'list') {
    const status = (cmd.status ?? 'pending') as ApprovalStatus;
    if (!APPROVAL_STATUSES.includes(status)) throw new AppError('INVALID_INPUT', `--status: unknown '${cmd.status}'`, USAGE);
    const list = await app.approvals.list({ status });
    for (const a of list) cmd.out(`${a.id}\t${a.status}\t${a.requester}\t${a.expiresAt}\t${a.summary}`);
    if (!list.length) cmd.note(`no ${status} approval requests`);
    return;
  }
  if ((cmd.action === 'approve' || cmd.action === 'reject') && !cmd.id)
    throw new AppError('INVALID_INPUT', `approvals ${cmd.action}: the request id is missing`, USAGE);
  if (cmd.action === 'approve') {
    const { approval, experiment } = await app.approvals.approve(cmd.id!, ctx('sealab approvals approve', cmd.reason), cmd.reason);
    cmd.out(`${approval.id}\t${approval.status}`);
    cmd.note(`approved and applied ${approval.id}: '${experiment.key}' is ${experiment.status} at ${experiment.allocationPercent}% (v${experiment.version})`);
    return;
  }
  if (cmd.action === 'reject') {
    if (!cmd.reason || cmd.reason.trim().length < 3)
      throw new AppError('INVALID_INPUT', 'approvals reject: --reason is required (3 characters or more)', USAGE);
    const approval = await app.approvals.reject(cmd.id!, ctx('sealab approvals reject', cmd.reason), cmd.reason);
    cmd.out(`${approval.id}\t${approval.status}`);
    return;
  }
  throw new AppError('INVALID_INPUT', `approvals: unknown action '${cmd.action ?? ''}'`, USAGE);
}
