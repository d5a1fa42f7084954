/**
 * A replay stream built from real labelled posts, for backtesting detection on real text: a
 * diurnal background over weighted regions with each harm topic at a small base share, surges
 * injected on a schedule, benign viral waves that must not alert (decoys), and the truth of both.
 *
 * Pure: the rows come in already read, time comes from the spec, and the same seed gives the same
 * stream. Signals are produced second by second, so a multi-day stream is never held in memory.
 * The background, each surge and each decoy draw from their own random streams: adding or
 * removing a surge leaves everything else in the stream as it was.
 */
import type { TopicDefinition } from '../config/topic-schema.js';
import { BENIGN, OFFENSIVE, labelMap, splitOf, type LabelledRow } from '../training/labelled.js';
import { createRng } from '../worker/sample-stream.js';
import { poisson, type TruthSurge } from './stream.js';

/** A region signals come from, its share of traffic, and its clock (for the daily rhythm). */
export interface RegionSpec {
  region: string;
  weight: number;
  utcOffsetHours: number;
}

/** Standard time offsets; daylight saving is left out. */
export const DEFAULT_REGIONS: readonly RegionSpec[] = [
  { region: 'IN', weight: 0.14, utcOffsetHours: 5.5 },
  { region: 'GB', weight: 0.1, utcOffsetHours: 0 },
  { region: 'BR', weight: 0.1, utcOffsetHours: -3 },
  { region: 'US-CA', weight: 0.08, utcOffsetHours: -8 },
  { region: 'US-TX', weight: 0.07, utcOffsetHours: -6 },
  { region: 'US-NY', weight: 0.06, utcOffsetHours: -5 },
  { region: 'DE', weight: 0.06, utcOffsetHours: 1 },
  { region: 'PH', weight: 0.06, utcOffsetHours: 8 },
  { region: 'US-FL', weight: 0.05, utcOffsetHours: -5 },
  { region: 'MX', weight: 0.05, utcOffsetHours: -6 },
  { region: 'NG', weight: 0.05, utcOffsetHours: 1 },
  { region: 'ID', weight: 0.05, utcOffsetHours: 7 },
  { region: 'US-IL', weight: 0.04, utcOffsetHours: -6 },
  { region: 'FR', weight: 0.04, utcOffsetHours: 1 },
  { region: 'AU-NSW', weight: 0.03, utcOffsetHours: 10 },
  { region: 'CA-ON', weight: 0.02, utcOffsetHours: -5 },
];

/** Each harm topic's share of all signals; a topic not named here gets DEFAULT_SHARE. */
export const DEFAULT_SHARES: Readonly<Record<string, number>> = {
  'hate-speech': 0.02,
  harassment: 0.015,
  'self-harm': 0.01,
  'scams-fraud': 0.005,
  'violent-extremism': 0.005,
};
export const DEFAULT_SHARE = 0.01;

export const SURGE_FACTORS = [2, 3, 5, 10, 20] as const;
/** A gradual surge reaches its factor over this many minutes. */
export const RAMP_MIN = 10;
export const DECOY_KINDS = ['repost', 'hard_negative', 'traffic_wave'] as const;
export type DecoyKind = (typeof DECOY_KINDS)[number];

const SURFACES = [
  ['post', 0.5],
  ['comment', 0.35],
  ['caption', 0.1],
  ['live', 0.05],
] as const;

/** Level of traffic by local hour (00:00 to 23:00): quiet nights, busy evenings. Mean 1. */
const HOURLY = normalised([0.62, 0.45, 0.33, 0.26, 0.24, 0.28, 0.4, 0.6, 0.8, 0.92, 0.98, 1.03, 1.08, 1.07, 1.03, 1.02, 1.06, 1.15, 1.3, 1.46, 1.58, 1.6, 1.42, 1.0]);
/** Change of level by local weekday (Sunday first) at `weekly: 1`. Mean 0. */
const WEEKDAY = [0.05, -0.1, -0.1, -0.05, 0, 0.05, 0.15];
/** Account activity: rank k posts in proportion to about k^-AUTHOR_SKEW. */
const AUTHOR_SKEW = 0.8;
/** Room left after the last scheduled event, so that it can resolve inside the stream. */
const TAIL_MIN = 60;
const TRAFFIC_WAVE_MIN = 60;
/** Benign rows next to a harm label that the default schedule wants for its decoys. */
const MIN_NEAR_ROWS = 100;
/** Expected extra signals below which the default schedule makes a regional surge global. */
const MIN_REGIONAL_INJECTED = 20;

function normalised(xs: number[]): number[] {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return xs.map((x) => x / mean);
}

/** A surge to inject: the topic's volume in its scope becomes `factor` x its usual volume. */
export interface SurgePlan {
  /** A topic id from the topic definitions. */
  topic: string;
  /** Unset: the whole stream. */
  region?: string;
  /** Minutes after the stream's start. */
  atMin: number;
  minutes: number;
  factor: number;
  shape: 'sharp' | 'gradual';
  /** Posted by this many accounts only (the injected part). */
  coordinatedAccounts?: number;
}

/**
 * A benign wave that must not alert:
 * - repost: one benign text (from a dataset next to `near`) reposted by many accounts;
 * - hard_negative: benign rows from the datasets of `near` (support forums next to self-harm,
 *   news next to misinformation);
 * - traffic_wave: all traffic, harm included, as during a big live event.
 */
export interface DecoyPlan {
  kind: DecoyKind;
  /** Unset: the whole stream. */
  region?: string;
  atMin: number;
  minutes: number;
  /** repost, hard_negative: volume as a multiple of `near`'s usual volume; traffic_wave: all traffic becomes factor x. */
  factor: number;
  /** repost, hard_negative: a harm label of the data (a topic id when one is configured). */
  near?: string;
}

export interface CorpusStreamSpec {
  seed: number;
  startMs: number;
  days: number;
  /** All signals per second, averaged over a day. */
  ratePerSec: number;
  /** Rows drawn from: the test split only (default), so classifiers never trained on them, or all. */
  split?: 'test' | 'all';
  /** Harm topic id -> share of all signals (default DEFAULT_SHARES). */
  shares?: Readonly<Record<string, number>>;
  /** Share of offensive rows in the non-harm background (default 0.15; the rest is benign). */
  offensiveShare?: number;
  /** Depth of the daily rhythm: 0 flat, 1 the full profile (default). */
  diurnal?: number;
  /** Depth of the weekly rhythm: 0 none (default), 1 weekends up to +15%. */
  weekly?: number;
  regions?: readonly RegionSpec[];
  /** Size of the account pool (default 100,000). */
  accounts?: number;
  /** No surge or decoy before this (default 6 h). */
  warmupHours?: number;
  /** Quiet time between the end of one event and the start of the next (default 120 min). */
  gapMin?: number;
  /** Duration range of a surge and of a repost or hard-negative decoy (default 30-45 min). */
  eventMinutes?: readonly [number, number];
  /** Accounts of the one coordinated surge of the default schedule (default 5; 0 = none). */
  coordinatedAccounts?: number;
  /** An explicit schedule: when surges or decoys are given, the default schedule is not made. */
  surges?: readonly SurgePlan[];
  decoys?: readonly DecoyPlan[];
}

/** A line of the stream, in the signal contract. */
export interface CorpusSignal {
  id: string;
  ts: string;
  text: string;
  surface: string;
  lang?: string;
  region: string;
  author: string;
}

/** A signal with where it came from (for summaries and tests; only `signal` is written out). */
export interface SynthEvent {
  signal: CorpusSignal;
  row: LabelledRow;
  /** A topic id, "benign" or "offensive". */
  category: string;
  origin: 'background' | 'surge' | 'decoy';
  /** Index into the truth's surges or decoys; -1 for the background. */
  index: number;
}

/** A surge in the truth, with the volume it amounts to (which says how hard it is to see). */
export interface CorpusTruthSurge extends TruthSurge {
  /** Expected signals of the topic in the scope during the surge without it. */
  base: number;
  /** Signals injected (set once the stream is made). */
  injected?: number;
}

export interface TruthDecoy {
  kind: DecoyKind;
  dimension: string;
  start: string;
  end: string;
  factor: number;
  near?: string;
  injected?: number;
}

/** What `replay --truth` reads. */
export interface CorpusTruth {
  from: string;
  to: string;
  surges: CorpusTruthSurge[];
  decoys: TruthDecoy[];
}

export interface CorpusStreamPlan {
  spec: Readonly<CorpusStreamSpec>;
  truth: CorpusTruth;
  surges: readonly SurgePlan[];
  decoys: readonly DecoyPlan[];
  /** Rows usable per category (topic id, benign, offensive) in the chosen split. */
  rows: Record<string, number>;
  /** Rows whose label maps to no configured topic, by label: left out. */
  leftOut: Record<string, number>;
  /** Rows outside the chosen split. */
  outOfSplit: number;
  /** Harm topics in the stream and their base shares. */
  shares: Record<string, number>;
  /** Texts of the repost decoys, by decoy index. */
  repostTexts: Record<number, string>;
  /** Internals for generation. */
  readonly pools: Pools;
}

export interface CorpusStreamStats {
  signals: number;
  /** Background signals per category. */
  background: Record<string, number>;
  /** Injected signals per surge and per decoy (same order as the truth). */
  surges: number[];
  decoys: number[];
}

interface Pools {
  byCategory: Map<string, LabelledRow[]>;
  /** Benign rows from the datasets of each harm label. */
  nearBenign: Map<string, LabelledRow[]>;
  repostRows: Map<number, LabelledRow>;
  coordinated: Map<number, string[]>;
}

/** A 32-bit seed for one of the stream's random sources. */
function subSeed(seed: number, stream: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(stream + 1, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x27d4eb2f);
  return (h ^ (h >>> 13)) >>> 0;
}

const dimensionOf = (region: string | undefined) => (region ? `region=${region}` : 'all');

/**
 * Sorts the rows into pools and lays out the schedule; no signal is made yet. Throws when the
 * rows cannot make a stream (no benign rows in the split) or an explicit event is invalid.
 */
export function planCorpusStream(rows: readonly LabelledRow[], topics: Iterable<Pick<TopicDefinition, 'id' | 'labels'>>, spec: CorpusStreamSpec): CorpusStreamPlan {
  if (!(spec.days > 0 && spec.ratePerSec > 0)) throw new Error('days and ratePerSec must be positive');
  const split = spec.split ?? 'test';
  const regions = spec.regions ?? DEFAULT_REGIONS;
  if (regions.length === 0 || regions.some((r) => !(r.weight > 0))) throw new Error('regions need at least one region, each with a positive weight');
  const labels = labelMap(topics);
  const byCategory = new Map<string, LabelledRow[]>();
  const harmDatasets = new Map<string, string[]>();
  const leftOut: Record<string, number> = {};
  let outOfSplit = 0;
  const add = <K, V>(m: Map<K, V[]>, k: K, v: V) => (m.get(k) ?? m.set(k, []).get(k)!).push(v);
  for (const row of rows) {
    const harm = row.topic !== BENIGN && row.topic !== OFFENSIVE;
    const category = harm ? labels.get(row.topic) : row.topic;
    // Datasets are known from every split: a dataset's benign rows are hard negatives for its harm.
    const near = category ?? row.topic;
    if (harm && row.dataset && !harmDatasets.get(near)?.includes(row.dataset)) add(harmDatasets, near, row.dataset);
    if (category === undefined) {
      leftOut[row.topic] = (leftOut[row.topic] ?? 0) + 1;
      continue;
    }
    if (split === 'test' && splitOf(row.id) !== 'test') {
      outOfSplit++;
      continue;
    }
    add(byCategory, category, row);
  }
  if (!byCategory.get(BENIGN)?.length) throw new Error(`no benign rows in the ${split === 'test' ? 'test split' : 'corpus'}: the background needs them`);

  const nearBenign = new Map<string, LabelledRow[]>();
  for (const [near, datasets] of [...harmDatasets].sort(([a], [b]) => a.localeCompare(b))) {
    const benign = byCategory.get(BENIGN)!.filter((r) => r.dataset !== undefined && datasets.includes(r.dataset));
    if (benign.length > 0) nearBenign.set(near, benign);
  }
  const shares: Record<string, number> = {};
  for (const category of [...byCategory.keys()].sort()) {
    if (category !== BENIGN && category !== OFFENSIVE) shares[category] = spec.shares?.[category] ?? DEFAULT_SHARES[category] ?? DEFAULT_SHARE;
  }
  if (Object.values(shares).reduce((a, b) => a + b, 0) >= 1) throw new Error('the harm shares add up to 1 or more: no room for benign traffic');

  const rng = createRng(subSeed(spec.seed, 0));
  const explicit = spec.surges !== undefined || spec.decoys !== undefined;
  // A decoy drawn from a few dozen rows would be a handful of texts repeated: prefer bigger pools.
  const nearLabels = [...nearBenign].filter(([, pool]) => pool.length >= MIN_NEAR_ROWS).map(([near]) => near);
  const { surges, decoys } = explicit
    ? { surges: spec.surges ?? [], decoys: spec.decoys ?? [] }
    : defaultSchedule(spec, shares, nearLabels.length > 0 ? nearLabels : [...nearBenign.keys()], regions, rng);
  const endMin = spec.days * 1440;
  const regionSet = new Set(regions.map((r) => r.region));
  const check = (what: string, e: { region?: string | undefined; atMin: number; minutes: number; factor: number }) => {
    if (e.region !== undefined && !regionSet.has(e.region)) throw new Error(`${what}: region ${e.region} is not one of the stream's regions`);
    if (!(e.atMin >= 0 && e.minutes > 0 && e.atMin + e.minutes <= endMin)) throw new Error(`${what}: must lie inside the stream (0-${endMin} min)`);
    if (!(e.factor >= 1)) throw new Error(`${what}: factor must be at least 1`);
  };
  surges.forEach((s, i) => {
    check(`surge ${i}`, s);
    if (shares[s.topic] === undefined) throw new Error(`surge ${i}: topic ${s.topic} has no rows in the stream (have: ${Object.keys(shares).join(', ')})`);
  });
  decoys.forEach((d, i) => {
    check(`decoy ${i}`, d);
    if (d.kind !== 'traffic_wave' && d.near !== undefined && !nearBenign.has(d.near)) throw new Error(`decoy ${i}: no benign rows next to ${d.near}`);
  });

  const pools: Pools = { byCategory, nearBenign, repostRows: new Map(), coordinated: new Map() };
  const accounts = spec.accounts ?? 100_000;
  surges.forEach((s, i) => {
    if (s.coordinatedAccounts) pools.coordinated.set(i, Array.from({ length: s.coordinatedAccounts }, () => `acct-${1 + Math.floor(rng() * accounts)}`));
  });
  const repostTexts: Record<number, string> = {};
  decoys.forEach((d, i) => {
    if (d.kind !== 'repost') return;
    const from = (d.near !== undefined ? nearBenign.get(d.near) : undefined) ?? byCategory.get(BENIGN)!;
    // A repost is short, like a post that spreads; fall back to any row of the pool.
    const short = from.filter((r) => r.text.length >= 20 && r.text.length <= 280);
    const row = pick(rng, short.length > 0 ? short : from);
    pools.repostRows.set(i, row);
    repostTexts[i] = row.text;
  });

  const iso = (min: number) => new Date(spec.startMs + min * 60_000).toISOString();
  const truth: CorpusTruth = {
    from: iso(0),
    to: iso(endMin),
    surges: surges.map((s) => ({
      topic: s.topic,
      dimension: dimensionOf(s.region),
      start: iso(s.atMin),
      end: iso(s.atMin + s.minutes),
      factor: s.factor,
      shape: s.shape,
      ...(s.coordinatedAccounts && { coordinated: true }),
      base: Math.round(expectedBase({ spec, shares }, s.topic, s.region, s.atMin, s.atMin + s.minutes) * 10) / 10,
    })),
    decoys: decoys.map((d) => ({
      kind: d.kind,
      dimension: dimensionOf(d.region),
      start: iso(d.atMin),
      end: iso(d.atMin + d.minutes),
      factor: d.factor,
      ...(d.near !== undefined && { near: d.near }),
    })),
  };
  const counts = Object.fromEntries([...byCategory].map(([k, v]) => [k, v.length]));
  return { spec, truth, surges, decoys, rows: counts, leftOut, outOfSplit, shares, repostTexts, pools };
}

/**
 * The default schedule: after the warm-up, events one after the other with `gapMin` of quiet
 * between them. Every fourth is a decoy (repost, hard negative, traffic wave in turn); the others
 * are surges covering topics x factors x shapes x scopes evenly, in shuffled order, one of them
 * coordinated.
 */
function defaultSchedule(
  spec: CorpusStreamSpec,
  shares: Record<string, number>,
  nearLabels: readonly string[],
  regions: readonly RegionSpec[],
  rng: () => number,
): { surges: SurgePlan[]; decoys: DecoyPlan[] } {
  const [lo, hi] = spec.eventMinutes ?? [30, 45];
  const gapMin = spec.gapMin ?? 120;
  const endMin = spec.days * 1440 - TAIL_MIN;
  const slots: { decoy: DecoyKind | undefined; atMin: number; minutes: number }[] = [];
  let decoyCount = 0;
  for (let t = (spec.warmupHours ?? 6) * 60, i = 0; ; i++) {
    const decoy = i % 4 === 3 ? DECOY_KINDS[decoyCount % DECOY_KINDS.length] : undefined;
    const minutes = decoy === 'traffic_wave' ? TRAFFIC_WAVE_MIN : Math.round(lo + rng() * (hi - lo));
    if (t + minutes > endMin) break;
    slots.push({ decoy, atMin: t, minutes });
    if (decoy) decoyCount++;
    t += minutes + gapMin;
  }
  // Regional events go to the five biggest regions: in a small one, a surge of a rare topic is a
  // handful of signals at the default rate.
  const regionPool = [...regions]
    .sort((a, b) => b.weight - a.weight)
    .slice(0, 5)
    .map((r) => r.region);

  const topics = Object.keys(shares);
  const surgeSlots = slots.filter((s) => !s.decoy);
  const surges: SurgePlan[] = [];
  if (topics.length > 0 && surgeSlots.length > 0) {
    const coordinatedAccounts = spec.coordinatedAccounts ?? 5;
    const coordinatedAt = coordinatedAccounts > 0 && surgeSlots.length >= 2 ? Math.floor(surgeSlots.length / 2) : -1;
    const F = SURGE_FACTORS.length;
    // k walks factors fastest, shapes every other, scopes every second pair, and shifts the topic
    // each round of factors: each run of 20 covers every factor with both shapes and both scopes.
    const combos = Array.from({ length: surgeSlots.length - (coordinatedAt >= 0 ? 1 : 0) }, (_, k) => ({
      topic: topics[(k + Math.floor(k / F)) % topics.length]!,
      factor: SURGE_FACTORS[k % F]!,
      shape: k % 2 === 0 ? ('sharp' as const) : ('gradual' as const),
      regional: Math.floor(k / 2) % 2 === 1,
    }));
    shuffle(rng, combos);
    let next = 0;
    surgeSlots.forEach((slot, i) => {
      const at = { atMin: slot.atMin, minutes: slot.minutes };
      if (i === coordinatedAt) {
        // Global: a campaign is rarely bounded by a region, and a region's share of a rare topic
        // would be a handful of signals.
        surges.push({ topic: pick(rng, topics), ...at, factor: 10, shape: 'sharp', coordinatedAccounts });
        return;
      }
      const c = combos[next++]!;
      const region = c.regional ? pick(rng, regionPool) : undefined;
      // A regional surge that would add only a few signals (a rare topic at a low rate) is no
      // test of anything: it goes global instead.
      const regional = region !== undefined && (c.factor - 1) * expectedBase({ spec, shares }, c.topic, region, at.atMin, at.atMin + at.minutes) >= MIN_REGIONAL_INJECTED;
      surges.push({ topic: c.topic, ...(regional && { region }), ...at, factor: c.factor, shape: c.shape });
    });
  }
  const nears = shuffle(rng, [...nearLabels]);
  let nearIndex = 0;
  let waves = 0;
  const decoys: DecoyPlan[] = [];
  for (const slot of slots) {
    if (!slot.decoy) continue;
    const at = { atMin: slot.atMin, minutes: slot.minutes };
    if (slot.decoy === 'traffic_wave') {
      // Every other wave is one region's (a national event); the first is global.
      decoys.push({ kind: 'traffic_wave', ...(waves++ % 2 === 1 && { region: pick(rng, regionPool) }), ...at, factor: 2 });
    } else {
      const near = nears.length > 0 ? nears[nearIndex++ % nears.length] : undefined;
      decoys.push({ kind: near === undefined ? 'repost' : slot.decoy, ...at, factor: 10, ...(near !== undefined && { near }) });
    }
  }
  return { surges, decoys };
}

function pick<T>(rng: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rng() * xs.length)]!;
}

function shuffle<T>(rng: () => number, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** Index into cumulative weights (the last one is the total). */
function pickWeighted(u: number, cumulative: readonly number[]): number {
  const x = u * cumulative[cumulative.length - 1]!;
  let i = 0;
  while (i < cumulative.length - 1 && cumulative[i]! <= x) i++;
  return i;
}

/** The level of traffic (mean 1) at a local time: the hourly profile, linearly interpolated. */
function level(localMs: number, diurnal: number, weekly: number): number {
  const hours = (((localMs / 3_600_000) % 24) + 24) % 24;
  const h = Math.floor(hours);
  const daily = HOURLY[h]! + (HOURLY[(h + 1) % 24]! - HOURLY[h]!) * (hours - h);
  // 1970-01-01 was a Thursday (day 4 with Sunday as 0).
  const weekday = (((Math.floor(localMs / 86_400_000) + 4) % 7) + 7) % 7;
  return (1 + diurnal * (daily - 1)) * (1 + weekly * WEEKDAY[weekday]!);
}

/** The truth with the injected counts of a finished stream. */
export function truthWithCounts(truth: CorpusTruth, stats: CorpusStreamStats): CorpusTruth {
  return {
    ...truth,
    surges: truth.surges.map((s, i) => ({ ...s, injected: stats.surges[i] ?? 0 })),
    decoys: truth.decoys.map((d, i) => ({ ...d, injected: stats.decoys[i] ?? 0 })),
  };
}

/**
 * Fills `out` with each region's expected signals per second at t0 (weight x local level of
 * traffic) and returns their sum.
 */
function ratesAt(spec: CorpusStreamSpec, t0: number, out: number[]): number {
  const regions = spec.regions ?? DEFAULT_REGIONS;
  const weightSum = regions.reduce((a, r) => a + r.weight, 0);
  let total = 0;
  for (let r = 0; r < regions.length; r++) {
    const region = regions[r]!;
    out[r] = (spec.ratePerSec * region.weight * level(t0 + 500 + region.utcOffsetHours * 3_600_000, spec.diurnal ?? 1, spec.weekly ?? 0)) / weightSum;
    total += out[r]!;
  }
  return total;
}

/**
 * Expected background signals of a harm topic in a scope (a region, or all when unset) between two
 * minutes of the stream: the usual volume that a surge's factor multiplies.
 */
export function expectedBase(plan: Pick<CorpusStreamPlan, 'spec' | 'shares'>, topic: string, region: string | undefined, fromMin: number, toMin: number): number {
  const regions = plan.spec.regions ?? DEFAULT_REGIONS;
  const only = region === undefined ? -1 : regions.findIndex((r) => r.region === region);
  const rates = new Array<number>(regions.length);
  let sum = 0;
  for (let sec = Math.round(fromMin * 60); sec < Math.round(toMin * 60); sec++) {
    const total = ratesAt(plan.spec, plan.spec.startMs + sec * 1000, rates);
    sum += only < 0 ? total : rates[only]!;
  }
  return sum * (plan.shares[topic] ?? 0);
}

/**
 * The stream's signals in event-time order, with where each came from; returns the counts when
 * done. Only `event.signal` belongs in the output file.
 */
export function* corpusSignals(plan: CorpusStreamPlan): Generator<SynthEvent, CorpusStreamStats> {
  const { spec, pools, surges, decoys } = plan;
  const regions = spec.regions ?? DEFAULT_REGIONS;
  const accounts = spec.accounts ?? 100_000;
  const offensiveShare = pools.byCategory.get(OFFENSIVE)?.length ? (spec.offensiveShare ?? 0.15) : 0;
  const regionIndex = new Map(regions.map((r, i) => [r.region, i]));

  // Background categories and their cumulative shares.
  const harm = Object.entries(plan.shares);
  const harmShare = harm.reduce((a, [, s]) => a + s, 0);
  const categories = [...harm.map(([c]) => c), BENIGN, OFFENSIVE];
  const catCumulative: number[] = [];
  let acc = 0;
  for (const s of [...harm.map(([, s]) => s), (1 - harmShare) * (1 - offensiveShare), (1 - harmShare) * offensiveShare]) catCumulative.push((acc += s));
  const surfaceCumulative: number[] = [];
  acc = 0;
  for (const [, w] of SURFACES) surfaceCumulative.push((acc += w));
  const nearShare = (near: string | undefined) => (near === undefined ? DEFAULT_SHARE : (plan.shares[near] ?? spec.shares?.[near] ?? DEFAULT_SHARES[near] ?? DEFAULT_SHARE));

  const bg = createRng(subSeed(spec.seed, 1));
  const surgeRngs = surges.map((_, i) => createRng(subSeed(spec.seed, 1000 + i)));
  const decoyRngs = decoys.map((_, i) => createRng(subSeed(spec.seed, 100_000 + i)));
  const authorSpan = accounts ** (1 - AUTHOR_SKEW) - 1;
  const author = (rng: () => number) => `acct-${Math.min(accounts, Math.floor((1 + rng() * authorSpan) ** (1 / (1 - AUTHOR_SKEW))))}`;
  const stats: CorpusStreamStats = { signals: 0, background: {}, surges: surges.map(() => 0), decoys: decoys.map(() => 0) };

  // Per second: each region's expected traffic (weight x local level), cumulative for picking.
  const regionCumulative = new Array<number>(regions.length).fill(0);
  const regionRate = new Array<number>(regions.length).fill(0);
  let batch: { ms: number; event: Omit<SynthEvent, 'signal'>; region: string; surface: string; author: string }[] = [];
  const draw = (rng: () => number, t0: number, row: LabelledRow, category: string, origin: SynthEvent['origin'], index: number, region: number, who: string) => {
    batch.push({
      ms: t0 + Math.floor(rng() * 1000),
      event: { row, category, origin, index },
      region: regions[region]!.region,
      surface: SURFACES[pickWeighted(rng(), surfaceCumulative)]![0],
      author: who,
    });
  };
  const background = (rng: () => number, t0: number, origin: SynthEvent['origin'], index: number, only: number | undefined) => {
    const c = categories[pickWeighted(rng(), catCumulative)]!;
    const region = only ?? pickWeighted(rng(), regionCumulative);
    draw(rng, t0, pick(rng, pools.byCategory.get(c)!), c, origin, index, region, author(rng));
    return c;
  };

  const totalSec = Math.round(spec.days * 86_400);
  let n = 0;
  for (let sec = 0; sec < totalSec; sec++) {
    const t0 = spec.startMs + sec * 1000;
    const total = ratesAt(spec, t0, regionRate);
    for (let r = 0, acc = 0; r < regions.length; r++) regionCumulative[r] = acc += regionRate[r]!;
    for (let i = poisson(bg, total); i > 0; i--) {
      const c = background(bg, t0, 'background', -1, undefined);
      stats.background[c] = (stats.background[c] ?? 0) + 1;
    }
    const minute = (sec + 0.5) / 60;
    surges.forEach((s, i) => {
      const into = minute - s.atMin;
      if (into < 0 || into >= s.minutes) return;
      const rng = surgeRngs[i]!;
      const only = s.region === undefined ? undefined : regionIndex.get(s.region)!;
      const ramp = s.shape === 'gradual' ? Math.min(1, into / RAMP_MIN) : 1;
      const scope = only === undefined ? total : regionRate[only]!;
      const coordinated = pools.coordinated.get(i);
      const rows = pools.byCategory.get(s.topic)!;
      for (let k = poisson(rng, scope * plan.shares[s.topic]! * (s.factor - 1) * ramp); k > 0; k--, stats.surges[i]!++) {
        draw(rng, t0, pick(rng, rows), s.topic, 'surge', i, only ?? pickWeighted(rng(), regionCumulative), coordinated ? pick(rng, coordinated) : author(rng));
      }
    });
    decoys.forEach((d, i) => {
      const into = minute - d.atMin;
      if (into < 0 || into >= d.minutes) return;
      const rng = decoyRngs[i]!;
      const only = d.region === undefined ? undefined : regionIndex.get(d.region)!;
      const scope = only === undefined ? total : regionRate[only]!;
      if (d.kind === 'traffic_wave') {
        for (let k = poisson(rng, scope * (d.factor - 1)); k > 0; k--, stats.decoys[i]!++) background(rng, t0, 'decoy', i, only);
      } else {
        const rows = d.kind === 'repost' ? [pools.repostRows.get(i)!] : (pools.nearBenign.get(d.near!) ?? pools.byCategory.get(BENIGN)!);
        for (let k = poisson(rng, scope * nearShare(d.near) * d.factor); k > 0; k--, stats.decoys[i]!++) {
          draw(rng, t0, pick(rng, rows), BENIGN, 'decoy', i, only ?? pickWeighted(rng(), regionCumulative), author(rng));
        }
      }
    });
    if (batch.length === 0) continue;
    // Stable: same-millisecond signals keep their order, so the output repeats for a seed.
    batch.sort((a, b) => a.ms - b.ms);
    for (const b of batch) {
      const { lang } = b.event.row;
      const signal: CorpusSignal = { id: `syn${spec.seed}-${n++}`, ts: new Date(b.ms).toISOString(), text: b.event.row.text, surface: b.surface, ...(lang && { lang }), region: b.region, author: b.author };
      yield { signal, ...b.event };
    }
    stats.signals += batch.length;
    batch = [];
  }
  return stats;
}
