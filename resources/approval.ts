import { defineResource } from '../src/mcp/define-resource.js';

export const approvalResource = defineResource({
  name: 'approval',
  title: 'Approval request',
  description:
    "One approval request in full: the held step and its arguments, the plan it was judged on, requester, status, who decided and why, the step's result or error. Only a person with the approve scope decides (sealab approvals, POST /v1/approvals/{id}/approve).",
  uri: 'sealab://approval/{id}',
  read: async (app, { id }) => ({ approval: await app.approvals.get(id), audit: await app.deps.store.audit.forEntity('approval', id, 20) }),
  list: async (app) =>
    (await app.approvals.list({ status: 'pending' })).map((a) => ({ id: a.id, name: `${a.step} ${a.experimentId} (pending until ${a.expiresAt})` })),
});
