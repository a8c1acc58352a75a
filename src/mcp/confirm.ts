import { inputRequired, inputResponse, type McpServer, type ServerContext } from '@modelcontextprotocol/server';
import { clientCapabilities } from './client-capabilities.js';
import { z } from 'zod';
import { stripControl } from '../domain/schemas.js';
import { AppError } from '../errors.js';
import type { ConfirmationArg, ConfirmStep } from './define-tool.js';
import type { ConfirmationMode } from '../domain/policy.js';

const KEY = 'confirm';

/** The form a human sees: approve or not, and why. */
const FormSchema = z.object({
  approve: z.boolean().describe('Approve this change'),
  reason: z.string().min(3).max(500).describe('Why you approve (recorded in the audit log)'),
});

/** Whether this request's client can show a form. */
function canElicit(server: McpServer, sctx: ServerContext): boolean {
  const e = clientCapabilities(server, sctx)?.elicitation as { form?: unknown; url?: unknown } | undefined;
  // An empty elicitation object means form mode (2025-06-18); otherwise form must be listed.
  return e !== undefined && (e.form !== undefined || e.url === undefined);
}

/**
 * One confirmation step, as the policy's mode asks. With elicitation (any mode), the first round returns an input request (the SDK sends
 * it as a push elicitation to 2025 sessions and as `input_required` to 2026 clients) and the retried
 * call reads the answer; without it, the explicit argument stands in for "confirm", "approval" hands back `approval` (the tool
 * holds the step as an approval request) and "elicit" refuses. A decline changes nothing.
 */
export function confirmStep(
  server: McpServer,
  sctx: ServerContext,
  tool: string,
  summary: string,
  given: ConfirmationArg | undefined,
  mode: ConfirmationMode = 'confirm',
): ConfirmStep {
  if (canElicit(server, sctx)) {
    const answer = inputResponse(sctx.mcpReq.inputResponses, KEY);
    if (answer.kind === 'missing') {
      const message = `sealab asks you to confirm: ${summary}.${given ? ` The agent's reason: ${JSON.stringify(given.reason)}.` : ''}`;
      return {
        kind: 'ask',
        ask: { inputRequired: inputRequired({ inputRequests: { [KEY]: inputRequired.elicit({ message, requestedSchema: FormSchema }) } }) },
      };
    }
    const form = answer.kind === 'elicit' && answer.action === 'accept' ? FormSchema.safeParse(answer.content) : undefined;
    if (!form?.success || !form.data.approve) {
      const how =
        answer.kind === 'elicit'
          ? answer.action === 'accept'
            ? 'did not approve'
            : answer.action === 'decline'
              ? 'declined'
              : 'cancelled'
          : 'gave no answer to';
      throw new AppError(
        'PRECONDITION_FAILED',
        `the human ${how} the confirmation for: ${summary}; nothing changed`,
        `Do not retry on your own: ask the human what to change (update_experiment, a smaller allocation) before calling ${tool} again.`,
        { reason: 'confirmation_declined' },
      );
    }
    return { kind: 'confirmed', confirmation: { via: 'elicitation', reason: stripControl(form.data.reason) } };
  }
  // No form: "approval" holds the step for a person with the approve scope (a typed reason is only a note).
  if (mode === 'approval') return { kind: 'approval', ...(given ? { note: stripControl(given.reason) } : {}) };
  if (mode === 'elicit')
    throw new AppError(
      'PRECONDITION_FAILED',
      `a person must confirm through a form: ${summary}`,
      `This client cannot show forms (elicitation) and the policy refuses typed confirmations for this step: call ${tool} from a client that shows forms.`,
      { reason: given ? 'argument_confirmation_refused' : 'elicitation_required', mode },
    );
  if (given) return { kind: 'confirmed', confirmation: { via: 'argument', reason: stripControl(given.reason) } };
  throw new AppError(
    'PRECONDITION_FAILED',
    `confirmation required for: ${summary}`,
    `This client cannot show a confirmation form: ask a human to approve, then call ${tool} again with confirmation: {"reason": "<who approved and why>"}.`,
    { reason: 'confirmation_required' },
  );
}
