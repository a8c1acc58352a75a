export interface WriteContext {
  actor: string;
  interface: 'mcp-stdio' | 'mcp-http' | 'rest' | 'cli' | 'system';
  operation: string;
  requestId: string;
  rationale?: string;
  /** How a human confirmed this risky step, when the policy asked for it. */
  confirmation?: Confirmation;
  /** Whom the caller says it acts for (REST `x-actor`): a label beside the actor, never matched by a policy. */
  onBehalfOf?: string;
}

export interface Confirmation {
  /** What was confirmed, e.g. "start home-focus-shelf at 10%". */
  action: string;
  via: 'elicitation' | 'argument' | 'approval';
  reason: string;
  /** via approval: the request decided, and who approved it (the actor stays the requester). */
  approvalId?: string;
  approvedBy?: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  interface: string;
  operation: string;
  requestId: string;
  rationale: string | null;
  confirmation: Confirmation | null;
  onBehalfOf: string | null;
  entityType: string;
  entityId: string;
  before: unknown;
  after: unknown;
}

/** An audit_log row as the domain reads it (both engines store the same text). */
export const toAuditEntry = (r: Record<string, unknown>): AuditEntry => ({
  id: r.id as number,
  at: r.at as string,
  actor: r.actor as string,
  interface: r.interface as string,
  operation: r.operation as string,
  requestId: r.request_id as string,
  rationale: (r.rationale as string | null) ?? null,
  confirmation: r.confirmation ? (JSON.parse(r.confirmation as string) as Confirmation) : null,
  onBehalfOf: (r.on_behalf_of as string | null) ?? null,
  entityType: r.entity_type as string,
  entityId: r.entity_id as string,
  before: r.before ? JSON.parse(r.before as string) : null,
  after: r.after ? JSON.parse(r.after as string) : null,
});

/** The audit_log columns an insert fills, and their values for one write (shared by the sync and async repos). */
export const AUDIT_INSERT =
  'INSERT INTO audit_log (at, actor, interface, operation, request_id, rationale, confirmation, on_behalf_of, entity_type, entity_id, before, after) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)';

export const auditValues = (ctx: WriteContext, entityType: string, entityId: string, before: unknown, after: unknown, at: string): (string | null)[] => [
  at,
  ctx.actor,
  ctx.interface,
  ctx.operation,
  ctx.requestId,
  ctx.rationale ?? null,
  ctx.confirmation ? JSON.stringify(ctx.confirmation) : null,
  ctx.onBehalfOf ?? null,
  entityType,
  entityId,
  before === undefined ? null : JSON.stringify(before),
  after === undefined ? null : JSON.stringify(after),
];
