import type { BlindMetric, DecisionRecord, DecisionResult, Interval, PendingItem } from '../stats/index.js';
import type { Experiment, Metric } from '../schemas.js';
import type { SampleSizing } from '../sizing.js';
import type { AdjustedInterval } from './adjusted-intervals.js';
import type { ArmStats, Method } from './compare-arms.js';
import type { BayesianView, SequentialMethod } from './sequential-options.js';

/** The shapes of an analysis (get_metrics maps them 1:1): one cell per metric and variant, the experiment's summary and decision. */

/** Which bound judged a non-inferiority guardrail: all valid at α on the bad side, the two-sided ones conservatively (α/2). */
export type NiBoundMethod =
  | 'one-sided test'
  | 'one-sided confidence sequence'
  | 'two-sided confidence sequence'
  | 'mSPRT interval'
  | 'repeated confidence interval';

/** A guardrail as the config states it. */
export type GuardrailEntry = { metricId: string; margin: number; marginType?: 'relative' | 'absolute'; test?: 'non_inferiority' | 'no_deterioration' };

export interface VariantResult {
  variant: string;
  isControl: boolean;
  units: number;
  mean: number | null;
  absolute: Interval | null;
  relative: Interval | null;
  pValue: number | null;
  pValueAdjusted: number | null;
  /** Success metrics: the interval at the level the multiplicity correction judged this cell at; significant exactly when it excludes 0. */
  adjustedInterval: AdjustedInterval | null;
  significant: boolean;
  /** The arm has exposed units but none has any data for this metric yet: it cannot be judged. */
  blind: boolean;
  assessment: 'better' | 'worse' | 'no_detectable_change' | 'not_computable' | 'control';
  varianceReduction: number | null;
  /** Non-inferiority guardrails: the bad-side bound against the margin, and which bound it is (NiBoundMethod). */
  nonInferiority: { nonInferior: boolean; bound: number; threshold: number; boundMethod: NiBoundMethod } | null;
  /** analysisPlan.bayesian: the posterior on the absolute scale, or { ok: false, reason } ('no data' when an arm has none). */
  bayesian: BayesianView | null;
  /** mSPRT plans: τ², this look's log e-value and p (pValue is the running minimum over the daily looks). */
  msprt: { mixingVariance: number; logEValue: number; pValueAtLook: number } | null;
  note: string | null;
}

export interface MetricResult {
  metricId: string;
  name: string;
  role: 'success' | 'guardrail';
  kind: Metric['kind'];
  /** Quantile metrics: the level, e.g. 0.9 (each arm's mean is then its P90 of unit values). */
  quantile?: number;
  direction: Metric['direction'];
  margin: number | null;
  marginType: 'relative' | 'absolute' | null;
  /** Guardrails: how ship judges it ('no_deterioration' passes unless significantly worse). */
  test: 'non_inferiority' | 'no_deterioration' | null;
  variants: VariantResult[];
}

export interface Analysis {
  method: Method;
  methodNote: string;
  /** Always-valid plans: which sequential test and where the confidence sequence is tuned. */
  sequential: { method: SequentialMethod; tuningTotal: number; tuningFromPlan: boolean } | null;
  alpha: number;
  correction: string;
  sample: {
    plannedTotal: number;
    observedTotal: number;
    fractionOfPlan: number;
    daysRunning: number | null;
    /** Whole days the plan requires before ship (durationDays below a week, whole weeks from 7 up). */
    requiredDays: number;
    /** The metric whose need sets plannedTotal. */
    bindingMetricId: string | null;
  };
  /** Success and guardrail metrics with no data in some arm that has units. */
  blind: BlindMetric[];
  /** What the plan still waits for (sample, duration) and when each will be met. */
  pending: PendingItem[];
  exposures: { variant: string; weight: number; units: number }[];
  srm: { checked: boolean; pValue: number | null; chiSquare: number | null; mismatch: boolean; note: string };
  metrics: MetricResult[];
  decision: DecisionRecord;
  decisionsByVariant: (DecisionResult & { variant: string })[];
}

export interface AnalysisInput {
  experiment: Pick<Experiment, 'variants' | 'successMetrics' | 'guardrails' | 'analysisPlan' | 'startedAt' | 'status'>;
  metrics: Map<string, Metric>;
  /** Per metric id, per variant key. */
  stats: Map<string, Map<string, ArmStats>>;
  srmThreshold: number;
  now: Date;
  /** The plan's sizing (sizeExperiment): sets the planned sample. Without it, the needs are computed from the metrics alone. */
  /** mSPRT plans: per metric id, the daily snapshots (oldest first) of the per-variant statistics, for the running minimum. */
  history?: Map<string, Map<string, ArmStats>[]>;
  sizing?: Pick<SampleSizing, 'requiredTotal' | 'bindingMetricId' | 'guardrailPower'> & Partial<Pick<SampleSizing, 'deliverableTotal'>>;
}
