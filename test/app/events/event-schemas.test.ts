import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventSchema, eventTime, parseEvent } from '../../../src/app/events/event-schemas.js';

// parseEvent checks the common exposures and metric values by hand before asking zod: it must accept exactly what
// EventSchema accepts, with the same values for every field the schema keeps. The oracle is the schema itself.

const text = (max: number) => fc.oneof(fc.string({ minLength: 0, maxLength: max + 2 }), fc.constant(''), fc.string({ minLength: max, maxLength: max + 1 }));
const ident = fc.oneof(fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,70}$/), fc.constantFrom('stream-rate', 'Upper', '-lead', 'with space', '', 'ok_1'));
const time = fc.oneof(
  fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom(
    '2026-11-26T10:00:00Z',
    '2026-11-26T10:00:00+02:00',
    '2026-11-26T10:00:00.5Z',
    '2026-11-26T10:00:00.123456Z',
    '2024-02-29T00:00:00.000Z',
    '2023-02-29T00:00:00.000Z',
    '2026-13-01T00:00:00.000Z',
    '2026-11-26 10:00:00.000Z',
    '2026-11-26T10:00:00.000',
    '2026-11-26',
    'yesterday',
  ),
  fc.string({ maxLength: 30 }),
);
const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0));
const field = <T>(arb: fc.Arbitrary<T>) =>
  fc.option(fc.oneof({ weight: 6, arbitrary: arb }, { weight: 1, arbitrary: fc.anything() }), { nil: undefined, freq: 4 });
const event = fc.record(
  {
    id: field(text(128)),
    type: fc.oneof(fc.constantFrom('exposure', 'metric', 'event'), fc.anything()),
    unitId: field(text(256)),
    experimentId: field(text(40)),
    variant: field(ident),
    metricId: field(ident),
    value: field(number),
    ts: field(time),
    timestamp: field(time),
    extra: field(fc.string()),
  },
  { requiredKeys: ['type'] },
);
const input = fc.oneof({ weight: 8, arbitrary: event }, { weight: 1, arbitrary: fc.anything() }, { weight: 1, arbitrary: fc.array(fc.anything()) });

// Fields left undefined are absent from the schema's output and present as undefined in ours: compared as absent.
const kept = (e: object) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined));

describe('parseEvent', () => {
  it('accepts exactly what EventSchema accepts, with the same fields and the same normalised time', () => {
    fc.assert(
      fc.property(input, (raw) => {
        const ours = parseEvent(raw);
        const schema = EventSchema.safeParse(raw);
        expect(ours.ok).toBe(schema.success);
        if (ours.ok && schema.success) {
          expect(kept(ours.event)).toEqual(kept(schema.data));
          expect(eventTime(ours.event, null)).toEqual(eventTime(schema.data, null));
        }
      }),
      { numRuns: 20_000, seed: 16 },
    );
  });

  it('normalises a time to ISO 8601 UTC with milliseconds, whatever form it came in', () => {
    const ev = (ts: string) => parseEvent({ id: 'a', type: 'metric', unitId: 'u', metricId: 'm', value: 1, ts });
    const at = (ts: string) => {
      const p = ev(ts);
      if (!p.ok) throw new Error(p.message);
      return eventTime(p.event, null);
    };
    expect(at('2026-11-26T10:00:00Z')).toEqual({ ts: '2026-11-26T10:00:00.000Z' });
    expect(at('2026-11-26T12:00:00.5+02:00')).toEqual({ ts: '2026-11-26T10:00:00.500Z' });
    expect(at('2026-11-26T10:00:00.123Z')).toEqual({ ts: '2026-11-26T10:00:00.123Z' });
    expect(at('2026-11-26T10:00:00.123456Z')).toEqual({ ts: '2026-11-26T10:00:00.123Z' });
    expect(ev('2026-02-29T10:00:00.000Z').ok).toBe(false);
  });
});
