import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryAlertStore } from '../../../src/alerts/memory-alert-store.js';
import { buildApi, type ReadinessCheck } from '../../../src/api/app.js';
import { ApiKeyring } from '../../../src/api/auth.js';
import { MemoryAuditLog } from '../../../src/audit/audit-log.js';
import { hashKey } from '../../../src/config/api-keys.js';
import { systemClock } from '../../../src/shared/clock.js';
import { counter, createMetricsRegistry, gauge, readMetric } from '../../../src/shared/metrics.js';
import { SurgewatchError } from '../../../src/shared/errors.js';
import type { FastifyInstance } from 'fastify';

const KEY = 'viewer-key-Tq8wLm3xPz6vRn1s';
const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

/** The API with one viewer key, the given readiness checks and a context registry with consumer lag per partition. */
async function system(checks: Record<string, ReadinessCheck>, lags: number[] = []) {
  const registry = createMetricsRegistry();
  readMetric(registry, { type: 'gauge', name: 'surgewatch_consumer_lag', help: 'lag', labelNames: ['partition'], read: () => lags.map((lag, i) => [{ partition: String(i) }, lag]) });
  const app = buildApi({
    alerts: new MemoryAlertStore(),
    audit: new MemoryAuditLog(systemClock),
    keys: new ApiKeyring([{ name: 'dash', role: 'viewer', sha256: hashKey(KEY) }]),
    checks,
    mode: 'service',
    logger: pino({ level: 'silent' }),
    metricRegistries: [registry],
  });
  apps.push(app);
  const res = await app.inject({ url: '/v1/system', headers: { authorization: `Bearer ${KEY}` } });
  expect(res.statusCode).toBe(200);
  return res.json() as { signals_per_sec: number | null; consumer_lag: number | null; dead_lettered: number; model: { status: string; detail: string }; last_tick_at: string | null };
}

describe('GET /v1/system', () => {
  it('adds up lag over partitions and dead letters over reasons, and gives the last tick of any pipeline', async () => {
    // The same metrics the stages record into (declaring again returns the process's metric).
    const dead = counter({ name: 'surgewatch_dead_letters_total', help: 'x', labelNames: ['pipeline', 'reason'] });
    const tick = gauge({ name: 'surgewatch_last_tick_timestamp_seconds', help: 'x', labelNames: ['pipeline'] });
    dead.reset();
    tick.reset();
    dead.inc({ pipeline: 'a', reason: 'invalid' }, 3);
    dead.inc({ pipeline: 'b', reason: 'not_json' }, 2);
    tick.set({ pipeline: 'a' }, Date.UTC(2026, 10, 21, 12, 0, 0) / 1000);
    tick.set({ pipeline: 'b' }, Date.UTC(2026, 10, 21, 12, 0, 5) / 1000);
    const s = await system({}, [4, 0, 7]);
    expect(s.consumer_lag).toBe(11);
    expect(s.dead_lettered).toBe(5);
    expect(s.last_tick_at).toBe('2026-11-21T12:00:05.000Z');
  });

  it('says "not known here" (null) for lag and ticks in a process without consumers or ticks', async () => {
    gauge({ name: 'surgewatch_last_tick_timestamp_seconds', help: 'x', labelNames: ['pipeline'] }).reset();
    const s = await system({});
    expect(s.consumer_lag).toBeNull();
    expect(s.last_tick_at).toBeNull();
    expect(s.signals_per_sec).toBeNull(); // one sample so far: no rate yet
  });

  it('reports the model as the semantic readiness check sees it', async () => {
    expect((await system({ semantic: async () => undefined })).model).toEqual({ status: 'ok', detail: 'embedding model loaded' });
    expect((await system({ semantic: async () => ({ degraded: 'high-harm: model not loaded yet' }) })).model).toEqual({ status: 'degraded', detail: 'high-harm: model not loaded yet' });
    const failing = await system({ semantic: async () => Promise.reject(new SurgewatchError('MODEL_UNAVAILABLE', 'no model files')) });
    expect(failing.model.status).toBe('degraded');
    expect(failing.model.detail).toContain('no model files');
    expect((await system({})).model.status).toBe('ok');
  });
});
