import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../src/alerts/alert.js';
import { MemoryDeliveryQueue, type DeliveryQueue } from '../../src/alerts/delivery-queue.js';
import { RedisDeliveryQueue } from '../../src/alerts/redis-delivery-queue.js';
import { WebhookDelivery, type WebhookDeliveryOptions } from '../../src/alerts/webhook-delivery.js';
import { verifySignature } from '../../src/alerts/webhook-signature.js';
import { resolveWebhooks } from '../../src/config/load.js';
import { pipelineSchema } from '../../src/config/pipeline-schema.js';
import type { WebhookRoute } from '../../src/config/webhook-schema.js';
import { ManualClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/logger.js';
import { createMetricsRegistry } from '../../src/shared/metrics.js';
import { makeAlert } from '../_util/alerts.js';
import { testTopics } from '../_util/fixtures.js';
import { createTestRedis, deleteKeys, REDIS_URL, uniqueId, waitFor } from '../_util/services.js';
import { startReceiver, type Receiver, type ReceivedRequest } from '../_util/webhook-receiver.js';

const T0 = Date.UTC(2026, 2, 1, 12);
const SECRET = 'whsec-test-0123456789abcdef';
const OTHER_SECRET = 'whsec-other-0123456789abcdef';
const BACKOFF = { initialMs: 1000, maxMs: 8000 };

/** Routes as the config loader makes them, for pipeline high-harm. */
function routes(hooks: Record<string, unknown>[]): WebhookRoute[] {
  const pipeline = pipelineSchema.parse({ id: 'high-harm', alerts: { webhooks: hooks } });
  const { routes: out, problems } = resolveWebhooks(pipeline, '.', { HOOK_SECRET: SECRET, OTHER_SECRET }, testTopics);
  expect(problems).toEqual([]);
  return out;
}

const hook = (id: string, url: string, extra: Record<string, unknown> = {}) => ({ id, url, secret: { env: 'HOOK_SECRET' }, backoff: BACKOFF, maxAttempts: 4, ...extra });

function event(type: AlertEvent['type'], spec: Parameters<typeof makeAlert>[0] = {}): AlertEvent {
  return { type, alert: makeAlert({ openedMs: T0, ...spec }) };
}

/** The signature a receiver computes on its own from the raw body and the secret. */
function expectSigned(r: ReceivedRequest, secret: string, nowMs: number): void {
  const header = String(r.headers['x-surgewatch-signature']);
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  expect(m, header).not.toBeNull();
  expect(m![2]).toBe(createHmac('sha256', secret).update(`${m![1]}.${r.body}`).digest('hex'));
  expect(verifySignature(secret, header, r.body, Math.floor(nowMs / 1000))).toEqual({ ok: true, timestampSec: Number(m![1]) });
}

interface QueueKind {
  name: string;
  create(): DeliveryQueue;
  cleanUp(): Promise<void>;
  close(): Promise<void>;
}

const redis: Redis = createTestRedis();
let prefix = uniqueId('wh');
const kinds: QueueKind[] = [
  { name: 'in memory', create: () => new MemoryDeliveryQueue(), cleanUp: async () => {}, close: async () => {} },
  {
    name: 'in Redis',
    create: () => new RedisDeliveryQueue(redis, (prefix = uniqueId('wh'))),
    cleanUp: () => deleteKeys(redis, prefix),
    close: async () => void (await redis.quit()),
  },
];

afterAll(async () => {
  for (const k of kinds) await k.close();
});

describe.each(kinds)('webhook delivery, queue $name', (kind) => {
  let clock: ManualClock;
  let queue: DeliveryQueue;
  const receivers: Receiver[] = [];
  const deliveries: WebhookDelivery[] = [];

  beforeEach(() => {
    clock = new ManualClock(T0);
    queue = kind.create();
  });
  afterEach(async () => {
    for (const d of deliveries.splice(0)) await d.close();
    for (const r of receivers.splice(0)) await r.close();
    await queue.close();
    await kind.cleanUp();
  });

  async function receiver(respond?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
    const r = await startReceiver(respond);
    receivers.push(r);
    return r;
  }

  function delivery(hookRoutes: WebhookRoute[], extra: Partial<WebhookDeliveryOptions> = {}): WebhookDelivery {
    const d = new WebhookDelivery({ queue, routes: hookRoutes, clock, logger: silentLogger, random: () => 1, ...extra });
    deliveries.push(d);
    return d;
  }

  /** Sends what is due; while deliveries wait for a retry, moves the clock to their due time. */
  async function drain(d: WebhookDelivery, rounds = 50): Promise<void> {
    await d.flushed();
    for (let i = 0; i < rounds; i++) {
      if ((await d.runDue()) > 0) continue;
      if ((await queue.counts()).pending === 0) return;
      clock.advance(BACKOFF.maxMs);
    }
    throw new Error('deliveries still pending');
  }

  it('routes by topic, severity, kind and event, signs json deliveries and sends Slack messages', async () => {
    const all = await receiver();
    const critical = await receiver();
    const scams = await receiver();
    const terms = await receiver();
    const slack = await receiver();
    const d = delivery(
      routes([
        hook('all', all.url),
        hook('critical-only', critical.url, { minSeverity: 'critical' }),
        hook('scams', scams.url, { topics: ['scams-fraud'], secret: { env: 'OTHER_SECRET' } }),
        hook('new-terms', terms.url, { kinds: ['emerging_term'], events: ['opened'] }),
        { id: 'policy-slack', url: slack.url, format: 'slack', minSeverity: 'high', events: ['opened', 'resolved'] },
      ]),
    );
    const events = [
      event('opened', { series: 'self-harm|region=US-TX', severity: 'critical' }),
      event('updated', { series: 'self-harm|region=US-TX', severity: 'critical', updatedMs: T0 + 60_000 }),
      event('opened', { series: 'scams-fraud', severity: 'medium' }),
      event('opened', { series: 'self-harm|term=#unalive', kind: 'emerging_term', severity: 'high' }),
    ];
    for (const e of events) await d.publish('alerts', e);
    await drain(d);

    const alertIds = (r: Receiver) => r.received.map((x) => (JSON.parse(x.body) as { alert: { id: string } }).alert.id).sort();
    expect(alertIds(all)).toEqual(events.map((e) => e.alert.id).sort());
    expect(alertIds(critical)).toEqual([events[0]!.alert.id, events[1]!.alert.id].sort());
    expect(alertIds(scams)).toEqual([events[2]!.alert.id]);
    expect(alertIds(terms)).toEqual([events[3]!.alert.id]);
    expect(slack.received).toHaveLength(2); // the critical opening and the high emerging term; not the update, not the medium one

    for (const r of all.received) expectSigned(r, SECRET, clock.now());
    expectSigned(scams.received[0]!, OTHER_SECRET, clock.now());
    const first = all.received.find((r) => r.headers['x-surgewatch-event'] === 'opened' && r.body.includes(events[0]!.alert.id))!;
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.headers['idempotency-key']).toBe(`${events[0]!.alert.id}.opened.${Date.parse(events[0]!.alert.updated_at)}`);
    expect(first.headers['x-surgewatch-event']).toBe('opened');
    expect(JSON.parse(first.body)).toEqual({ id: first.headers['idempotency-key'], event: 'opened', alert: events[0]!.alert });
    // One key per alert version: the update has its own; the same version has the same key everywhere.
    expect(new Set(all.received.map((r) => r.headers['idempotency-key'])).size).toBe(4);
    expect(critical.received.map((r) => r.headers['idempotency-key'])).toContain(first.headers['idempotency-key']);

    const message = JSON.parse(slack.received.find((r) => r.body.includes('region=US-TX'))!.body) as { text: string; blocks: { type: string; text?: { text: string }; fields?: { text: string }[] }[] };
    expect(message.text).toContain('[CRITICAL] self-harm: new alert');
    expect(message.text).toContain(events[0]!.alert.summary);
    expect(message.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'context']);
    expect(message.blocks[2]!.fields!.map((f) => f.text)).toContain('*Where*\nregion=US-TX');
    expect(slack.received[0]!.headers['x-surgewatch-signature']).toBeUndefined();
    expect(d.stats).toMatchObject({ delivered: 10, failedAttempts: 0, deadLettered: 0 });
  });

  it('retries a failing receiver with backoff and delivers once it recovers, once', async () => {
    const r = await receiver((_req, n) => (n <= 2 ? 503 : 200));
    const d = delivery(routes([hook('flaky', r.url)]));
    const e = event('opened');
    await d.publish('alerts', e);
    await d.flushed();
    expect(await d.runDue()).toBe(1);
    expect(r.received).toHaveLength(1);
    // Not due again before its backoff has passed.
    expect(await d.runDue()).toBe(0);
    clock.advance(BACKOFF.initialMs);
    expect(await d.runDue()).toBe(1);
    clock.advance(2 * BACKOFF.initialMs);
    expect(await d.runDue()).toBe(1);
    await drain(d);

    expect(r.received.map((x) => x.headers['x-surgewatch-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(r.received.map((x) => x.headers['idempotency-key'])).size).toBe(1);
    expect(new Set(r.received.map((x) => x.body)).size).toBe(1);
    expect(d.stats).toMatchObject({ delivered: 1, failedAttempts: 2, deadLettered: 0 });
    const registry = createMetricsRegistry();
    d.registerMetrics(registry);
    const text = await registry.metrics();
    expect(text).toContain('surgewatch_webhook_deliveries_total{outcome="delivered"} 1\n');
    expect(text).toContain('surgewatch_webhook_failed_attempts_total 2\n');
    expect(await queue.counts()).toEqual({ pending: 0, dead: 0 });
    // The same alert version published again (a re-sent event) is not delivered again.
    await d.publish('alerts', e);
    await drain(d);
    expect(r.received).toHaveLength(3);
  });

  it('makes a dead letter after maxAttempts failures, which an admin sees and replays once the receiver is fixed', async () => {
    const r = await receiver(() => 500);
    const d = delivery(routes([hook('down', r.url, { maxAttempts: 3 })]));
    const e = event('opened');
    await d.publish('alerts', e);
    await drain(d);
    expect(r.received).toHaveLength(3);
    const dead = await d.listDead({ limit: 10 });
    expect(dead.deliveries).toEqual([
      expect.objectContaining({ webhook: 'down', alertId: e.alert.id, event: 'opened', attempts: 3, lastError: 'HTTP 500 (after 3 attempts)', deadAtMs: clock.now() }),
    ]);

    r.respond = () => 200;
    expect(await d.replay(dead.deliveries[0]!.id)).toMatchObject({ id: dead.deliveries[0]!.id, attempts: 0 });
    expect(await d.replay(dead.deliveries[0]!.id)).toBeUndefined();
    await drain(d);
    expect(r.received).toHaveLength(4);
    expect(r.received[3]!.body).toBe(r.received[0]!.body);
    expect(r.received[3]!.headers['idempotency-key']).toBe(r.received[0]!.headers['idempotency-key']);
    expectSigned(r.received[3]!, SECRET, clock.now());
    expect((await d.listDead({ limit: 10 })).deliveries).toEqual([]);
    expect(d.stats).toMatchObject({ delivered: 1, deadLettered: 1, replayed: 1 });
  });

  it('does not retry a refusal that cannot change by itself (410), nor a redirect', async () => {
    const gone = await receiver(() => 410);
    const moved = await receiver(() => 301);
    const d = delivery(routes([hook('gone', gone.url), hook('moved', moved.url)]));
    await d.publish('alerts', event('opened'));
    await drain(d);
    expect([gone.received.length, moved.received.length]).toEqual([1, 1]);
    const errors = (await d.listDead({ limit: 10 })).deliveries.map((x) => `${x.webhook}: ${x.lastError}`).sort();
    expect(errors).toEqual(['gone: HTTP 410 (not retried)', 'moved: HTTP 301 (not retried)']);
  });

  it('gives up an attempt at its timeout, and on a receiver that cannot be reached, without naming its address', async () => {
    const hanging = await receiver(() => 'hang');
    const closed = await receiver();
    await closed.close();
    const d = delivery(routes([hook('hangs', hanging.url, { timeoutMs: 200, maxAttempts: 1 }), hook('closed', closed.url, { maxAttempts: 1 })]));
    await d.publish('alerts', event('opened'));
    await drain(d);
    const errors = Object.fromEntries((await d.listDead({ limit: 10 })).deliveries.map((x) => [x.webhook, x.lastError]));
    expect(errors).toEqual({ hangs: 'timeout after 200 ms (after 1 attempts)', closed: 'network error: ECONNREFUSED (after 1 attempts)' });
    expect(hanging.received).toHaveLength(1);
  });

  it('dead-letters a delivery whose webhook is no longer configured', async () => {
    const r = await receiver();
    await delivery(routes([hook('old', r.url)])).publish('alerts', event('opened'));
    await deliveries[0]!.flushed();
    const later = delivery(routes([hook('new', r.url)]));
    await drain(later);
    expect(r.received).toEqual([]);
    expect((await later.listDead({ limit: 10 })).deliveries).toEqual([expect.objectContaining({ webhook: 'old', lastError: 'webhook "old" of pipeline "high-harm" is not configured' })]);
  });
});

describe('webhook delivery never holds detection back', () => {
  it('accepts events at once while the queue does not answer, keeping a bounded buffer', async () => {
    const stuck: DeliveryQueue = Object.assign(new MemoryDeliveryQueue(), { enqueue: () => new Promise<never>(() => {}) });
    const d = new WebhookDelivery({ queue: stuck, routes: routes([hook('a', 'http://127.0.0.1:9/hook')]), clock: new ManualClock(T0), logger: silentLogger, maxBuffered: 3 });
    for (let i = 0; i < 6; i++) await d.publish('alerts', event('opened', { openedMs: T0 + i }));
    // The first is being queued (and never answered); of the five behind it, three are kept.
    expect(d.stats.dropped).toBe(2);
  });
});

describe('webhook delivery in Redis, across restarts and workers', () => {
  const redis2: Redis = createTestRedis();
  const redis3: Redis = createTestRedis();
  let p = uniqueId('wh');
  const closers: (() => Promise<unknown>)[] = [];
  beforeEach(() => {
    p = uniqueId('wh');
  });
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
    await deleteKeys(redis2, p);
  });
  afterAll(async () => {
    await redis2.quit();
    await redis3.quit();
  });

  it('loses nothing across a restart: pending deliveries, and ones a dead worker had claimed', async () => {
    const r = await startReceiver();
    closers.push(() => r.close());
    const clock = new ManualClock(T0);
    const hookRoutes = routes([hook('a', r.url)]);
    const events = Array.from({ length: 5 }, (_, i) => event('opened', { series: `self-harm|region=R${i}` }));

    const before = new WebhookDelivery({ queue: new RedisDeliveryQueue(redis2, p), routes: hookRoutes, clock, logger: silentLogger });
    for (const e of events) await before.publish('alerts', e);
    await before.close();
    // A worker that claims two and dies before sending them.
    const claimedByDead = await new RedisDeliveryQueue(redis3, p).claim(clock.now(), 2, 40_000);
    expect(claimedByDead).toHaveLength(2);

    const after = new WebhookDelivery({ queue: new RedisDeliveryQueue(redis3, p), routes: hookRoutes, clock, logger: silentLogger });
    closers.push(() => after.close());
    while ((await after.runDue()) > 0);
    expect(r.received).toHaveLength(3);
    clock.advance(40_000);
    while ((await after.runDue()) > 0);
    const keys = r.received.map((x) => x.headers['idempotency-key']).sort();
    expect(keys).toEqual(events.map((e) => `${e.alert.id}.opened.${T0}`).sort());
  });

  it('delivers everything once after a worker process is killed mid-request', async () => {
    // The worker sends four at a time. The receiver answers the first four requests and hangs on
    // the next four: the killed worker has some deliveries done, some claimed and in flight
    // (their timeout is a minute), the rest still queued.
    const ok = new Map<string, number>();
    const r = await startReceiver((req, n) => {
      if (n > 4 && n <= 8) return 'hang';
      const key = String(req.headers['idempotency-key']);
      ok.set(key, (ok.get(key) ?? 0) + 1);
      return 200;
    });
    closers.push(() => r.close());
    const events = 20;
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/fixtures/webhook-worker.ts'], {
      cwd: resolve('.'),
      env: { ...process.env, REDIS_URL, PREFIX: p, RECEIVER_URL: r.url, EVENTS: String(events), T0: String(T0) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    closers.push(async () => void child.kill('SIGKILL'));
    await waitFor(async () => (r.received.length >= 8 ? true : undefined), 30_000, 'the worker to hang on four requests');
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(ok.size).toBe(4);

    // A new worker sends what was queued at once, and what the dead one had claimed once its lease ran out.
    const clock = new ManualClock(Date.now());
    const after = new WebhookDelivery({ queue: new RedisDeliveryQueue(redis2, p), routes: routes([hook('a', r.url, { timeoutMs: 60_000 })]), clock, logger: silentLogger });
    closers.push(() => after.close());
    while ((await after.runDue()) > 0);
    expect(ok.size).toBe(events - 4);
    clock.advance(60_000 + 30_000);
    while ((await after.runDue()) > 0);
    expect(ok.size).toBe(events);
    expect([...ok.values()].every((n) => n === 1)).toBe(true);
    expect(await new RedisDeliveryQueue(redis2, p).counts()).toEqual({ pending: 0, dead: 0 });
  });

  it('two workers on one Redis deliver each alert version exactly once', async () => {
    const r = await startReceiver();
    closers.push(() => r.close());
    const hookRoutes = routes([hook('a', r.url)]);
    const workers = [redis2, redis3].map((client) => new WebhookDelivery({ queue: new RedisDeliveryQueue(client, p), routes: hookRoutes, clock: { now: () => Date.now() }, logger: silentLogger, pollMs: 20, concurrency: 4 }));
    for (const w of workers) {
      closers.push(() => w.close());
      w.start();
    }
    const events = Array.from({ length: 60 }, (_, i) => event('opened', { series: `self-harm|region=R${i}` }));
    // Both accept every event (as two tick holders in a row might); each version is queued once.
    for (const e of events) for (const w of workers) await w.publish('alerts', e);
    await waitFor(async () => ((await new RedisDeliveryQueue(redis2, p).counts()).pending === 0 && r.received.length >= events.length ? true : undefined), 30_000, 'every delivery');
    for (const w of workers) await w.close();
    const perKey = new Map<string, number>();
    for (const x of r.received) perKey.set(String(x.headers['idempotency-key']), (perKey.get(String(x.headers['idempotency-key'])) ?? 0) + 1);
    expect(perKey.size).toBe(events.length);
    expect([...perKey.values()].every((n) => n === 1)).toBe(true);
    expect(workers.map((w) => w.stats.delivered).reduce((a, b) => a + b)).toBe(events.length);
    expect(workers.map((w) => w.stats.duplicates).reduce((a, b) => a + b)).toBe(events.length);
  });
});
