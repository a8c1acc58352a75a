import { bucketOf, chooseVariant } from '../domain/assignment.js';
import type { Experiment, Surface } from '../domain/schemas.js';

export interface CompiledExperiment {
  id: string;
  key: string;
  surfaceId: string;
  status: Experiment['status'];
  control: string;
  variants: { key: string; weight: number; overrides: { slotId: string; contentId: string }[] }[];
  platforms: Set<string> | null;
  ranges: [number, number][];
  buckets: number;
}

interface CompiledSurface {
  surface: Surface;
  /** For each bucket, the running experiments that own it (disjoint slots may share buckets). */
  byBucket: CompiledExperiment[][];
}

export interface Assignment {
  experimentId: string;
  experimentKey: string;
  variant: string;
  isControl: boolean;
}

export interface UnitView {
  surfaceId: string;
  unitId: string;
  bucket: number;
  assignments: Assignment[];
  layout: { slotId: string; contentId: string; experimentId: string | null; variant: string | null }[];
}

/**
 * Assignment configuration compiled in memory: a bucket table per surface, so assigning a unit is
 * one hash, one array lookup and one hash per experiment the unit falls in. Rebuilt when an
 * experiment changes; a failed rebuild keeps the last good one, so serving never waits on or
 * fails with the database.
 */
export class AssignmentIndex {
  private surfaces = new Map<string, CompiledSurface>();
  private byKey = new Map<string, CompiledExperiment>();
  /** Bumped on every rebuild: an ETag ingredient for OFREP bulk responses. */
  generation = 0;

  rebuild(surfaces: Surface[], experiments: Experiment[]): void {
    const nextSurfaces = new Map<string, CompiledSurface>();
    for (const s of surfaces) nextSurfaces.set(s.id, { surface: s, byBucket: Array.from({ length: s.bucketCount }, () => []) });
    const nextByKey = new Map<string, CompiledExperiment>();
    for (const e of experiments) {
      const compiled: CompiledExperiment = {
        id: e.id,
        key: e.key,
        surfaceId: e.surfaceId,
        status: e.status,
        control: (e.variants.find((v) => v.isControl) ?? e.variants[0]).key,
        variants: e.variants.map((v) => ({ key: v.key, weight: v.weight, overrides: v.overrides })),
        platforms: e.targeting.platforms?.length ? new Set(e.targeting.platforms) : null,
        ranges: e.buckets,
        buckets: 0,
      };
      nextByKey.set(e.key, compiled);
      nextByKey.set(e.id, compiled);
      const table = nextSurfaces.get(e.surfaceId);
      if (e.status !== 'running' || !table) continue;
      for (const [a, b] of e.buckets) for (let i = a; i < b && i < table.byBucket.length; i++) table.byBucket[i].push(compiled);
      compiled.buckets = e.buckets.reduce((n, [a, b]) => n + (b - a), 0);
    }
    this.surfaces = nextSurfaces;
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

  /** What the unit sees on the surface now. Pure in-memory work; undefined for an unknown surface. */
  view(surfaceId: string, unitId: string, platform?: string): UnitView | undefined {
    const cs = this.surfaces.get(surfaceId);
    if (!cs) return undefined;
    const s = cs.surface;
    const bucket = bucketOf(s.salt, unitId, s.bucketCount);
    const assignments: Assignment[] = [];
    const layout = s.slots.map((slot) => ({ slotId: slot.id, contentId: slot.defaultContentId, experimentId: null as string | null, variant: null as string | null }));
    for (const e of cs.byBucket[bucket]) {
      if (e.platforms && (!platform || !e.platforms.has(platform))) continue;
      const variant = chooseVariant(e.id, unitId, e.variants);
      assignments.push({ experimentId: e.id, experimentKey: e.key, variant, isControl: variant === e.control });
      for (const o of e.variants.find((v) => v.key === variant)!.overrides) {
        const slot = layout.find((l) => l.slotId === o.slotId);
        if (slot) Object.assign(slot, { contentId: o.contentId, experimentId: e.id, variant });
      }
    }
    return { surfaceId, unitId, bucket, assignments, layout };
  }

  /** Why the unit is or is not in each running experiment of the surface: for QA before and during a launch. */
  explain(surfaceId: string, unitId: string, platform?: string): (UnitView & { experiments: { experimentId: string; experimentKey: string; inExperiment: boolean; variant: string | null; reason: string }[] }) | undefined {
    const view = this.view(surfaceId, unitId, platform);
    if (!view) return undefined;
    const running = this.experiments().filter((e) => e.surfaceId === surfaceId && e.status === 'running');
    const experiments = running.map((e) => {
      const hit = view.assignments.find((a) => a.experimentId === e.id);
      if (hit) return { experimentId: e.id, experimentKey: e.key, inExperiment: true, variant: hit.variant, reason: `bucket ${view.bucket} is owned by the experiment; variant chosen by weight (${hit.isControl ? 'control' : 'treatment'})` };
      const owns = e.ranges.some(([a, b]) => view.bucket >= a && view.bucket < b);
      const reason = !owns
        ? `bucket ${view.bucket} is outside the experiment's ${e.buckets} buckets (${e.ranges.map(([a, b]) => `${a}–${b - 1}`).join(', ')})`
        : `platform ${platform ?? '(none given)'} is not targeted (${[...(e.platforms ?? [])].join(', ')})`;
      return { experimentId: e.id, experimentKey: e.key, inExperiment: false, variant: null, reason };
    });
    return { ...view, experiments };
  }
}
