import type { ContentItem, LayoutChange, Override, Slot, Surface } from './schemas.js';
import { didYouMean, nearest } from './suggest.js';

/**
 * Layouts as data: what each slot of a surface shows (null: an optional slot left empty or hidden).
 * Layout changes (swap, move, reorder, replace, add, remove) are how people and agents think about a
 * treatment; overrides (slot → content) are what serving applies. This module turns the first into
 * the second against a base layout, and renders a variant's layout from a base and its overrides.
 */
export type Layout = Record<string, string | null>;

/** The catalog's own defaults: every slot's defaultContentId. */
export const slotDefaults = (surface: Surface): Layout => Object.fromEntries(surface.slots.map((s) => [s.id, s.defaultContentId]));

/** What a variant shows: the base with its overrides applied (overrides of unknown slots are ignored). */
export function renderLayout(base: Layout, overrides: readonly Override[]): Layout {
  const out = { ...base };
  for (const o of overrides) if (o.slotId in out) out[o.slotId] = o.contentId;
  return out;
}

/** Slot → content lines in position order, e.g. "shelf-1: mx-daily-1". */
export const describeLayout = (surface: Surface, layout: Layout) =>
  orderedSlots(surface)
    .map((s) => `${s.id}: ${layout[s.id] ?? '(empty)'}`)
    .join(', ');

export interface LayoutProblem {
  /** Index of the change in the variant's layout list. */
  index: number;
  code: 'LAYOUT_CHANGE_INVALID' | 'SLOT_NOT_OPTIONAL';
  message: string;
  fix: string;
}

export interface CompiledLayout {
  /** Slots whose content differs from the base, in position order: what serving applies. */
  overrides: Override[];
  rendered: Layout;
  /** Changes that could not apply (each skipped, the rest still applied). */
  problems: LayoutProblem[];
}

type Step = { next: Layout } | { problem: Omit<LayoutProblem, 'index'> };

const orderedSlots = (surface: Surface) => [...surface.slots].sort((a, b) => a.position - b.position);
const invalid = (message: string, fix: string): Step => ({ problem: { code: 'LAYOUT_CHANGE_INVALID', message, fix } });

/** Compiles layout changes, in order, against a base layout. A change that cannot apply is a problem, never a throw. */
export function compileLayout(changes: readonly LayoutChange[], surface: Surface, base: Layout, content: Map<string, ContentItem>): CompiledLayout {
  let current = { ...base };
  const problems: LayoutProblem[] = [];
  changes.forEach((change, index) => {
    const step = checked(apply(change, surface, current), current, surface, content);
    if ('problem' in step) problems.push({ index, ...step.problem });
    else current = step.next;
  });
  const overrides = orderedSlots(surface)
    .filter((s) => current[s.id] !== base[s.id])
    .map((s) => ({ slotId: s.id, contentId: current[s.id] ?? null }));
  return { overrides, rendered: current, problems };
}

function apply(change: LayoutChange, surface: Surface, cur: Layout): Step {
  const slots = orderedSlots(surface);
  const unknown = [
    ...('slotId' in change ? [change.slotId] : []),
    ...('toSlotId' in change ? [change.toSlotId] : []),
    ...('slotIds' in change ? change.slotIds : []),
    ...('order' in change ? change.order : []),
  ].filter((id) => !slots.some((s) => s.id === id));
  if (unknown.length)
    return invalid(
      `slot ${unknown.map((u) => `'${u}'`).join(', ')} is not on surface '${surface.id}'`,
      `${
        unknown.length === 1
          ? `${didYouMean(
              nearest(
                unknown[0]!,
                slots.map((s) => s.id),
              ),
            )} `
          : ''
      }Use slots of ${surface.id}: ${slots.map((s) => s.id).join(', ')}.`.trimStart(),
    );
  switch (change.op) {
    case 'replace': {
      if (cur[change.slotId] === null)
        return invalid(
          `slot '${change.slotId}' is empty; replace changes what a slot shows`,
          `Use {"op":"add","slotId":"${change.slotId}","contentId":"${change.contentId}"} to fill an empty optional slot.`,
        );
      if (cur[change.slotId] === change.contentId)
        return invalid(`slot '${change.slotId}' already shows '${change.contentId}'`, 'Pick content the slot does not show yet.');
      return { next: { ...cur, [change.slotId]: change.contentId } };
    }
    case 'add': {
      if (cur[change.slotId] !== null)
        return invalid(
          `slot '${change.slotId}' already shows '${cur[change.slotId]}'; add fills an empty optional slot`,
          `Use {"op":"replace","slotId":"${change.slotId}","contentId":"${change.contentId}"} instead.`,
        );
      return { next: { ...cur, [change.slotId]: change.contentId } };
    }
    case 'remove': {
      if (cur[change.slotId] === null) return invalid(`slot '${change.slotId}' is already empty`, 'Drop this change: there is nothing to remove.');
      return { next: { ...cur, [change.slotId]: null } };
    }
    case 'swap': {
      const [a, b] = change.slotIds;
      if (a === b) return invalid(`swap names slot '${a}' twice`, 'Name two different slots, e.g. ["shelf-1","shelf-3"].');
      if (cur[a] === cur[b])
        return invalid(`slots '${a}' and '${b}' show the same content; swapping changes nothing`, 'Swap slots that show different content.');
      return { next: { ...cur, [a]: cur[b], [b]: cur[a] } };
    }
    case 'move':
      return move(change.slotId, change.toSlotId, slots, cur);
    case 'reorder': {
      const { order } = change;
      if (new Set(order).size !== order.length) return invalid('reorder names a slot twice', 'List each slot once, e.g. ["shelf-2","shelf-3","shelf-1"].');
      const targets = slots.filter((s) => order.includes(s.id)).map((s) => s.id);
      if (targets.every((t, k) => t === order[k]))
        return invalid(
          `reorder keeps ${order.join(', ')} in the order they already have`,
          `List the slots in a new order, e.g. ${JSON.stringify([...targets.slice(1), targets[0]])}.`,
        );
      const next = { ...cur };
      targets.forEach((t, k) => (next[t] = cur[order[k]]));
      return { next };
    }
  }
}

/** Content moves from one slot to another; the non-empty slots in between shift by one toward the gap. */
function move(from: string, to: string, slots: Slot[], cur: Layout): Step {
  if (from === to) return invalid(`move from '${from}' to the same slot`, 'Name a different toSlotId, or drop the change.');
  if (cur[from] === null)
    return invalid(`slot '${from}' is empty; there is nothing to move`, `Move a slot that shows content, or use {"op":"add"} to fill '${from}'.`);
  const i = slots.findIndex((s) => s.id === from);
  const j = slots.findIndex((s) => s.id === to);
  const range = slots.slice(Math.min(i, j), Math.max(i, j) + 1).filter((s) => s.id === from || s.id === to || cur[s.id] !== null);
  const contents = range.map((s) => cur[s.id]);
  const rotated = i < j ? [...contents.slice(1), contents[0]] : [contents[contents.length - 1], ...contents.slice(0, -1)];
  const next = { ...cur };
  range.forEach((s, k) => (next[s.id] = rotated[k]));
  return { next };
}

/** After a change: every slot whose content changed must accept it, and only optional slots may end up empty. */
function checked(step: Step, before: Layout, surface: Surface, content: Map<string, ContentItem>): Step {
  if ('problem' in step) return step;
  for (const slot of surface.slots) {
    const id = step.next[slot.id];
    if (id === before[slot.id]) continue;
    if (id === null) {
      if (!slot.optional)
        return {
          problem: {
            code: 'SLOT_NOT_OPTIONAL',
            message: `slot '${slot.id}' is not optional: it cannot be hidden or left empty`,
            fix: `Hide or add only optional slots (${
              surface.slots
                .filter((s) => s.optional)
                .map((s) => s.id)
                .join(', ') || 'none on this surface'
            }); otherwise replace the content.`,
          },
        };
      continue;
    }
    const item = content.get(id);
    if (!item)
      return invalid(
        `content item '${id}' does not exist`,
        `${didYouMean(nearest(id, content.keys()))} Pick an item from the content catalog (sealab://content).`.trimStart(),
      );
    if (!slot.accepts.includes(item.type))
      return invalid(
        `slot '${slot.id}' accepts ${slot.accepts.join('/')} but would get '${id}', a ${item.type}`,
        `Change the layout so '${slot.id}' gets a ${slot.accepts.join(' or ')}; slots that accept a ${item.type}: ${
          surface.slots
            .filter((s) => s.accepts.includes(item.type))
            .map((s) => s.id)
            .join(', ') || 'none'
        }.`,
      );
  }
  return step;
}

/** The content shown in more than one slot of a layout, with those slots. */
export function duplicatesIn(layout: Layout): { contentId: string; slotIds: string[] }[] {
  const bySlot = new Map<string, string[]>();
  for (const [slotId, contentId] of Object.entries(layout)) if (contentId !== null) bySlot.set(contentId, [...(bySlot.get(contentId) ?? []), slotId]);
  return [...bySlot].filter(([, s]) => s.length > 1).map(([contentId, slotIds]) => ({ contentId, slotIds }));
}

export const sameLayout = (a: Layout, b: Layout) => Object.keys({ ...a, ...b }).every((k) => (a[k] ?? null) === (b[k] ?? null));

/** The config with each variant's layout compiled into its overrides (variants without layout keep theirs). */
export function withCompiledLayouts<C extends { variants: { layout?: LayoutChange[]; overrides: Override[] }[] }>(
  config: C,
  surface: Surface,
  base: Layout,
  content: Map<string, ContentItem>,
): C {
  if (!config.variants.some((v) => v.layout)) return config;
  return { ...config, variants: config.variants.map((v) => (v.layout ? { ...v, overrides: compileLayout(v.layout, surface, base, content).overrides } : v)) };
}
