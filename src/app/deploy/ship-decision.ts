import type { Experiment } from '../../domain/schemas.js';
import { AppError } from '../../errors.js';
import type { MetricsReport } from '../results/metrics-service.js';

/** What a ship rests on: the variant, when, and the analysis's decision record for it. */
export interface ShipPlan {
  variant: string;
  at: string;
  decision: Record<string, unknown>;
}

/**
 * A ship needs the current analysis (always-valid, what the server reads continuously) to say
 * 'ship' for the variant shipped; otherwise PRECONDITION_FAILED with the blockers and what is
 * pending. The record keeps the decision object as the analysis gave it (rule, alpha, numbers,
 * pending) with the method, alpha, sample and SRM it was computed with.
 */
export function planShip(exp: Experiment, report: MetricsReport, requested: string | undefined, at: string): ShipPlan {
  const variant = requested ?? report.decision.variant;
  const v = exp.variants.find((x) => x.key === variant);
  if (!variant || !v || v.isControl) {
    throw new AppError(
      'INVALID_INPUT',
      variant ? `'${variant}' is not a treatment variant of '${exp.key}'` : `the analysis of '${exp.key}' names no variant to ship`,
      `Pass variant as one of: ${exp.variants
        .filter((x) => !x.isControl)
        .map((x) => x.key)
        .join(', ')}.`,
    );
  }
  const d = report.decisionsByVariant.find((x) => x.variant === variant) ?? report.decision;
  const pending = (d as { pending?: unknown }).pending;
  if (d.decision !== 'ship') {
    throw new AppError(
      'PRECONDITION_FAILED',
      `the analysis does not say ship for '${variant}' of '${exp.key}' (it says ${d.decision}): ${d.blockers.join('; ') || d.reasons[0]}`,
      `Keep it running until get_metrics says ship (blockers: ${d.blockers.length}${pending ? `, pending: ${JSON.stringify(pending)}` : ''}), or stop_experiment with outcome "stopped" or "rolled_back".`,
      { decision: d.decision, blockers: d.blockers, ...(pending !== undefined ? { pending } : {}) },
    );
  }
  return {
    variant,
    at,
    decision: {
      // The record's rule, α and powers as used (report.decision), with this variant's verdict, reasons and blockers.
      ...report.decision,
      ...d,
      variant,
      method: report.method,
      alpha: report.alpha,
      correction: report.correction,
      sample: report.sample,
      exposures: report.exposures,
      srm: { checked: report.srm.checked, pValue: report.srm.pValue, mismatch: report.srm.mismatch },
      computedAt: report.computedAt,
      dataUpdatedAt: report.dataUpdatedAt,
    },
  };
}
