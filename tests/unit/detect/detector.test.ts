import { describe, expect, it } from 'vitest';
import { pipelineSchema, type DetectConfig } from '../../../src/config/pipeline-schema.js';
import { createDetector, guardsFor, type Decision, type SeriesWindowInput } from '../../../src/detect/detector.js';
import { createRng } from '../../../src/worker/sample-stream.js';

const defaults = pipelineSchema.parse({ id: 't' }).detect;
const detector = (overrides: Partial<DetectConfig> = {}) => createDetector({ ...defaults, ...overrides });
const high = guardsFor(defaults, 'high');

const BUCKET_MS = 10_000;
const T0 = Date.UTC(2026, 4, 1, 12, 0, 0);
const BASELINE_BUCKETS = 180; // 30 min of 10 s buckets
const CURRENT_BUCKETS = 6; // 1 min

/** Baseline then current buckets; the series first had data at baseline bucket `firstSeenIdx`. */
function series(baseline: number[], current: number[], firstSeenIdx = 0): SeriesWindowInput {
  return { counts: [...baseline, ...current], currentBuckets: current.length, bucketMs: BUCKET_MS, fromBucketMs: T0, firstSeenMs: T0 + firstSeenIdx * BUCKET_MS };
}

const repeat = (n: number, value: number) => Array.from({ length: n }, () => value);
// Poisson-like counts around a mean of 4 per bucket (sum 24 per 6 buckets).
const steady = Array.from({ length: BASELINE_BUCKETS }, (_, i) => [3, 5, 4, 6, 2, 4][i % 6]!);

/** One series decided alone (a tick of one), with the guards of a "high" topic unless given. */
function decide(input: SeriesWindowInput, cfg: Partial<DetectConfig> = {}, tier: 'critical' | 'high' | 'medium' | 'low' = 'high'): Decision {
  const d = detector(cfg);
  return d.decide([d.evaluate(input)], [guardsFor({ ...defaults, ...cfg }, tier)])[0]!;
}

describe('detector: figures', () => {
  it('uses the documented defaults', () => {
    expect(defaults).toMatchObject({ minCount: 10, minRatio: 3, zThreshold: 3, minAuthors: 3, minExpected: 1, halfLifeSec: 900, fdr: 0.01, fdrFamilies: 'one', openAfterTicks: 6 });
    expect(guardsFor(defaults, 'critical')).toMatchObject({ minCount: 5, minRatio: 2 });
    expect(guardsFor(defaults, 'low')).toMatchObject({ minCount: 20, minRatio: 4 });
    expect(high).toMatchObject({ minCount: 10, minRatio: 3, minAuthors: 3 });
  });

  it('reports a 5x surge over a steady baseline as significant and very improbable', () => {
    const d = decide(series(steady, repeat(CURRENT_BUCKETS, 20)));
    expect(d).toMatchObject({ significant: true, reason: 'significant', observed: 120, coverage: 1 });
    expect(d.expected).toBeCloseTo(24, 1);
    expect(d.ratio).toBeCloseTo(5, 1);
    expect(d.p).toBeLessThan(1e-20);
    expect(d.strong).toBe(true);
  });

  it('does not alert on the steady baseline itself', () => {
    const d = decide(series(steady, [3, 5, 4, 6, 2, 4]));
    expect(d).toMatchObject({ significant: false, observed: 24 });
    expect(d.ratio).toBeCloseTo(1, 2);
    expect(d.p).toBeGreaterThan(0.3);
  });

  it('weighs recent buckets more: a baseline that rose lately expects more', () => {
    const rising = [...repeat(150, 1), ...repeat(30, 6)];
    // The flat mean is 1.83 per bucket (11 per window); weighted, the recent level counts more.
    expect(detector().evaluate(series(rising, repeat(CURRENT_BUCKETS, 6))).expected).toBeGreaterThan(13);
    // With a 100 s half-life the baseline has nearly caught up with the new level (36).
    expect(detector({ halfLifeSec: 100 }).evaluate(series(rising, repeat(CURRENT_BUCKETS, 6))).expected).toBeGreaterThan(30);
  });

  it('uses the baseline variance: a bursty baseline makes the same count less surprising', () => {
    const bursty = Array.from({ length: BASELINE_BUCKETS }, (_, i) => (i % 6 === 0 ? 24 : 0)); // same mean of 4
    const calm = decide(series(steady, repeat(CURRENT_BUCKETS, 12)));
    const wild = decide(series(bursty, repeat(CURRENT_BUCKETS, 12)));
    expect(wild.expected).toBeCloseTo(calm.expected, 0);
    expect(wild.p).toBeGreaterThan(calm.p * 100);
    expect(wild.z).toBeLessThan(calm.z);
  });

  it('counts the baseline as an estimate: a window as long as a short baseline is less surprising than the same rise over a long one', () => {
    // A 1.6x rise over a 30-minute window (180 buckets at a mean of 4 per bucket: 720 expected).
    const rise = repeat(BASELINE_BUCKETS, 6.4);
    const over = (baseline: number[]) => detector().evaluate({ ...series(baseline, rise), currentBuckets: BASELINE_BUCKETS });
    const short = over(steady.slice(0, 60)); // 10 minutes of history
    const long = over([...steady, ...steady, ...steady, ...steady]); // 2 hours
    expect(short.expected).toBeCloseTo(long.expected, 0);
    // The same excess, but the short baseline's mean is itself uncertain: a much smaller z.
    expect(short.z).toBeLessThan(long.z * 0.7);
    expect(short.p).toBeGreaterThan(long.p * 1000);
  });

  it('leaves excluded buckets (an incident already alerted) out of the baseline', () => {
    // A 5x surge in the middle of the baseline, then a 3x rise now.
    const withSurge = [...steady.slice(0, 60), ...repeat(60, 20), ...steady.slice(120)];
    const now = repeat(CURRENT_BUCKETS, 12);
    const learned = detector().evaluate(series(withSurge, now));
    const excluded = detector().evaluate({ ...series(withSurge, now), excluded: [{ from: 60, to: 120 }] });
    const clean = detector().evaluate(series(steady, now));
    expect(learned.expected).toBeGreaterThan(clean.expected * 1.5);
    expect(excluded.expected).toBeCloseTo(clean.expected, 0);
    expect(excluded.p).toBeLessThan(learned.p / 1000);
    // An exclusion over most of the baseline is a level that lasted: learned.
    const most = detector().evaluate({ ...series(withSurge, now), excluded: [{ from: 0, to: 150 }] });
    expect(most.expected).toBe(learned.expected);
  });
});

describe('detector: what must not alert', () => {
  it('0 vs 0, even with a minimum count of 1', () => {
    const d = decide(series(repeat(BASELINE_BUCKETS, 0), repeat(CURRENT_BUCKETS, 0)), { minCount: 1 });
    expect(d).toMatchObject({ significant: false, observed: 0, expected: 0, ratio: 0, p: 1 });
  });

  it('a single signal of a never-seen series against an empty baseline', () => {
    const d = decide(series(repeat(BASELINE_BUCKETS, 0), [0, 0, 0, 0, 0, 1]), { minCount: 1, minRatio: 1, zThreshold: 0 });
    // Expected 0 is floored to minExpected 1: one signal is what a floor of 1 predicts.
    expect(d).toMatchObject({ significant: false, reason: 'not_significant', observed: 1, expected: 0, ratio: 1 });
  });

  it.each([
    { name: 'series first seen two thirds into the baseline', input: series([...repeat(120, 0), ...repeat(60, 1)], repeat(CURRENT_BUCKETS, 50), 120), coverage: 0.333 },
    { name: 'series first seen in the current window', input: series(repeat(BASELINE_BUCKETS, 0), repeat(CURRENT_BUCKETS, 50), BASELINE_BUCKETS + 2), coverage: 0 },
  ])('cold start: $name', ({ input, coverage }) => {
    const d = decide(input);
    expect(d).toMatchObject({ significant: false, reason: 'cold_start', coverage, observed: 300 });
  });

  it('decides once coverage reaches minBaselineCoverage, over the covered part only', () => {
    const d = decide(series([...repeat(90, 0), ...repeat(90, 1)], repeat(CURRENT_BUCKETS, 50), 90));
    expect(d).toMatchObject({ coverage: 0.5, expected: 6, reason: 'significant' });
  });

  it.each([
    { name: 'below minCount', cfg: {}, input: series(repeat(BASELINE_BUCKETS, 0), [1, 2, 1, 2, 1, 2]), reason: 'below_min_count' },
    { name: 'below minRatio (a 2x rise)', cfg: {}, input: series(steady, repeat(CURRENT_BUCKETS, 8)), reason: 'below_min_ratio' },
    { name: 'a 5x surge under a stricter minRatio', cfg: { minRatio: 6 }, input: series(steady, repeat(CURRENT_BUCKETS, 20)), reason: 'below_min_ratio' },
    { name: 'a 5x surge under a stricter minCount', cfg: { minCount: 200 }, input: series(steady, repeat(CURRENT_BUCKETS, 20)), reason: 'below_min_count' },
  ])('$name', ({ cfg, input, reason }) => {
    expect(decide(input, cfg)).toMatchObject({ significant: false, reason });
  });

  it('applies the tier guards: a count a critical topic alerts on is too small for a low one', () => {
    const input = series(repeat(BASELINE_BUCKETS, 1), repeat(CURRENT_BUCKETS, 3)); // 18 vs 6
    expect(decide(input, {}, 'critical').significant).toBe(true);
    expect(decide(input, {}, 'low')).toMatchObject({ significant: false, reason: 'below_min_count' });
  });
});

describe('detector: false-discovery rate across a tick', () => {
  it('keeps chance fluctuations among thousands of quiet series from alerting, and still finds the real surges', () => {
    const rng = createRng(42);
    const poisson = (mean: number) => {
      // Knuth's method: fine for small means.
      let k = 0;
      let p = 1;
      const l = Math.exp(-mean);
      do {
        k++;
        p *= rng();
      } while (p > l);
      return k - 1;
    };
    const d = detector({ minCount: 1, minRatio: 1, zThreshold: 0 });
    const inputs = Array.from({ length: 5000 }, () => series(Array.from({ length: BASELINE_BUCKETS }, () => poisson(2)), Array.from({ length: CURRENT_BUCKETS }, () => poisson(2))));
    // Three real surges among them.
    for (const i of [10, 2000, 4999]) inputs[i] = series(Array.from({ length: BASELINE_BUCKETS }, () => poisson(2)), Array.from({ length: CURRENT_BUCKETS }, () => poisson(10)));
    const evals = inputs.map((x) => d.evaluate(x));
    const g = guardsFor({ ...defaults, minCount: 1, minRatio: 1, zThreshold: 0 }, 'high');
    const decisions = d.decide(evals, evals.map(() => g));
    const unadjusted = evals.filter((e) => e.p <= 0.001).length;
    expect(unadjusted).toBeGreaterThan(3); // without the correction, chance alone would alert
    expect(decisions.flatMap((x, i) => (x.significant ? [i] : []))).toEqual([10, 2000, 4999]);
    for (const x of decisions) expect(x.q).toBeGreaterThanOrEqual(x.p);
  });

  it("holds the topics' totals to their own bar: a total's rise that thousands of breakdowns would hide is found", () => {
    const d = detector({ minCount: 1, minRatio: 1, zThreshold: 0 });
    const rng = createRng(7);
    const noise = () => Array.from({ length: CURRENT_BUCKETS }, () => 1 + Math.floor(rng() * 3)); // about the baseline's 2 a bucket
    // Ten totals, one of them at about twice its usual volume; 3,000 quiet breakdowns.
    const totals = Array.from({ length: 10 }, (_, i) => d.evaluate(series(repeat(BASELINE_BUCKETS, 2), i === 3 ? [4, 5, 4, 5, 4, 4] : noise())));
    const breakdowns = Array.from({ length: 3000 }, () => d.evaluate(series(repeat(BASELINE_BUCKETS, 2), noise())));
    // The rise is improbable for one series, not for one of 3,010.
    expect(totals[3]!.p).toBeLessThan(0.001);
    expect(totals[3]!.p * 3010).toBeGreaterThan(0.01);
    const g = guardsFor({ ...defaults, minCount: 1, minRatio: 1, zThreshold: 0 }, 'high');
    const apart = d.decide([...totals, ...breakdowns], [...totals.map(() => ({ ...g, family: 'totals' as const })), ...breakdowns.map(() => g)]);
    expect(apart.flatMap((x, i) => (x.significant ? [i] : []))).toEqual([3]);
    expect(apart[3]!.q).toBeLessThanOrEqual(0.01);
    // In one family with the breakdowns, the same total is not a discovery.
    const pooled = d.decide([...totals, ...breakdowns], [...totals, ...breakdowns].map(() => g));
    expect(pooled.filter((x) => x.significant)).toEqual([]);
  });
});
