import { describe, expect, it } from 'vitest';
import { MemoryAlertStore } from '../../../src/alerts/memory-alert-store.js';
import type { Decision } from '../../../src/detect/detector.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { MemoryLease } from '../../../src/windows/lease.js';
import { MemoryWindowStore } from '../../../src/windows/memory-window-store.js';
import type { CountedSignal } from '../../../src/windows/window-store.js';
import { DetectionTicker } from '../../../src/worker/detection-ticker.js';
import { testRuntime } from '../../_util/fixtures.js';

/**
 * A topic-wide rise spread thin over many regions: no region stands out, the topic's total does.
 * Corrected with the topics' totals apart (fdrFamilies: totals-apart), it alerts; with every series of the tick
 * in one family, the fifty regional series raise the bar above it.
 */
describe('false-discovery families in the detection tick', () => {
  const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);
  const BUCKET = 10_000;
  const REGIONS = 50;
  const runtime = (fdrFamilies: 'totals-apart' | 'one') =>
    testRuntime({
      id: 'families',
      windows: { bucketSec: 10, currentSec: 30, baselineSec: 600, baselineGapSec: 0, retentionSec: 3600, dimensions: ['region'] },
      detect: { tickSec: 5, minCount: 4, minRatio: 1.5, zThreshold: 2, minAuthors: 0, openAfterTicks: 1, longWindowsSec: [], relativeToTraffic: false, tiers: {}, fdrFamilies },
    });

  async function run(fdrFamilies: 'totals-apart' | 'one') {
    const rt = runtime(fdrFamilies);
    const windows = new MemoryWindowStore();
    const signals: CountedSignal[] = [];
    let id = 0;
    const hit = (bucketMs: number, region: number): CountedSignal => ({ id: `s${id++}`, bucketMs, series: ['self-harm', `self-harm|region=R${region}`], terms: [] });
    // An hour of 3 hits a bucket, each in another region; then 30 s at 7 a bucket.
    for (let k = 0; k < 360; k++) for (let j = 0; j < 3; j++) signals.push(hit(T0 - (360 - k) * BUCKET, (3 * k + j) % REGIONS));
    for (let k = 0; k < 3; k++) for (let j = 0; j < 7; j++) signals.push(hit(T0 + k * BUCKET, (7 * k + j) % REGIONS));
    await windows.applyBatch({ pipeline: 'families', layout: rt.layout, position: null, signals, totals: {} });
    const now = T0 + 3 * BUCKET - 1;
    const clock = new ManualClock(now);
    const lease = new MemoryLease(clock);
    const alerts = new MemoryAlertStore({ fenceCheck: lease.holds });
    let decided: readonly { series: string; decision: Decision }[] = [];
    const ticker = new DetectionTicker({ runtimes: [rt], windows, alerts, lease, clock, logger: silentLogger, onDecisions: (_p, _n, d) => (decided = d) });
    expect((await ticker.tickPipeline(rt, now)).ran).toBe(true);
    await ticker.close();
    const total = decided.find((d) => d.series === 'self-harm')!.decision;
    return { opened: alerts.events.filter((e) => e.type === 'opened').map((e) => e.alert.series), total, regional: decided.filter((d) => d.series !== 'self-harm') };
  }

  it("alerts on the topic's total when the totals are corrected apart, not when one family holds every series", async () => {
    const apart = await run('totals-apart');
    expect(apart.opened).toEqual(['self-harm']);
    expect(apart.total).toMatchObject({ significant: true, observed: 21 });
    expect(apart.total.q).toBeLessThanOrEqual(0.01);
    // The 21 regions the rise fell in (one signal each) were decided on, and none stands out.
    expect(apart.regional).toHaveLength(21);
    expect(apart.regional.filter((d) => d.decision.significant)).toEqual([]);

    const pooled = await run('one');
    expect(pooled.opened).toEqual([]);
    // The same figures, past every guard, but no discovery among 51 series.
    expect(pooled.total).toMatchObject({ significant: false, reason: 'not_significant', observed: 21, p: apart.total.p });
    expect(pooled.total.q).toBeGreaterThan(0.01);
  });
});
