import type { ContentItem, Metric, Surface } from '../domain/schemas.js';
import type { CatalogRepo } from './catalog-repo.js';

/** Demo catalog so a fresh install does something real at once. Seeded only into an empty database. */
export const DEMO_SURFACES: Surface[] = [
  {
    id: 'home',
    name: 'Home',
    description: 'The start screen: a column of shelves, each a horizontal row of cards.',
    platforms: ['ios', 'android', 'web', 'desktop'],
    dailyTraffic: 40_000,
    bucketCount: 10_000,
    salt: 'home-2026-a',
    slots: [
      { id: 'hero', name: 'Hero banner', position: 0, accepts: ['banner'], defaultContentId: 'bn-new-releases' },
      { id: 'shelf-1', name: 'First shelf', position: 1, accepts: ['shelf', 'mix'], defaultContentId: 'sh-recently-played' },
      { id: 'shelf-2', name: 'Second shelf', position: 2, accepts: ['shelf', 'mix', 'playlist'], defaultContentId: 'mx-daily-1' },
      { id: 'shelf-3', name: 'Third shelf', position: 3, accepts: ['shelf', 'playlist', 'podcast'], defaultContentId: 'sh-popular-podcasts' },
      { id: 'shelf-4', name: 'Fourth shelf', position: 4, accepts: ['shelf', 'album', 'playlist'], defaultContentId: 'sh-new-albums' },
      { id: 'shelf-5', name: 'Fifth shelf (optional)', position: 5, accepts: ['shelf', 'mix', 'playlist'], optional: true, defaultContentId: null },
    ],
  },
  {
    id: 'search',
    name: 'Search',
    description: 'Search landing page before a query: browse tiles and suggestions.',
    platforms: ['ios', 'android', 'web', 'desktop'],
    dailyTraffic: 15_000,
    bucketCount: 10_000,
    salt: 'search-2026-a',
    slots: [
      { id: 'top-tile', name: 'Top tile', position: 0, accepts: ['banner', 'playlist'], defaultContentId: 'pl-top-hits' },
      { id: 'browse-1', name: 'Browse row', position: 1, accepts: ['shelf', 'mix'], defaultContentId: 'sh-genres' },
      { id: 'suggestions', name: 'Suggestions', position: 2, accepts: ['shelf', 'playlist'], defaultContentId: 'sh-trending-searches' },
    ],
  },
  {
    id: 'now-playing',
    name: 'Now Playing',
    description: 'Full-screen player: the track, and modules below it.',
    platforms: ['ios', 'android'],
    dailyTraffic: 25_000,
    bucketCount: 10_000,
    salt: 'now-playing-2026-a',
    slots: [
      { id: 'below-player', name: 'Below the player', position: 0, accepts: ['shelf', 'podcast'], defaultContentId: 'sh-lyrics-card' },
      { id: 'up-next', name: 'Up next', position: 1, accepts: ['playlist', 'mix'], defaultContentId: 'mx-autoplay' },
    ],
  },
];

const all = ['ios', 'android', 'web', 'desktop'] as const;
const mobile = ['ios', 'android'] as const;
const item = (id: string, type: ContentItem['type'], title: string, platforms: readonly ContentItem['platforms'][number][] = all): ContentItem => ({
  id,
  type,
  title,
  platforms: [...platforms],
});

export const DEMO_CONTENT: ContentItem[] = [
  item('bn-new-releases', 'banner', 'New releases this Friday'),
  item('bn-wrapped', 'banner', 'Your year in music'),
  item('bn-concerts', 'banner', 'Concerts near you'),
  item('bn-audiobooks', 'banner', 'Audiobooks in your plan', mobile),
  item('sh-recently-played', 'shelf', 'Recently played'),
  item('sh-popular-podcasts', 'shelf', 'Popular podcasts'),
  item('sh-new-albums', 'shelf', 'New albums for you'),
  item('sh-genres', 'shelf', 'Browse all genres'),
  item('sh-trending-searches', 'shelf', 'Trending searches'),
  item('sh-lyrics-card', 'shelf', 'Lyrics', mobile),
  item('sh-jump-back-in', 'shelf', 'Jump back in'),
  item('sh-made-for-you', 'shelf', 'Made for you'),
  item('sh-focus', 'shelf', 'Focus'),
  item('sh-local-scene', 'shelf', 'Your local scene'),
  item('mx-daily-1', 'mix', 'Daily Mix 1'),
  item('mx-daily-2', 'mix', 'Daily Mix 2'),
  item('mx-discover-weekly', 'mix', 'Discover Weekly'),
  item('mx-release-radar', 'mix', 'Release Radar'),
  item('mx-autoplay', 'mix', 'Autoplay radio'),
  item('pl-top-hits', 'playlist', 'Top Hits'),
  item('pl-deep-focus', 'playlist', 'Deep Focus'),
  item('pl-workout', 'playlist', 'Workout'),
  item('pl-chill', 'playlist', 'Chill Vibes'),
  item('pl-sleep', 'playlist', 'Sleep'),
  item('pd-daily-news', 'podcast', 'The Daily News', all),
  item('pd-tech-talk', 'podcast', 'Tech Talk Weekly'),
  item('pd-true-crime', 'podcast', 'True Crime Files'),
  item('al-fresh-finds', 'album', 'Fresh Finds: the album'),
  item('al-classics', 'album', 'Classics Remastered'),
  item('al-live', 'album', 'Live at the Arena', ['web', 'desktop']),
];

const metric = (m: Metric): Metric => m;
export const DEMO_METRICS: Metric[] = [
  metric({
    id: 'stream-rate',
    name: 'Stream rate',
    description: 'Share of exposed units that start at least one stream from the surface.',
    kind: 'binary',
    direction: 'increase',
    isGuardrail: false,
    baselineMean: 0.32,
    baselineVariance: 0.32 * 0.68,
  }),
  metric({
    id: 'click-through',
    name: 'Click-through',
    description: 'Share of exposed units that tap any card on the surface.',
    kind: 'binary',
    direction: 'increase',
    isGuardrail: false,
    baselineMean: 0.18,
    baselineVariance: 0.18 * 0.82,
  }),
  metric({
    id: 'minutes-played',
    name: 'Minutes played',
    description: 'Minutes of listening per unit since first exposure.',
    kind: 'mean',
    direction: 'increase',
    isGuardrail: false,
    baselineMean: 42,
    baselineVariance: 900,
    unit: 'min',
  }),
  metric({
    id: 'streams-per-user',
    name: 'Streams per user',
    description: 'Number of streams per unit since first exposure.',
    kind: 'count',
    direction: 'increase',
    isGuardrail: false,
    baselineMean: 6.5,
    baselineVariance: 30,
  }),
  metric({
    id: 'saves',
    name: 'Saves',
    description: 'Items saved to the library per unit.',
    kind: 'count',
    direction: 'increase',
    isGuardrail: false,
    baselineMean: 0.8,
    baselineVariance: 2.1,
  }),
  metric({
    id: 'skips',
    name: 'Skips',
    description: 'Tracks skipped within 30 seconds, per unit since first exposure.',
    kind: 'count',
    direction: 'decrease',
    isGuardrail: false,
    baselineMean: 1.6,
    baselineVariance: 6,
  }),
  metric({
    id: 'skips-per-stream',
    name: 'Skips per stream',
    description: 'Skips divided by streams, over the exposed units (a ratio of sums; delta-method variance).',
    kind: 'ratio',
    direction: 'decrease',
    isGuardrail: true,
    baselineMean: 0.25,
    baselineVariance: 0.04,
    numeratorId: 'skips',
    denominatorId: 'streams-per-user',
  }),
  metric({
    id: 'retention-d7',
    name: 'Day-7 retention',
    description: 'Share of units active again seven days after first exposure.',
    kind: 'binary',
    direction: 'increase',
    isGuardrail: true,
    baselineMean: 0.61,
    baselineVariance: 0.61 * 0.39,
  }),
  metric({
    id: 'crash-rate',
    name: 'Crash rate',
    description: 'Share of units that hit an app crash.',
    kind: 'binary',
    direction: 'decrease',
    isGuardrail: true,
    baselineMean: 0.004,
    baselineVariance: 0.004 * 0.996,
  }),
  metric({
    id: 'latency-ms',
    name: 'Surface load latency',
    description: 'Mean time to first render of the surface, in milliseconds.',
    kind: 'mean',
    direction: 'decrease',
    isGuardrail: true,
    baselineMean: 320,
    baselineVariance: 6400,
    unit: 'ms',
  }),
  metric({
    id: 'latency-p90',
    name: 'Surface load latency P90',
    description:
      "90th percentile over units of each unit's mean time to first render (ms; send one latency-p90 event per load, the unit's value is their mean). Its tail: a regression the mean can hide.",
    kind: 'quantile',
    quantile: 0.9,
    direction: 'decrease',
    isGuardrail: true,
    // Unit values lognormal with latency-ms's mean 320 and sd 80: P90 = 425.6 ms; baselineVariance is the
    // sample P90's per-unit variance ν(1 − ν)/f(ξ)² = 0.09/0.0016746² = 32092 (scipy.stats.lognorm).
    baselineMean: 425.6,
    baselineVariance: 32092,
    unit: 'ms',
  }),
  metric({
    id: 'skip-rate',
    name: 'Skip rate',
    description: 'Share of units that skip within 30 seconds of starting a stream.',
    kind: 'binary',
    direction: 'decrease',
    isGuardrail: true,
    baselineMean: 0.25,
    baselineVariance: 0.25 * 0.75,
  }),
  metric({
    id: 'error-rate',
    name: 'Playback error rate',
    description: 'Share of units with a playback error.',
    kind: 'binary',
    direction: 'decrease',
    isGuardrail: true,
    baselineMean: 0.01,
    baselineVariance: 0.01 * 0.99,
  }),
];

/** Seeds the demo catalog if the database has no surfaces yet; returns whether it did. */
export function seedDemo(catalog: CatalogRepo): boolean {
  if (!catalog.isEmpty()) return false;
  for (const c of DEMO_CONTENT) catalog.upsertContent(c);
  for (const m of DEMO_METRICS) catalog.upsertMetric(m);
  for (const s of DEMO_SURFACES) catalog.upsertSurface(s);
  return true;
}
