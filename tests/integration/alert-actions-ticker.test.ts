import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { RedisAlertStore } from '../../src/alerts/redis-alert-store.js';
import { buildApi } from '../../src/api/app.js';
import { ApiKeyring } from '../../src/api/auth.js';
import { RedisAuditLog } from '../../src/audit/redis-audit-log.js';
import { hashKey } from '../../src/config/api-keys.js';
import { ManualClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/logger.js';
import { leaseKey } from '../../src/windows/keys.js';
import { RedisLease } from '../../src/windows/lease.js';
import { RedisWindowStore } from '../../src/windows/redis-window-store.js';
import type { CountedSignal, WindowStore } from '../../src/windows/window-store.js';
import { DetectionTicker } from '../../src/worker/detection-ticker.js';
import type { PipelineRuntime } from '../../src/worker/pipeline-runtime.js';
import { testRuntime } from '../_util/fixtures.js';
import { createTestRedis, deleteKeys, uniqueId } from '../_util/services.js';

/**
 * People act on an alert while a detection tick is in the middle of updating it, on one real
 * Redis: the tick read the alert before the actions and saves after them. Nothing people did
 * may be lost, and a manual resolve must stay resolved.
 */
describe('alert actions racing the detection ticker on Redis', () => {
  const redis = createTestRedis();
  const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);
  const KEY = 'analyst-key-Rk2mWq8sLz5xTv1nBc7y';
  let prefix: string;
  let rt: PipelineRuntime;
  let windows: RedisWindowStore;
  let alerts: RedisAlertStore;
  let auditLog: RedisAuditLog;
  let app: FastifyInstance;
  let ticker: DetectionTicker;
  /** While set, the tick waits in its count reads (after it read the open alerts) until released. */
  let gate: { entered: () => void; release: Promise<void> } | undefined;

  beforeEach(async () => {
    prefix = uniqueId('act');
    rt = testRuntime({
      id: 'act',
      topics: ['self-harm'],
      windows: { bucketSec: 10, currentSec: 60, baselineSec: 600, baselineGapSec: 0, retentionSec: 3600, dimensions: [] },
      detect: { tickSec: 1, minCount: 5, minRatio: 2, zThreshold: 2, minAuthors: 0, openAfterTicks: 1, minBaselineCoverage: 0, resolveAfterTicks: 1000, cooldownSec: 600 },
    });
    windows = new RedisWindowStore(redis, prefix);
    alerts = new RedisAlertStore(redis, prefix, ['act'], new Map([['act', 86_400]]));
    auditLog = new RedisAuditLog(redis, prefix, { retentionDays: 1 });
    // Ten minutes of one signal a minute, then 40 in the last minute.
    const signals: CountedSignal[] = [];
    for (let t = T0 - 11 * 60_000; t < T0 - 60_000; t += 60_000) signals.push({ id: `b${t}`, bucketMs: t, series: ['self-harm'], terms: ['kill myself'] });
    for (let i = 0; i < 40; i++) signals.push({ id: `s${i}`, bucketMs: Math.floor((T0 - 50_000 + i * 1000) / 10_000) * 10_000, series: ['self-harm'], terms: ['kill myself'] });
    await windows.applyBatch({ pipeline: 'act', layout: rt.layout, position: null, signals, totals: {} });
    const gated = new Proxy(windows, {
      get(target, prop, receiver) {
        if (prop === 'changedSeries') {
          return async (...args: Parameters<WindowStore['changedSeries']>) => {
            if (gate) {
              gate.entered();
              await gate.release;
            }
            return target.changedSeries(...args);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    ticker = new DetectionTicker({ runtimes: [rt], windows: gated, alerts, lease: new RedisLease(redis, (name) => leaseKey(prefix, name)), clock: new ManualClock(T0), logger: silentLogger });
    app = buildApi({
      alerts,
      audit: auditLog,
      keys: new ApiKeyring([{ name: 'ana', role: 'analyst', sha256: hashKey(KEY) }]),
      checks: {},
      mode: 'service',
      logger: pino({ level: 'silent' }),
      alertActions: { clock: new ManualClock(T0 + 500), cooldownSecByPipeline: new Map([['act', 600]]) },
    });
  });
  afterEach(async () => {
    gate = undefined;
    await app.close();
    await ticker.close();
    await deleteKeys(redis, prefix);
  });
  afterAll(async () => {
    await redis.quit();
  });

  const post = (id: string, action: string, payload: object) => app.inject({ method: 'POST', url: `/v1/alerts/${id}/${action}`, payload, headers: { authorization: `Bearer ${KEY}` } });

  /** Runs a tick at nowMs that has read the open alerts, lets `during` act, then lets the tick finish. */
  async function tickAround(nowMs: number, during: () => Promise<void>) {
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    gate = { entered, release: new Promise<void>((r) => (release = r)) };
    const tick = ticker.tickPipeline(rt, nowMs);
    await inside;
    try {
      await during();
    } finally {
      release();
      gate = undefined;
    }
    return tick;
  }

  async function opened(): Promise<Alert> {
    const first = await ticker.tickPipeline(rt, T0);
    expect(first.events.map((e) => e.type)).toEqual(['opened']);
    return first.events[0]!.alert;
  }

  it("a tick's update keeps the acknowledgement, assignment, notes and feedback given while it ran, and so do its events", async () => {
    const alert = await opened();
    const report = await tickAround(T0 + 1000, async () => {
      for (const [action, body] of [
        ['ack', {}],
        ['assign', { assignee: 'bo' }],
        ['notes', { text: 'matches the coded-hashtag wave' }],
        ['feedback', { verdict: 'true_trend', note: null }],
      ] as const) {
        expect((await post(alert.id, action, body)).statusCode, action).toBe(200);
      }
    });
    expect(report.events.map((e) => e.type)).toEqual(['updated']);

    const stored = (await alerts.get(alert.id))!;
    expect(stored).toMatchObject({
      status: 'acknowledged',
      acknowledged_by: 'ana',
      assignee: 'bo',
      notes: [{ by: 'ana', text: 'matches the coded-hashtag wave' }],
      feedback: [{ by: 'ana', verdict: 'true_trend' }],
      significant_ticks: 2,
    });
    // What Kafka and webhooks get: every action, then the tick's update carrying them all.
    const events = await alerts.pendingEvents('act', 20);
    expect(events.map((e) => e.type)).toEqual(['opened', 'updated', 'updated', 'updated', 'updated', 'updated']);
    expect(events.at(-1)!.alert).toEqual(stored);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
    expect((await auditLog.list({ limit: 10 })).entries.map((e) => e.action)).toEqual(['alert.feedback', 'alert.note', 'alert.assign', 'alert.acknowledge']);
  });

  it('a manual resolve made while a tick ran stays resolved: the tick writes nothing, and later ticks do not reopen the series during its cooldown', async () => {
    const alert = await opened();
    const report = await tickAround(T0 + 1000, async () => {
      expect((await post(alert.id, 'resolve', { note: 'handled with the policy team' })).statusCode).toBe(200);
    });
    expect(report.events).toEqual([]);
    expect(await alerts.get(alert.id)).toMatchObject({ status: 'resolved', resolved_by: 'ana', resolved_at: new Date(T0 + 500).toISOString(), significant_ticks: 1 });
    expect((await alerts.pendingEvents('act', 20)).map((e) => e.type)).toEqual(['opened', 'resolved']);

    // The surge is still in the window (and a new bucket names a new alert): without the cooldown
    // a new alert would open.
    const next = await ticker.tickPipeline(rt, T0 + 10_000);
    expect(next.events).toEqual([]);
    expect((await alerts.list({ limit: 10 })).alerts.map((a) => [a.id, a.status])).toEqual([[alert.id, 'resolved']]);
    expect(await alerts.listOpen('act')).toEqual([]);
    expect((await post(alert.id, 'ack', {})).statusCode).toBe(409);
  });
});
