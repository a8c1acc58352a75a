import ky, { HTTPError, type KyInstance } from 'ky';
import type { CatalogMetric } from './metric-draws.js';

/** What the simulator reads of an experiment (GET /v1/experiments). */
export interface SimExperiment {
  id: string;
  key: string;
  surfaceId: string;
  status: string;
  version: number;
  allocationPercent: number;
  buckets: [number, number][];
  variants: { key: string; isControl?: boolean }[];
  successMetrics: string[];
  guardrails: { metricId: string }[];
}

/** What the simulator reads of a surface (GET /v1/surfaces/{id}). */
export interface SimSurface {
  id: string;
  dailyTraffic: number;
  bucketCount: number;
  salt: string;
  platforms: string[];
}

/** A ramp-scheduler tick outcome as POST /v1/clock/advance reports it. */
export interface SimTick {
  experimentId: string;
  key: string;
  at: string;
  action: string;
  reason: string;
}

/** What the simulator reads of GET /v1/experiments/{id}/metrics. */
export interface SimReport {
  status: string;
  exposures: { variant: string; units: number }[];
  decision?: { decision: string; reasons?: string[]; variant?: string | null };
}

export interface ApiOptions {
  url: string;
  token?: string;
  /** Custom fetch (tests call the hono app in process). */
  fetch?: typeof fetch;
}

/** The /v1 calls the simulator makes; an HTTP problem becomes an Error whose message carries its code and hint. */
export class SimApi {
  readonly ky: KyInstance;
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly fetch: typeof fetch;

  constructor(o: ApiOptions) {
    this.base = `${o.url.replace(/\/$/, '')}/v1`;
    this.headers = o.token ? { authorization: `Bearer ${o.token}` } : {};
    this.fetch = o.fetch ?? globalThis.fetch;
    this.ky = ky.create({
      prefixUrl: `${o.url.replace(/\/$/, '')}/v1`,
      timeout: 60_000,
      retry: 0,
      headers: o.token ? { authorization: `Bearer ${o.token}` } : {},
      ...(o.fetch ? { fetch: o.fetch } : {}),
    });
  }

  clock = () => this.call(() => this.ky.get('clock').json<{ now: string; simulated: boolean }>());
  advance = (hours: number) => this.call(() => this.ky.post('clock/advance', { json: { hours } }).json<{ now: string; ticks: SimTick[] }>());
  metrics = async () => (await this.call(() => this.ky.get('metrics').json<{ metrics: CatalogMetric[] }>())).metrics;
  experiments = async () => (await this.call(() => this.ky.get('experiments').json<{ experiments: SimExperiment[] }>())).experiments;
  experiment = async (id: string) =>
    (await this.call(() => this.ky.get(`experiments/${encodeURIComponent(id)}`).json<{ experiment: SimExperiment }>())).experiment;
  surface = (id: string) => this.call(() => this.ky.get(`surfaces/${encodeURIComponent(id)}`).json<SimSurface>());
  report = (id: string) => this.call(() => this.ky.get(`experiments/${encodeURIComponent(id)}/metrics`).json<SimReport>());
  /** The hot path (one call per exposed unit): plain fetch, which costs the client a fraction of ky's per-request work. */
  assign = async (surfaceId: string, unit: string, platform: string): Promise<{ assignments: { experimentId: string; variant: string }[] }> => {
    const path = `/surfaces/${encodeURIComponent(surfaceId)}/assignment?unit=${encodeURIComponent(unit)}&platform=${encodeURIComponent(platform)}`;
    const res = await this.fetch(`${this.base}${path}`, { headers: this.headers });
    const body = (await res.json()) as { assignments: { experimentId: string; variant: string }[]; code?: string; detail?: string; hint?: string };
    if (!res.ok) throw new Error(`GET /v1${path} answered ${res.status} ${body.code ?? ''}: ${body.detail ?? ''}${body.hint ? `. ${body.hint}` : ''}`);
    return body;
  };
  events = (events: unknown[]) =>
    this.call(() =>
      this.ky.post('events', { json: { events } }).json<{ accepted: number; duplicates: number; rejected: { code: string; message: string }[] }>(),
    );

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof HTTPError)) throw err;
      const p = (await err.response.json().catch(() => ({}))) as { code?: string; detail?: string; title?: string; hint?: string };
      throw new Error(
        `${err.request.method} ${new URL(err.request.url).pathname} answered ${err.response.status}${p.code ? ` ${p.code}` : ''}: ${p.detail ?? p.title ?? err.message}${p.hint ? `. ${p.hint}` : ''}`,
      );
    }
  }
}
