import { describe, expect, it } from 'vitest';
import { seriesOptions, type DetectSeriesOptions } from '../../../src/cli/detect-series.js';
import { createSeriesDetector, type SeriesRow } from '../../../src/detect/series.js';
import { createRng } from '../../../src/shared/random.js';

/** A metric around 100 with noise of sd about 5 (not counts: no Poisson floor). */
function noisy(rows: number, seed = 3): number[] {
  const rng = createRng(seed);
  return Array.from({ length: rows }, () => 100 + (rng() + rng() + rng() - 1.5) * 10);
}

function detect(values: readonly number[], opts: DetectSeriesOptions = {}): SeriesRow[] {
  const d = createSeriesDetector(seriesOptions(opts));
  return values.map((v) => d.push(v));
}

const alerts = (rows: readonly SeriesRow[]) => rows.flatMap((r, i) => (r.alert ? [i] : []));

describe('series detector', () => {
  it('flags a slow ramp that no single row shows, through its run test, early in the ramp', () => {
    const values = noisy(1500).map((v, i) => (i >= 1000 ? v + 0.1 * (i - 1000) : v));
    const rows = detect(values);
    expect(alerts(rows.slice(0, 1000))).toEqual([]);
    const first = alerts(rows).find((i) => i >= 1000)!;
    // Flagged while the ramp is still within the rows' own noise: about 2 sd up.
    expect(first).toBeLessThan(1120);
    const why = rows[first]!;
    expect(Math.abs(why.z)).toBeLessThan(seriesOptions({}).zAlert);
    expect(why.rows).toBeGreaterThan(1);
    expect(why.p).toBeLessThanOrEqual(1e-3);
    expect(why.score).toBeGreaterThanOrEqual(0.5);
  });

  it('learns a level shift after a few rows and stops alerting, but does not learn a lone outlier', () => {
    const values = noisy(1500).map((v, i) => (i >= 1000 ? v + 60 : v));
    const rows = detect(values);
    expect(alerts(rows)).toEqual([1000]);
    // The new level is the expected one a baseline later.
    expect(rows[1400]!.expected).toBeGreaterThan(150);

    const spiky = noisy(1500).map((v, i) => (i === 1000 ? 1000 : v));
    const r = detect(spiky);
    expect(alerts(r)).toEqual([1000]);
    expect(Math.abs(r[1001]!.expected - r[999]!.expected)).toBeLessThan(2);
  });

  it('alerts once per episode: a surge that lasts hours opens one alert, at its start', () => {
    const values = noisy(1800).map((v, i) => (i >= 1000 && i < 1300 ? v + 40 : v));
    expect(alerts(detect(values, { direction: 'up' }))).toEqual([1000]);
  });

  it('with a period, expects the same hour of earlier days: a day without its rhythm alerts', () => {
    const rng = createRng(5);
    // Hourly rows with a strong daily rhythm; day 30 stays flat at the daily mean.
    const values = Array.from({ length: 24 * 40 }, (_, i) => (i >= 24 * 30 && i < 24 * 31 ? 100 : 100 + 40 * Math.sin((2 * Math.PI * i) / 24)) + (rng() - 0.5) * 6);
    const dayThirty = (i: number) => i >= 24 * 30 && i < 24 * 31;
    expect(alerts(detect(values, { baseline: 120 })).filter(dayThirty)).toEqual([]);
    const seasonal = detect(values, { baseline: 120, period: 24 });
    const flagged = alerts(seasonal).filter(dayThirty);
    expect(flagged).toHaveLength(1);
    expect(flagged[0]).toBeLessThan(24 * 30 + 8);
    // What the row was expected to be: the rhythm's value at that hour.
    const i = flagged[0]!;
    expect(Math.abs(seasonal[i]!.expected - (100 + 40 * Math.sin((2 * Math.PI * i) / 24)))).toBeLessThan(6);
  });

  it('flags drops by default, and only rises with direction up', () => {
    const values = noisy(1500).map((v, i) => (i >= 1000 && i < 1010 ? 40 : v));
    expect(alerts(detect(values))).toEqual([1000]);
    expect(detect(values)[1000]!.z).toBeLessThan(-5);
    expect(alerts(detect(values, { direction: 'up' }))).toEqual([]);
  });

  it('alerts on what the series has not done recently: a repeat of an alerted spike within memory does not alert again', () => {
    const values = noisy(2000).map((v, i) => (i === 1000 || i === 1500 ? 200 : v));
    expect(alerts(detect(values))).toEqual([1000]);
    // A larger one does; so does every spike without the memory.
    expect(alerts(detect(values.map((v, i) => (i === 1500 ? 260 : v))))).toEqual([1000, 1500]);
    expect(alerts(detect(values, { memory: 0 }))).toEqual(expect.arrayContaining([1000, 1500]));
  });

  it('scores below 0.5 on ordinary rows and at least 0.5 on the rows that alert', () => {
    const values = noisy(1500).map((v, i) => (i === 1200 ? 180 : v));
    const rows = detect(values);
    for (const r of rows) {
      expect(r.score).toBeGreaterThanOrEqual(0);
      expect(r.score).toBeLessThan(1);
      if (r.alert) expect(r.score).toBeGreaterThanOrEqual(0.5);
    }
    expect(rows[1200]!.score).toBeGreaterThan(0.6);
    expect(rows.slice(900, 1200).every((r) => r.score < 0.5)).toBe(true);
  });
});
