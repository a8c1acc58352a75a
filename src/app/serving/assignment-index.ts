import { bucketFromHash, type HashPrefix, hashLoadedInt32, hashPrefix, loadAndHash, loadedLength, variantCuts } from '../../domain/assignment.js';
import type { Surface } from '../../domain/schemas.js';
import type { BackendStatus, ServingConfig } from '../../systems/contracts.js';

export interface CompiledExperiment {
  id: string;
  key: string;
  surfaceId: string;
  /** The experimentation backend's status: only 'running' assigns units. */
  status: BackendStatus;
  control: string;
  /** Weights from the backend; overrides from content delivery, empty unless the surface serves this experiment. */
  variants: { key: string; weight: number; overrides: { slotId: string; contentId: string | null }[] }[];
  /** Content delivery renders this experiment's overrides on the surface. */
  rendered: boolean;
  platforms: Set<string> | null;
  ranges: [number, number][];
  buckets: number;
  /** The variant hash's state after `id:` (chooseVariant's salt), so a unit's hash feeds only its id. */
  prefix: HashPrefix;
  /** Running sums of the weights in order, as chooseVariant adds them; the last is the total. */
  cumulative: number[];
  /**
   * The same split as integer cuts in hash space (variantCuts) without the last (2^32, which no hash reaches): the
   * unit's variant is the first whose cut is above its hash, which is the number of these cuts at or below it.
   */
  cuts: number[];
  /** Per variant: its overrides as positions in the surface's slot order (slots the surface lacks dropped). */
  placed: { index: number; contentId: string | null }[][];
  /**
   * Per variant: what a unit in this experiment alone sees (its assignment and the surface's layout with the
   * variant's overrides), frozen and shared by every such unit, so the common case of view allocates only the
   * view itself. Empty when the experiment's surface is not compiled.
   */
  solo: Solo[];
}

/** The unit-independent part of a view: shared between units, so frozen (a caller cannot change another unit's answer). */
interface Solo {
  assignments: Assignment[];
  layout: SlotView[];
}

/** Freezes an array and its objects; typed as the mutable array UnitView declares (the freeze is the guard). */
const frozen = <T extends object>(xs: T[]): T[] => Object.freeze(xs.map((x) => Object.freeze(x))) as T[];

interface CompiledSurface {
  surface: Surface;
  /** The bucket hash's state after `salt:`. */
  prefix: HashPrefix;
  /** Slot ids in position order, and each one's default content: the layout a unit in no experiment sees. */
  slotIds: string[];
  slotDefaults: (string | null)[];
  /** surface.bucketCount, read on every request, and 1 / bucketCount (bucketFromHash). */
  bucketCount: number;
  inverse: number;
  /**
   * The running experiments that own each bucket (disjoint slots may share buckets), as an index into `owners`,
   * the distinct owner lists (0: none). A flat 4-byte entry per bucket instead of an array per bucket: a random
   * bucket's entry is one read in a compact table that stays in the cache, and the few lists are always warm.
   */
  ownerOf: Int32Array;
  owners: CompiledExperiment[][];
  /** The surface's default layout: slot defaults overlaid by shipped variants (later ships win); experiments render on top. */
  defaults: Record<string, string | null>;
  /** What a unit in no experiment sees: no assignment and the slot defaults, frozen and shared. */
  none: Solo;
}

export interface Assignment {
  experimentId: string;
  experimentKey: string;
  variant: string;
  isControl: boolean;
}

export interface SlotView {
  slotId: string;
  contentId: string | null;
  experimentId: string | null;
  variant: string | null;
}

/**
 * A unit's answer, to read only: units with the same answer share its arrays and their objects, which are
 * frozen (writing one throws), so copy before changing anything.
 */
export interface UnitView {
  surfaceId: string;
  unitId: string;
  bucket: number;
  assignments: Assignment[];
  /** Every slot in position order; contentId null: an optional slot empty by default or hidden by a variant. */
  layout: SlotView[];
}

/**
 * Assignment configuration compiled in memory: a bucket table per surface, so assigning a unit is
 * one hash, one array lookup and one hash per experiment the unit falls in. Compiled from what the
 * two systems hold (the backend's allocations, content delivery's override sets) — not from the
 * gateway's experiment records — so a process serves exactly what the systems agreed on. A unit
 * is assigned only by experiments the backend runs; a slot shows an override only when content
 * delivery also renders that experiment. Recompiled on change; a failed compile keeps the last
 * good table, so serving never waits on or fails with a store or a remote system.
 */
export class AssignmentIndex {
  private surfaces = new Map<string, CompiledSurface>();
  /** The surface view() looked up last; forgotten at every compile. */
  private last: CompiledSurface | undefined;
  private byKey = new Map<string, CompiledExperiment>();
  /** Bumped on every rebuild: an ETag ingredient for OFREP bulk responses. */
  generation = 0;

  compile(surfaces: Surface[], config: ServingConfig): void {
    const nextSurfaces = new Map<string, CompiledSurface>();
    for (const s of surfaces) nextSurfaces.set(s.id, compileSurface(s, config.content));
    const content = new Map(config.content.map((c) => [c.experimentId, c]));
    const nextByKey = new Map<string, CompiledExperiment>();
    for (const e of config.backend) {
      const served = content.get(e.experimentId);
      const rendered = Boolean(served?.serving && served.surfaceId === e.surfaceId);
      const overridesOf = (key: string) => (rendered ? (served!.variants.find((v) => v.key === key)?.overrides ?? []) : []);
      const compiled: CompiledExperiment = {
        id: e.experimentId,
        key: e.key,
        surfaceId: e.surfaceId,
        status: e.status,
        control: (e.variants.find((v) => v.isControl) ?? e.variants[0]).key,
        variants: e.variants.map((v) => ({ key: v.key, weight: v.weight, overrides: overridesOf(v.key) })),
        rendered,
        platforms: e.targeting.platforms?.length ? new Set(e.targeting.platforms) : null,
        ranges: e.buckets,
        buckets: 0,
        prefix: hashPrefix(e.experimentId),
        cumulative: [],
        cuts: [],
        placed: [],
        solo: [],
      };
      const table = nextSurfaces.get(e.surfaceId);
      placeVariants(compiled, table?.slotIds ?? []);
      if (table) compiled.solo = soloViews(compiled, table);
      nextByKey.set(e.key, compiled);
      nextByKey.set(e.experimentId, compiled);
      if (e.status !== 'running' || !table) continue;
      // Per owner list, the list it becomes with this experiment added: buckets with the same owners share one list.
      const next = new Map<number, number>();
      for (const [a, b] of e.buckets)
        for (let i = a; i < b && i < table.bucketCount; i++) {
          const from = table.ownerOf[i];
          let to = next.get(from);
          if (to === undefined) {
            to = table.owners.push([...table.owners[from], compiled]) - 1;
            next.set(from, to);
          }
          table.ownerOf[i] = to;
        }
      compiled.buckets = e.buckets.reduce((n, [a, b]) => n + (b - a), 0);
    }
    this.surfaces = nextSurfaces;
    this.last = undefined;
    this.byKey = nextByKey;
    this.generation++;
  }

  surface(id: string): Surface | undefined {
    return this.surfaces.get(id)?.surface;
  }

  surfaceIds(): string[] {
    return [...this.surfaces.keys()];
  }

  experiment(idOrKey: string): CompiledExperiment | undefined {
    return this.byKey.get(idOrKey);
  }

  /** Experiments by key (each once), for bulk evaluation. */
  experiments(): CompiledExperiment[] {
    return [...new Set(this.byKey.values())];
  }

  /**
   * What the unit sees on the surface now. Pure in-memory work; undefined for an unknown surface. Hot path
   * of every serving request: one bucket hash, one table lookup, one variant hash per owning experiment,
   * everything else precomputed by compile (same answers as assignUnit and chooseVariant).
   */
  view(surfaceId: string, unitId: string, platform?: string): UnitView | undefined {
    // The surface asked for last, checked first: a service asks for one surface over and over (a Map lookup measured
    // about 5 ns of the ~130 a unit costs).
    let cs = this.last;
    if (cs === undefined || cs.surface.id !== surfaceId) {
      cs = this.surfaces.get(surfaceId);
      if (!cs) return undefined;
      this.last = cs;
    }
    // The id read once (loadAndHash: the bucket hash straight from its characters), hashed again per owner.
    const bucket = bucketFromHash(loadAndHash(cs.prefix, unitId), cs.bucketCount, cs.inverse);
    const n = loadedLength();
    const owners = cs.owners[cs.ownerOf[bucket]];
    // One owner (experiments on disjoint slots may share buckets, most do not): the unit's answer is the
    // precomputed one of the variant it hashes to; no owner: the surface's defaults.
    if (owners.length === 0) return { surfaceId, unitId, bucket, assignments: cs.none.assignments, layout: cs.none.layout };
    if (owners.length === 1) {
      const e = owners[0];
      const solo = e.platforms && (!platform || !e.platforms.has(platform)) ? cs.none : e.solo[pickVariant(e, unitId, n)];
      return { surfaceId, unitId, bucket, assignments: solo.assignments, layout: solo.layout };
    }
    return sharedView(cs, surfaceId, unitId, bucket, owners, n, platform);
  }

  /** The surface's default layout now (slot defaults with shipped variants applied): what a unit in no experiment sees. */
  defaultLayout(surfaceId: string): Record<string, string | null> | undefined {
    const d = this.surfaces.get(surfaceId)?.defaults;
    return d ? { ...d } : undefined;
  }

  /** Why the unit is or is not in each running experiment of the surface: for QA before and during a launch. */
  explain(
    surfaceId: string,
    unitId: string,
    platform?: string,
  ):
    | (UnitView & { experiments: { experimentId: string; experimentKey: string; inExperiment: boolean; variant: string | null; reason: string }[] })
    | undefined {
    const view = this.view(surfaceId, unitId, platform);
    if (!view) return undefined;
    const running = this.experiments().filter((e) => e.surfaceId === surfaceId && e.status === 'running');
    const experiments = running.map((e) => {
      const hit = view.assignments.find((a) => a.experimentId === e.id);
      if (hit)
        return {
          experimentId: e.id,
          experimentKey: e.key,
          inExperiment: true,
          variant: hit.variant,
          reason: `bucket ${view.bucket} is owned by the experiment; variant chosen by weight (${hit.isControl ? 'control' : 'treatment'})`,
        };
      const owns = e.ranges.some(([a, b]) => view.bucket >= a && view.bucket < b);
      const reason = !owns
        ? `bucket ${view.bucket} is outside the experiment's ${e.buckets} buckets (${e.ranges.map(([a, b]) => `${a}–${b - 1}`).join(', ')})`
        : `platform ${platform ?? '(none given)'} is not targeted (${[...(e.platforms ?? [])].join(', ')})`;
      return { experimentId: e.id, experimentKey: e.key, inExperiment: false, variant: null, reason };
    });
    return { ...view, experiments };
  }

  /**
   * One experiment's answer for a unit, as `view(e.surfaceId, …)` gives it, without building the layout and
   * every other experiment's assignment (an OFREP flag asks for one): the unit's bucket, and the index of its
   * variant in `e.variants`, or -1 when the unit is not in the experiment (bucket not owned, platform not
   * targeted, not running). Undefined when the experiment's surface is not compiled (view answers undefined).
   */
  variantOf(e: CompiledExperiment, unitId: string, platform?: string): { bucket: number; index: number } | undefined {
    const cs = this.surfaces.get(e.surfaceId);
    if (!cs) return undefined;
    const bucket = bucketFromHash(loadAndHash(cs.prefix, unitId), cs.bucketCount, cs.inverse); // the id read once
    const n = loadedLength();
    const owned = cs.owners[cs.ownerOf[bucket]].includes(e) && !(e.platforms && (!platform || !e.platforms.has(platform)));
    return { bucket, index: owned ? pickVariant(e, unitId, n) : -1 };
  }
}

/** A bucket several experiments own (on disjoint slots): every one's assignment, the layout built for the unit. */
function sharedView(
  cs: CompiledSurface,
  surfaceId: string,
  unitId: string,
  bucket: number,
  owners: CompiledExperiment[],
  n: number,
  platform?: string,
): UnitView {
  const { slotIds, slotDefaults } = cs;
  const layout: SlotView[] = new Array(slotIds.length);
  for (let i = 0; i < slotIds.length; i++) layout[i] = { slotId: slotIds[i], contentId: slotDefaults[i], experimentId: null, variant: null };
  const assignments: Assignment[] = [];
  for (let j = 0; j < owners.length; j++) {
    const e = owners[j];
    if (e.platforms && (!platform || !e.platforms.has(platform))) continue;
    const v = pickVariant(e, unitId, n);
    assignments.push(e.solo[v].assignments[0]);
    const variant = e.variants[v].key;
    for (const o of e.placed[v]) {
      const slot = layout[o.index];
      slot.contentId = o.contentId;
      slot.experimentId = e.id;
      slot.variant = variant;
    }
  }
  return { surfaceId, unitId, bucket, assignments, layout };
}

/**
 * The index of the variant chooseVariant(e.id, unitId, e.variants) picks, from the precomputed prefix and running
 * sums; n: loadUnit(unitId), read by the caller just before.
 */
function pickVariant(e: CompiledExperiment, unitId: string, n: number): number {
  const cuts = e.cuts;
  const h = hashLoadedInt32(e.prefix, unitId, n) >>> 0;
  // Counted, not searched: the cuts never decrease, so the count is the first variant whose cut is above h. A count
  // has no branch on the outcome, which a 50/50 split would mispredict half the time (about 7 ns a unit measured).
  let v = 0;
  for (let i = 0; i < cuts.length; i++) v += +(cuts[i] <= h);
  return v;
}

/** Running sums of the weights and overrides as slot positions; a repeated variant key renders as its first, as a lookup by key would. */
function placeVariants(e: CompiledExperiment, slotIds: string[]): void {
  let acc = 0;
  e.cumulative = e.variants.map((v) => {
    acc += v.weight;
    return acc;
  });
  e.cuts = variantCuts(e.cumulative).slice(0, -1);
  e.placed = e.variants.map((v) =>
    e.variants
      .find((w) => w.key === v.key)!
      .overrides.map((o) => ({ index: slotIds.indexOf(o.slotId), contentId: o.contentId }))
      .filter((o) => o.index >= 0),
  );
}

/** Per variant, the frozen answer for a unit that only this experiment owns: its assignment and the layout it renders. */
function soloViews(e: CompiledExperiment, cs: CompiledSurface): Solo[] {
  return e.variants.map((v, i) => {
    const layout = cs.slotIds.map((slotId, j): SlotView => ({ slotId, contentId: cs.slotDefaults[j], experimentId: null, variant: null }));
    for (const o of e.placed[i]) Object.assign(layout[o.index], { contentId: o.contentId, experimentId: e.id, variant: v.key });
    return { assignments: frozen([{ experimentId: e.id, experimentKey: e.key, variant: v.key, isControl: v.key === e.control }]), layout: frozen(layout) };
  });
}

function compileSurface(s: Surface, content: ServingConfig['content']): CompiledSurface {
  const defaults = shippedDefaults(s, content);
  const slotIds = [...s.slots].sort((a, b) => a.position - b.position).map((slot) => slot.id);
  const slotDefaults = slotIds.map((id) => defaults[id] ?? null);
  const layout = slotIds.map((slotId, i): SlotView => ({ slotId, contentId: slotDefaults[i], experimentId: null, variant: null }));
  return {
    surface: s,
    prefix: hashPrefix(s.salt),
    slotIds,
    slotDefaults,
    bucketCount: s.bucketCount,
    inverse: 1 / s.bucketCount,
    ownerOf: new Int32Array(s.bucketCount),
    owners: [[]],
    defaults,
    none: { assignments: frozen([]), layout: frozen(layout) },
  };
}

/** Slot defaults overlaid by the variants content delivery ships on the surface, oldest ship first so the latest wins a shared slot. */
function shippedDefaults(s: Surface, content: ServingConfig['content']): Record<string, string | null> {
  const out: Record<string, string | null> = Object.fromEntries(s.slots.map((slot) => [slot.id, slot.defaultContentId ?? null]));
  const ships = content
    .filter((c) => c.surfaceId === s.id && c.shipped)
    .sort((a, b) => (a.shippedAt ?? '').localeCompare(b.shippedAt ?? '') || a.experimentId.localeCompare(b.experimentId));
  for (const c of ships) for (const o of c.variants.find((v) => v.key === c.shipped)?.overrides ?? []) if (o.slotId in out) out[o.slotId] = o.contentId ?? null;
  return out;
}
