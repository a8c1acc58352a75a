export { chiSquareSf } from './distributions.js';
export {
  proportionSampleSizes,
  requiredSampleSizePerArm,
  requiredSampleSizes,
  type ArmSampleSizes,
  type SampleSizeParams,
} from './required-sample-size.js';
export { srmTest, type SrmResult } from './srm-test.js';
export {
  binaryVariance,
  inconsistentCrossSum,
  inconsistentSummary,
  meanAndVariance,
  negativeRoundingTolerance,
  summarize,
  type MeanSummary,
} from './summary.js';
export { welchTest, welchFromMoments, type ArmMoments } from './welch-test.js';
export {
  alwaysValidPValue,
  confidenceSequence,
  confidenceSequenceRho,
  oneSidedConfidenceSequence,
  oneSidedConfidenceSequenceRho,
  type OneSidedSequenceResult,
  type SequenceSide,
  type AlwaysValidPValueResult,
  type ConfidenceSequenceParams,
  type ConfidenceSequenceResult,
} from './sequential.js';
export {
  boundaryCrossingProbabilities,
  groupSequentialBoundaries,
  groupSequentialTest,
  obrienFlemingSpending,
  spendingBoundaries,
  type BoundariesResult,
  type CrossingResult,
  type GroupSequentialTestResult,
} from './group-sequential.js';
export type {
  CupedEffect,
  EffectCommon,
  EffectResult,
  Interval,
  NotComputable,
  ProportionEffect,
  RatioEffect,
  WelchEffect,
} from './effect-result.js';
export { normalCdf, normalPdf, normalSf, normalTwoSidedPValue } from './distributions.js';
export { pooledTest, proportionTest, type ProportionSummary, type ProportionTestDetails, type ProportionTestKind } from './proportion-test.js';
export { cupedTest, type CovariateSummary, type Moments } from './cuped-test.js';
export { ratioTest, type RatioSummary } from './ratio-test.js';
export { ratioCupedTest, type RatioCovariateSummary } from './ratio-cuped-test.js';
export { adjustPValues, type PValueAdjustment } from './adjust-p-values.js';
export { nonInferiorityTest, type Direction, type NonInferiorityInput, type NonInferiorityResult } from './non-inferiority-test.js';
export {
  bayesianComparison,
  positivePartMean,
  type BayesianInput,
  type BayesianResult,
  type EffectScale,
  type NormalPrior,
} from './bayesian-comparison.js';
export { msprt, msprtSequence, type MsprtLook, type MsprtParams, type MsprtResult } from './msprt.js';
export {
  decide,
  pendingBlocker,
  DECISION_RULE,
  type BlindMetric,
  type DecisionRecord,
  type PendingItem,
  type Decision,
  type DecisionInput,
  type DecisionResult,
  type GuardrailEvidence,
  type QualityEvidence,
  type SuccessMetricEvidence,
} from './decide.js';
export { expectedDurationDays, type DurationParams } from './expected-duration-days.js';
export {
  alwaysValidCritical,
  groupSequentialFinalBoundary,
  groupSequentialInflation,
  oneSidedAlwaysValidCritical,
  sampleSizeForCritical,
} from './method-sizing.js';
export { multiplicityLevels, type FamilyMember, type MemberLevel } from './multiplicity-levels.js';
