/** Count-model tail probabilities and multiple-testing control. Pure. */

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let a = LANCZOS[0]!;
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

const MAX_TERMS = 1_000_000;

/**
 * Sums a discrete distribution's upper tail P(X >= k) from its log pmf and the ratio of
 * successive terms. Below the mean the complement is summed (it is not tiny there); above it,
 * terms shrink fast and the sum stops once they no longer matter.
 */
function upperTail(k: number, mean: number, logPmf: (j: number) => number, ratio: (j: number) => number): number {
  if (k <= 0) return 1;
  if (k <= mean) {
    let cdf = 0;
    let term = Math.exp(logPmf(0));
    for (let j = 0; j < k; j++) {
      cdf += term;
      term *= ratio(j);
    }
    return Math.min(1, Math.max(0, 1 - cdf));
  }
  let term = Math.exp(logPmf(k));
  let sum = 0;
  for (let j = k; j < k + MAX_TERMS && term > 0; j++) {
    sum += term;
    if (term < sum * 1e-16) break;
    term *= ratio(j);
  }
  return Math.min(1, sum);
}

/** P(X >= k) for X ~ Poisson(lambda). */
export function poissonUpperTail(k: number, lambda: number): number {
  if (lambda <= 0) return k <= 0 ? 1 : 0;
  return upperTail(
    Math.ceil(k),
    lambda,
    (j) => j * Math.log(lambda) - lambda - logGamma(j + 1),
    (j) => lambda / (j + 1),
  );
}

/**
 * P(X >= k) for a negative binomial with the given mean and variance (variance > mean: counts
 * that vary more than Poisson, as bursty human activity does). Falls back to Poisson otherwise.
 */
export function negBinomialUpperTail(k: number, mean: number, variance: number): number {
  if (mean <= 0) return k <= 0 ? 1 : 0;
  if (variance <= mean * 1.000001) return poissonUpperTail(k, mean);
  const p = mean / variance;
  const r = (mean * mean) / (variance - mean);
  const logQ = Math.log1p(-p);
  return upperTail(
    Math.ceil(k),
    mean,
    (j) => logGamma(j + r) - logGamma(r) - logGamma(j + 1) + r * Math.log(p) + j * logQ,
    (j) => ((j + r) / (j + 1)) * (1 - p),
  );
}

/**
 * Benjamini-Hochberg: which of m hypotheses are discoveries at false-discovery rate q, and each
 * one's adjusted p-value (q-value). NaN p-values are never discoveries.
 */
export function benjaminiHochberg(pValues: readonly number[], q: number): { discovery: boolean[]; adjusted: number[] } {
  const m = pValues.length;
  const order = pValues.map((p, i) => [Number.isNaN(p) ? 1 : p, i] as const).sort((a, b) => a[0] - b[0]);
  const adjusted = new Array<number>(m).fill(1);
  let running = 1;
  for (let rank = m; rank >= 1; rank--) {
    const [p, i] = order[rank - 1]!;
    running = Math.min(running, (p * m) / rank);
    adjusted[i] = running;
  }
  const discovery = adjusted.map((a, i) => a <= q && !Number.isNaN(pValues[i]!));
  return { discovery, adjusted };
}

let lastHalfLife = NaN;
let lastDecay = 0;
/** The weight's factor per step for a half-life (the last one's kept: a tick computes many series with the same). */
function decayOf(halfLife: number): number {
  if (halfLife !== lastHalfLife) {
    lastHalfLife = halfLife;
    lastDecay = halfLife > 0 ? Math.pow(0.5, 1 / halfLife) : 0;
  }
  return lastDecay;
}

/**
 * benjaminiHochberg's adjusted p-values (and discoveries, adjusted <= q) computed without
 * ordering the hypotheses themselves: an adjusted p-value depends only on the p-value (tied
 * p-values get the running minimum at the last of their ranks, whatever their order), so the
 * p-values are sorted as numbers and each one's adjusted value looked up. The same figures as
 * benjaminiHochberg, to the last digit, at a fraction of the cost for a large tick.
 * Writes adjusted[at[k]] for each k (at: where each p-value's result goes).
 */
export function adjustPValues(pValues: Float64Array, q: number, adjusted: Float64Array, discovery: Uint8Array, at: ArrayLike<number>): void {
  const m = pValues.length;
  if (m === 0) return;
  const sorted = new Float64Array(m);
  for (let k = 0; k < m; k++) sorted[k] = Number.isNaN(pValues[k]!) ? 1 : pValues[k]!;
  sorted.sort();
  // running[r - 1]: the adjusted p-value at rank r (as benjaminiHochberg computes it).
  const running = new Float64Array(m);
  let r = 1;
  for (let rank = m; rank >= 1; rank--) {
    r = Math.min(r, (sorted[rank - 1]! * m) / rank);
    running[rank - 1] = r;
  }
  for (let k = 0; k < m; k++) {
    const raw = pValues[k]!;
    const p = Number.isNaN(raw) ? 1 : raw;
    // The last rank holding p.
    let lo = 0;
    let hi = m - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (sorted[mid]! <= p) lo = mid;
      else hi = mid - 1;
    }
    const a = running[lo]!;
    const i = at[k]!;
    adjusted[i] = a;
    discovery[i] = a <= q && !Number.isNaN(raw) ? 1 : 0;
  }
}

/** An exponentially weighted mean and variance, with the weights' total and effective number. */
export interface EwmaFigures {
  mean: number;
  variance: number;
  weight: number;
  effective: number;
}

/**
 * Exponentially weighted mean and variance of a series, newest last; weight halves every
 * halfLife steps. Over values[from..end) when given (the same figures as of that slice, without
 * copying it: the detection tick computes several windows of many series).
 * `effective` is how many equally weighted values would estimate the mean as precisely
 * ((sum of w)^2 / sum of w^2): the mean's variance is one value's variance over it.
 */
export function ewma(values: ArrayLike<number>, halfLife: number, from = 0, end = values.length): EwmaFigures {
  return ewmaSkipping(values, halfLife, from, end, []);
}

/**
 * A weighted variance from the weighted mean of squares and the mean (one pass, so that only
 * the non-zero values need reading); a difference within rounding of 0 is 0.
 */
function varianceOf(meanOfSquares: number, mean: number): number {
  const v = meanOfSquares - mean * mean;
  return v > 1e-12 * meanOfSquares ? v : 0;
}

/** Per decay: the weights ewma gives the values from the newest back (1, decay, decay^2, ...) and their running sums. */
const weightTables = new Map<number, { w: Float64Array; sum: Float64Array; sum2: Float64Array }>();

/**
 * The weights ewma gives `length` values, newest first, and sum[k], the sum of the first k (and
 * sum2[k], of their squares), each weight the last times decay, summed one by one: computed once
 * per decay and length.
 */
function weightsOf(decay: number, length: number): { w: Float64Array; sum: Float64Array; sum2: Float64Array } {
  let t = weightTables.get(decay);
  if (!t || t.w.length < length) {
    const n = Math.max(length, 2 * (t?.w.length ?? 0), 64);
    const w = new Float64Array(n);
    const sum = new Float64Array(n + 1);
    const sum2 = new Float64Array(n + 1);
    let weight = 1;
    let total = 0;
    let total2 = 0;
    for (let k = 0; k < n; k++, weight *= decay) {
      w[k] = weight;
      total += weight;
      total2 += weight * weight;
      sum[k + 1] = total;
      sum2[k + 1] = total2;
    }
    weightTables.set(decay, (t = { w, sum, sum2 }));
  }
  return t;
}

/** The weights ewma gives values newest first (1, decay, decay^2, ...), at least `length` of them. */
export function ewmaWeights(halfLife: number, length: number): Float64Array {
  return weightsOf(decayOf(halfLife), length).w;
}

/**
 * A series given by its non-zero values (most buckets of most series are empty): the indexes of
 * the first `count` entries of `at` (ascending) hold values[k] (same place in `values`); every
 * other index holds 0.
 */
export interface SparseCounts {
  at: ArrayLike<number>;
  values: ArrayLike<number>;
  count: number;
}

/** A series' non-zero values as SparseCounts, written into `into` (grown when too short). */
export function sparseOf(values: ArrayLike<number>, into: { at: Int32Array; values: Float64Array; count: number }): typeof into {
  if (into.at.length < values.length) {
    into.at = new Int32Array(Math.max(values.length, 2 * into.at.length));
    into.values = new Float64Array(into.at.length);
  }
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === 0) continue;
    into.at[count] = i;
    into.values[count++] = v;
  }
  into.count = count;
  return into;
}
const denseScratch = { at: new Int32Array(0), values: new Float64Array(0), count: 0 };

/** No range left out. */
const NONE: readonly BucketRange[] = [];

/**
 * ewma over values[from..end) leaving out the values at indexes in `skip` (ascending, disjoint
 * [from, to) ranges): each value kept has the weight its place gives it, as in ewma, and the
 * figures are those of the kept values alone.
 */
export function ewmaSkipping(values: ArrayLike<number>, halfLife: number, from: number, end: number, skip: readonly BucketRange[]): EwmaFigures {
  return ewmaSparse(sparseOf(values, denseScratch), halfLife, from, end, skip);
}

/**
 * ewmaSkipping's figures, to the last digit, from a series' non-zero values (zeros add nothing
 * to the weighted sums of values and of squares, so only those are read, newest first): the
 * weights' sums come from the table of running sums, a kept range at a time.
 */
export function ewmaSparse(series: SparseCounts, halfLife: number, from: number, end: number, skip: readonly BucketRange[] = NONE): EwmaFigures {
  if (end <= from) return { mean: 0, variance: 0, weight: 0, effective: 0 };
  const { w, sum, sum2 } = weightsOf(decayOf(halfLife), end - from);
  let sw = 0;
  let sw2 = 0;
  if (skip.length === 0) {
    sw = sum[end - from]!;
    sw2 = sum2[end - from]!;
  } else {
    // The kept ranges' weights, newest first.
    const kept = keptRanges(from, end, skip);
    for (let k = kept.length - 1; k >= 0; k--) {
      const { from: lower, to: upper } = kept[k]!;
      sw += sum[end - lower]! - sum[end - upper]!;
      sw2 += sum2[end - lower]! - sum2[end - upper]!;
    }
  }
  if (sw === 0) return { mean: 0, variance: 0, weight: 0, effective: 0 };
  let sx = 0;
  let sxx = 0;
  const { at, values } = series;
  let j = series.count - 1;
  let r = skip.length - 1;
  while (j >= 0 && at[j]! >= end) j--;
  for (; j >= 0 && at[j]! >= from; j--) {
    const i = at[j]!;
    while (r >= 0 && skip[r]!.from > i) r--;
    if (r >= 0 && i < skip[r]!.to) continue;
    const x = values[j]!;
    const wi = w[end - 1 - i]!;
    sx += wi * x;
    sxx += wi * x * x;
  }
  const mean = sx / sw;
  return { mean, variance: varianceOf(sxx / sw, mean), weight: sw, effective: (sw * sw) / sw2 };
}

/** Indexes from (inclusive) to `to` (exclusive). */
export interface BucketRange {
  from: number;
  to: number;
}

/** The ranges of [from, end) outside `skip` (ascending, disjoint ranges, anywhere), oldest first. */
export function keptRanges(from: number, end: number, skip: readonly BucketRange[]): BucketRange[] {
  const kept: BucketRange[] = [];
  let lower = from;
  for (const r of skip) {
    if (lower >= end) break;
    const upper = Math.min(end, r.from);
    if (upper > lower) kept.push({ from: lower, to: upper });
    lower = Math.max(lower, r.to);
  }
  if (end > lower) kept.push({ from: lower, to: end });
  return kept;
}

/**
 * A dense series' sums over ranges, each value weighted as ewma weighs it in a range ending at
 * `end` (1 for the value before `end`, decay for the one before it, ...), and plain: for a
 * scope's traffic, which every series of the scope needs over the same few ranges in a tick.
 * Each end's running sums are computed once, on first use.
 */
export class WeightedSums {
  private readonly decay: number;
  private readonly byEnd = new Map<number, Float64Array>();
  private plainSums: Float64Array | undefined;

  constructor(
    readonly values: ArrayLike<number>,
    halfLife: number,
  ) {
    this.decay = decayOf(halfLife);
  }

  /** The sum of values[i] x decay^(end - 1 - i) over i in [from, to) (from <= to <= end). */
  weighted(end: number, from: number, to: number): number {
    let c = this.byEnd.get(end);
    if (!c) {
      // c[k]: the weighted sum of the k values before end, newest first (ewma's order).
      const { w } = weightsOf(this.decay, end);
      c = new Float64Array(end + 1);
      let total = 0;
      for (let k = 0; k < end; k++) c[k + 1] = total += w[k]! * this.values[end - 1 - k]!;
      this.byEnd.set(end, c);
    }
    return c[end - from]! - c[end - to]!;
  }

  /** The plain sum of values[from..to). */
  plain(from: number, to: number): number {
    if (!this.plainSums) {
      const p = (this.plainSums = new Float64Array(this.values.length + 1));
      for (let i = 0; i < this.values.length; i++) p[i + 1] = p[i]! + this.values[i]!;
    }
    return this.plainSums[to]! - this.plainSums[from]!;
  }
}

/**
 * P(Z >= z) for a standard normal Z: erfc by its Chebyshev-fitted continued exponent
 * (Numerical Recipes' erfcc, relative error below 1.2e-7 everywhere).
 */
export function normalUpperTail(z: number): number {
  const x = z / Math.SQRT2;
  const ax = Math.abs(x);
  const t = 1 / (1 + 0.5 * ax);
  const poly =
    -ax * ax -
    1.26551223 +
    t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const erfc = t * Math.exp(poly);
  return (x >= 0 ? erfc : 2 - erfc) / 2;
}
