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
  nonInferior: boolean;
  significantWorse: boolean;
  estimate?: number;
  /** one-sided confidence bound from nonInferiorityTest */
  bound?: number;
  threshold?: number;
  /** non-inferiority p-value */
  pValue?: number;
}

/** Whether the data can be trusted and is sufficient; reasons are quoted as they are (with numbers). */
export interface QualityEvidence {
  srmMismatch: boolean;
  srmPValue?: number;
  /** planned sample reached (or the minimum units / days the plan asks for) */
  enoughData: boolean;
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
}

/**
 * Spotify's risk-aware rule (Schultzberg, Ankargren & Frånberg 2024): ship only if ≥ 1 success
 * metric is significantly better, every guardrail is non-inferior, nothing deteriorates
 * significantly and quality passes. Order: any significant deterioration → roll_back (stopping
 * exposure is safe even when an SRM makes the data suspect); SRM → keep_running (investigate);
 * no blocker → ship; enough data but no success metric better → inconclusive; else keep_running.
 * Throws RangeError when a success metric claims to be both better and worse (a caller bug).
 */
export function decide(input: DecisionInput): DecisionResult {
  const { successMetrics, guardrails, quality } = input;
  const contradictory = successMetrics.find((m) => m.significantBetter && m.significantWorse);
  if (contradictory) throw new RangeError(`decide: success metric ${contradictory.metricId} is marked both significantly better and worse`);

  const reasons = [...successMetrics.map(describeSuccess), ...guardrails.map(describeGuardrail), ...(quality.reasons ?? [])];
  const better = successMetrics.filter((m) => m.significantBetter);
  const worse = [...successMetrics, ...guardrails].filter((m) => m.significantWorse);
  const blockers = [
    ...(quality.srmMismatch ? [srmBlocker(quality.srmPValue)] : []),
    ...(quality.enoughData ? [] : ['not enough data yet: the planned sample (or minimum duration) has not been reached']),
    ...worse.map((m) => `${m.metricId} deteriorated significantly`),
    ...(better.length === 0 ? [noWinnerBlocker(successMetrics.length)] : []),
    ...guardrails.filter((g) => !g.nonInferior).map(guardrailBlocker),
  ];

  const decision: Decision =
    worse.length > 0
      ? 'roll_back'
      : quality.srmMismatch
        ? 'keep_running'
        : blockers.length === 0
          ? 'ship'
          : quality.enoughData && better.length === 0
            ? 'inconclusive'
            : 'keep_running';
  return { decision, reasons: [headline(decision, better.length, worse.length), ...reasons], blockers };
}

function headline(decision: Decision, better: number, worse: number): string {
  switch (decision) {
    case 'roll_back':
      return `roll back: ${worse} metric(s) deteriorated significantly`;
    case 'ship':
      return `ship: ${better} success metric(s) significantly better, every guardrail non-inferior, quality checks pass`;
    case 'inconclusive':
      return 'inconclusive: the planned sample is reached and no success metric is significantly better';
    case 'keep_running':
      return 'keep running: see blockers';
  }
}

function describeSuccess(m: SuccessMetricEvidence): string {
  const verdict = m.significantBetter ? 'significantly better' : m.significantWorse ? 'significantly worse' : 'no significant change';
  return `${m.metricId}: ${verdict}, effect ${signed(m.estimate)} [${num(m.interval.lower)}, ${num(m.interval.upper)}], adjusted p = ${num(m.pValue)}`;
}

function describeGuardrail(g: GuardrailEvidence): string {
  const verdict = g.significantWorse ? 'significantly worse' : g.nonInferior ? 'non-inferior' : 'not shown non-inferior';
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
