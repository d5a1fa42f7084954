import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MemoryAlertStore } from '../../../src/alerts/memory-alert-store.js';
import type { Decision } from '../../../src/detect/detector.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { createLogger, silentLogger } from '../../../src/shared/logger.js';
import { MemoryLease, type Lease } from '../../../src/windows/lease.js';
import { MemoryWindowStore } from '../../../src/windows/memory-window-store.js';
import type { CountedSignal } from '../../../src/windows/window-store.js';
import { DetectionTicker } from '../../../src/worker/detection-ticker.js';
import { testRuntime, watchingCounts, withoutHeldSeries } from '../../_util/fixtures.js';

type Decisions = readonly { series: string; decision: Decision }[];

/**
 * The detection tick keeps each series' judgement between ticks and re-judges only what changed
 * (new counts, late counts into closed buckets, its scope's traffic, a bucket's close): every
 * tick must decide exactly as a ticker that reads everything afresh, to the last digit.
 */
describe('the detection tick, kept between ticks', () => {
  const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);
  const BUCKET = 10_000;
  const runtime = (relativeToTraffic: boolean) =>
    testRuntime({
      id: 'kept',
      windows: { bucketSec: 10, currentSec: 30, baselineSec: 300, baselineGapSec: 30, retentionSec: 3600, dimensions: ['region'] },
      detect: { tickSec: 5, minCount: 4, minRatio: 2, zThreshold: 2, minAuthors: 0, openAfterTicks: 1, minBaselineCoverage: 0.3, longWindowsSec: [60, 120], halfLifeSec: 120, relativeToTraffic },
    });
  let rt = runtime(true);
  // Counts are read from the start of the longest window's baseline: 12 + 3 + 30 buckets back.
  const RANGE_MS = (12 - 1 + 30 + 3) * BUCKET;
  const bucket = (ms: number) => Math.floor(ms / BUCKET) * BUCKET;
  let id = 0;
  /** n signals of a topic in a region at `at` (the topic as a whole, the region's series, the traffic). */
  const hits = (n: number, at: number, topic: string, region: string): CountedSignal[] =>
    Array.from({ length: n }, () => ({ id: `s${id++}`, bucketMs: bucket(at), series: [topic, `${topic}|region=${region}`, '~traffic', `~traffic|region=${region}`], terms: ['kill myself'] }));
  /** Signals that hit nothing: only the traffic counts them. */
  const benign = (n: number, at: number, region: string): CountedSignal[] =>
    Array.from({ length: n }, () => ({ id: `s${id++}`, bucketMs: bucket(at), series: ['~traffic', `~traffic|region=${region}`], terms: [], countOnly: true }));

  async function history(windows: MemoryWindowStore) {
    const signals: CountedSignal[] = [];
    // A steady background in three regions, and a series whose last data ages out during the ticks.
    for (let t = T0 - RANGE_MS; t < T0; t += BUCKET) {
      const k = (t - (T0 - RANGE_MS)) / BUCKET;
      signals.push(...benign(20 + (k % 7), t, 'GB'), ...benign(12 + (k % 5), t, 'FR'), ...benign(5, t, 'DE'));
      if (k % 3 === 0) signals.push(...hits(1 + (k % 2), t, 'self-harm', 'GB'));
      if (k % 4 === 1) signals.push(...hits(1, t, 'scams-fraud', 'FR'));
      if (k % 5 === 2) signals.push(...hits(2, t, 'self-harm', 'FR'));
    }
    // One counted only at the range's start (it leaves the live series: not read again), one
    // in the longest window for the first ticks only (tested, then no longer).
    signals.push(...hits(3, T0 - RANGE_MS + 2 * BUCKET, 'scams-fraud', 'DE'), ...hits(2, T0 - 100_000, 'scams-fraud', 'ES'));
    await windows.applyBatch({ pipeline: 'kept', layout: rt.layout, position: null, signals, totals: {} });
  }

  /**
   * What a ticker that keeps nothing between ticks decides at nowMs, from the same alerts (the
   * incidents its baselines leave out), which it cannot change.
   */
  async function afresh(windows: MemoryWindowStore, alerts: MemoryAlertStore, nowMs: number): Promise<Decisions> {
    let fresh: Decisions = [];
    const clock = new ManualClock(nowMs);
    const lease = new MemoryLease(clock);
    const readOnly = Object.assign(Object.create(alerts) as MemoryAlertStore, { save: () => Promise.resolve(false) });
    const t = new DetectionTicker({ runtimes: [rt], windows: withoutHeldSeries(windows), alerts: readOnly, lease, clock, logger: silentLogger, onDecisions: (_p, _n, d) => (fresh = d) });
    await t.tickPipeline(rt, nowMs);
    await t.close();
    return fresh;
  }

  /** The pipeline (series relative to their scope's traffic or not) with its history, at T0: its stores, clock and lease. */
  async function withHistory(relativeToTraffic: boolean) {
    rt = runtime(relativeToTraffic);
    const windows = new MemoryWindowStore();
    await history(windows);
    const clock = new ManualClock(T0);
    const lease = new MemoryLease(clock);
    const alerts = new MemoryAlertStore({ fenceCheck: lease.holds });
    return { windows, clock, lease, alerts };
  }

  /** withHistory, and a worker that held the lease and ticked once at T0 (storing what it held). */
  async function holderTicked() {
    const { windows, clock, lease, alerts } = await withHistory(true);
    const holder = new DetectionTicker({ runtimes: [rt], windows, alerts, lease, clock, logger: silentLogger });
    expect((await holder.tickPipeline(rt, T0)).ran).toBe(true);
    return { windows, clock, lease, alerts, holder };
  }

  it.each([
    ['relative to their scope\'s traffic', true],
    ['on their own', false],
  ])('decides to the last digit as a fresh ticker, through late counts into closed buckets, a surge, series ageing out and a lease handover (series %s)', async (_, relativeToTraffic) => {
    const { windows, clock, lease, alerts } = await withHistory(relativeToTraffic);
    let seen: Decisions = [];
    const owners: string[] = ['', ''];
    const workers = [0, 1].map((w) => {
      const own: Lease = { acquire: (name, o, ttlMs) => lease.acquire(name, (owners[w] = o), ttlMs), renew: (...a) => lease.renew(...a), release: (...a) => lease.release(...a) };
      return new DetectionTicker({ runtimes: [rt], windows, alerts, lease: own, clock, logger: silentLogger, onDecisions: (_p, _n, d) => (seen = d) });
    });

    // Ticks every 5 s (two per bucket), each after its batch.
    const steps: { holder: 0 | 1; batch?: CountedSignal[] }[] = [
      { holder: 0 },
      { holder: 0, batch: hits(1, T0 + 5000, 'self-harm', 'GB') },
      // Late: into a closed bucket of the current window, and into the baseline.
      { holder: 0, batch: [...hits(2, T0 - 10_000, 'self-harm', 'FR'), ...hits(1, T0 - 200_000, 'scams-fraud', 'FR')] },
      { holder: 0, batch: benign(40, T0 - 250_000, 'GB') },
      { holder: 1, batch: hits(6, T0 + 20_000, 'self-harm', 'GB') },
      { holder: 1, batch: hits(9, T0 + 25_000, 'self-harm', 'GB') },
      { holder: 1 },
      { holder: 0, batch: [...hits(8, T0 + 35_000, 'self-harm', 'GB'), ...hits(1, T0 + 35_000, 'scams-fraud', 'IT')] },
      { holder: 0, batch: benign(30, T0 + 40_000, 'FR') },
      { holder: 0 },
      { holder: 0, batch: hits(3, T0 - 300_000, 'self-harm', 'GB') },
      { holder: 0 },
    ];
    const significant = new Set<string>();
    const testedAtStart = new Set<string>();
    const testedAtEnd = new Set<string>();
    let holder = 0;
    for (const [k, step] of steps.entries()) {
      const nowMs = T0 + k * 5000;
      clock.set(nowMs);
      if (step.batch) await windows.applyBatch({ pipeline: 'kept', layout: rt.layout, position: null, signals: step.batch, totals: {} });
      if (step.holder !== holder) {
        await lease.release('tick:kept', owners[holder]!);
        holder = step.holder;
      }
      // Before the worker's tick: the alerts as the worker finds them (its tick may open one).
      const fresh = await afresh(windows, alerts, nowMs);
      expect((await workers[holder]!.tickPipeline(rt, nowMs)).ran).toBe(true);
      // The same decisions, figure for figure (JSON: the same text a replay writes).
      expect(JSON.stringify(seen)).toBe(JSON.stringify(fresh));
      // The other worker ticks too (as every process does), without the lease: it only follows.
      expect((await workers[1 - holder]!.tickPipeline(rt, nowMs)).ran).toBe(false);
      for (const d of seen) if (d.decision.significant) significant.add(d.series);
      for (const d of seen) (k === 0 ? testedAtStart : testedAtEnd).add(d.series);
      if (k < steps.length - 1) testedAtEnd.clear();
    }
    for (const w of workers) await w.close();
    expect(significant).toEqual(new Set(['self-harm', 'self-harm|region=GB']));
    // The series out of the longest window went; the one first counted during the ticks came in.
    expect(testedAtStart.has('scams-fraud|region=ES')).toBe(true);
    expect(testedAtEnd.has('scams-fraud|region=ES')).toBe(false);
    expect(testedAtStart.has('scams-fraud|region=IT')).toBe(false);
    expect(testedAtEnd.has('scams-fraud|region=IT')).toBe(true);
  });

  it('keeps a worker without the lease up to date: taking the lease over, it reads only the series counted since its last tick', async () => {
    const { windows, clock, lease, alerts } = await withHistory(true);
    /** The series whose counts each worker read from the store, tick by tick. */
    const watched = [watchingCounts(windows), watchingCounts(windows)];
    const reads = watched.map((w) => w.reads);
    const owners = ['', ''];
    let seen: Decisions = [];
    const workers = [0, 1].map((w) => {
      const own: Lease = { acquire: (name, o, ttlMs) => lease.acquire(name, (owners[w] = o), ttlMs), renew: (...a) => lease.renew(...a), release: (...a) => lease.release(...a) };
      return new DetectionTicker({ runtimes: [rt], windows: watched[w]!.store, alerts, lease: own, clock, logger: silentLogger, onDecisions: (_p, _n, d) => (seen = d) });
    });
    const tickBoth = async (nowMs: number) => {
      clock.set(nowMs);
      for (const r of reads) r.length = 0;
      const ran = [await workers[0]!.tickPipeline(rt, nowMs), await workers[1]!.tickPipeline(rt, nowMs)].map((r) => r.ran);
      return ran;
    };
    // Worker 0 holds the lease and reads every series it judges at its first tick; worker 1
    // starts from what worker 0 stored, and reads only what worker 0 did not need: the traffic
    // of a scope without a live series of a topic.
    expect(await tickBoth(T0)).toEqual([true, false]);
    expect(new Set(reads[0]).size).toBeGreaterThan(6);
    expect(reads[1]).toEqual(['~traffic|region=DE']);
    await windows.applyBatch({ pipeline: 'kept', layout: rt.layout, position: null, signals: hits(2, T0 + 5000, 'self-harm', 'FR'), totals: {} });
    expect(await tickBoth(T0 + 5000)).toEqual([true, false]);
    expect(new Set(reads[1])).toEqual(new Set(['self-harm', 'self-harm|region=FR', '~traffic', '~traffic|region=FR']));
    // Worker 0 stops; a bucket later, with new counts in one region, worker 1 takes over.
    await workers[0]!.close();
    await windows.applyBatch({ pipeline: 'kept', layout: rt.layout, position: null, signals: benign(25, T0 + 10_000, 'GB'), totals: {} });
    clock.set(T0 + 10_000);
    reads[1]!.length = 0;
    expect((await workers[1]!.tickPipeline(rt, T0 + 10_000)).ran).toBe(true);
    expect(new Set(reads[1])).toEqual(new Set(['~traffic', '~traffic|region=GB']));
    // Deciding as a ticker that reads everything afresh.
    expect(JSON.stringify(seen)).toBe(JSON.stringify(await afresh(windows, alerts, T0 + 10_000)));
    expect(seen.length).toBeGreaterThan(3);
    await workers[1]!.close();
  });

  it('starts a new process from what the holder stored: it reads the counts of the series counted since, and decides as a ticker that reads everything', async () => {
    const { windows, clock, lease, alerts, holder } = await holderTicked();
    await windows.applyBatch({ pipeline: 'kept', layout: rt.layout, position: null, signals: hits(3, T0 + 5000, 'self-harm', 'GB'), totals: {} });
    clock.set(T0 + 5000);
    expect((await holder.tickPipeline(rt, T0 + 5000)).ran).toBe(true);
    await holder.close();

    // Counted after the holder's last tick: late counts in one region, traffic in another.
    await windows.applyBatch({ pipeline: 'kept', layout: rt.layout, position: null, signals: [...hits(2, T0 - 40_000, 'scams-fraud', 'FR'), ...benign(9, T0 + 10_000, 'GB')], totals: {} });
    const { store: watched, reads } = watchingCounts(windows);
    let seen: Decisions = [];
    const started = new DetectionTicker({ runtimes: [rt], windows: watched, alerts, lease, clock, logger: silentLogger, onDecisions: (_p, _n, d) => (seen = d) });
    clock.set(T0 + 10_000);
    expect((await started.tickPipeline(rt, T0 + 10_000)).ran).toBe(true);
    expect(new Set(reads)).toEqual(new Set(['scams-fraud', 'scams-fraud|region=FR', '~traffic', '~traffic|region=FR', '~traffic|region=GB']));
    expect(JSON.stringify(seen)).toBe(JSON.stringify(await afresh(windows, alerts, T0 + 10_000)));
    expect(seen.length).toBeGreaterThan(3);
    await started.close();
  });

  it('reads at a process\'s start what its first tick needs, so that the tick itself reads no counts', async () => {
    const { windows, clock, lease, alerts, holder } = await holderTicked();
    await holder.close();
    await windows.applyBatch({ pipeline: 'kept', layout: rt.layout, position: null, signals: hits(3, T0 + 5000, 'self-harm', 'GB'), totals: {} });

    const { store: watched, reads } = watchingCounts(windows);
    let seen: Decisions = [];
    clock.set(T0 + 5000);
    const logs: { msg: string; from?: string }[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _e, done) => (chunk.toString().split('\n').filter(Boolean).forEach((l) => logs.push(JSON.parse(l) as { msg: string })), done()) });
    const started = new DetectionTicker({ runtimes: [rt], windows: watched, alerts, lease, clock, logger: createLogger('info', 'test', sink), onDecisions: (_p, _n, d) => (seen = d) });
    started.start(); // its first scheduled tick is tickSec away
    // The series counted since the holder stored its set, and the traffic of a scope the holder had no series to judge in.
    await expect.poll(() => new Set(reads)).toEqual(new Set(['self-harm', 'self-harm|region=GB', '~traffic', '~traffic|region=GB', '~traffic|region=DE']));
    // The operator is told where the state came from.
    await expect.poll(() => logs.find((l) => l.msg.startsWith('detection state read'))).toMatchObject({ msg: 'detection state read (from held series)', from: 'held series' });
    reads.length = 0;
    expect((await started.tickPipeline(rt, T0 + 5000)).ran).toBe(true);
    expect(reads).toEqual([]);
    expect(JSON.stringify(seen)).toBe(JSON.stringify(await afresh(windows, alerts, T0 + 5000)));
    await started.close();
  });
});
