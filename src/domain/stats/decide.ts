/** What the analysis concluded about one success metric (p-value already adjusted for multiplicity). */
export interface SuccessMetricEvidence {
  metricId: string;
  significantBetter: boolean;
  significantWorse: boolean;
  estimate: number;
  interval: { lower: number; upper: number };
  pValue: number;
}

/** What the analysis concluded about one guardrail: non-inferiority against its margin, and harm. */
export interface GuardrailEvidence {
  metricId: string;
  /** 'no_deterioration' passes unless significantly worse (nonInferior is then ignored); default 'non_inferiority'. */
  test?: 'non_inferiority' | 'no_deterioration';
  nonInferior: boolean;
  significantWorse: boolean;
  estimate?: number;
  /** one-sided confidence bound from nonInferiorityTest */
  bound?: number;
  threshold?: number;
  /** non-inferiority p-value */
  pValue?: number;
}

/** What still stands between the data and a decision the plan allows: the planned sample, or the planned whole days. */
export type PendingItem =
  | { kind: 'sample'; have: number; need: number /** ISO time at the observed daily rate; null before any traffic */; expectedAt: string | null }
  | { kind: 'duration'; haveDays: number; needDays: number /** ISO time the minimum duration is met; null when not started */; metAt: string | null };

/** A success or guardrail metric with exposed units but no data at all in one arm. */
export interface BlindMetric {
  metricId: string;
  role: 'success' | 'guardrail';
  variant: string;
}

/** Whether the data can be trusted and is sufficient; reasons are quoted as they are (with numbers). */
export interface QualityEvidence {
  srmMismatch: boolean;
  srmPValue?: number;
  /** The planned sample and the planned minimum duration are both met (pending is empty). */
  enoughData: boolean;
  /** What is not met yet, and when it will be; blockers are worded from it. */
  pending?: PendingItem[];
  /** Metrics that cannot be judged in some arm: each blocks ship. */
  blind?: BlindMetric[];
  reasons?: string[];
}

export interface DecisionInput {
  successMetrics: SuccessMetricEvidence[];
  guardrails: GuardrailEvidence[];
  quality: QualityEvidence;
}

export type Decision = 'ship' | 'keep_running' | 'roll_back' | 'inconclusive';

/** The decision, every reason behind it (with numbers) and what stands between it and 'ship'. */
export interface DecisionResult {
  decision: Decision;
  reasons: string[];
  blockers: string[];
  /** The plan's sample and duration items not met yet, with when they will be. */
  pending: PendingItem[];
}

/** The decision rule applied, as a stored decision record cites it. */
export const DECISION_RULE = {
  name: 'risk-aware decision rule',
  source:
    'Schultzberg, Ankargren & Frånberg (2024), "Risk-aware product decisions in A/B tests with multiple metrics", arXiv:2402.11609; power correction as spotify/confidence add_adjusted_power',
} as const;

/** Everything a stored decision needs to be audited later: the decision, and the rule, method and error rates it was made under. */
export interface DecisionRecord extends DecisionResult {
  variant: string | null;
  rule: { name: string; source: string };
  method: 'always-valid' | 'fixed-horizon' | 'group-sequential';
  /** α as used (two-sided for success metrics before the correction; one-sided non-inferiority at α). */
  alpha: number;
  correction: string;
  /** Power the plan was sized for, for success metrics and (after the risk-aware correction) for non-inferiority guardrails. */
  power: number;
  guardrailPower: number | null;
  /** The corrected α each success metric of this variant was judged at (Bonferroni α/m, Holm's step level, BH's k·α/m); null when not computable. */
  successAlpha: { metricId: string; alpha: number | null }[];
  /** One-sided α of each non-inferiority guardrail test: the plan's α, uncorrected (null without such guardrails). */
  guardrailAlpha: number | null;
  plannedTotal: number;
  observedTotal: number;
  /** Whole days the plan requires before ship or a roll back for a success metric. */
  requiredDays: number;
  daysRunning: number | null;
}

/**
 * Spotify's risk-aware rule (Schultzberg, Ankargren & Frånberg 2024): ship only if ≥ 1 success
 * metric is significantly better, every non-inferiority guardrail is non-inferior, nothing
 * deteriorates significantly, no metric is blind and quality passes, once the planned sample and
 * minimum duration are met. Order: a guardrail significantly worse → roll_back at once (stopping
 * exposure is safe even when an SRM makes the data suspect); a success metric significantly worse →
 * roll_back once the plan is met (until then keep_running, so an early fluctuation cannot end a test);
 * SRM → keep_running (investigate); no blocker → ship; plan met but no success metric better →
 * inconclusive; else keep_running.
 * Throws RangeError when a success metric claims to be both better and worse (a caller bug).
 */
export function decide(input: DecisionInput): DecisionResult {
  const { successMetrics, guardrails, quality } = input;
  const contradictory = successMetrics.find((m) => m.significantBetter && m.significantWorse);
  if (contradictory) throw new RangeError(`decide: success metric ${contradictory.metricId} is marked both significantly better and worse`);

  const pending = quality.pending ?? [];
  const reasons = [...successMetrics.map(describeSuccess), ...guardrails.map(describeGuardrail), ...(quality.reasons ?? [])];
  const better = successMetrics.filter((m) => m.significantBetter);
  const harmedGuardrails = guardrails.filter((m) => m.significantWorse);
  const worse = [...successMetrics.filter((m) => m.significantWorse), ...harmedGuardrails];
  const blockers = [
    ...(quality.srmMismatch ? [srmBlocker(quality.srmPValue)] : []),
    ...(quality.enoughData
      ? []
      : pending.length
        ? pending.map(pendingBlocker)
        : ['not enough data yet: the planned sample or minimum duration has not been reached']),
    ...(quality.blind ?? []).map(
      (b) => `${b.role} metric ${b.metricId} is blind in arm ${b.variant}: units are exposed but none has any ${b.metricId} data yet, so it cannot be judged`,
    ),
    ...worse.map((m) => `${m.metricId} deteriorated significantly`),
    ...(better.length === 0 ? [noWinnerBlocker(successMetrics.length)] : []),
    ...guardrails.filter((g) => (g.test ?? 'non_inferiority') === 'non_inferiority' && !g.nonInferior && !g.significantWorse).map(guardrailBlocker),
  ];

  const decision: Decision =
    harmedGuardrails.length > 0 || (worse.length > 0 && quality.enoughData)
      ? 'roll_back'
      : quality.srmMismatch || worse.length > 0
        ? 'keep_running'
        : blockers.length === 0
          ? 'ship'
          : quality.enoughData && better.length === 0 && !(quality.blind ?? []).length
            ? 'inconclusive'
            : 'keep_running';
  return { decision, reasons: [headline(decision, better.length, worse.length, pending), ...reasons], blockers, pending };
}

/** A pending item in words: what is missing and when it will be met. */
export function pendingBlocker(p: PendingItem): string {
  if (p.kind === 'sample')
    return `planned sample pending: ${p.have} of ${p.need} units (${((100 * p.have) / Math.max(1, p.need)).toFixed(1)}%)${p.expectedAt ? `, expected by ${p.expectedAt} at the observed rate` : ', no traffic yet to estimate when'}`;
  return `minimum duration pending: ${p.haveDays} of ${p.needDays} whole days${p.metAt ? `, met at ${p.metAt}` : ''}`;
}

function headline(decision: Decision, better: number, worse: number, pending: PendingItem[]): string {
  switch (decision) {
    case 'roll_back':
      return `roll back: ${worse} metric(s) deteriorated significantly`;
    case 'ship':
      return `ship: ${better} success metric(s) significantly better, every guardrail holds, the planned sample and duration are met, quality checks pass`;
    case 'inconclusive':
      return 'inconclusive: the planned sample and duration are met and no success metric is significantly better';
    case 'keep_running':
      return pending.length ? `keep running: ${pending.map(pendingBlocker).join('; ')}` : 'keep running: see blockers';
  }
}

function describeSuccess(m: SuccessMetricEvidence): string {
  const verdict = m.significantBetter ? 'significantly better' : m.significantWorse ? 'significantly worse' : 'no significant change';
  return `${m.metricId}: ${verdict}, effect ${signed(m.estimate)} [${num(m.interval.lower)}, ${num(m.interval.upper)}], adjusted p = ${num(m.pValue)}`;
}

function describeGuardrail(g: GuardrailEvidence): string {
  const verdict = g.significantWorse
    ? 'significantly worse'
    : g.test === 'no_deterioration'
      ? 'not significantly worse (judged by no deterioration)'
      : g.nonInferior
        ? 'non-inferior'
        : 'not shown non-inferior';
  const numbers = [
    g.estimate === undefined ? null : `effect ${signed(g.estimate)}`,
    g.bound === undefined || g.threshold === undefined ? null : `bound ${num(g.bound)} vs threshold ${num(g.threshold)}`,
    g.pValue === undefined ? null : `p = ${num(g.pValue)}`,
  ].filter((s) => s !== null);
  return `guardrail ${g.metricId}: ${verdict}${numbers.length > 0 ? ` (${numbers.join(', ')})` : ''}`;
}

function srmBlocker(p: number | undefined): string {
  const at = p === undefined ? '' : ` (p = ${num(p)})`;
  return `sample ratio mismatch${at}: the traffic split differs from the weights, so assignment or logging is broken and no effect can be trusted; investigate before deciding`;
}

function noWinnerBlocker(count: number): string {
  return count === 0 ? 'no success metric is defined, so nothing can justify shipping' : 'no success metric is significantly better';
}

function guardrailBlocker(g: GuardrailEvidence): string {
  const numbers = g.bound === undefined || g.threshold === undefined ? '' : ` (bound ${num(g.bound)} vs threshold ${num(g.threshold)})`;
  return `guardrail ${g.metricId} is not shown non-inferior${numbers}`;
}

function num(x: number): string {
  if (x === 0 || !Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e6 ? String(Number(x.toPrecision(4))) : x.toExponential(2);
}

function signed(x: number): string {
  return x > 0 ? `+${num(x)}` : num(x);
}
