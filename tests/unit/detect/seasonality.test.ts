import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/alerts/alert.js';
import { seasonalFactor } from '../../../src/detect/seasonality.js';
import type { CountedSignal } from '../../../src/windows/window-store.js';
import { createRng } from '../../../src/worker/sample-stream.js';
import { memoryTicker, testRuntime } from '../../_util/fixtures.js';

const HOUR = 3_600_000;
const DAY0 = Date.UTC(2026, 9, 5); // a Monday, 00:00 UTC
/** Per hour of day: quiet until 20:00, then eight times busier until midnight. */
const perHour = (h: number) => (h >= 20 ? 960 : 120);

describe('seasonalFactor', () => {
  const week = Array.from({ length: 7 * 24 }, (_, i) => perHour(i % 24));

  it('is the usual level of the current hour over the baseline hour', () => {
    const f = seasonalFactor(week, DAY0, 'hour-of-day', DAY0 + 7 * 24 * HOUR + 20 * HOUR + 5 * 60_000, DAY0 + 7 * 24 * HOUR + 19.5 * HOUR);
    // 8x, shrunk a little towards the mean by the one pseudo-day.
    expect(f).toBeGreaterThan(6);
    expect(f).toBeLessThanOrEqual(8);
    expect(seasonalFactor(week, DAY0, 'hour-of-day', DAY0 + 7 * 24 * HOUR + 10 * HOUR, DAY0 + 7 * 24 * HOUR + 9.5 * HOUR)).toBeCloseTo(1, 6);
  });

  it('is 1 without enough history, without data, or when off', () => {
    expect(seasonalFactor(week.slice(0, 48), DAY0, 'hour-of-day', DAY0 + 48 * HOUR + 20 * HOUR, DAY0 + 48 * HOUR + 19 * HOUR)).toBe(1);
    expect(seasonalFactor(new Array(7 * 24).fill(0), DAY0, 'hour-of-day', DAY0 + 20 * HOUR, DAY0 + 19 * HOUR)).toBe(1);
    expect(seasonalFactor(week, DAY0, 'none', DAY0 + 20 * HOUR, DAY0 + 19 * HOUR)).toBe(1);
    // A weekly profile needs two weeks.
    expect(seasonalFactor(week, DAY0, 'hour-of-week', DAY0 + 7 * 24 * HOUR + 20 * HOUR, DAY0 + 7 * 24 * HOUR + 19 * HOUR)).toBe(1);
  });
});

describe('detection with a daily rhythm', () => {
  /** Seven days of the rhythm, then day 8 up to 20:07, with `extraPerMin` more signals per minute from 20:02. */
  async function run(seasonality: 'none' | 'hour-of-day', extraPerMin: number): Promise<Alert[]> {
    const runtime = testRuntime({ topics: ['self-harm'], windows: { dimensions: [] }, detect: { seasonality, minAuthors: 0 } });
    const rng = createRng(11);
    const signals: CountedSignal[] = [];
    const bucket = (ms: number) => Math.floor(ms / 10_000) * 10_000;
    const end = DAY0 + 7 * 24 * HOUR + 20 * HOUR + 7 * 60_000; // day 8, 20:07
    const { ticker, windows, openedAlerts } = memoryTicker(runtime, end);
    for (let t = DAY0; t < end; t += 60_000) {
      const h = Math.floor(t / HOUR) % 24;
      let n = perHour(h) / 60;
      if (t >= DAY0 + 7 * 24 * HOUR + 20 * HOUR + 2 * 60_000) n += extraPerMin;
      // Poisson-ish: the fractional part decides one more signal.
      const count = Math.floor(n) + (rng() < n - Math.floor(n) ? 1 : 0);
      for (let i = 0; i < count; i++) signals.push({ id: `s${signals.length}`, bucketMs: bucket(t + Math.floor(rng() * 60_000)), series: ['self-harm'], terms: ['kill myself'] });
    }
    for (let i = 0; i < signals.length; i += 5000) {
      await windows.applyBatch({ pipeline: runtime.config.id, layout: runtime.layout, position: null, signals: signals.slice(i, i + 5000), totals: {} });
    }
    for (let tick = 0; tick < 8; tick++) await ticker.tick(end - 8 * 5000 + tick * 5000);
    return openedAlerts();
  }

  it('without seasonality, the usual evening rise looks like a surge', async () => {
    expect((await run('none', 0)).map((a) => a.series)).toEqual(['self-harm']);
  });

  it('with hour-of-day seasonality, the usual evening rise raises nothing', async () => {
    expect(await run('hour-of-day', 0)).toEqual([]);
  });

  it('with hour-of-day seasonality, a real surge on top of the evening level still alerts, and says by how much it expected more', async () => {
    const [alert] = await run('hour-of-day', 64); // 5x the evening level
    expect(alert).toMatchObject({ series: 'self-harm' });
    expect(alert!.baseline.seasonal_factor).toBeGreaterThan(6);
  });
});
