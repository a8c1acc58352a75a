import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { SqlAuditRepo } from '../../store/sql/audit-repo.js';
import type { Clock } from '../../systems/clock.js';
import type { Logger } from '../../logger.js';
import type { SloGate } from '../../app/context.js';
import { AppError } from '../../errors.js';
import { readSli } from './sli-reader.js';
import { SampleRing } from './sample-ring.js';
import { describeBurn, evaluateSlo, type SloStatus } from './burn-rates.js';
import type { SloFile } from './slo-schema.js';

export interface SloReport {
  version: string;
  at: string;
  /** When the oldest kept sample was taken: windows longer than the history so far read what there is. */
  since: string | null;
  samples: number;
  slos: SloStatus[];
}

/** The actor the SLO gate's audit rows carry. */
export const SLO_ACTOR = 'system:slo';

/**
 * Evaluates the SLO file in-process: samples the container's Prometheus registry into a ring of
 * cumulative counts, computes SLI, budget left, burn rates and the Workbook's burn-rate alerts, and
 * — while a serving SLO with actions pages — holds ramps and asks for approval above the first stage.
 * Samples live in memory only: a restart starts the windows afresh (Prometheus keeps the long view).
 */
export class SloService implements SloGate {
  private readonly ring = new SampleRing();
  /** Gauge SLIs have no counters of their own: one sample is one event. */
  private readonly gaugeCounts = new Map<number, [number, number]>();
  /** Experiments whose hold the current burn episode already audited. */
  private readonly heldAudited = new Set<string>();

  constructor(
    readonly file: SloFile,
    /** The container's registry; undefined with SEALAB_METRICS=off (every SLO then reads no data). */
    readonly registry: Registry | undefined,
    private readonly d: { clock: Clock; logger: Logger; store: { audit: SqlAuditRepo } },
  ) {}

  /** Reads every SLI once; main.ts calls it every `sampleSeconds`, tests call it after moving their clock. */
  async sample(): Promise<void> {
    const counts = await Promise.all(
      this.file.slos.map(async (slo, i): Promise<[number, number] | null> => {
        const read = this.registry ? await readSli(this.registry, slo.sli) : null;
        if (!read) return null;
        if (!('gaugeBad' in read)) return [read.bad, read.total];
        const [bad, total] = this.gaugeCounts.get(i) ?? [0, 0];
        const next: [number, number] = [bad + (read.gaugeBad ? 1 : 0), total + 1];
        this.gaugeCounts.set(i, next);
        return next;
      }),
    );
    const before = this.paging();
    this.ring.push({ t: this.d.clock.now().getTime(), counts });
    const after = this.paging();
    for (const s of after.filter((a) => !before.some((b) => b.name === a.name)))
      this.d.logger.warn({ slo: s.name, burnRates: s.burnRates, alerts: s.alerts }, 'SLO burning fast: page');
    for (const s of before.filter((b) => !after.some((a) => a.name === b.name))) this.d.logger.info({ slo: s.name }, 'SLO no longer burning fast');
    if (!after.some((s) => s.actions.holdRamps)) this.heldAudited.clear();
  }

  /** Samples every `seconds` (default: the file's sampleSeconds) on an unref'd timer; returns the function that stops it. */
  start(seconds = this.file.sampleSeconds): () => void {
    const tick = () => this.sample().catch((err: unknown) => this.d.logger.error({ err }, 'SLO sample failed'));
    void tick();
    const timer = setInterval(tick, seconds * 1000);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Every SLO's status now, or only `only`'s (NOT_FOUND names the SLOs there are). */
  status(only?: string): SloReport {
    if (only !== undefined && !this.file.slos.some((s) => s.name === only))
      throw new AppError('NOT_FOUND', `no SLO named '${only}'`, `Use one of: ${this.file.slos.map((s) => s.name).join(', ')}; or omit it for every SLO.`);
    const now = this.d.clock.now().getTime();
    const oldest = this.ring.at(Number.NEGATIVE_INFINITY);
    return {
      version: this.file.version,
      at: new Date(now).toISOString(),
      since: oldest ? new Date(oldest.t).toISOString() : null,
      samples: this.ring.size,
      slos: this.file.slos.flatMap((slo, i) => (only === undefined || slo.name === only ? [evaluateSlo(slo, i, this.ring, now)] : [])),
    };
  }

  /** Serving SLOs whose page alert fires now. */
  paging(): SloStatus[] {
    return this.status().slos.filter((s) => s.category === 'serving' && s.state === 'page');
  }

  /** SloGate: why ramps do not advance now, or null; reads only (get_ramp_status shows it). */
  holdReason(): string | null {
    const burning = this.paging().filter((s) => s.actions.holdRamps);
    return burning.length ? `slo_burn: ${burning.map(describeBurn).join('; ')}; the ramp resumes by itself once the burn stops` : null;
  }

  /** SloGate: why the ramp scheduler must not advance this experiment now (audited once per burn episode), or null. */
  async rampHold(experimentId: string): Promise<string | null> {
    const reason = this.holdReason();
    if (!reason) return null;
    const burning = this.paging().filter((s) => s.actions.holdRamps);
    if (!this.heldAudited.has(experimentId)) {
      this.heldAudited.add(experimentId);
      await this.audit('slo_burn_ramp_hold', experimentId, burning, reason);
    }
    return reason;
  }

  /** SloGate: why a deploy from `fromPercent` to `toPercent` needs a person's approval now, or null. */
  approvalReason(firstStage: number, fromPercent: number, toPercent: number): string | null {
    if (toPercent <= fromPercent || toPercent <= firstStage) return null;
    const burning = this.paging().filter((s) => s.actions.approvalAboveFirstStage);
    if (!burning.length) return null;
    return `slo_burn: a serving SLO is burning its error budget fast, so going above the first stage (${firstStage}%) to ${toPercent}% needs a person's approval — ${burning.map(describeBurn).join('; ')}`;
  }

  private async audit(operation: string, experimentId: string, burning: SloStatus[], reason: string): Promise<void> {
    const at = this.d.clock.now().toISOString();
    const figures = burning.map((s) => ({ slo: s.name, objective: s.objective, budgetLeft: s.budgetLeft, alerts: s.alerts }));
    for (const s of burning)
      await this.d.store.audit.record(
        { actor: SLO_ACTOR, interface: 'system', operation, requestId: randomUUID(), rationale: reason },
        'slo',
        s.name,
        null,
        { experimentId, burning: figures },
        at,
      );
    this.d.logger.warn({ experimentId, burning: figures }, 'ramp held: serving SLO burning fast');
  }
}
