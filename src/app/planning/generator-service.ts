import { HOLDS_BUCKETS } from '../../domain/lifecycle.js';
import { planExperimentConfig, type Plan, type PlanRequest } from '../../domain/planner.js';
import { notFound } from '../../errors.js';
import type { AppDeps } from '../context.js';
import type { ExperimentService, ValidateOutcome } from '../experiments/experiment-service.js';

export interface PlanOutcome extends Plan {
  /** validate_config's verdict on the generated config, as if it were called inline. */
  validation: ValidateOutcome;
}

/** The generator: from a goal and a surface, a complete draft with safe defaults and its validation. Stores nothing. */
export class GeneratorService {
  constructor(
    private readonly d: AppDeps,
    private readonly experiments: ExperimentService,
  ) {}

  plan(req: PlanRequest): PlanOutcome {
    const surface = this.d.catalog.surface(req.surfaceId);
    if (!surface) throw notFound('surface', req.surfaceId, 'Call list_surfaces and use one of its ids.');
    const plan = planExperimentConfig(req, {
      surface,
      metrics: this.d.catalog.metrics(),
      content: this.d.catalog.contentItems(),
      active: this.d.experiments.list({ surfaceId: surface.id, status: HOLDS_BUCKETS }),
      policy: this.experiments.policyFor(surface.id),
      existingKeys: new Set(this.d.experiments.list().map((e) => e.key)),
    });
    return { ...plan, validation: this.experiments.validate({ config: plan.config }) };
  }
}
