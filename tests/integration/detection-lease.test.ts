import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { RedisAlertStore } from '../../src/alerts/redis-alert-store.js';
import { ManualClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/logger.js';
import { leaseKey } from '../../src/windows/keys.js';
import { MemoryAlertStore } from '../../src/alerts/memory-alert-store.js';
import type { Decision } from '../../src/detect/detector.js';
import { MemoryLease, RedisLease, type Lease } from '../../src/windows/lease.js';
import { RedisWindowStore } from '../../src/windows/redis-window-store.js';
import { RedisStreakStore } from '../../src/windows/streak-store.js';
import type { CountedSignal, WindowStore } from '../../src/windows/window-store.js';
import { DetectionTicker } from '../../src/worker/detection-ticker.js';
import type { PipelineRuntime } from '../../src/worker/pipeline-runtime.js';
import { testRuntime, watchingCounts, withoutHeldSeries } from '../_util/fixtures.js';
import { createTestRedis, deleteKeys, uniqueId } from '../_util/services.js';

/**
 * Two detection tickers (two worker processes) over one real Redis: one runs at a time, a slow
 * tick keeps its lease, a holder cut off cannot write once the lease moved, and the lease moves
 * when its holder dies, with no alert duplicated or lost.
 */
describe('the detection lease across tickers on Redis', () => {
  const redis = createTestRedis();
  const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);
  /** tickSec 1: the lease lasts its 5 s minimum. */
  const LEASE_MS = 5000;
  let prefix: string;
  let rt: PipelineRuntime;
  let windows: RedisWindowStore;
  let alerts: RedisAlertStore;
  const tickers: DetectionTicker[] = [];

  beforeEach(async () => {
    prefix = uniqueId('lease');
    rt = testRuntime({
      id: 'lease',
      topics: ['self-harm'],
      windows: { bucketSec: 10, currentSec: 60, baselineSec: 600, baselineGapSec: 0, retentionSec: 3600, dimensions: [] },
      detect: { tickSec: 1, minCount: 5, minRatio: 2, zThreshold: 2, minAuthors: 0, openAfterTicks: 1, minBaselineCoverage: 0, resolveAfterTicks: 1000 },
    });
    windows = new RedisWindowStore(redis, prefix);
    alerts = new RedisAlertStore(redis, prefix, ['lease'], new Map([['lease', 86_400]]));
    // Ten minutes of one signal a minute, then 40 in the last minute.
    const signals: CountedSignal[] = [];
    for (let t = T0 - 11 * 60_000; t < T0 - 60_000; t += 60_000) signals.push({ id: `b${t}`, bucketMs: t, series: ['self-harm'], terms: ['kill myself'] });
    for (let i = 0; i < 40; i++) signals.push({ id: `s${i}`, bucketMs: Math.floor((T0 - 50_000 + i * 1000) / 10_000) * 10_000, series: ['self-harm'], terms: ['kill myself'] });
    await windows.applyBatch({ pipeline: 'lease', layout: rt.layout, position: null, signals, totals: {} });
  });
  afterEach(async () => {
    for (const t of tickers.splice(0)) await t.close();
    await deleteKeys(redis, prefix);
  });
  afterAll(async () => {
    await redis.quit();
  });

  /** A ticker as one worker process builds it, over the shared Redis. */
  function ticker(opts: { windows?: WindowStore; lease?: Lease; runtime?: PipelineRuntime; onDecisions?: (decisions: readonly { series: string; decision: Decision }[]) => void } = {}): DetectionTicker {
    const t = new DetectionTicker({
      ...(opts.onDecisions && { onDecisions: (_pipeline: string, _nowMs: number, d: readonly { series: string; decision: Decision }[]) => opts.onDecisions!(d) }),
      runtimes: [opts.runtime ?? rt],
      windows: opts.windows ?? windows,
      alerts,
      lease: opts.lease ?? new RedisLease(redis, (name) => leaseKey(prefix, name)),
      streaks: new RedisStreakStore(redis, prefix),
      clock: new ManualClock(T0),
      logger: silentLogger,
    });
    tickers.push(t);
    return t;
  }

  /** The window store, with the tick's first read (what changed) held up for stallMs while `stall.on` (a slow Redis, a GC pause). */
  function stalling(stallMs: number, stall = { on: true }): WindowStore {
    return new Proxy(windows, {
      get(target, prop, receiver) {
        if (prop === 'changedSeries') {
          return async (...args: Parameters<WindowStore['changedSeries']>) => {
            if (stall.on) await new Promise((r) => setTimeout(r, stallMs));
            return target.changedSeries(...args);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  async function stored(): Promise<Alert[]> {
    return (await alerts.list({ limit: 100 })).alerts;
  }
  async function outbox(): Promise<string[]> {
    return (await alerts.pendingEvents('lease', 100)).map((e) => `${e.type} ${e.alert.id} ${e.alert.updated_at}`);
  }

  it('keeps the lease through a tick longer than the lease: the other ticker does not run meanwhile, and one alert opens', async () => {
    const slow = ticker({ windows: stalling(LEASE_MS + 2500) });
    const other = ticker();
    const slowTick = slow.tickPipeline(rt, T0);
    let done = false;
    void slowTick.finally(() => (done = true));
    const otherRan: boolean[] = [];
    for (let i = 1; !done; i++) {
      await new Promise((r) => setTimeout(r, 500));
      if (!done) otherRan.push((await other.tickPipeline(rt, T0 + i * 500)).ran);
    }
    const report = await slowTick;
    expect(report.ran).toBe(true);
    expect(report.events.map((e) => e.type)).toEqual(['opened']);
    expect(otherRan.length).toBeGreaterThan(LEASE_MS / 500);
    expect(otherRan.filter(Boolean)).toEqual([]);
    expect((await stored()).map((a) => a.series)).toEqual(['self-harm']);
    expect(await outbox()).toHaveLength(1);
  });

  it('refuses the writes of a holder cut off past its lease once another ticker took over', async () => {
    // A opens the alert, then stalls in its next tick without reaching Redis to renew (paused).
    const realLease = new RedisLease(redis, (name) => leaseKey(prefix, name));
    const cutOff: Lease = { acquire: (...a) => realLease.acquire(...a), renew: async () => false, release: (...a) => realLease.release(...a) };
    const stall = { on: false };
    const a = ticker({ windows: stalling(LEASE_MS + 2000, stall), lease: cutOff });
    const b = ticker();
    const first = await a.tickPipeline(rt, T0);
    expect(first.events.map((e) => e.type)).toEqual(['opened']);
    const opened = first.events[0]!.alert;

    stall.on = true;
    const stalled = a.tickPipeline(rt, T0 + 1000);
    await new Promise((r) => setTimeout(r, LEASE_MS + 500));
    const taken = await b.tickPipeline(rt, T0 + 2000);
    expect(taken.ran).toBe(true);
    expect(taken.events.map((e) => [e.type, e.alert.id])).toEqual([['updated', opened.id]]);
    const late = await stalled;
    expect(late.events).toEqual([]);

    // One alert, B's version of it, and exactly the events of the ticker that held the lease.
    const all = await stored();
    expect(all.map((x) => x.id)).toEqual([opened.id]);
    expect(all[0]!.updated_at).toBe(new Date(T0 + 2000).toISOString());
    expect(await outbox()).toEqual([`opened ${opened.id} ${opened.updated_at}`, `updated ${opened.id} ${new Date(T0 + 2000).toISOString()}`]);
  });

  it('hands the significant-tick streak over with the lease: the next holder opens when the streak is due, not from scratch', async () => {
    const patient = testRuntime({ ...rt.config, detect: { ...rt.config.detect, openAfterTicks: 4, strongP: 1e-300 } });
    const first = ticker({ runtime: patient });
    const next = ticker({ runtime: patient });
    // Two significant ticks, then the holder stops and releases the lease (a rolling restart).
    expect((await first.tickPipeline(patient, T0)).events).toEqual([]);
    expect((await first.tickPipeline(patient, T0 + 1000)).events).toEqual([]);
    await first.close();
    const third = await next.tickPipeline(patient, T0 + 2000);
    expect(third.ran).toBe(true);
    expect(third.events).toEqual([]);
    // The fourth significant tick in a row, the second of the new holder: the alert opens.
    expect((await next.tickPipeline(patient, T0 + 3000)).events.map((e) => e.type)).toEqual(['opened']);
  });

  it('moves to another ticker when its holder dies, which carries on the same alert without opening another', async () => {
    const dead = ticker();
    const heir = ticker();
    const first = await dead.tickPipeline(rt, T0);
    expect(first.events.map((e) => e.type)).toEqual(['opened']);
    // The holder stops ticking without releasing (SIGKILL); the heir tries every second.
    const tries: boolean[] = [];
    let report;
    for (let i = 1; ; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      report = await heir.tickPipeline(rt, T0 + i * 1000);
      tries.push(report.ran);
      if (report.ran || i > 10) break;
    }
    expect(tries.at(-1)).toBe(true);
    expect(tries.length).toBeGreaterThanOrEqual(LEASE_MS / 1000 - 1);
    expect(report.events.map((e) => [e.type, e.alert.id])).toEqual([['updated', first.events[0]!.alert.id]]);
    // A retried tick of the heir (same time) changes nothing and opens nothing.
    const events = await outbox();
    await heir.tickPipeline(rt, T0 + tries.length * 1000);
    expect((await stored()).map((a) => a.id)).toEqual([first.events[0]!.alert.id]);
    expect((await outbox()).filter((e) => e.startsWith('opened'))).toHaveLength(1);
    expect(events).toHaveLength(2);
  });

  it('decides as a ticker that reads everything afresh, while counts arrive, buckets close and the lease moves between two tickers', async () => {
    const scoped = testRuntime({ ...rt.config, windows: { ...rt.config.windows, dimensions: ['region'] }, detect: { ...rt.config.detect, relativeToTraffic: true } });
    const series = (region: string) => ['self-harm', `self-harm|region=${region}`, '~traffic', `~traffic|region=${region}`];
    const signals = (n: number, at: number, region: string, id: string): CountedSignal[] =>
      Array.from({ length: n }, (_, i) => ({ id: `${id}-${i}`, bucketMs: Math.floor(at / 10_000) * 10_000, series: series(region), terms: ['kill myself'] }));
    /** Signals that hit nothing: only the scope's traffic counts them. */
    const benign = (n: number, at: number, region: string, id: string) => signals(n, at, region, id).map((x) => ({ ...x, series: ['~traffic', `~traffic|region=${region}`], countOnly: true }));
    const history = [...signals(3, T0 - 300_000, 'GB', 'gb'), ...signals(2, T0 - 200_000, 'FR', 'fr'), ...benign(40, T0 - 400_000, 'GB', 'gb-benign')];
    await windows.applyBatch({ pipeline: 'lease', layout: scoped.layout, position: null, signals: history, totals: {} });

    let seen: readonly { series: string; decision: Decision }[] = [];
    const real = new RedisLease(redis, (name) => leaseKey(prefix, name));
    const workers = [0, 1].map(() => {
      // The worker's lease, which it can be made to give up (a rolling restart).
      let owner = '';
      const lease: Lease = { acquire: (name, o, ttlMs) => real.acquire(name, (owner = o), ttlMs), renew: (...a) => real.renew(...a), release: (...a) => real.release(...a) };
      return { ticker: ticker({ runtime: scoped, lease, onDecisions: (d) => (seen = d) }), handOver: () => real.release('tick:lease', owner) };
    });
    /** What a ticker that keeps nothing between ticks decides (its own lease, alerts and streaks). */
    const afresh = async (nowMs: number) => {
      let fresh: readonly { series: string; decision: Decision }[] = [];
      const clock = new ManualClock(nowMs);
      const lease = new MemoryLease(clock);
      const t = new DetectionTicker({
        runtimes: [scoped],
        windows: withoutHeldSeries(windows),
        alerts: new MemoryAlertStore({ fenceCheck: lease.holds }),
        lease,
        clock,
        logger: silentLogger,
        onDecisions: (_p, _n, d) => (fresh = d),
      });
      await t.tickPipeline(scoped, nowMs);
      await t.close();
      return fresh;
    };

    // Ticks every 5 s (two per bucket); each step: new counts (now, late, of the scope's traffic
    // only, in another scope) or none.
    const steps: { holder: 0 | 1; batch?: CountedSignal[] }[] = [
      { holder: 0 },
      { holder: 0, batch: signals(6, T0 + 5000, 'GB', 'a') },
      { holder: 0 },
      { holder: 1, batch: signals(4, T0 - 40_000, 'FR', 'late') },
      { holder: 0, batch: signals(9, T0 + 20_000, 'GB', 'b') },
      { holder: 0, batch: benign(30, T0 + 25_000, 'GB', 'benign') },
      { holder: 0, batch: signals(1, T0 + 30_000, 'DE', 'c') },
      { holder: 0 },
    ];
    const significant = new Set<string>();
    let holder = 0;
    for (const [k, step] of steps.entries()) {
      const nowMs = T0 + k * 5000;
      if (step.batch) await windows.applyBatch({ pipeline: 'lease', layout: scoped.layout, position: null, signals: step.batch, totals: {} });
      if (step.holder !== holder) {
        // The holder lets the lease go and the other worker takes over (each keeps what it had).
        await workers[holder]!.handOver();
        holder = step.holder;
      }
      expect((await workers[holder]!.ticker.tickPipeline(scoped, nowMs)).ran).toBe(true);
      expect(seen).toEqual(await afresh(nowMs));
      for (const d of seen) if (d.decision.significant) significant.add(d.series);
    }
    expect(significant).toEqual(new Set(['self-harm', 'self-harm|region=GB']));

    // A third worker process starts after the last tick, while one more batch is counted: it
    // begins from what the holders stored and reads the counts of that batch's series only.
    await windows.applyBatch({ pipeline: 'lease', layout: scoped.layout, position: null, signals: signals(2, T0 + 38_000, 'FR', 'd'), totals: {} });
    await workers[holder]!.handOver();
    const { store: watched, reads } = watchingCounts(windows);
    const started = ticker({ runtime: scoped, windows: watched, onDecisions: (d) => (seen = d) });
    const nowMs = T0 + steps.length * 5000;
    expect((await started.tickPipeline(scoped, nowMs)).ran).toBe(true);
    expect(new Set(reads)).toEqual(new Set(series('FR')));
    expect(seen).toEqual(await afresh(nowMs));
  });
});
