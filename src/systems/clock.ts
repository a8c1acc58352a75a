/** Where time comes from: the wall clock in production, a clock tests or the simulated mode move by hand. */
export interface Clock {
  now(): Date;
}

/** The real time. */
export const wallClock: Clock = { now: () => new Date() };

/**
 * A clock that moves only when told (`sealab serve --simulated-clock`): two reads without an
 * advance are equal, so a rehearsal is deterministic. It never runs backwards, because ramp stages,
 * exposures and metric snapshots already recorded would then lie in the future.
 */
export class SimulatedClock implements Clock {
  private ms: number;

  constructor(start: Date) {
    if (Number.isNaN(start.getTime())) throw new RangeError('the simulated clock needs a valid start time');
    this.ms = start.getTime();
  }

  now(): Date {
    return new Date(this.ms);
  }

  /** Moves forward by `ms` (≥ 0); returns the new time. */
  advance(ms: number): Date {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`the simulated clock only moves forward (asked to move by ${ms} ms)`);
    this.ms += ms;
    return this.now();
  }

  /** Moves to `to`, which must not be earlier than now; returns the new time. */
  set(to: Date): Date {
    const t = to.getTime();
    if (Number.isNaN(t)) throw new RangeError('the simulated clock needs a valid time');
    if (t < this.ms) throw new RangeError(`the simulated clock only moves forward (now ${this.now().toISOString()}, asked for ${to.toISOString()})`);
    this.ms = t;
    return this.now();
  }
}
