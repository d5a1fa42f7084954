import type { DetectConfig } from '../config/pipeline-schema.js';
import type { SeverityTier } from '../config/topic-schema.js';
import { adjustPValues, ewmaSparse, ewmaWeights, keptRanges, negBinomialUpperTail, sparseOf, WeightedSums, type BucketRange, type SparseCounts } from './stats.js';

/** Counts per bucket: an array, or a typed one (the detection tick fills one buffer for every series). */
export type BucketCounts = readonly number[] | Float64Array;

/** A series' counts around one tick, in event time. */
export interface SeriesWindowInput {
  /** Baseline buckets (oldest first) followed by current-window buckets. */
  counts: BucketCounts;
  currentBuckets: number;
  bucketMs: number;
  /** Start of the first bucket in counts. */
  fromBucketMs: number;
  /** First bucket in which the series ever had data (cold-start guard). */
  firstSeenMs: number;
  /** Buckets between the baseline and the current window, left out of both (default 0). */
  gapBuckets?: number;
  /** How much busier this hour usually is than the baseline's (seasonality; default 1). */
  seasonal?: number;
  /**
   * Longer current windows (in buckets, each ending with the last bucket) tested besides
   * currentBuckets; each one's baseline is every covered bucket before it and its gap.
   */
  longWindows?: readonly number[];
  /**
   * All signals of the series' scope per bucket, aligned with counts. Given, the expected count
   * follows the scope's other traffic (these signals less the series' own): the baseline's level
   * times the window's other traffic against the baseline's.
   */
  traffic?: BucketCounts;
  /**
   * Buckets (indexes into counts) that the baselines leave out: when the series' topic had an
   * incident in an overlapping scope, so that a surge already alerted is not learned as the
   * usual level. Ignored for a baseline they would cover more than half of (a level that lasts
   * that long is the new usual).
   */
  excluded?: readonly BucketRange[];
}

/** What evaluation needs of a series besides its counts and its scope's traffic. */
export type SeriesInputBase = Omit<SeriesWindowInput, 'counts' | 'traffic'>;

/**
 * A series as the detection tick holds it: its non-zero counts over `length` buckets, and its
 * scope's traffic prepared once for all of the scope's series (Detector.scopeTraffic).
 */
export interface SparseWindowInput extends SeriesInputBase {
  length: number;
  nonZero: SparseCounts;
  traffic?: ScopeTraffic;
}

/** One window's figures. */
export interface WindowFigures {
  /** Buckets in the window. */
  buckets: number;
  observed: number;
  expected: number;
  ratio: number;
  z: number;
  p: number;
  /** The window's traffic against the baseline's, per bucket (1 without traffic). */
  traffic: number;
  /** Observed / expected over the window's newest third (a long window's surge must still be on). */
  recentRatio: number;
}

/** One series' figures at one tick, before the tick-wide multiple-testing correction. */
export interface Evaluation {
  observed: number;
  /** Baseline (EWMA) mean per bucket x current buckets. */
  expected: number;
  /** observed / max(expected, minExpected). */
  ratio: number;
  /** (observed - expected) / sqrt(variance), the variance floored at Poisson's. */
  z: number;
  /** Share of baseline buckets after the series' first data. */
  coverage: number;
  /** The seasonal factor applied to expected (1 without seasonality). */
  seasonal: number;
  /**
   * P(count >= observed) under the baseline: negative binomial when the baseline is
   * overdispersed, else Poisson. With several windows: the best window's, times their number.
   */
  p: number;
  /** Buckets in the window the figures above come from (absent: the short window). */
  windowBuckets?: number;
  /** The window's traffic against the baseline's (absent: 1). */
  traffic?: number;
  /** Every window tested (the short one first); the guards pick among them. */
  windows?: WindowFigures[];
}

export type DecisionReason = 'significant' | 'cold_start' | 'below_min_count' | 'below_min_ratio' | 'below_z' | 'not_significant' | 'below_min_authors';

/** What the detector concluded for one series at one tick, with the figures behind it. */
export interface Decision extends Evaluation {
  significant: boolean;
  reason: DecisionReason;
  /** Benjamini-Hochberg adjusted p-value among the series of its family tested in the tick (1 when not tested). */
  q: number;
  /** So improbable that one tick is enough to open an alert. */
  strong: boolean;
}

/** The guards that apply to one series (its topic's tier). */
export interface Guards {
  minCount: number;
  minRatio: number;
  zThreshold: number;
  minAuthors: number;
  fdr: number;
  /**
   * The false-discovery family the series is corrected in, with the others of the same fdr and
   * family (absent: the family of every series without one).
   */
  family?: 'totals';
}

export function guardsFor(cfg: DetectConfig, tier: SeverityTier): Guards {
  const t = cfg.tiers[tier] ?? {};
  return {
    minCount: t.minCount ?? cfg.minCount,
    minRatio: t.minRatio ?? cfg.minRatio,
    zThreshold: cfg.zThreshold,
    minAuthors: t.minAuthors ?? cfg.minAuthors,
    fdr: t.fdr ?? cfg.fdr,
  };
}

/**
 * The min-authors guard: a few accounts posting a lot is not a trend. Without author ids the
 * number of accounts is unknown (null), not zero, and the guard does not apply; when only part
 * of the pipeline's signals carry one, the bar is lowered to that share.
 */
export function passesAuthorGuard(distinctAuthors: number | null, minAuthors: number, authoredShare = 1): boolean {
  if (distinctAuthors === null) return true;
  return distinctAuthors >= Math.ceil(minAuthors * Math.min(1, Math.max(0, authoredShare)));
}

/** Share of a pipeline's signals that carry an author id, from its totals (1 when none counted yet). */
export function authoredShare(totals: Readonly<Record<string, number>>): number {
  const signals = totals.signals ?? 0;
  return signals > 0 ? 1 - Math.min(signals, totals.no_author ?? 0) / signals : 1;
}

/**
 * Tests each live series' current window against its own learned baseline, then controls the
 * false-discovery rate across all series of a tick. Pure.
 */
export interface Detector {
  evaluate(input: SeriesWindowInput): Evaluation;
  /** evaluate's figures for a series given by its non-zero counts (and its scope's traffic prepared). */
  evaluateSparse(input: SparseWindowInput): Evaluation;
  /** A scope's traffic (aligned with its series' counts) prepared for evaluateSparse: one per scope and tick. */
  scopeTraffic(traffic: BucketCounts, bucketMs: number): ScopeTraffic;
  /** Decides a whole tick: guards per series, Benjamini-Hochberg per false-discovery rate. */
  decide(evaluations: readonly Evaluation[], guards: readonly Guards[]): Decision[];
  /**
   * decide's first step, one series at a time: its guards, and the window whose figures stand.
   * It depends on nothing else, so a series whose evaluation and guards did not change since the
   * last tick keeps its judgement.
   */
  judge(evaluation: Evaluation, guards: Guards): Decision;
  /**
   * decide's second step over the whole tick's judgements: Benjamini-Hochberg per false-discovery
   * rate. Returns new decisions; the judgements are left as they were (they can be kept).
   */
  correct(judged: readonly Decision[], guards: readonly Guards[]): Decision[];
  /**
   * correct's figures without the decisions: each judgement's q value, and which judgements the
   * correction makes discoveries. A tick of many series builds decisions only for the few it
   * acts on (decisionOf); correct is decisionOf of every judgement.
   */
  correction(judged: readonly Decision[], guards: readonly Guards[]): Correction;
  /** The i-th judgement's decision after a correction (the judgement itself when the correction changes nothing of it). */
  decisionOf(judged: Decision, correction: Correction, i: number): Decision;
}

/** The tick-wide correction's outcome, per judgement in the order given. */
export interface Correction {
  /** Benjamini-Hochberg adjusted p-value in the judgement's family (its judged q, 1, for a cold start). */
  q: Float64Array;
  /** 1 where a judgement that passed its guards ('not_significant') is a discovery: significant. */
  discovered: Uint8Array;
}

/**
 * A judgement of a whole evaluation (see judge): its figures those of window `w` (the evaluation
 * itself for a cold start), the p-value corrected for the `tried` windows. The fields and their
 * order are those of { ...e, ...figuresOf(w, tried), significant, reason, q, strong }.
 */
function decisionFrom(e: Evaluation, w: WindowFigures | Evaluation, tried: number, reason: DecisionReason): Decision {
  const own = w === e;
  const fw = w as WindowFigures;
  return {
    observed: w.observed,
    expected: w.expected,
    ratio: w.ratio,
    z: w.z,
    p: own ? e.p : Math.min(1, w.p * tried),
    windowBuckets: own ? e.windowBuckets! : fw.buckets,
    traffic: own ? e.traffic! : fw.traffic,
    coverage: e.coverage,
    seasonal: e.seasonal,
    windows: e.windows!,
    significant: false,
    reason,
    q: 1,
    strong: false,
  };
}

/** A window's figures as the evaluation's, its p-value corrected for the number of windows tried. */
const figuresOf = (w: WindowFigures, tried: number) => ({ observed: w.observed, expected: w.expected, ratio: w.ratio, z: w.z, p: Math.min(1, w.p * tried), windowBuckets: w.buckets, traffic: w.traffic });

const round = (x: number, digits = 3) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);

/** Traffic below this many signals in a baseline says too little about the scope's level. */
const MIN_TRAFFIC = 20;
/** The traffic factor is kept within these bounds (a scope whose traffic collapses or explodes). */
const TRAFFIC_FACTOR: readonly [number, number] = [0.2, 5];

/** What the baseline expects of the window of `size` buckets ending with the last bucket. */
interface Expectation {
  expected: number;
  /** expected, raised to minExpected. */
  floored: number;
  /** The window count's variance: the baseline's, floored at Poisson's (floored). */
  variance: number;
  traffic: number;
  coverage: number;
}

/**
 * A series' input as evaluation reads it: its non-zero counts, and its scope's traffic as
 * sums over ranges. The detection tick builds one per series from what it holds, with one
 * traffic per scope for all of the scope's series; evaluate builds one from dense counts.
 */
interface Prepared {
  /** Buckets in the input (counts.length). */
  length: number;
  own: SparseCounts;
  traffic: ScopeTraffic | undefined;
}

/**
 * A scope's traffic (all of its signals per bucket) prepared for the evaluation of its series:
 * sums over the ranges a tick's windows and baselines need, computed once per scope and tick.
 */
export type ScopeTraffic = WeightedSums;

/** Where evaluate writes a dense input's non-zero counts (used before the next call: evaluation is synchronous). */
const ownBuffer = { at: new Int32Array(0), values: new Float64Array(0), count: 0 };

/**
 * The sum of min(count, traffic) over the series' non-zero buckets in [from, end), outside
 * `skip`, each weighted as ewma weighs it in a range ending at `weightEnd` (weights: ewma's
 * table, or 1 for all when undefined). The scope's other signals in a bucket are its traffic
 * less the series' own, never below 0: max(0, t - c) = t - min(c, t), so their sum over a
 * range is the traffic's less this.
 */
function ownWithinTraffic(own: SparseCounts, traffic: ArrayLike<number>, from: number, end: number, skip: readonly BucketRange[] | undefined, weights: Float64Array | undefined, weightEnd: number): number {
  let total = 0;
  let r = (skip?.length ?? 0) - 1;
  let j = own.count - 1;
  while (j >= 0 && own.at[j]! >= end) j--;
  for (; j >= 0 && own.at[j]! >= from; j--) {
    const i = own.at[j]!;
    if (skip) {
      while (r >= 0 && skip[r]!.from > i) r--;
      if (r >= 0 && i < skip[r]!.to) continue;
    }
    const x = Math.min(own.values[j]!, traffic[i]!);
    total += weights ? weights[weightEnd - 1 - i]! * x : x;
  }
  return total;
}

/** The sum of a series' counts over [from, length) (the newest buckets). */
function sumFrom(own: SparseCounts, from: number): number {
  let t = 0;
  for (let j = own.count - 1; j >= 0 && own.at[j]! >= from; j--) t += own.values[j]!;
  return t;
}

/** The excluded ranges within [from, end), or undefined when none is or they would cover more than half of it. */
function skippedIn(excluded: readonly BucketRange[] | undefined, from: number, end: number): BucketRange[] | undefined {
  if (!excluded || excluded.length === 0) return undefined;
  const within: BucketRange[] = [];
  let covered = 0;
  for (const r of excluded) {
    const a = Math.max(r.from, from);
    const b = Math.min(r.to, end);
    if (b <= a) continue;
    within.push({ from: a, to: b });
    covered += b - a;
  }
  return within.length === 0 || covered * 2 > end - from ? undefined : within;
}

function expectation(input: SeriesInputBase, series: Prepared, size: number, baselineBuckets: number, firstIdx: number, cfg: DetectConfig): Expectation | undefined {
  const n = series.length;
  const end = n - size - (input.gapBuckets ?? 0);
  const start = end - baselineBuckets;
  if (end <= 0 || start < 0) return undefined;
  const from = Math.min(end, Math.max(start, firstIdx));
  const coverage = baselineBuckets === 0 ? 0 : (end - from) / baselineBuckets;
  const halfLife = (cfg.halfLifeSec * 1000) / input.bucketMs;
  const skip = skippedIn(input.excluded, from, end);
  const base = ewmaSparse(series.own, halfLife, from, end, skip);
  let traffic = 1;
  const t = series.traffic;
  if (t) {
    // The scope's other signals (its traffic less the series' own): their weighted mean over
    // the baseline's kept buckets, and their sum over the window.
    let weighted = 0;
    if (skip) for (const k of keptRanges(from, end, skip)) weighted += t.weighted(end, k.from, k.to);
    else weighted = t.weighted(end, from, end);
    weighted -= ownWithinTraffic(series.own, t.values, from, end, skip, ewmaWeights(halfLife, end), end);
    const mean = base.weight > 0 ? weighted / base.weight : 0;
    const window = t.plain(n - size, n) - ownWithinTraffic(series.own, t.values, n - size, n, undefined, undefined, n);
    if (mean > 0 && mean * (end - from) >= MIN_TRAFFIC) traffic = Math.min(TRAFFIC_FACTOR[1], Math.max(TRAFFIC_FACTOR[0], window / (mean * size)));
  }
  const scale = t ? traffic : (input.seasonal ?? 1);
  const expected = base.mean * size * scale;
  const floored = Math.max(expected, cfg.minExpected);
  // Buckets are treated as independent: the window's variance is the bucket variance x buckets,
  // floored at Poisson's. The expected count is itself estimated from the baseline's buckets, so
  // its own variance (a bucket's, over the baseline's effective number of buckets, times the
  // window's size squared) is added: without it a window as long as its baseline reads a
  // chance rise of 1.7x as a one-in-100,000 event.
  const estimate = base.effective > 0 ? ((size * scale) ** 2 * Math.max(base.variance, base.mean)) / base.effective : 0;
  const variance = Math.max(base.variance * size * scale, floored) + estimate;
  return { expected, floored, variance, traffic, coverage };
}

/** One bucket's expectation as a chart shows it: the expected count and the band around it. */
export interface BucketBand {
  expected: number;
  lower: number;
  upper: number;
}

/**
 * Each bucket's expected count and band, from `fromIdx` to the last bucket of the input, by
 * the detector's own model applied to a one-bucket window ending there: the EWMA baseline of the
 * buckets before it (and the gap), scaled by the scope's traffic or the seasonal factor, with the
 * variance floored at Poisson's. The band is expected +- zThreshold standard deviations, the
 * z guard a window must pass (lower floored at 0). A bucket above the band is a one-bucket
 * excursion; alerts are decided on whole windows (current and long), so the band shows where
 * the counts leave the baseline's range, not the bar each alert had to clear.
 */
export function bucketBands(input: SeriesWindowInput, fromIdx: number, baselineBuckets: number, cfg: DetectConfig): BucketBand[] {
  const firstIdx = Math.max(0, Math.ceil((input.firstSeenMs - input.fromBucketMs) / input.bucketMs));
  const own = sparseOf(input.counts, { at: new Int32Array(0), values: new Float64Array(0), count: 0 });
  const traffic = input.traffic && new WeightedSums(input.traffic, (cfg.halfLifeSec * 1000) / input.bucketMs);
  const out: BucketBand[] = [];
  for (let i = Math.max(0, fromIdx); i < input.counts.length; i++) {
    // The input up to bucket i: a window of one bucket ending there.
    const e = expectation(input, { length: i + 1, own, traffic }, 1, Math.min(baselineBuckets, Math.max(0, i - (input.gapBuckets ?? 0))), firstIdx, cfg);
    if (!e) {
      out.push({ expected: 0, lower: 0, upper: round(cfg.zThreshold * Math.sqrt(cfg.minExpected)) });
      continue;
    }
    const sd = Math.sqrt(e.variance);
    out.push({ expected: round(e.expected), lower: round(Math.max(0, e.expected - cfg.zThreshold * sd)), upper: round(e.expected + cfg.zThreshold * sd) });
  }
  return out;
}

/**
 * One window of `size` buckets ending with the last bucket, against its own baseline: the
 * `baselineBuckets` before it and the gap, from the series' first data on. The expected count
 * is the baseline's (exponentially weighted) mean per bucket x size, scaled by the window's
 * traffic against the baseline's when traffic is given (else by the seasonal factor).
 * Undefined when too little of the baseline lies after the series' first data.
 */
function windowFigures(
  input: SeriesInputBase,
  series: Prepared,
  size: number,
  baselineBuckets: number,
  firstIdx: number,
  cfg: DetectConfig,
): (WindowFigures & { coverage: number }) | undefined {
  const e = expectation(input, series, size, baselineBuckets, firstIdx, cfg);
  if (!e) return undefined;
  const n = series.length;
  const { expected, floored, variance, traffic, coverage } = e;
  const observed = sumFrom(series.own, n - size);
  const p = negBinomialUpperTail(observed, floored, variance);
  const third = Math.max(1, Math.round(size / 3));
  return {
    buckets: size,
    observed,
    expected: round(expected),
    ratio: round(observed / floored),
    z: round((observed - expected) / Math.sqrt(variance)),
    p,
    traffic: round(traffic),
    recentRatio: round(sumFrom(series.own, n - third) / Math.max((floored * third) / size, cfg.minExpected / 3)),
    coverage,
  };
}

/**
 * Baseline: an exponentially weighted mean and variance per bucket over the baseline buckets
 * after the series' first data (half-life `halfLifeSec`), floored so that an empty baseline
 * still expects `minExpected` and the variance is never below Poisson's. Test: the upper tail
 * of the current window's count, negative binomial when the baseline varies more than Poisson.
 */
export function createDetector(cfg: DetectConfig): Detector {
  const judge = (e: Evaluation, g: Guards): Decision => {
    // A long window needs a series busy enough to have a stable level over it (longMinExpected):
    // in a sparse one, its baseline is a handful of signals and one burst looks like a surge.
    const failure = (w: WindowFigures, short: boolean): DecisionReason | undefined =>
      w.observed < g.minCount || (!short && w.expected < Math.max(g.minCount, cfg.longMinExpected))
        ? 'below_min_count'
        : w.ratio < (short ? g.minRatio : Math.min(g.minRatio, cfg.longMinRatio)) || (!short && w.recentRatio < Math.min(g.minRatio, cfg.longMinRatio))
          ? 'below_min_ratio'
          : w.z < g.zThreshold
            ? 'below_z'
            : undefined;
    // An evaluation as evaluate makes them (every figure present): its decision is built as one
    // object (the same fields, in the same order, as spreading it), many times faster in a tick.
    const whole = e.windows !== undefined && e.windowBuckets !== undefined && e.traffic !== undefined;
    if (e.coverage < cfg.minBaselineCoverage) return whole ? decisionFrom(e, e, 1, 'cold_start') : { ...e, significant: false, reason: 'cold_start', q: 1, strong: false };
    // The figures are those of the most improbable window that clears the guards; when none
    // does, the short window's, with the reason it fails.
    const windows = e.windows?.length ? e.windows : [{ buckets: e.windowBuckets ?? 0, observed: e.observed, expected: e.expected, ratio: e.ratio, z: e.z, p: e.p, traffic: e.traffic ?? 1, recentRatio: e.ratio }];
    let best: WindowFigures | undefined;
    for (let k = 0; k < windows.length; k++) {
      const w = windows[k]!;
      if (failure(w, k === 0) === undefined && (best === undefined || w.p < best.p)) best = w;
    }
    if (best === undefined) {
      const w = windows[0]!;
      let lowest = windows[0]!;
      for (let k = 1; k < windows.length; k++) if (windows[k]!.p < lowest.p) lowest = windows[k]!;
      const reason = failure(w, true) ?? failure(lowest, false) ?? 'not_significant';
      return whole ? decisionFrom(e, w, windows.length, reason) : { ...e, ...figuresOf(w, windows.length), significant: false, reason, q: 1, strong: false };
    }
    return whole ? decisionFrom(e, best, windows.length, 'not_significant') : { ...e, ...figuresOf(best, windows.length), significant: false, reason: 'not_significant', q: 1, strong: false };
  };

  const correction = (judged: readonly Decision[], guards: readonly Guards[]): Correction => {
    const n = judged.length;
    const q = new Float64Array(n);
    const discovered = new Uint8Array(n);
    // Every series with enough history is a hypothesis of the tick, guarded or not: the
    // guards must not shrink the family the rate is controlled over. Families: per fdr, the
    // series without a family and the totals apart.
    const families = [new Map<number, number[]>(), new Map<number, number[]>()];
    for (let i = 0; i < n; i++) {
      const d = judged[i]!;
      q[i] = d.q;
      if (d.reason === 'cold_start') continue;
      const g = guards[i]!;
      const byFdr = families[g.family === 'totals' ? 1 : 0]!;
      const family = byFdr.get(g.fdr);
      if (family) family.push(i);
      else byFdr.set(g.fdr, [i]);
    }
    for (const byFdr of families) {
      for (const [fdr, members] of byFdr) {
        const p = new Float64Array(members.length);
        for (let k = 0; k < members.length; k++) p[k] = judged[members[k]!]!.p;
        adjustPValues(p, fdr, q, discovered, members);
      }
    }
    for (let i = 0; i < n; i++) if (discovered[i] === 1 && judged[i]!.reason !== 'not_significant') discovered[i] = 0;
    return { q, discovered };
  };

  const decisionOf = (d: Decision, c: Correction, i: number): Decision => {
    const q = c.q[i]!;
    if (c.discovered[i] === 1) return { ...d, q, significant: true, reason: 'significant', strong: d.p <= cfg.strongP };
    return q === d.q ? d : { ...d, q };
  };

  const correct = (judged: readonly Decision[], guards: readonly Guards[]): Decision[] => {
    const c = correction(judged, guards);
    return judged.map((d, i) => {
      const decision = decisionOf(d, c, i);
      return decision === d ? { ...d } : decision;
    });
  };

  const evaluatePrepared = (input: SeriesInputBase, series: Prepared): Evaluation => {
    const n = series.length;
    const gap = input.gapBuckets ?? 0;
    const longWindows = input.longWindows ?? [];
    // Every window gets a baseline as long as the longest window leaves room for.
    let longest = input.currentBuckets + gap < n ? input.currentBuckets : -Infinity;
    for (const size of longWindows) if (size + gap < n && size > longest) longest = size;
    const baselineBuckets = Math.max(0, n - longest - gap);
    const firstIdx = Math.max(0, Math.ceil((input.firstSeenMs - input.fromBucketMs) / input.bucketMs));
    const short = windowFigures(input, series, input.currentBuckets, baselineBuckets, firstIdx, cfg) ?? { buckets: input.currentBuckets, observed: 0, expected: 0, ratio: 0, z: 0, p: 1, traffic: 1, recentRatio: 0, coverage: 0 };
    // A long window whose baseline is not covered yet is left out; the short one decides cold start.
    const windows = [short];
    let best = short;
    for (const size of longWindows) {
      if (size === input.currentBuckets) continue;
      const w = windowFigures(input, series, size, baselineBuckets, firstIdx, cfg);
      if (w === undefined || w.coverage < cfg.minBaselineCoverage) continue;
      windows.push(w);
      if (w.p < best.p) best = w;
    }
    return {
      observed: best.observed,
      expected: best.expected,
      ratio: best.ratio,
      z: best.z,
      p: Math.min(1, best.p * windows.length),
      windowBuckets: best.buckets,
      traffic: best.traffic,
      coverage: round(short.coverage),
      seasonal: round(input.seasonal ?? 1),
      windows,
    };
  };

  return {
    evaluate: (input) =>
      evaluatePrepared(input, {
        length: input.counts.length,
        own: sparseOf(input.counts, ownBuffer),
        traffic: input.traffic && new WeightedSums(input.traffic, (cfg.halfLifeSec * 1000) / input.bucketMs),
      }),
    evaluateSparse: (input) => evaluatePrepared(input, { length: input.length, own: input.nonZero, traffic: input.traffic }),
    scopeTraffic: (traffic, bucketMs) => new WeightedSums(traffic, (cfg.halfLifeSec * 1000) / bucketMs),

    decide: (evaluations, guards) =>
      correct(
        evaluations.map((e, i) => judge(e, guards[i]!)),
        guards,
      ),
    judge,
    correct,
    correction,
    decisionOf,
  };
}
