import { AnalysisPlanSchema, FindingSchema, JsonPatchOperationSchema, LayoutChangeSchema } from '../domain/schemas.js';
import { listedAs, topLevelOf } from './listed-schema.js';

/**
 * Shorter listings of domain shapes for tools/list (the context budget); zod still validates them
 * whole, and REST / OpenAPI keep them in full. Imported once by the tool registration.
 */
listedAs(LayoutChangeSchema, {
  type: 'object',
  description:
    'By op: {"op":"replace"|"add","slotId","contentId"} (add fills an optional empty slot); {"op":"remove","slotId"} hides an optional one; {"op":"swap","slotIds":["shelf-1","shelf-3"]}; {"op":"move","slotId":"shelf-3","toSlotId":"shelf-1"} (those between shift); {"op":"reorder","order":["shelf-2","shelf-3","shelf-1"]} refills those slots in that order',
  properties: { op: { type: 'string', enum: ['replace', 'add', 'remove', 'swap', 'move', 'reorder'] } },
  required: ['op'],
});

listedAs(JsonPatchOperationSchema, {
  type: 'object',
  description: 'RFC 6902: {"op":"add"|"remove"|"replace"|"move"|"copy"|"test","path":"/guardrails/-","value"?,"from"?}',
  required: ['op', 'path'],
});

listedAs(FindingSchema, {
  type: 'object',
  description: 'A rule finding: code (sealab://rules explains it), severity error|warning|info, path, message, fix, patch? (JSON Patch for update_experiment)',
});

listedAs(
  AnalysisPlanSchema,
  topLevelOf(
    AnalysisPlanSchema,
    'Defaults: alpha 0.05, power 0.8, mde 0.02 (relative), durationDays 14, sequential true (always-valid, safe to peek; false: fixed horizon), correction holm, cuped true. Also: looks (group-sequential), bayesian with prior {mean, variance, scale}, sequentialMethod, proportionTest',
  ),
);
