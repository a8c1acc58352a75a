/**
 * In-process assignment of a unit on a surface with 20 running experiments, three ways in the same
 * run and the same process:
 *   - sealab's compiled bucket table (AssignmentIndex.view: bucket, experiments, variants and the layout);
 *   - the limit: a loop doing nothing but the bucket hash, one table lookup and the variant hash, with
 *     sealab's hash primitives (loadAndHash reads the id once and hashes the bucket, hashLoadedInt32 the variant)
 *     and the same compact table, and the two hashes alone beside it (per CPU second and ns per unit);
 *   - the GrowthBook JavaScript SDK over an equivalent configuration (20 experiments of 5% each, mutually
 *     exclusive through one namespace, two variants 50/50, hashed on the unit id), configured two ways:
 *     ONE feature for the shelf with one namespaced rule per experiment (how a GrowthBook user configures
 *     one shelf; its fastest usage is picked per round among the ones measured) and the older model of 20
 *     features evaluated per unit. The usages of the one feature: one GrowthBookClient reused for every unit
 *     (its documented server-side usage: no sticky buckets, no tracking callback, no event logger), from the
 *     package's entry and from its production build (dist/bundles/esm.js: the SDK's debug-log calls, which
 *     the entry guards with a process.env.NODE_ENV read per rule, compiled out; the entry run with
 *     NODE_ENV=production measures about the same), and one reused GrowthBook instance with setAttributes.
 * Every round runs each contender over the same random unit ids, interleaved in blocks of 5,000 units
 * (order rotated); the ratios are computed per round and their medians printed.
 *
 *   npx tsx bench/assignment.ts [--units 100000] [--rounds 7] [--block 5000] [--consecutive]
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { GrowthBook, GrowthBookClient } from '@growthbook/growthbook';
import { AssignmentIndex } from '../src/app/serving/assignment-index.js';
import { mirrorOf } from '../src/app/serving/serving-sync.js';
import { bucketFromHash, type HashPrefix, hashLoadedInt32, hashPrefix, loadAndHash, loadedLength } from '../src/domain/assignment.js';
import type { Experiment, Surface } from '../src/domain/schemas.js';
import { arg, fmt, loadLine, median, unitIds } from './util.js';

const UNITS = arg('units', 100_000);
const ROUNDS = arg('rounds', 7);
const N = 20;
const B = 10_000;

const surface: Surface = {
  id: 'bench',
  name: 'Bench',
  description: '',
  platforms: ['ios', 'android', 'web', 'desktop'],
  dailyTraffic: 1_000_000,
  bucketCount: B,
  salt: 'bench-salt',
  slots: [{ id: 'shelf', name: 'Shelf', position: 0, accepts: ['shelf'], defaultContentId: 'default' }],
};
const experiments = Array.from({ length: N }, (_, i) => ({
  id: `exp_${i}`,
  key: `exp-${i}`,
  surfaceId: 'bench',
  variants: [
    { key: 'control', isControl: true, weight: 50, overrides: [] },
    { key: 'treatment', isControl: false, weight: 50, overrides: [{ slotId: 'shelf', contentId: `content-${i}` }] },
  ],
  targeting: {},
  status: 'running',
  buckets: [[i * (B / N), (i + 1) * (B / N)]],
})) as unknown as Experiment[];

const index = new AssignmentIndex();
index.compile([surface], mirrorOf(experiments));

// The limit: the same hash primitives sealab uses (loadAndHash, hashLoadedInt32) and the same compact table (a 4-byte
// entry per bucket naming its owner list; here each list is one experiment's variant-hash prefix).
const bucketPrefix = hashPrefix(surface.salt);
const ownerOf = new Int32Array(B);
const owned: HashPrefix[][] = [[], ...experiments.map((e) => [hashPrefix(e.id)])];
for (const [k, e] of experiments.entries()) for (const [a, b] of e.buckets) ownerOf.fill(k + 1, a, b);
const variantPrefix = hashPrefix(experiments[0].id);
// The bucket of a hash by sealab's primitive (bucketFromHash), with the count read from memory as a surface's is: a
// literal `% 10000` would let V8 compile a multiplication sealab cannot use for a count it learns at run time.
let bucketCount = surface.bucketCount;
let bucketInverse = 1 / bucketCount;

const rule = (e: Experiment, i: number) => ({
  key: e.key,
  variations: ['default', `content-${i}`],
  weights: [0.5, 0.5],
  coverage: 1,
  hashAttribute: 'id',
  namespace: ['bench', i / N, (i + 1) / N] as [string, number, number],
  hashVersion: 2,
});
const oneFeature = { shelf: { defaultValue: 'default', rules: experiments.map(rule) } };
const twentyFeatures = Object.fromEntries(experiments.map((e, i) => [e.key, { defaultValue: 'default', rules: [rule(e, i)] }]));
const gbClient = new GrowthBookClient().initSync({ payload: { features: oneFeature } });
// The same SDK version's production build, found from the package's own files (it has no export for it).
const gbBuildPath = createRequire(import.meta.url)
  .resolve('@growthbook/growthbook')
  .replace(/dist[\\/]cjs[\\/]index\.js$/, 'dist/bundles/esm.js');
const gbBuild = (await import(pathToFileURL(gbBuildPath).href)) as typeof import('@growthbook/growthbook');
const gbClientBuild = new gbBuild.GrowthBookClient().initSync({ payload: { features: oneFeature } });
const gbClient20 = new GrowthBookClient().initSync({ payload: { features: twentyFeatures } });
// One reused GrowthBook (single-user SDK) instance whose attributes are set per unit: no per-unit context object.
const gbInstance = new GrowthBook({ features: oneFeature });

// Through JSON as a server receives them: flat strings. unitIds builds each id by concatenation, a rope V8 flattens on
// first read, so without this the first contender to read an id in round 1 pays for flattening it.
const units = JSON.parse(JSON.stringify(unitIds(UNITS))) as string[];

// A young-generation collection before each timed block (outside its time), so a block pays for collecting
// the garbage its own contender makes, not the previous contender's (GrowthBook allocates objects per rule
// evaluated; sealab's view one per unit). GrowthBook's cost is slightly understated by it: what its last
// block left is collected untimed. (A full collection instead leaves concurrent sweeping to the next block.)
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as (options: { type: 'minor' | 'major' }) => void;
const collect = () => gc({ type: 'minor' });

/**
 * Runs `body` over units [from, to); returns [wall seconds, the process's CPU seconds]. The CPU time leaves out
 * the moments another process had the core (it counts every thread of this one, the GC's included), so on a
 * loaded machine it is the steadier of the two. `body` returns 1 when the unit is in some experiment.
 */
function timed(name: string, body: (u: string) => number, from = 0, to = units.length): [number, number] {
  collect();
  let hits = 0;
  const c = process.cpuUsage();
  const s = performance.now();
  for (let i = from; i < to; i++) hits += body(units[i]);
  const secs = (performance.now() - s) / 1000;
  const cpu = process.cpuUsage(c);
  if (hits < (to - from) * 0.99) throw new Error(`${name} assigned only ${hits} of ${to - from}`);
  return [secs, (cpu.user + cpu.system) / 1e6];
}

// A value no hash equals, in a variable written after the runs, so the optimiser cannot fold the limit's test and drop
// its variant hashes; the limit keeps them live with one compare instead of a store per unit.
let never = 0.5;
const contenders = {
  sealab: (u: string) => (index.view('bench', u)!.assignments.length ? 1 : 0),
  limit: (u: string) => {
    const owners = owned[ownerOf[bucketFromHash(loadAndHash(bucketPrefix, u), bucketCount, bucketInverse)]];
    const n = loadedLength();
    let x = 0;
    for (let j = 0; j < owners.length; j++) x ^= hashLoadedInt32(owners[j], u, n);
    return owners.length !== 0 && x !== never ? 1 : 0;
  },
  // The two hashes alone (the bucket's from the id's characters, then one variant's from the loaded words): what any
  // assignment by these definitions costs at the least, table lookup and answer aside.
  hashes: (u: string) => ((loadAndHash(bucketPrefix, u) ^ hashLoadedInt32(variantPrefix, u, loadedLength())) !== never ? 1 : 0),
  gbOneClient: (u: string) => (gbClient.evalFeature('shelf', { attributes: { id: u } }).source === 'experiment' ? 1 : 0),
  gbOneBuild: (u: string) => (gbClientBuild.evalFeature('shelf', { attributes: { id: u } }).source === 'experiment' ? 1 : 0),
  gbOneInstance: (u: string) => {
    void gbInstance.setAttributes({ id: u }); // synchronous without sticky buckets or remote evaluation
    return gbInstance.evalFeature('shelf').source === 'experiment' ? 1 : 0;
  },
  gb20: (u: string) => {
    const ctx = { attributes: { id: u } };
    let hit = 0;
    for (const e of experiments) if (gbClient20.evalFeature(e.key, ctx).source === 'experiment') hit = 1;
    return hit;
  },
};
type Name = keyof typeof contenders;
const names = Object.keys(contenders) as Name[];

for (const n of names) timed(n, contenders[n], 0, Math.min(units.length, 20_000)); // warm up every contender
// Each round walks the units in blocks and times every contender on every block (order rotated), so the
// contenders of a round share the same moments of the machine's load: the per-round ratios are paired.
const BLOCK = arg('block', 5_000);
const rounds: Record<Name, number>[] = []; // units per wall second
const cpuRounds: Record<Name, number>[] = []; // units per CPU second of the process
for (let r = 0; r < ROUNDS; r++) {
  const secs = Object.fromEntries(names.map((n) => [n, 0])) as Record<Name, number>;
  const cpu = { ...secs };
  for (let from = 0, b = 0; from < units.length; from += BLOCK, b++)
    for (let i = 0; i < names.length; i++) {
      const n = names[(i + r + b) % names.length];
      const [w, c] = timed(n, contenders[n], from, Math.min(units.length, from + BLOCK));
      secs[n] += w;
      cpu[n] += c;
    }
  rounds.push(Object.fromEntries(names.map((n) => [n, UNITS / secs[n]])) as Record<Name, number>);
  cpuRounds.push(Object.fromEntries(names.map((n) => [n, UNITS / cpu[n]])) as Record<Name, number>);
}

const med = (f: (row: Record<Name, number>) => number) => median(rounds.map(f));
const gbUsages = {
  gbOneClient: 'GrowthBookClient.evalFeature(key, { attributes }), package entry',
  gbOneBuild: 'GrowthBookClient.evalFeature(key, { attributes }), production build',
  gbOneInstance: 'GrowthBook.setAttributes + evalFeature',
} as const;
const usages = Object.keys(gbUsages) as (keyof typeof gbUsages)[];
const gbBest = (row: Record<Name, number>) => Math.max(...usages.map((u) => row[u]));
const wins = usages.map((u) => rounds.filter((r) => r[u] === gbBest(r)).length);
const bestUsage = usages.map((u, i) => `${gbUsages[u]} ${wins[i]}/${ROUNDS}`).join('; ');
console.log(
  `assignment of one unit on a surface with ${N} running experiments: median of ${ROUNDS} rounds × ${fmt(UNITS)} ${process.argv.includes('--consecutive') ? 'consecutive' : 'random'} unit ids; ${loadLine()}; node ${process.version}`,
);
const line = (label: string, n: Name) => {
  const cpu = median(cpuRounds.map((r) => r[n]));
  console.log(`  ${label.padEnd(64)}: ${fmt(med((r) => r[n])).padStart(11)} units/s (${fmt(cpu).padStart(10)} per CPU s, ${fmt(1e9 / cpu).padStart(5)} ns)`);
};
line('sealab AssignmentIndex.view (bucket, variants, layout)', 'sealab');
line('limit: bucket hash + table lookup + variant hash', 'limit');
line('the two hashes alone (bucket, one variant)', 'hashes');
line('GrowthBook, 1 feature × 20 namespaced rules, Client, package', 'gbOneClient');
line('GrowthBook, 1 feature × 20 namespaced rules, Client, prod build', 'gbOneBuild');
line('GrowthBook, 1 feature × 20 namespaced rules, setAttributes+eval', 'gbOneInstance');
line(`GrowthBook, ${N} features × 1 rule, Client.evalFeature ×${N}`, 'gb20');
console.log(`  GrowthBook at its best (rounds won): ${bestUsage}`);
const ratio = (label: string, f: (row: Record<Name, number>) => number, target: string) => {
  for (const [clock, rows] of [
    ['wall', rounds],
    ['CPU', cpuRounds],
  ] as const) {
    const xs = rows.map(f);
    console.log(`  ${`${label}, ${clock}`.padEnd(50)}: ${median(xs).toFixed(2).padStart(6)}× (${target}; per round ${xs.map((x) => x.toFixed(2)).join(' ')})`);
  }
};
ratio('sealab / limit', (r) => r.sealab / r.limit, 'target ≥ 0.85×');
ratio('sealab / GrowthBook 1 feature at its best', (r) => r.sealab / gbBest(r), 'target ≥ 20×');
ratio(`sealab / GrowthBook ${N} features`, (r) => r.sealab / r.gb20, 'the older model');
never = 0.5; // see the limit
bucketCount = bucketInverse = 0; // written after the runs, like `never`: never constants to the optimiser
