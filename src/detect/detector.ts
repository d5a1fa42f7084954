import type { DetectConfig } from '../config/pipeline-schema.js';

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
}

export type DecisionReason = 'significant' | 'cold_start' | 'below_min_count' | 'below_min_ratio' | 'below_z';

/** What a detector concluded for one series at one tick, with the figures behind it. */
export interface Decision {
  significant: boolean;
  reason: DecisionReason;
  observed: number;
  expected: number;
  ratio: number;
  z: number;
  /** Share of baseline buckets after the series' first data. */
  coverage: number;
}

/** Decides whether a series' current window is a spike against its baseline. Pure. */
export interface Detector {
  evaluate(input: SeriesWindowInput): Decision;
}

const round = (x: number, digits = 3) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);

/**
 * First rule: expected = baseline mean per bucket x current buckets; fires when the observed
 * count clears a minimum, a ratio and a z score against a Poisson variance with a floor.
 */
export function createThresholdDetector(cfg: DetectConfig): Detector {
  return {
    evaluate(input) {
      const baselineBuckets = input.counts.length - input.currentBuckets;
      const baseline = input.counts.slice(0, baselineBuckets);
      const current = input.counts.slice(baselineBuckets);
      const observed = current.reduce((s, n) => s + n, 0);

      // Only the part of the baseline after the series first appeared is real history.
      const firstIdx = Math.max(0, Math.ceil((input.firstSeenMs - input.fromBucketMs) / input.bucketMs));
      const coveredBuckets = Math.max(0, baselineBuckets - firstIdx);
      const coverage = baselineBuckets === 0 ? 0 : coveredBuckets / baselineBuckets;
      const baselineSum = baseline.reduce((s, n) => s + n, 0);
      const meanPerBucket = coveredBuckets > 0 ? baselineSum / coveredBuckets : 0;
      const expected = meanPerBucket * input.currentBuckets;
      const floored = Math.max(expected, cfg.minExpected);
      const ratio = observed / floored;
      const z = (observed - expected) / Math.sqrt(floored);

      const figures = { observed, expected: round(expected), ratio: round(ratio), z: round(z), coverage: round(coverage) };
      const reason: DecisionReason =
        coverage < cfg.minBaselineCoverage
          ? 'cold_start'
          : observed < cfg.minCount
            ? 'below_min_count'
            : ratio < cfg.minRatio
              ? 'below_min_ratio'
              : z < cfg.zThreshold
                ? 'below_z'
                : 'significant';
      return { significant: reason === 'significant', reason, ...figures };
    },
  };
}
