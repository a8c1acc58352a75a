import { z } from 'zod';
import { completable } from '@modelcontextprotocol/server';
import { definePrompt } from '../src/mcp/define-prompt.js';

export const reviewResultsPrompt = definePrompt({
  name: 'review_results',
  title: 'Review experiment results',
  description: 'Guides an agent through reading get_metrics for one experiment and reaching a decision with reasons.',
  args: (app) =>
    z.object({
      experiment: completable(z.string().describe('Experiment id or key'), (v) => app.experiments.list().flatMap((e) => [e.id, e.key]).filter((id) => id.startsWith(v ?? ''))),
    }),
  render: ({ experiment }) =>
    [
      `Review the results of experiment ${JSON.stringify(experiment)} with sealab.`,
      '1. Call get_experiment to see its status, allocation, planned duration and metrics.',
      '2. Call get_metrics. First check srm: if mismatch is true, stop here — the data is not trustworthy; report it and investigate assignment/logging.',
      '3. Guardrails: any guardrail with assessment "worse" means roll back: call stop_experiment with outcome "rolled_back" and the numbers as the reason.',
      '4. Success metrics: "better" with a relative interval that excludes 0 supports shipping; "no_detectable_change" before the planned duration means keep running; after it, inconclusive.',
      '5. The current analysis is fixed-horizon: do not decide on significance before analysisPlan.durationDays has passed unless a guardrail is harmed.',
      '6. Write the decision (ship / keep running / roll back / inconclusive) with the estimates, intervals and p-values that led to it.',
    ].join('\n'),
});
