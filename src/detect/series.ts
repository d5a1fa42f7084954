/**
 * A detector for one plain series of values (counts or metrics exported from another system),
 * row by row: each value against a robust baseline of the rows before it. Pure.
 *
 * Baseline: the median and the median absolute deviation (MAD) of the last `baseline` rows, so
 * that a few outliers neither move the level nor widen the spread. A flagged row is learned
 * clipped to the edge of the normal range (an outlier is not learned), unless the series stays
 * out of range for half a baseline: then it is a level shift, and the new level is learned.
 * For counts (whole numbers), the spread is never below Poisson's.
 *
 * Score: the robust z = (value - median) / (1.4826 MAD), and its normal tail p; `both` tests
 * drops as well as rises. An alert opens when z (|z| for `both`) reaches `zAlert`, and not
 * again for `refractory` rows (one episode, one alert).
 */
import { normalUpperTail } from './stats.js';

export interface SeriesDetectorOptions {
  /** Rows of history each row is tested against. */
  baseline: number;
  /** Rows of history needed before anything is flagged. */
  minHistory: number;
  /** `up`: rises only (surges); `both`: rises and drops. */
  direction: 'up' | 'both';
  /** Robust z at which a row alerts. */
  zAlert: number;
  /** Rows after an alert during which the same episode does not alert again. */
  refractory: number;
}

export interface SeriesRow {
  expected: number;
  /** value / expected (expected floored at 1e-9). */
  ratio: number;
  z: number;
  p: number;
  /** 0..1, increasing with |z| (with z for `up`); what a threshold is swept over. */
  score: number;
  alert: boolean;
}

const MAD_TO_SD = 1.4826;
/** Half of sqrt(pi / 2): the mean absolute deviation counts for half a normal's. */
const MEAN_DEV_TO_SD = 0.6267;
/** Values within this many robust deviations are learned as they are. */
const LEARN_Z = 4;

function median(sorted: readonly number[]): number {
  const n = sorted.length;
  return n === 0 ? 0 : n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

export function createSeriesDetector(opts: SeriesDetectorOptions) {
  const history: number[] = [];
  let integers = true;
  let outside = 0;
  let sinceAlert = Infinity;

  return {
    push(value: number): SeriesRow {
      if (!Number.isInteger(value)) integers = false;
      const sorted = [...history].sort((a, b) => a - b);
      const level = median(sorted);
      const deviations = sorted.map((x) => Math.abs(x - level));
      const mad = median([...deviations].sort((a, b) => a - b));
      const meanDeviation = deviations.reduce((a, b) => a + b, 0) / Math.max(1, deviations.length);
      // A mostly flat history has no MAD: its mean deviation, or a small share of the level, stands in.
      let sd = Math.max(MAD_TO_SD * mad, MEAN_DEV_TO_SD * meanDeviation, 1e-3 * Math.abs(level), 1e-9);
      if (integers) sd = Math.max(sd, Math.sqrt(Math.max(level, 1)));
      const z = (value - level) / sd;
      const tested = opts.direction === 'both' ? Math.abs(z) : z;
      const p = Math.min(1, (opts.direction === 'both' ? 2 : 1) * normalUpperTail(tested));
      const ready = history.length >= opts.minHistory;
      // Log-compressed, so that very large z keep their order (a threshold sweep needs it).
      const score = ready ? 1 - 1 / (1 + Math.log1p(Math.max(0, tested) / opts.zAlert)) : 0;
      sinceAlert++;
      const high = ready && tested >= opts.zAlert;
      const alert = high && sinceAlert > opts.refractory;
      if (alert) sinceAlert = 0;

      // Outliers are learned clipped; a shift that lasts half a baseline is learned as it is.
      const out = Math.abs(z) > LEARN_Z;
      outside = out ? outside + 1 : 0;
      const learned = !out || outside > opts.baseline / 2 || !ready ? value : level + Math.sign(z) * LEARN_Z * sd;
      history.push(learned);
      if (history.length > opts.baseline) history.shift();
      return { expected: level, ratio: value / Math.max(level, 1e-9), z, p, score, alert };
    },
  };
}
