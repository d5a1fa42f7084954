import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryAlertStore } from '../../src/alerts/memory-alert-store.js';
import { RedisDeliveryQueue } from '../../src/alerts/redis-delivery-queue.js';
import { WebhookDelivery } from '../../src/alerts/webhook-delivery.js';
import { buildApi } from '../../src/api/app.js';
import { ApiKeyring } from '../../src/api/auth.js';
import { MemoryAuditLog } from '../../src/audit/audit-log.js';
import { hashKey } from '../../src/config/api-keys.js';
import { resolveWebhooks } from '../../src/config/load.js';
import { pipelineSchema } from '../../src/config/pipeline-schema.js';
import { ManualClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/logger.js';
import { makeAlert } from '../_util/alerts.js';
import { testTopics } from '../_util/fixtures.js';
import { createTestRedis, deleteKeys, uniqueId } from '../_util/services.js';
import { startReceiver, type Receiver } from '../_util/webhook-receiver.js';

const T0 = Date.UTC(2026, 2, 1, 12);
const SECRET = 'whsec-routes-0123456789abcdef';
const ADMIN_KEY = 'admin-key-for-delivery-routes-0123';
const ANALYST_KEY = 'analyst-key-for-delivery-routes-012';
const keys = new ApiKeyring([
  { name: 'ops', role: 'admin', sha256: hashKey(ADMIN_KEY) },
  { name: 'ana', role: 'analyst', sha256: hashKey(ANALYST_KEY) },
]);
/** fetch with the admin key. */
const call = (url: string, init: RequestInit = {}, key = ADMIN_KEY) => fetch(url, { ...init, headers: { authorization: `Bearer ${key}` } });

interface DeadBody {
  deliveries: { id: string; webhook: string; alert_id: string; attempts: number; last_error: string; dead_at: string; idempotency_key: string }[];
  next_cursor: string | null;
}

/** The dead-letter routes over real HTTP, with the queue in a real Redis. */
describe('GET /v1/deliveries/dead and POST /v1/deliveries/dead/:id/replay', () => {
  const redis = createTestRedis();
  const prefix = uniqueId('dr');
  const clock = new ManualClock(T0);
  let receiver: Receiver;
  let delivery: WebhookDelivery;
  let app: FastifyInstance;
  let base: string;
  const alerts = [0, 1, 2].map((i) => makeAlert({ openedMs: T0 + i, series: `self-harm|region=R${i}` }));

  beforeAll(async () => {
    receiver = await startReceiver(() => 500);
    const pipeline = pipelineSchema.parse({ id: 'high-harm', alerts: { webhooks: [{ id: 'down', url: receiver.url, secret: { env: 'S' }, maxAttempts: 1 }] } });
    const { routes } = resolveWebhooks(pipeline, '.', { S: SECRET }, testTopics);
    delivery = new WebhookDelivery({ queue: new RedisDeliveryQueue(redis, prefix), routes, clock, logger: silentLogger });
    for (const alert of alerts) await delivery.publish('alerts', { type: 'opened', alert });
    await delivery.flushed();
    while ((await delivery.runDue()) > 0);
    app = buildApi({ alerts: new MemoryAlertStore(), audit: new MemoryAuditLog(clock), keys, checks: {}, mode: 'service', logger: silentLogger, deliveries: { deliveries: delivery } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address() as { port: number };
    base = `http://127.0.0.1:${addr.port}`;
  });

  afterAll(async () => {
    await app?.close();
    await delivery?.close();
    await receiver?.close();
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  it('lists dead letters page by page, without the URL or the secret', async () => {
    const first = await call(`${base}/v1/deliveries/dead?limit=2`);
    expect(first.status).toBe(200);
    const page1 = (await first.json()) as DeadBody;
    expect(page1.deliveries).toHaveLength(2);
    expect(page1.deliveries[0]).toMatchObject({ webhook: 'down', attempts: 1, last_error: 'HTTP 500 (after 1 attempts)', dead_at: new Date(T0).toISOString() });
    const page2 = (await (await call(`${base}/v1/deliveries/dead?limit=2&cursor=${page1.next_cursor}`)).json()) as DeadBody;
    expect(page2.next_cursor).toBeNull();
    expect([...page1.deliveries, ...page2.deliveries].map((d) => d.alert_id).sort()).toEqual(alerts.map((a) => a.id).sort());
    const raw = JSON.stringify([page1, page2]);
    expect(raw).not.toContain(receiver.url);
    expect(raw).not.toContain(SECRET);
  });

  it('replays one dead letter, which is then delivered once the receiver works', async () => {
    const { deliveries } = (await (await call(`${base}/v1/deliveries/dead`)).json()) as DeadBody;
    const target = deliveries[0]!;
    receiver.respond = () => 200;
    const res = await call(`${base}/v1/deliveries/dead/${target.id}/replay`, { method: 'POST' });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ delivery: { id: target.id, attempts: 0, dead_at: null } });
    while ((await delivery.runDue()) > 0);
    const delivered = receiver.received.filter((r) => r.headers['idempotency-key'] === target.idempotency_key);
    expect(delivered.map((r) => r.headers['x-surgewatch-attempt'])).toEqual(['1', '1']); // the failed one, then the replay
    const after = (await (await call(`${base}/v1/deliveries/dead`)).json()) as DeadBody;
    expect(after.deliveries.map((d) => d.id)).not.toContain(target.id);
    expect(after.deliveries).toHaveLength(2);

    const again = await call(`${base}/v1/deliveries/dead/${target.id}/replay`, { method: 'POST' });
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual({ error: { code: 'NOT_FOUND', message: `no dead letter ${target.id}` } });
  });

  it('is for admins only: no key 401, an analyst 403, and nothing replayed', async () => {
    const before = ((await (await call(`${base}/v1/deliveries/dead`)).json()) as DeadBody).deliveries;
    expect((await fetch(`${base}/v1/deliveries/dead`)).status).toBe(401);
    expect((await call(`${base}/v1/deliveries/dead`, {}, ANALYST_KEY)).status).toBe(403);
    const res = await call(`${base}/v1/deliveries/dead/${before[0]!.id}/replay`, { method: 'POST' }, ANALYST_KEY);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    expect(((await (await call(`${base}/v1/deliveries/dead`)).json()) as DeadBody).deliveries).toEqual(before);
  });

  it('refuses bad ids, limits and cursors with a 400 and changes nothing', async () => {
    for (const [method, path] of [
      ['POST', '/v1/deliveries/dead/..%2F..%2Fetc/replay'],
      ['POST', '/v1/deliveries/dead/al_0123/replay'],
      ['GET', '/v1/deliveries/dead?limit=0'],
      ['GET', '/v1/deliveries/dead?limit=abc'],
      ['GET', '/v1/deliveries/dead?cursor=not-a-cursor'],
      ['GET', '/v1/deliveries/dead?unknown=1'],
    ] as const) {
      const res = await call(`${base}${path}`, { method });
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('VALIDATION');
    }
    expect(((await (await call(`${base}/v1/deliveries/dead`)).json()) as DeadBody).deliveries).toHaveLength(2);
  });
});
