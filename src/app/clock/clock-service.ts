import { AppError } from '../../errors.js';
import { SimulatedClock } from '../../systems/clock.js';
import type { AppDeps, WriteContext } from '../context.js';
import type { ExposureBuffer } from '../events/exposure-buffer.js';
import type { RampScheduler, TickOutcome } from '../ramp/ramp-scheduler.js';

const HOUR_MS = 3_600_000;
/** One call moves at most a year: 8,784 hourly ticks is already a long request. */
const MAX_ADVANCE_MS = 366 * 24 * HOUR_MS;
/** Tick outcomes that repeat every hour without changing anything; an advance reports only the others. */
const STEADY: ReadonlySet<string> = new Set(['waiting', 'held', 'complete']);

export interface ClockReading {
  now: string;
  /** True when the server runs on a simulated clock (`sealab serve --simulated-clock`). */
  simulated: boolean;
}

/** How far to move: exactly one of hours, days or an ISO time `to` (never earlier than now). */
export interface AdvanceRequest {
  hours?: number;
  days?: number;
  to?: string;
}

export interface AdvanceResult {
  from: string;
  now: string;
  /** Steps of at most one hour taken, each followed by one ramp-scheduler tick. */
  steps: number;
  /** Tick outcomes that changed something (advanced, rolled back, refused...), in order; steady 'waiting', 'held' and 'complete' are left out. */
  ticks: TickOutcome[];
}

/**
 * Reads the clock, and moves a simulated one: in steps of at most an hour, flushing queued
 * exposures and running one ramp-scheduler tick after each step, as the wall-clock timer would.
 * Advances are serialised so two callers cannot interleave their ticks.
 */
export class ClockService {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly d: AppDeps,
    private readonly ramps: RampScheduler,
    private readonly exposures: ExposureBuffer,
  ) {}

  get simulated(): boolean {
    return this.d.clock instanceof SimulatedClock;
  }

  read(): ClockReading {
    return { now: this.d.clock.now().toISOString(), simulated: this.simulated };
  }

  advance(req: AdvanceRequest, ctx: WriteContext): Promise<AdvanceResult> {
    const clock = this.d.clock;
    if (!(clock instanceof SimulatedClock)) {
      return Promise.reject(
        new AppError(
          'PRECONDITION_FAILED',
          'this server runs on the wall clock; only a simulated clock can be moved',
          'Start a rehearsal server with `sealab serve --simulated-clock [--clock-start 2026-01-05T00:00:00Z]` (or SEALAB_SIMULATED_CLOCK=true; loopback addresses only), then call POST /v1/clock/advance there.',
        ),
      );
    }
    const run = this.queue.then(() => this.step(clock, req, ctx));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async step(clock: SimulatedClock, req: AdvanceRequest, ctx: WriteContext): Promise<AdvanceResult> {
    const from = clock.now();
    const target = targetOf(from, req);
    await this.exposures.flush(); // exposures served before the move belong to the time they were served
    const ticks: TickOutcome[] = [];
    let steps = 0;
    while (clock.now().getTime() < target) {
      clock.advance(Math.min(HOUR_MS, target - clock.now().getTime()));
      steps++;
      await this.exposures.flush();
      for (const t of await this.ramps.tick()) if (!STEADY.has(t.action)) ticks.push(t);
    }
    const now = clock.now().toISOString();
    await this.d.store.audit.record(ctx, 'clock', 'simulated', { now: from.toISOString() }, { now, steps, ticks: ticks.length }, now);
    return { from: from.toISOString(), now, steps, ticks };
  }
}

function targetOf(from: Date, req: AdvanceRequest): number {
  const given = [req.hours, req.days, req.to].filter((v) => v !== undefined).length;
  if (given !== 1)
    throw new AppError(
      'INVALID_INPUT',
      'say how far to move the clock with exactly one of hours, days or to',
      'Send e.g. {"hours": 36}, {"days": 1} or {"to": "2026-01-08T00:00:00Z"}.',
    );
  const ms = req.to !== undefined ? Date.parse(req.to) - from.getTime() : req.hours !== undefined ? req.hours * HOUR_MS : (req.days as number) * 24 * HOUR_MS;
  if (Number.isNaN(ms))
    throw new AppError('INVALID_INPUT', `'to' is not a time: ${JSON.stringify(req.to)}`, 'Send an ISO 8601 time, e.g. "2026-01-08T00:00:00Z".');
  if (ms < 0 && req.to === undefined) throw new AppError('INVALID_INPUT', 'hours and days must be positive', 'Send e.g. {"hours": 36} or {"days": 1}.');
  if (ms < 0)
    throw new AppError(
      'CONFLICT',
      `the simulated clock only moves forward: it is ${from.toISOString()}, and ${req.to} is earlier`,
      'GET /v1/clock reads the current time; ask for a later one.',
    );
  if (ms > MAX_ADVANCE_MS) throw new AppError('INVALID_INPUT', 'one advance moves the clock at most 366 days', 'Advance in several calls.');
  return from.getTime() + ms;
}
