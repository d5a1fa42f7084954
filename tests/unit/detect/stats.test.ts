import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adjustPValues, benjaminiHochberg, ewma, ewmaSkipping, ewmaSparse, logGamma, negBinomialUpperTail, poissonUpperTail, sparseOf, WeightedSums, type BucketRange } from '../../../src/detect/stats.js';

describe('count tails', () => {
  it('logGamma matches factorials', () => {
    expect(logGamma(1)).toBeCloseTo(0, 10);
    expect(logGamma(11)).toBeCloseTo(Math.log(3_628_800), 8);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 8);
  });

  it('poissonUpperTail matches closed forms and known values', () => {
    expect(poissonUpperTail(0, 3)).toBe(1);
    expect(poissonUpperTail(1, 1)).toBeCloseTo(1 - Math.exp(-1), 12);
    expect(poissonUpperTail(10, 2)).toBeCloseTo(4.6498e-5, 8);
    // Far in the tail it stays accurate instead of rounding to 0 or going negative.
    const far = poissonUpperTail(120, 24);
    expect(far).toBeGreaterThan(0);
    expect(far).toBeLessThan(1e-30);
  });

  it('negBinomialUpperTail is Poisson without overdispersion and heavier-tailed with it', () => {
    expect(negBinomialUpperTail(10, 2, 2)).toBeCloseTo(poissonUpperTail(10, 2), 12);
    // mean 4, variance 8: r = 4, p = 0.5, so P(X >= 1) = 1 - 0.5^4.
    expect(negBinomialUpperTail(1, 4, 8)).toBeCloseTo(1 - 0.5 ** 4, 10);
    expect(negBinomialUpperTail(20, 4, 16)).toBeGreaterThan(poissonUpperTail(20, 4) * 1000);
    for (let k = 1; k < 40; k++) expect(negBinomialUpperTail(k + 1, 4, 16)).toBeLessThanOrEqual(negBinomialUpperTail(k, 4, 16));
  });
});

describe('benjaminiHochberg', () => {
  it('finds the discoveries of the textbook step-up rule', () => {
    expect(benjaminiHochberg([0.01, 0.04, 0.03, 0.005], 0.05).discovery).toEqual([true, true, true, true]);
    expect(benjaminiHochberg([0.01, 0.02, 0.2], 0.05).discovery).toEqual([true, true, false]);
    expect(benjaminiHochberg([0.2, 0.3], 0.05).discovery).toEqual([false, false]);
  });

  it('adjusts p-values monotonically and never below the raw ones', () => {
    const p = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205];
    const { adjusted } = benjaminiHochberg(p, 0.05);
    adjusted.forEach((a, i) => expect(a).toBeGreaterThanOrEqual(p[i]!));
    for (let i = 1; i < adjusted.length; i++) expect(adjusted[i]).toBeGreaterThanOrEqual(adjusted[i - 1]!);
    expect(adjusted[0]).toBeCloseTo(0.008, 10);
  });
});

describe('adjustPValues', () => {
  /** adjustPValues over all the p-values (results in their order), as arrays. */
  const adjust = (p: readonly number[], q: number) => {
    const adjusted = new Float64Array(p.length);
    const discovery = new Uint8Array(p.length);
    adjustPValues(Float64Array.from(p), q, adjusted, discovery, [...p.keys()]);
    return { adjusted: [...adjusted], discovery: [...discovery].map((d) => d === 1) };
  };

  it('gives benjaminiHochberg\'s q values and discoveries to the last digit, with ties, NaN and the p-values in any order', () => {
    // Few distinct values, so that ties are common; NaN as a p-value that could not be computed.
    const pValue = fc.oneof(fc.constantFrom(0, 1, Number.NaN, 0.01, 0.05, 1e-9), fc.double({ min: 0, max: 1, noNaN: true }));
    fc.assert(
      fc.property(fc.array(pValue, { maxLength: 60 }), fc.constantFrom(0.01, 0.05, 0.1), (p, q) => {
        expect(adjust(p, q)).toEqual(benjaminiHochberg(p, q));
      }),
      { numRuns: 500 },
    );
  });

  it('writes each result where it is told (one family among the hypotheses of a tick)', () => {
    const adjusted = new Float64Array([9, 9, 9, 9]);
    const discovery = new Uint8Array(4);
    adjustPValues(new Float64Array([0.001, 0.5]), 0.05, adjusted, discovery, [3, 1]);
    expect([...adjusted]).toEqual([9, 0.5, 9, 0.002]);
    expect([...discovery]).toEqual([0, 0, 0, 1]);
  });
});

describe('ewma', () => {
  it('is the plain mean with an infinite half-life, and follows recent values with a short one', () => {
    expect(ewma([1, 2, 3, 4], 1e12).mean).toBeCloseTo(2.5, 6);
    expect(ewma([1, 1, 1, 10], 0.01).mean).toBeCloseTo(10, 3);
    expect(ewma([5, 5, 5], 3)).toMatchObject({ mean: 5, variance: 0 });
  });

  // Mostly-zero counts, as most series have; any range, any half-life (0: the newest value only).
  const counts = fc.array(fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 500 }) }), { minLength: 1, maxLength: 120 });
  const halfLives = fc.constantFrom(0, 0.5, 3, 17, 90, 1e12);
  /** The figures by their definition: weight decay^(end - 1 - i) for each kept value of [from, end). */
  const reference = (values: readonly number[], halfLife: number, from: number, end: number, skip: readonly BucketRange[]) => {
    const decay = halfLife > 0 ? Math.pow(0.5, 1 / halfLife) : 0;
    let sw = 0;
    let sw2 = 0;
    let sx = 0;
    let sxx = 0;
    for (let i = from; i < end; i++) {
      if (skip.some((r) => i >= r.from && i < r.to)) continue;
      const w = decay ** (end - 1 - i);
      sw += w;
      sw2 += w * w;
      sx += w * values[i]!;
      sxx += w * values[i]! ** 2;
    }
    const mean = sw > 0 ? sx / sw : 0;
    return { mean, meanOfSquares: sw > 0 ? sxx / sw : 0, weight: sw, effective: sw > 0 ? (sw * sw) / sw2 : 0 };
  };
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

  it('gives the same figures, to the last digit, from the non-zero values only (ewmaSparse) as from all of them, and the figures of its definition', () => {
    fc.assert(
      fc.property(counts, fc.nat(), fc.nat(), halfLives, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 30 })), { maxLength: 4 }), (values, a, b, halfLife, cuts) => {
        const from = a % (values.length + 1);
        const end = from + (b % (values.length - from + 1));
        // Left-out ranges: ascending and disjoint, anywhere (some beyond the range).
        const skip: BucketRange[] = [];
        let at = 0;
        for (const [gap, length] of cuts) {
          const start = at + (gap % 40);
          skip.push({ from: start, to: start + length + 1 });
          at = start + length + 2;
        }
        const sparse = sparseOf(values, { at: new Int32Array(0), values: new Float64Array(0), count: 0 });
        expect(ewmaSparse(sparse, halfLife, from, end)).toEqual(ewma(values, halfLife, from, end));
        const got = ewmaSkipping(values, halfLife, from, end, skip);
        expect(ewmaSparse(sparse, halfLife, from, end, skip)).toEqual(got);
        const want = reference(values, halfLife, from, end, skip);
        expect(close(got.mean, want.mean) && close(got.weight, want.weight) && close(got.effective, want.effective)).toBe(true);
        expect(close(got.variance + got.mean ** 2, Math.max(want.meanOfSquares, want.mean ** 2))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('sums a dense series over ranges, weighted as ewma weighs them before an end, and plain (WeightedSums)', () => {
    fc.assert(
      fc.property(counts, fc.nat(), fc.nat(), fc.nat(), halfLives, (values, a, b, c, halfLife) => {
        const end = a % (values.length + 1);
        const from = b % (end + 1);
        const to = from + (c % (end - from + 1));
        const sums = new WeightedSums(values, halfLife);
        const decay = halfLife > 0 ? Math.pow(0.5, 1 / halfLife) : 0;
        let weighted = 0;
        let plain = 0;
        for (let i = from; i < to; i++) {
          weighted += decay ** (end - 1 - i) * values[i]!;
          plain += values[i]!;
        }
        expect(close(sums.weighted(end, from, to), weighted)).toBe(true);
        expect(sums.plain(from, to)).toBe(plain);
      }),
      { numRuns: 500 },
    );
  });
});
