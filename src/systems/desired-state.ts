import type { Experiment } from '../domain/schemas.js';
import type { BackendStatus } from './contracts.js';

/** Buckets and allocation the backend is asked to hold (a ramp's target, or the experiment's own). */
export type Target = { buckets: Experiment['buckets']; allocationPercent: number };

/** The backend status a stored experiment implies: what both systems hold once its last saga ended. */
export const backendStatusOf = (e: Experiment): BackendStatus => (e.status === 'running' ? 'running' : e.status === 'paused' ? 'paused' : 'released');

/** What the backend holds for an experiment in a status: a released one owns no buckets. */
export const backendWrite = (e: Experiment, status: BackendStatus, t: Target) => ({
  surfaceId: e.surfaceId,
  key: e.key,
  status,
  buckets: status === 'released' ? [] : t.buckets,
  allocationPercent: status === 'released' ? 0 : t.allocationPercent,
  variants: e.variants,
  targeting: e.targeting,
});

/** A variant made the surface's default layout for everyone, and when. */
export type Ship = { variant: string; at: string };

/** What content delivery holds for an experiment: its variants' overrides, served or not, and the variant it ships to everyone, if any. */
export const contentWrite = (e: Experiment, serving: boolean, ship: Ship | null = null) => ({
  surfaceId: e.surfaceId,
  serving,
  variants: e.variants,
  shipped: ship?.variant ?? null,
  shippedAt: ship?.at ?? null,
});
