import jsonpatch from 'fast-json-patch';
import { ExperimentConfigSchema, type ExperimentConfig, type JsonPatchOperation } from '../../domain/schemas.js';
import { AppError } from '../../errors.js';
import type { ConfirmationMode } from '../../domain/policy.js';

/** Parses an agent's config; a bad one is INVALID_CONFIG listing the fields. */
export function parseConfig(raw: unknown): ExperimentConfig {
  const parsed = ExperimentConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new AppError(
    'INVALID_CONFIG',
    `the experiment config is invalid: ${issues.slice(0, 5).join('; ')}`,
    'Fix the listed fields; validate_config with the inline config shows every finding at once.',
    { issues },
  );
}

/** RFC 6902 through fast-json-patch, on a copy; a bad operation is the caller's error, named by index. */
export function applyPatch(doc: ExperimentConfig, patch: JsonPatchOperation[]): unknown {
  try {
    return jsonpatch.applyPatch(structuredClone(doc), patch as jsonpatch.Operation[], true, false).newDocument;
  } catch (err) {
    const e = err as { name?: string; index?: number; message?: string };
    const first = (e.message ?? 'invalid patch').split('\n')[0];
    throw new AppError(
      'INVALID_INPUT',
      `JSON Patch operation ${e.index ?? '?'} cannot be applied: ${first}`,
      'Patch paths are JSON Pointers into the stored config (get_experiment shows it), e.g. "/guardrails/-" or "/variants/1/weight"; use the patches validate_config returned for this version.',
      { operation: e.index !== undefined ? patch[e.index] : undefined },
    );
  }
}

/** The policy asks for a human; this caller could not ask one, so it must bring the confirmation itself. */
export function confirmationRequired(reason: string, tool: string): AppError {
  return new AppError(
    'PRECONDITION_FAILED',
    `confirmation required: ${reason}`,
    `Ask a human to approve, then call ${tool} again with confirmation: {"reason": "<who approved and why>"}; clients that support elicitation are asked with a form instead.`,
    { reason: 'confirmation_required' },
  );
}

/**
 * The service-side check of a confirmation against the policy's mode, whatever adapter called:
 * "elicit" and "approval" refuse an argument confirmation (a caller can type one), so only a form a
 * person answered or a decided approval request counts.
 */
export function requireConfirmation(reason: string | null, mode: ConfirmationMode | undefined, given: { via: string } | null, tool: string): void {
  if (!reason) return;
  if (mode === 'elicit' || mode === 'approval') {
    if (given && given.via !== 'argument') return;
    throw new AppError(
      'PRECONDITION_FAILED',
      `${given ? 'an argument confirmation is not enough' : 'confirmation required'}: ${reason}`,
      mode === 'approval'
        ? `Call ${tool} from an MCP client without a confirmation argument: it returns an approval request (approvalId) that a person with the approve scope decides (sealab approvals approve <id>, or POST /v1/approvals/<id>/approve); a client that shows forms (elicitation) asks its person at once.`
        : `Call ${tool} from an MCP client that shows forms (elicitation): a person answers it. This policy refuses typed confirmations.`,
      { reason: given ? 'argument_confirmation_refused' : mode === 'approval' ? 'approval_required' : 'elicitation_required', mode },
    );
  }
  if (!given) throw confirmationRequired(reason, tool);
}
