import type { ContentItem, Experiment, ExperimentConfig, Finding, JsonPatchOperation, Metric, Surface } from '../schemas.js';
import type { SurfacePolicy } from '../policy.js';
import { didYouMean, nearest } from '../suggest.js';

export type Severity = Finding['severity'];

/** Everything a rule may look at. Pure data: the caller reads the store and the clock. */
export interface ValidationContext {
  surface: Surface | undefined;
  /** Every surface id, so an unknown one can be answered with the nearest ("did you mean"). */
  surfaceIds?: string[];
  content: Map<string, ContentItem>;
  /** Items a remote content delivery no longer lists, kept for the experiments using them: id → since (ISO). */
  missingUpstream?: ReadonlyMap<string, string>;
  metrics: Map<string, Metric>;
  /** Running or paused experiments on the surface, excluding the one being validated. */
  active: Experiment[];
  /** Buckets the experiment under validation already owns (when it is running). */
  ownedBuckets: number;
  /** The resolved policy of the config's surface. */
  policy: SurfacePolicy;
  /** The moment the plan is judged for (freeze windows, timelines). */
  now: Date;
  /** The surface's current default layout (slot → content, null = empty); the catalog's slot defaults when absent. */
  baseLayout?: Record<string, string | null>;
  /** The deployed state of the experiment under validation, when it is running or paused. */
  deployed?: { status: Experiment['status']; allocationPercent: number };
}

export type RuleFamily = 'schema' | 'variants' | 'layout' | 'allocation' | 'compatibility' | 'collisions' | 'metrics' | 'power' | 'ramp' | 'freeze';

/** A validation rule: a pure function with a stable code, a severity, why it exists and how to fix it. */
export interface Rule {
  code: string;
  family: RuleFamily;
  severity: Severity;
  /** One line: why the rule exists. */
  rationale: string;
  /** The documented fix, in general terms (each finding carries its specific one). */
  fix: string;
  /** True when findings usually carry a JSON Patch. */
  patchable: boolean;
  check(config: ExperimentConfig, ctx: ValidationContext): Finding[];
}

export const defineRule = (rule: Rule) => rule;

/** A finding of `rule` at `path`; severity comes from the rule unless given. */
export function finding(
  rule: Pick<Rule, 'code' | 'severity'>,
  path: string,
  message: string,
  fix: string,
  patch?: JsonPatchOperation[],
  severity?: Severity,
): Finding {
  return { code: rule.code, severity: severity ?? rule.severity, path, message, fix, ...(patch?.length ? { patch } : {}) };
}

/** JSON Pointer (RFC 6901) for a JSON path such as $.variants[1].weight. */
export function pointer(jsonPath: string): string {
  const parts = jsonPath.replace(/^\$/, '').match(/\.[^.[\]]+|\[\d+\]/g) ?? [];
  return parts.map((p) => `/${p.startsWith('[') ? p.slice(1, -1) : p.slice(1).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** A finding's fix led by the known ids nearest to an unknown one, if any. */
export function withSuggestions(fix: string, unknown: string, known: Iterable<string>): string {
  const hint = didYouMean(nearest(unknown, known));
  return hint ? `${hint} ${fix}` : fix;
}

/** The slots a config's variants override. */
export const slotsOf = (c: Pick<ExperimentConfig, 'variants'>) => new Set(c.variants.flatMap((v) => v.overrides.map((o) => o.slotId)));

export const round2 = (x: number) => Math.round(x * 100) / 100;
