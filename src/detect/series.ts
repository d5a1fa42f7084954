/**
 * A detector for one plain series of values (counts or metrics exported from another system),
 * row by row: each value against a robust baseline of the rows before it. Pure.
 *
 * Baseline: the median and the median absolute deviation (MAD) of the last `baseline` learned
 * rows, so that a few outliers neither move the level nor widen the spread. A row more than 6
 * robust deviations out is learned clipped to that edge (an outlier is not learned), unless the
 * series stays out for `shiftRows` rows: then it is a level shift, and the new level is learned
 * as it is. For counts (whole numbers), the spread is never below Poisson's (overdispersion
 * widens it, through the MAD). With a `period` (opt-in: on the NAB corpus it gains on the
 * artificial and traffic series and loses more on the AWS and known-cause ones), the expected
 * value is the median of the same row of the last 7 seasons plus the recent offset from it,
 * wherever that fits the recent rows much better than the plain median.
 *
 * Tests per row, each a robust z:
 *   - the row: z = (value - median) / (1.4826 MAD);
 *   - runs: the mean of the last k rows' z (each clipped at +-6, so that one outlier does not make
 *     a run) times sqrt(k), for each k of `runs`: a slow ramp or a small lasting shift, which no
 *     single row shows, adds up there (the likelihood-ratio test of a mean shifted over the last
 *     k rows, CUSUM-like).
 * `both` tests drops as well as rises. Real series are heavy-tailed, drift and their rows are not
 * independent, so a nominal p alone alerts on every recurring spike: a test alerts only when its
 * z reaches `zAlert` AND it goes beyond everything it did over the last `memory` rows (the row:
 * further from expected, in the series' units, than any row; a run: a larger run z than any).
 * What the series did in its recent past (by default 14 baselines: two weeks of 5-minute rows)
 * is not news. An alert opens the first such row of an
 * episode; the episode lasts until `refractory` rows pass without any such row.
 *
 * A row's explanation: `expected` (the baseline median, or the seasonal expectation), `ratio`, `z` (the row's robust z), `p`
 * (the smallest p of its tests, nominal, Bonferroni over the tests), `rows` (1 when the row
 * itself is the strongest evidence, k for a run of k rows) and `score`, 0.5 where the strongest
 * test just reaches both its threshold and its recent extreme.
 */
import { normalUpperTail } from './stats.js';

export interface SeriesDetectorOptions {
  /** Rows of history each row is tested against. */
  baseline: number;
  /** Rows of history needed before anything is flagged. */
  minHistory: number;
  /** `up`: rises only (surges); `both`: rises and drops. */
  direction: 'up' | 'both';
  /** Robust z at which a test alerts (the row's z, or a run's mean z times sqrt(rows)). */
  zAlert: number;
  /** Quiet rows (no test alerting) that end an episode: until then, it does not alert again. */
  refractory: number;
  /** Rows of memory: a test alerts only beyond everything it did over this many rows before (0: off). */
  memory: number;
  /** Rows out of range after which the new level is learned (a level shift). */
  shiftRows: number;
  /** Run lengths (rows) of the run tests, for ramps and small lasting shifts; [] for none. */
  runs: readonly number[];
  /**
   * Rows in a season (e.g. 288: a day of 5-minute rows), 0 for none. With one, the expected value
   * is the median of the same row of the last 7 seasons (at least 3), plus the recent median
   * offset from it, wherever that fits the recent rows much better than the plain median does.
   */
  period?: number;
}

export interface SeriesRow {
  expected: number;
  /** value / expected (expected floored at 1e-9). */
  ratio: number;
  /** The row's robust z. */
  z: number;
  /** The smallest p of the row's tests (nominal, Bonferroni over the tests). */
  p: number;
  /**
   * 0..1, r / (1 + r) with r the strongest test's reach: the smaller of its z over `zAlert` and its
   * size over its extreme of the last `memory` rows. 0.5 where a test just alerts; ranks rows.
   */
  score: number;
  alert: boolean;
  /** Rows of the test that scored highest: 1 for the row itself, k for a run of k rows. */
  rows: number;
}

const MAD_TO_SD = 1.4826;
/** Half of sqrt(pi / 2): the mean absolute deviation counts for half a normal's. */
const MEAN_DEV_TO_SD = 0.6267;
/** Values within this many robust deviations are learned as they are. */
const LEARN_Z = 6;
/** A row's z counts at most this much in a run's mean. */
const RUN_CLIP = 6;

/** The last `size` values, kept sorted too, for their median and MAD. */
class RollingWindow {
  private readonly ring: number[] = [];
  private head = 0;
  private readonly sorted: number[] = [];
  constructor(private readonly size: number) {}

  get length(): number {
    return this.sorted.length;
  }

  push(x: number): void {
    if (this.ring.length < this.size) this.ring.push(x);
    else {
      const old = this.ring[this.head]!;
      this.ring[this.head] = x;
      this.head = (this.head + 1) % this.size;
      this.sorted.splice(this.lowerBound(old), 1);
    }
    this.sorted.splice(this.lowerBound(x), 0, x);
  }

  private lowerBound(x: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  median(): number {
    const s = this.sorted;
    const n = s.length;
    return n === 0 ? 0 : n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
  }

  /** The median and the mean of |x - m|; the median walks the sorted values outward from m. */
  deviations(m: number): { mad: number; mean: number } {
    const s = this.sorted;
    const n = s.length;
    if (n === 0) return { mad: 0, mean: 0 };
    let total = 0;
    for (const x of s) total += Math.abs(x - m);
    let left = this.lowerBound(m) - 1;
    let right = left + 1;
    const lowRank = n % 2 === 1 ? (n - 1) / 2 : n / 2 - 1;
    const highRank = n % 2 === 1 ? lowRank : lowRank + 1;
    let low = 0;
    let d = 0;
    for (let i = 0; i <= highRank; i++) {
      const dl = left >= 0 ? m - s[left]! : Infinity;
      const dr = right < n ? s[right]! - m : Infinity;
      if (dl <= dr) {
        d = dl;
        left--;
      } else {
        d = dr;
        right++;
      }
      if (i === lowRank) low = d;
    }
    return { mad: (low + d) / 2, mean: total / n };
  }
}

/** The largest of the last `size` values pushed (a monotone queue); 0 when empty. */
class RollingMax {
  private values: number[] = [];
  private at: number[] = [];
  private start = 0;
  private n = 0;
  constructor(private readonly size: number) {}

  push(x: number): void {
    while (this.values.length > this.start && this.values[this.values.length - 1]! <= x) {
      this.values.pop();
      this.at.pop();
    }
    this.values.push(x);
    this.at.push(this.n++);
    while (this.at[this.start]! <= this.n - 1 - this.size) this.start++;
    if (this.start > 1024) {
      this.values = this.values.slice(this.start);
      this.at = this.at.slice(this.start);
      this.start = 0;
    }
  }

  max(): number {
    return this.values.length > this.start ? this.values[this.start]! : 0;
  }
}

/** The median of a few values (sorts them). */
function medianOf(xs: number[]): number {
  xs.sort((a, b) => a - b);
  const n = xs.length;
  return n % 2 === 1 ? xs[(n - 1) / 2]! : (xs[n / 2 - 1]! + xs[n / 2]!) / 2;
}

/** Seasons the seasonal expectation looks back over, and the fewest it needs. */
const SEASONS = 7;
const MIN_SEASONS = 3;
/** The seasonal expectation is used where its residuals' spread is below this share of the plain one's. */
const SEASONAL_GAIN = 0.6;

/**
 * The seasonal expectation: the median of the same row over the last seasons, and the residuals
 * of the learned rows from it and from the plain median, to judge which fits the series.
 */
function createSeason(period: number, baseline: number) {
  const learned: number[] = [];
  const residuals = new RollingWindow(baseline);
  const plainResiduals = new RollingWindow(baseline);
  let same = NaN;
  const spread = (w: RollingWindow, m: number) => {
    const d = w.deviations(m);
    return d.mad + 0.5 * d.mean;
  };
  return {
    /** The seasonal level and deviations for the next row, where they fit the recent rows better than the plain median. */
    expect(): { level: number; dev: { mad: number; mean: number } } | undefined {
      same = NaN;
      if (learned.length < MIN_SEASONS * period) return undefined;
      const xs: number[] = [];
      for (let s = 1; s <= SEASONS && s * period <= learned.length; s++) xs.push(learned[learned.length - s * period]!);
      same = medianOf(xs);
      if (residuals.length < baseline / 2) return undefined;
      const offset = residuals.median();
      if (spread(residuals, offset) >= SEASONAL_GAIN * spread(plainResiduals, plainResiduals.median())) return undefined;
      return { level: same + offset, dev: residuals.deviations(offset) };
    },
    learn(value: number, plainLevel: number): void {
      if (!Number.isNaN(same)) {
        residuals.push(value - same);
        plainResiduals.push(value - plainLevel);
      }
      learned.push(value);
      if (learned.length > SEASONS * period) learned.shift();
    },
  };
}

/** One test's statistic, tracked for its recent extremes in each direction. */
interface Test {
  rows: number;
  up: RollingMax;
  down: RollingMax;
}

export function createSeriesDetector(opts: SeriesDetectorOptions) {
  const history = new RollingWindow(opts.baseline);
  const newTest = (rows: number): Test => ({ rows, up: new RollingMax(opts.memory), down: new RollingMax(opts.memory) });
  const rowTest = newTest(1);
  const runs = opts.runs.map((k) => ({ ...newTest(k), recent: [] as number[], sum: 0 }));
  const tests = 1 + runs.length;
  const sides = opts.direction === 'both' ? 2 : 1;
  let integers = true;
  let outside = 0;
  let quiet = Infinity;
  const season = opts.period ? createSeason(opts.period, opts.baseline) : undefined;

  /**
   * How far a test goes beyond its threshold (its z against zAlert) and beyond its recent
   * extreme (its size, in the series' units, against the largest of the last `memory` rows, in
   * the same direction): the smaller of the two ratios; at least 1 where the test alerts.
   */
  const reach = (t: Test, z: number, size: number): number => {
    const tested = opts.direction === 'both' ? Math.abs(z) : z;
    const testedSize = opts.direction === 'both' ? Math.abs(size) : size;
    if (tested <= 0 || testedSize <= 0 || Math.sign(z) !== Math.sign(size)) return 0;
    const extreme = opts.memory > 0 ? (size >= 0 ? t.up : t.down).max() : 0;
    // Strictly beyond the extreme: an equal value is what the series already did.
    return Math.min(tested / opts.zAlert, extreme > 0 ? testedSize / (extreme * (1 + 1e-9)) : Infinity);
  };
  const remember = (t: Test, size: number) => {
    if (opts.memory === 0) return;
    t.up.push(Math.max(0, size));
    t.down.push(Math.max(0, -size));
  };

  return {
    push(value: number): SeriesRow {
      if (!Number.isInteger(value)) integers = false;
      const plainLevel = history.median();
      const seasonal = season?.expect();
      const level = seasonal ? seasonal.level : plainLevel;
      const dev = seasonal ? seasonal.dev : history.deviations(level);
      // A mostly flat history has no MAD: its mean deviation, or a small share of the level, stands in.
      let sd = Math.max(MAD_TO_SD * dev.mad, MEAN_DEV_TO_SD * dev.mean, 1e-3 * Math.abs(level), 1e-9);
      if (integers) sd = Math.max(sd, Math.sqrt(Math.max(level, 1)));
      const z = (value - level) / sd;
      const ready = history.length >= opts.minHistory;

      let best = 0;
      let bestRows = 1;
      let strongest = opts.direction === 'both' ? Math.abs(z) : z;
      if (ready) {
        best = reach(rowTest, z, value - level);
        remember(rowTest, value - level);
        const clipped = Math.max(-RUN_CLIP, Math.min(RUN_CLIP, z));
        for (const run of runs) {
          run.recent.push(clipped);
          run.sum += clipped;
          if (run.recent.length > run.rows) run.sum -= run.recent.shift()!;
          if (run.recent.length < run.rows) continue;
          const runZ = (run.sum / run.rows) * Math.sqrt(run.rows);
          const r = reach(run, runZ, runZ);
          if (r > best) {
            best = r;
            bestRows = run.rows;
          }
          strongest = Math.max(strongest, opts.direction === 'both' ? Math.abs(runZ) : runZ);
          remember(run, runZ);
        }
      }
      const p = Math.min(1, tests * sides * normalUpperTail(strongest));
      const score = best / (1 + best);
      // One alert per episode: a new one needs `refractory` rows without any test alerting.
      quiet++;
      const high = ready && best >= 1;
      const alert = high && quiet > opts.refractory;
      if (high) quiet = 0;

      // Outliers are learned clipped; a shift that lasts `shiftRows` rows is learned as it is.
      const out = Math.abs(z) > LEARN_Z;
      outside = out ? outside + 1 : 0;
      const learned = !out || outside > opts.shiftRows || !ready ? value : level + Math.sign(z) * LEARN_Z * sd;
      history.push(learned);
      season?.learn(learned, plainLevel);
      return { expected: level, ratio: value / Math.max(level, 1e-9), z, p, score, alert, rows: bestRows };
    },
  };
}
