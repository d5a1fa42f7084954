import type { DetectConfig } from '../config/pipeline-schema.js';
import type { SeverityTier } from '../config/topic-schema.js';
import { benjaminiHochberg, ewma, negBinomialUpperTail } from './stats.js';

/** A series' counts around one tick, in event time. */
export interface SeriesWindowInput {
  /** Baseline buckets (oldest first) followed by current-window buckets. */
  counts: readonly number[];
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
  /** P(count >= observed) under the baseline: negative binomial when the baseline is overdispersed, else Poisson. */
  p: number;
}

export type DecisionReason = 'significant' | 'cold_start' | 'below_min_count' | 'below_min_ratio' | 'below_z' | 'not_significant' | 'below_min_authors';

/** What the detector concluded for one series at one tick, with the figures behind it. */
export interface Decision extends Evaluation {
  significant: boolean;
  reason: DecisionReason;
  /** Benjamini-Hochberg adjusted p-value among the series tested in the tick (1 when not tested). */
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
  /** Decides a whole tick: guards per series, Benjamini-Hochberg per false-discovery rate. */
  decide(evaluations: readonly Evaluation[], guards: readonly Guards[]): Decision[];
}

const round = (x: number, digits = 3) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);

/**
 * Baseline: an exponentially weighted mean and variance per bucket over the baseline buckets
 * after the series' first data (half-life `halfLifeSec`), floored so that an empty baseline
 * still expects `minExpected` and the variance is never below Poisson's. Test: the upper tail
 * of the current window's count, negative binomial when the baseline varies more than Poisson.
 */
export function createDetector(cfg: DetectConfig): Detector {
  return {
    evaluate(input) {
      const baselineBuckets = input.counts.length - input.currentBuckets - (input.gapBuckets ?? 0);
      const firstIdx = Math.min(baselineBuckets, Math.max(0, Math.ceil((input.firstSeenMs - input.fromBucketMs) / input.bucketMs)));
      const covered = input.counts.slice(firstIdx, baselineBuckets);
      const coverage = baselineBuckets === 0 ? 0 : covered.length / baselineBuckets;
      let observed = 0;
      for (let i = input.counts.length - input.currentBuckets; i < input.counts.length; i++) observed += input.counts[i]!;

      const halfLifeBuckets = (cfg.halfLifeSec * 1000) / input.bucketMs;
      const base = ewma(covered, halfLifeBuckets);
      const seasonal = input.seasonal ?? 1;
      const expected = base.mean * input.currentBuckets * seasonal;
      const floored = Math.max(expected, cfg.minExpected);
      // Buckets are treated as independent: the window's variance is the bucket variance x buckets.
      const variance = Math.max(base.variance * input.currentBuckets * seasonal, floored);
      const p = negBinomialUpperTail(observed, floored, variance);
      return {
        observed,
        expected: round(expected),
        ratio: round(observed / floored),
        z: round((observed - expected) / Math.sqrt(variance)),
        coverage: round(coverage),
        seasonal: round(seasonal),
        p,
      };
    },

    decide(evaluations, guards) {
      const decisions: Decision[] = evaluations.map((e, i) => {
        const g = guards[i]!;
        const reason: DecisionReason | undefined =
          e.coverage < cfg.minBaselineCoverage
            ? 'cold_start'
            : e.observed < g.minCount
              ? 'below_min_count'
              : e.ratio < g.minRatio
                ? 'below_min_ratio'
                : e.z < g.zThreshold
                  ? 'below_z'
                  : undefined;
        return { ...e, significant: false, reason: reason ?? 'not_significant', q: 1, strong: false };
      });
      // Every series with enough history is a hypothesis of the tick, guarded or not: the
      // guards must not shrink the family the rate is controlled over.
      const families = new Map<number, number[]>();
      decisions.forEach((d, i) => {
        if (d.reason === 'cold_start') return;
        const fdr = guards[i]!.fdr;
        const family = families.get(fdr);
        if (family) family.push(i);
        else families.set(fdr, [i]);
      });
      for (const [fdr, members] of families) {
        const { discovery, adjusted } = benjaminiHochberg(
          members.map((i) => decisions[i]!.p),
          fdr,
        );
        members.forEach((i, k) => {
          const d = decisions[i]!;
          d.q = adjusted[k]!;
          if (d.reason === 'not_significant' && discovery[k]) {
            d.significant = true;
            d.reason = 'significant';
            d.strong = d.p <= cfg.strongP;
          }
        });
      }
      return decisions;
    },
  };
}
