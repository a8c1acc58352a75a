export { chiSquareSf } from './distributions.js';
export { requiredSampleSizePerArm, type SampleSizeParams } from './required-sample-size.js';
export { srmTest, type SrmResult } from './srm-test.js';
export { binaryVariance, meanAndVariance, summarize, type MeanSummary } from './summary.js';
export { welchTest, type EffectResult, type Interval } from './welch-test.js';
