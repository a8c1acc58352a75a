import { z } from 'zod';
import type { Layout } from './layout.js';
import type { ContentItem, LayoutChange, Surface } from './schemas.js';

/** What the generator is told to test: one layout operation on named slots, with content where the operation needs it. */
export const ChangeHintSchema = z.object({
  operation: z
    .enum(['replace', 'swap', 'move', 'reorder', 'add', 'remove'])
    .describe(
      'replace: other content; swap: two slots trade contents; move: slots[0]\'s content to slots[1], those between shift; reorder: new order of the slots\' contents; add / remove: fill / hide an optional slot. e.g. "reorder"',
    ),
  slots: z.array(z.string().min(1).max(64)).min(1).max(10).describe('Slot ids the change touches, e.g. ["shelf-1","shelf-2","shelf-3"]'),
  content: z
    .array(z.string().min(1).max(64))
    .max(10)
    .optional()
    .describe('replace/add: one content id per slot, e.g. ["sh-focus"]; reorder (optional): the contents in the new order; otherwise omit'),
});
export type ChangeHint = z.infer<typeof ChangeHintSchema>;

/** plan_experiment's input (MCP and REST): the goal is the rationale, the hints say what to test. */
export const PlanRequestSchema = z.object({
  goal: z
    .string()
    .min(3)
    .max(500)
    .describe('What to learn and why, in words; the hypothesis, e.g. "a new ordering of Home shelves gets more people listening"'),
  surfaceId: z.string().describe('Surface id, e.g. "home" (list_surfaces)'),
  change: ChangeHintSchema.optional().describe(
    'What the treatment changes, e.g. {"operation":"reorder","slots":["shelf-1","shelf-2","shelf-3"]}; without it, a client with sampling is asked to propose it, otherwise the error lists the slots to choose from',
  ),
  metricId: z.string().optional().describe('Success metric, e.g. "stream-rate"; default: the first non-guardrail binary metric of the catalog'),
  mde: z.number().gt(0).lt(10).optional().describe('Minimum detectable effect, relative, e.g. 0.03 for 3%'),
  durationDays: z
    .number()
    .int()
    .min(1)
    .max(180)
    .optional()
    .describe("Planned duration, e.g. 14; default: the policy's minimum in whole weeks; the allocation is sized to fit it"),
  key: z.string().optional().describe('Experiment key to use, e.g. "home-shelf-order"'),
  owner: z.string().max(120).optional().describe('Accountable team or person, e.g. "home-team"'),
});
export type PlanRequest = z.infer<typeof PlanRequestSchema>;

/** The surface's slots as an agent needs them to write hints: what each accepts and shows, which are optional. */
export function slotGuide(surface: Surface, base: Layout): string {
  return [...surface.slots]
    .sort((a, b) => a.position - b.position)
    .map((s) => `${s.id} (accepts ${s.accepts.join('/')}; shows ${base[s.id] ?? 'nothing'}${s.optional ? '; optional' : ''})`)
    .join('; ');
}

/** The message and hint of the error that asks for hints instead of guessing. */
export function hintsNeeded(surface: Surface, base: Layout, why: string): { message: string; hint: string } {
  const ordered = [...surface.slots].sort((a, b) => a.position - b.position);
  const example = {
    goal: 'a new ordering of shelves gets more people listening',
    surfaceId: surface.id,
    change: { operation: 'reorder', slots: ordered.slice(-3).map((s) => s.id) },
  };
  return {
    message: `${why}: plan_experiment needs change = {operation, slots, content?}. Slots of ${surface.id}: ${slotGuide(surface, base)}`,
    hint: [
      'Call plan_experiment again with change: operation is one of replace (content: one id per slot), swap (2 slots), move (2 slots: from, to), reorder (2+ slots; content optional: their contents in the new order), add (an optional empty slot; content: one id), remove (an optional slot).',
      `Example: ${JSON.stringify(example)}. sealab://content lists content ids and types.`,
    ].join(' '),
  };
}

/** The hint as layout changes, or what is missing from it (the shape only: the rules judge slots and content). */
export function changesFromHint(
  hint: ChangeHint,
  surface: Surface,
  base: Layout,
  content: Map<string, ContentItem>,
): { changes: LayoutChange[]; note: string } | { missing: string } {
  const { operation: op, slots, content: ids = [] } = hint;
  if (op === 'replace' || op === 'add') {
    if (ids.length !== slots.length)
      return { missing: `${op} needs content with one content id per slot (${slots.length} slot(s), ${ids.length} content id(s))` };
    return { changes: slots.map((slotId, k) => ({ op, slotId, contentId: ids[k] })), note: slots.map((s, k) => `${s} → ${ids[k]}`).join(', ') };
  }
  if (op === 'remove') return { changes: slots.map((slotId) => ({ op, slotId })), note: `hide ${slots.join(', ')}` };
  if (op === 'swap' || op === 'move') {
    if (slots.length !== 2) return { missing: `${op} needs exactly 2 slots${op === 'move' ? ' (from, to)' : ''}, got ${slots.length}` };
    return op === 'swap'
      ? { changes: [{ op, slotIds: [slots[0], slots[1]] }], note: `${slots[0]} ⇄ ${slots[1]}` }
      : { changes: [{ op, slotId: slots[0], toSlotId: slots[1] }], note: `${slots[0]}'s content to ${slots[1]}` };
  }
  if (slots.length < 2) return { missing: `reorder needs at least 2 slots, got ${slots.length}` };
  const byPosition = surface.slots.filter((s) => slots.includes(s.id)).sort((a, b) => a.position - b.position);
  if (byPosition.length !== slots.length) return { changes: [{ op, order: slots }], note: 'as given' };
  if (ids.length) {
    const order = ids.map((id) => byPosition.find((s) => base[s.id] === id)?.id);
    if (ids.length !== slots.length || order.some((x) => !x))
      return {
        missing: `reorder's content must be the current contents of ${slots.join(', ')} (${byPosition.map((s) => base[s.id]).join(', ')}) in the new order`,
      };
    return { changes: [{ op, order: order as string[] }], note: `in the order asked: ${ids.join(', ')}` };
  }
  // No order given: the first rotation every slot accepts (each shelf moves up one, the top one to the bottom, first).
  const accepts = (order: string[]) =>
    byPosition.every((s, k) => {
      const item = content.get(base[order[k]] ?? '');
      return item !== undefined && s.accepts.includes(item.type);
    });
  const rotations = byPosition.slice(1).map((_, k) => [...byPosition.slice(k + 1), ...byPosition.slice(0, k + 1)].map((s) => s.id));
  const order = rotations.find(accepts) ?? rotations[0];
  return {
    changes: [{ op, order }],
    note: `rotated so every listed slot shows new content each slot accepts: ${byPosition.map((s, k) => `${s.id} ← ${base[order[k]]}`).join(', ')}`,
  };
}
