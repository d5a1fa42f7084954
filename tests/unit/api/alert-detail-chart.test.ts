import { describe, expect, it } from 'vitest';
import { MemoryAlertStore } from '../../../src/alerts/memory-alert-store.js';
import { buildAlertDetail } from '../../../src/api/alert-detail.js';
import { MemoryWindowStore } from '../../../src/windows/memory-window-store.js';
import type { CountedSignal } from '../../../src/windows/window-store.js';
import { makeAlert } from '../../_util/alerts.js';
import { testRuntime } from '../../_util/fixtures.js';

/**
 * The alert's chart draws what the detector expected: while an incident is open, its period is
 * left out of the baselines of its scopes, so the band does not climb with the surge it alerted on.
 */
describe('the alert detail chart during an incident', () => {
  const BUCKET = 10_000;
  const NOW = Date.UTC(2026, 10, 21, 12, 0, 0);
  const SURGE_FROM = NOW - 12 * 60_000;
  const rt = testRuntime({
    id: 'chart',
    windows: { bucketSec: 10, currentSec: 60, baselineSec: 1800, baselineGapSec: 0, retentionSec: 7200, dimensions: ['region'] },
    detect: { tickSec: 5, minCount: 5, minRatio: 2, zThreshold: 3, minAuthors: 0, openAfterTicks: 1, minBaselineCoverage: 0.3, longWindowsSec: [], halfLifeSec: 900, relativeToTraffic: false },
  });

  async function detail(withIncident: boolean) {
    const windows = new MemoryWindowStore();
    const signals: CountedSignal[] = [];
    let id = 0;
    // Two a bucket for two hours, then twelve a bucket for the last 12 minutes.
    for (let t = NOW - 2 * 3_600_000; t <= NOW; t += BUCKET) {
      const n = t >= SURGE_FROM ? 12 : 2;
      for (let k = 0; k < n; k++) signals.push({ id: `s${id++}`, bucketMs: t, series: ['self-harm'], terms: [] });
    }
    await windows.applyBatch({ pipeline: 'chart', layout: rt.layout, position: null, signals, totals: {} });
    const alerts = new MemoryAlertStore();
    const alert = makeAlert({ pipeline: 'chart', series: 'self-harm', openedMs: SURGE_FROM + 60_000, updatedMs: NOW + BUCKET });
    if (withIncident) expect(await alerts.save(alert, 'opened', 300)).toBe(true);
    const d = await buildAlertDetail({ alerts, windows, pipelines: [rt.config] }, alert, rt.config, 1, NOW + 1);
    return d.series.at(-1)!;
  }

  it('keeps the expected band at the level before the surge while the alert is open', async () => {
    const last = await detail(true);
    expect(last.observed).toBe(12);
    expect(last.expected).toBeCloseTo(2, 1);
    expect(last.upper).toBeLessThan(12);
  });

  it('learns the surge into the band when no incident was alerted (what the detector then does too)', async () => {
    const last = await detail(false);
    expect(last.observed).toBe(12);
    expect(last.expected).toBeGreaterThan(4);
  });
});
