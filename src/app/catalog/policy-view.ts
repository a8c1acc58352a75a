import { hashOf } from '../../domain/canonical.js';
import { resolveSurfacePolicy, surfacePolicyHash, type Policy } from '../../domain/policy.js';

/** The policy as agents read it: the document, and for each surface the resolved rules and their hash. */
export function policyView(policy: Policy, surfaceIds: string[]) {
  return {
    version: policy.version,
    hash: hashOf(policy),
    description: policy.description ?? null,
    srmThreshold: policy.srmThreshold,
    defaults: policy.defaults,
    surfaces: Object.fromEntries(surfaceIds.map((id) => [id, { ...resolveSurfacePolicy(policy, id), policyHash: surfacePolicyHash(policy, id) }])),
    howToRead:
      "Every experiment on a surface is judged by surfaces[<id>]: validate_config enforces it, deploy_to_surface re-checks it. A change to a surface's rules changes its policyHash and makes earlier plan hashes stale.",
  };
}
