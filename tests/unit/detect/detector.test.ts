import { describe, it, expect } from 'vitest';
import { pipelineSchema, type DetectConfig } from '../../../src/config/pipeline-schema.js';
import { createThresholdDetector, type SeriesWindowInput } from '../../../src/detect/detector.js';

const defaults = pipelineSchema.parse({ id: 't' }).detect;
const detector = (overrides: Partial<DetectConfig> = {}) => createThresholdDetector({ ...defaults, ...overrides });

const BUCKET_MS = 10_000;
const T0 = Date.UTC(2026, 4, 1, 12, 0, 0);
const BASELINE_BUCKETS = 180; // 30 min of 10 s buckets
const CURRENT_BUCKETS = 6; // 1 min

/** Baseline then current buckets; the series first had data at baseline bucket `firstSeenIdx`. */
function series(baseline: number[], current: number[], firstSeenIdx = 0): SeriesWindowInput {
  return {
    counts: [...baseline, ...current],
    currentBuckets: current.length,
    bucketMs: BUCKET_MS,
    fromBucketMs: T0,
    firstSeenMs: T0 + firstSeenIdx * BUCKET_MS,
  };
}

const repeat = (n: number, value: number) => Array.from({ length: n }, () => value);
// Poisson-like counts around a mean of 4 per bucket (sum 24 per 6 buckets).
const steady = Array.from({ length: BASELINE_BUCKETS }, (_, i) => [3, 5, 4, 6, 2, 4][i % 6]!);

describe('createThresholdDetector', () => {
  it('uses the documented defaults', () => {
    expect(defaults).toMatchObject({ minCount: 10, minRatio: 3, zThreshold: 4, minExpected: 1, minBaselineCoverage: 0.5 });
  });

  it('does not alert on 0 vs 0, even with a minimum count of 1', () => {
    const d = detector({ minCount: 1 }).evaluate(series(repeat(BASELINE_BUCKETS, 0), repeat(CURRENT_BUCKETS, 0)));
    expect(d).toEqual({ significant: false, reason: 'below_min_count', observed: 0, expected: 0, ratio: 0, z: 0, coverage: 1 });
  });

  it('does not alert on a single signal against an empty baseline', () => {
    const d = detector({ minCount: 1 }).evaluate(series(repeat(BASELINE_BUCKETS, 0), [0, 0, 0, 0, 0, 1]));
    expect(d.significant).toBe(false);
    // Expected 0 is floored to minExpected 1: the ratio is 1, not infinite.
    expect(d).toMatchObject({ reason: 'below_min_ratio', observed: 1, expected: 0, ratio: 1 });
  });

  it('reports a 5x surge over a steady baseline as significant, with its figures', () => {
    const d = detector().evaluate(series(steady, repeat(CURRENT_BUCKETS, 20)));
    expect(d.significant).toBe(true);
    expect(d.reason).toBe('significant');
    expect(d.observed).toBe(120);
    expect(d.expected).toBe(24);
    expect(d.ratio).toBe(5);
    expect(d.z).toBeCloseTo(96 / Math.sqrt(24), 3);
    expect(d.coverage).toBe(1);
  });

  it('does not alert on the steady baseline itself', () => {
    const d = detector().evaluate(series(steady, [3, 5, 4, 6, 2, 4]));
    expect(d).toMatchObject({ significant: false, reason: 'below_min_ratio', observed: 24, expected: 24, ratio: 1, z: 0 });
  });

  it.each([
    {
      name: 'series first seen two thirds into the baseline',
      input: series([...repeat(120, 0), ...repeat(60, 1)], repeat(CURRENT_BUCKETS, 50), 120),
      coverage: 0.333,
    },
    { name: 'series first seen in the current window', input: series(repeat(BASELINE_BUCKETS, 0), repeat(CURRENT_BUCKETS, 50), BASELINE_BUCKETS + 2), coverage: 0 },
  ])('holds back on cold start: $name', ({ input, coverage }) => {
    const d = detector().evaluate(input);
    expect(d.significant).toBe(false);
    expect(d.reason).toBe('cold_start');
    expect(d.coverage).toBe(coverage);
    expect(d.observed).toBe(300);
  });

  it('decides once coverage reaches minBaselineCoverage', () => {
    const d = detector().evaluate(series([...repeat(90, 0), ...repeat(90, 1)], repeat(CURRENT_BUCKETS, 50), 90));
    expect(d.coverage).toBe(0.5);
    expect(d.reason).toBe('significant');
  });

  it('computes expected only over the baseline buckets after the series was first seen', () => {
    // 60 empty buckets before the series existed, then 2 per bucket: expected is 2 x 6, not (240 / 180) x 6.
    const d = detector().evaluate(series([...repeat(60, 0), ...repeat(120, 2)], repeat(CURRENT_BUCKETS, 2), 60));
    expect(d.expected).toBe(12);
    expect(d.coverage).toBe(0.667);
    expect(d.ratio).toBe(1);
  });

  it.each([
    {
      name: 'below minCount',
      cfg: {},
      input: series(repeat(BASELINE_BUCKETS, 0), [1, 2, 1, 2, 1, 2], 0),
      reason: 'below_min_count',
      figures: { observed: 9, expected: 0 },
    },
    {
      name: 'below minRatio (a 2x rise)',
      cfg: {},
      input: series(steady, repeat(CURRENT_BUCKETS, 8)),
      reason: 'below_min_ratio',
      figures: { observed: 48, expected: 24, ratio: 2 },
    },
    {
      name: 'below the z threshold',
      cfg: { minCount: 1 },
      input: series(repeat(BASELINE_BUCKETS, 0), [0, 0, 1, 0, 1, 1]),
      reason: 'below_z',
      figures: { observed: 3, expected: 0, ratio: 3, z: 3 },
    },
    {
      name: 'a 5x surge under a stricter minRatio',
      cfg: { minRatio: 6 },
      input: series(steady, repeat(CURRENT_BUCKETS, 20)),
      reason: 'below_min_ratio',
      figures: { observed: 120, ratio: 5 },
    },
    {
      name: 'a 5x surge under a stricter minCount',
      cfg: { minCount: 200 },
      input: series(steady, repeat(CURRENT_BUCKETS, 20)),
      reason: 'below_min_count',
      figures: { observed: 120 },
    },
  ])('does not alert $name', ({ cfg, input, reason, figures }) => {
    const d = detector(cfg).evaluate(input);
    expect(d.significant).toBe(false);
    expect(d.reason).toBe(reason);
    expect(d).toMatchObject(figures);
  });
});
