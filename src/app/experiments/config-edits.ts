import jsonpatch from 'fast-json-patch';
import { ExperimentConfigSchema, type ExperimentConfig, type JsonPatchOperation } from '../../domain/schemas.js';
import { AppError } from '../../errors.js';

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
