import type { PromptDefinition } from '../src/mcp/define-prompt.js';
import { planExperimentPrompt } from './plan-experiment.js';
import { reviewResultsPrompt } from './review-results.js';
import { launchReviewPrompt } from './launch-review.js';

export const prompts: PromptDefinition[] = [planExperimentPrompt, reviewResultsPrompt, launchReviewPrompt];
