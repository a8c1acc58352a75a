import { UNPLANNABLE_FIX, UnplannableError } from '../../domain/sizing.js';
import { AppError } from '../../errors.js';

/** Runs sizing; its UnplannableError (no finite sample for these inputs) becomes the typed error an agent can act on. */
export function plannable<T>(size: () => T, hint = UNPLANNABLE_FIX): T {
  try {
    return size();
  } catch (err) {
    if (err instanceof UnplannableError) throw new AppError('INVALID_INPUT', err.message, hint, { metricId: err.metricId });
    throw err;
  }
}
