import { ConfigError } from '../config.js';
import type { EffectSpec, HarmSpec, SimulateDaysOptions } from './simulate-days.js';

/** The flags of `sealab simulate --days` as parseArgs gives them. */
export interface DaysFlagValues {
  days?: string;
  experiment?: string;
  'units-per-day'?: string;
  effect?: string;
  effects?: string;
  harm?: string;
  'until-decision'?: boolean;
  silence?: string;
  seed?: string;
}

const number = (flag: string, text: string, ok: (n: number) => boolean, expected: string): number => {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new ConfigError(`${flag}: must be ${expected} (got ${JSON.stringify(text)})`);
  return n;
};

/** `key:metric=E,...` (key optional where `keyOptional`) → specs; a malformed item names the flag and the item. */
function specs(flag: string, text: string, keyOptional: boolean): { experiment?: string; metricId: string; effect: number }[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const m = /^(?:([^:=\s]+):)?([^:=\s]+)=(.+)$/.exec(item);
      if (!m || (!m[1] && !keyOptional))
        throw new ConfigError(
          `${flag}: '${item}' is not ${keyOptional ? '[experiment:]metric=E' : 'experiment:metric=E'}, e.g. ${keyOptional ? 'crash-rate=0.5' : 'home-focus:stream-rate=0.05'}`,
        );
      const effect = number(flag, m[3], (n) => n > -1, 'a relative change above -1, e.g. 0.05');
      return { ...(m[1] ? { experiment: m[1] } : {}), metricId: m[2], effect };
    });
}

/** Turns the command line of `sealab simulate --days N ...` into the library's options. */
export function parseDaysFlags(v: DaysFlagValues, base: Pick<SimulateDaysOptions, 'url' | 'token' | 'out'>): SimulateDaysOptions {
  const harm = v.harm ? specs('--harm', v.harm, true) : [];
  for (const h of harm) if (h.effect <= 0) throw new ConfigError(`--harm: ${h.metricId}=${h.effect}: the size of the harm must be above 0, e.g. 0.5`);
  return {
    ...base,
    days: number('--days', v.days ?? '', (n) => Number.isInteger(n) && n >= 1 && n <= 366, 'a whole number of days from 1 to 366'),
    seed: v.seed ? number('--seed', v.seed, Number.isInteger, 'a whole number') : 42,
    effect: v.effect ? number('--effect', v.effect, (n) => n > -1, 'a relative change above -1, e.g. 0.05') : 0,
    effects: v.effects ? (specs('--effects', v.effects, false) as EffectSpec[]) : [],
    harm: harm as HarmSpec[],
    untilDecision: v['until-decision'] ?? false,
    silence: (v.silence ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
    ...(v.experiment ? { experiment: v.experiment } : {}),
    ...(v['units-per-day']
      ? { unitsPerDay: number('--units-per-day', v['units-per-day'], (n) => Number.isInteger(n) && n >= 1, 'a whole number of units above 0') }
      : {}),
  };
}
