import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { loadConfig } from '../../src/config/load.js';
import { AppContext } from '../../src/context.js';
import { ManualClock } from '../../src/shared/clock.js';
import { createLogger } from '../../src/shared/logger.js';
import { verifySignature } from '../../src/alerts/webhook-signature.js';
import { startReceiver, type Receiver } from '../_util/webhook-receiver.js';
import { consumeN, createTopic, deleteTopics, produce, testKafka } from '../_util/kafka.js';
import { createTestRedis, deleteKeys, KAFKA_BROKERS, REDIS_URL, uniqueId, waitFor } from '../_util/services.js';

/**
 * The whole flow on a real Kafka and a real Redis: signals on a topic -> validated -> matched ->
 * counted -> detected on a tick -> alert in Redis, on the alerts topic and on the API.
 */
describe('end to end on Kafka and Redis', () => {
  const id = uniqueId('e2e');
  const signalsTopic = `${id}-signals`;
  const alertsTopic = `${id}-alerts`;
  const dlqTopic = `${id}-dlq`;
  const prefix = id;
  const kafka = testKafka();
  const redis = createTestRedis();
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-e2e-'));
  const now = Date.UTC(2026, 10, 21, 12, 0, 0);
  let ctx: AppContext;
  let baseUrl: string;
  let validCount = 0;
  let selfHarmUsTx = 0;
  let receiver: Receiver;
  const webhookSecret = 'e2e-webhook-secret-0123456789';
  const API_KEY = `${id}-viewer-key-0123456789`;
  const get = (url: string) => fetch(url, { headers: { authorization: `Bearer ${API_KEY}` } });

  beforeAll(async () => {
    receiver = await startReceiver();
    writeFileSync(
      join(dir, 'e2e.yaml'),
      [
        'id: e2e',
        `source: { topic: ${signalsTopic} }`,
        'topics: [self-harm, scams-fraud]',
        'windows: { bucketSec: 1, currentSec: 10, baselineSec: 120, baselineGapSec: 0, retentionSec: 600, dimensions: [region, surface] }',
        // Each scope alerts on its own (no grouping): the stream's background ends where the
        // surge starts, so the scopes' traffic drops to nothing and every scope the surge is in
        // looks alike; tests/unit/detect/grouping.test.ts covers grouping.
        'detect: { tickSec: 0.5, minCount: 10, minRatio: 3, zThreshold: 4, resolveAfterTicks: 1000, longWindowsSec: [], groupExplainShare: 0 }',
        `alerts: { kafkaTopic: ${alertsTopic}, webhooks: [{ id: e2e-hook, url: '${receiver.url}', secret: { env: E2E_WEBHOOK_SECRET }, topics: [self-harm] }] }`,
      ].join('\n'),
    );
    const config = loadConfig({
      cwd: resolve('.'),
      env: {
        KAFKA_BROKERS: KAFKA_BROKERS.join(','),
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        AUTHOR_HASH_KEY: 'test-key-0123456789',
        KAFKA_GROUP_ID: `${id}-group`,
        KAFKA_DEAD_LETTER_TOPIC: dlqTopic,
        KAFKA_SESSION_TIMEOUT_MS: '6000',
        SURGEWATCH_PIPELINES_DIR: dir,
        HTTP_HOST: '127.0.0.1',
        E2E_WEBHOOK_SECRET: webhookSecret,
        SURGEWATCH_API_KEYS: `dash:viewer:${API_KEY}`,
      },
    });
    await createTopic(kafka, signalsTopic, 3);

    // Two minutes of steady history (one self-harm signal per 2 s, spread over regions),
    // then a 10-second surge of self-harm in US-TX from 40 distinct accounts.
    const regions = ['US-TX', 'US-CA', 'GB', 'DE'];
    const messages: { key: string; value: string | Buffer }[] = [];
    let n = 0;
    for (let t = now - 130_000; t < now - 10_000; t += 500) {
      const harmful = n % 4 === 0;
      const region = regions[n % regions.length]!;
      if (harmful && region === 'US-TX') selfHarmUsTx++;
      messages.push({
        key: `k${n}`,
        value: JSON.stringify({
          id: `s${n++}`,
          ts: new Date(t).toISOString(),
          text: harmful ? 'i want to die' : 'lovely weather for a walk',
          surface: 'post',
          region,
          author: `a${n % 50}`,
        }),
      });
    }
    for (let i = 0; i < 60; i++) {
      selfHarmUsTx++;
      messages.push({
        key: `k${n}`,
        value: JSON.stringify({ id: `s${n++}`, ts: now - 9_000 + i * 150, text: 'thinking how to kill myself', surface: 'comment', region: 'us-tx', author: `surge${i % 40}` }),
      });
    }
    validCount = messages.length;
    // Malformed records, each of a different kind, in the middle of the stream.
    messages.splice(100, 0, { key: 'bad1', value: '{"id": "no-close"' });
    messages.splice(200, 0, { key: 'bad2', value: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) });
    messages.splice(300, 0, { key: 'bad3', value: JSON.stringify({ id: 'wrong-types', ts: 'yesterday', text: 42, surface: 'post' }) });
    await produce(kafka, signalsTopic, messages);

    ctx = AppContext.fromConfig(config, { clock: new ManualClock(now), logger: createLogger('warn'), httpPort: 0 });
    await ctx.start();
    baseUrl = ctx.apiUrl()!;
  });

  afterAll(async () => {
    await ctx?.close();
    await receiver?.close();
    await deleteTopics(kafka, [signalsTopic, alertsTopic, dlqTopic]);
    await deleteKeys(redis, prefix);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts every valid signal once and dead-letters the malformed ones', async () => {
    const totals = await waitFor(
      async () => {
        const t = await ctx.windows.totals('e2e');
        return (t.signals ?? 0) + (t.dead_letters ?? 0) >= validCount + 3 ? t : undefined;
      },
      30_000,
      'all records to be applied',
    );
    expect(totals.signals).toBe(validCount);
    expect(totals.dead_letters).toBe(3);
    const counts = await ctx.windows.readCounts('e2e', ['self-harm|region=US-TX'], now - 130_000, now, 1000);
    expect(counts.get('self-harm|region=US-TX')!.reduce((a, b) => a + b, 0)).toBe(selfHarmUsTx);
  });

  it('puts each malformed record on the dead-letter topic with its reason', async () => {
    const letters = await consumeN(kafka, dlqTopic, 3, 30_000);
    const byOffset = letters.sort((a, b) => Number(a.headers['x-surgewatch-source-offset']) - Number(b.headers['x-surgewatch-source-offset']));
    expect(byOffset.map((l) => l.headers['x-surgewatch-code']).sort()).toEqual(['invalid', 'not_json', 'not_utf8']);
    const invalid = letters.find((l) => l.headers['x-surgewatch-code'] === 'invalid')!;
    expect(invalid.headers['x-surgewatch-reason']).toMatch(/ts: .*ISO-8601/);
    expect(invalid.headers['x-surgewatch-reason']).toMatch(/text: /);
    expect(invalid.value!.toString()).toContain('wrong-types'); // the original record, unchanged
    const notUtf8 = letters.find((l) => l.headers['x-surgewatch-code'] === 'not_utf8')!;
    expect([...notUtf8.value!]).toEqual([0x7b, 0xff, 0xfe, 0x7d]);
    for (const l of letters) expect(l.headers['x-surgewatch-source-topic']).toBe(signalsTopic);
  });

  it('raises a spike alert for the surge, served by the API with its figures', async () => {
    const alert = await waitFor(
      async () => {
        const res = await get(`${baseUrl}/v1/alerts?topic=self-harm&dimension=region%3DUS-TX`);
        const body = (await res.json()) as { alerts: Alert[] };
        // A surge this strong may open its alert before every record is counted (a slow
        // consumer); the open alert follows its window on each tick until the whole surge is in.
        const alert = body.alerts[0];
        return alert && alert.window.observed >= 60 ? alert : undefined;
      },
      30_000,
      'the US-TX self-harm alert with the whole surge in its window',
    );
    expect(alert).toMatchObject({ kind: 'spike', pipeline: 'e2e', topic: 'self-harm', dimension: 'region=US-TX', status: 'open', severity: 'critical' });
    expect(alert.window.observed).toBe(60);
    expect(alert.window.expected).toBeGreaterThan(0);
    expect(alert.window.expected).toBeLessThan(10);
    expect(alert.window.ratio).toBeGreaterThan(6);
    expect(alert.distinct_authors).toBeGreaterThanOrEqual(38); // 40 accounts, HyperLogLog estimate
    expect(alert.distinct_authors).toBeLessThanOrEqual(42);
    expect(alert.top_terms[0]).toEqual({ term: 'kill myself', count: 60 });
    expect(alert.sample_signal_ids.length).toBeGreaterThan(0);
    expect(alert.summary).toContain('Self-harm');
    expect(alert.summary).toContain('region US-TX');
    expect(alert.list_version).toBe(ctx.runtimes[0]!.lists.set.version);

    const one = await get(`${baseUrl}/v1/alerts/${alert.id}`);
    expect(one.status).toBe(200);
    expect(((await one.json()) as Alert).id).toBe(alert.id);
    // The same alert is on the durable alerts topic, keyed by its id (one event at least per alert).
    const all = ((await (await get(`${baseUrl}/v1/alerts?limit=500`)).json()) as { alerts: Alert[] }).alerts;
    const published = await consumeN(kafka, alertsTopic, all.length, 30_000);
    const ours = published.find((m) => m.key === alert.id);
    expect(ours).toBeDefined();
    expect(JSON.parse(ours!.value!.toString())).toHaveProperty('alert.kind', 'spike');
  });

  it('pushes the alert to its webhook, signed, with an idempotency key', async () => {
    const alert = await waitFor(
      async () => ((await (await get(`${baseUrl}/v1/alerts?topic=self-harm&dimension=region%3DUS-TX`)).json()) as { alerts: Alert[] }).alerts[0],
      30_000,
      'the US-TX self-harm alert',
    );
    const pushed = await waitFor(async () => receiver.received.find((r) => r.body.includes(alert.id)), 30_000, 'the webhook delivery');
    const body = JSON.parse(pushed.body) as { id: string; event: string; alert: Alert };
    expect(body).toMatchObject({ event: 'opened', alert: { id: alert.id, opened_at: alert.opened_at, dimension: 'region=US-TX' } });
    expect(pushed.headers['idempotency-key']).toBe(body.id);
    expect(verifySignature(webhookSecret, String(pushed.headers['x-surgewatch-signature']), pushed.body, Math.floor(now / 1000))).toMatchObject({ ok: true });
    // Only the routed topic: nothing else surged, and no other topic's alert is pushed.
    for (const r of receiver.received) expect((JSON.parse(r.body) as { alert: Alert }).alert.topic).toBe('self-harm');
  });

  it('raises nothing for the topic that did not surge', async () => {
    const res = await get(`${baseUrl}/v1/alerts?topic=scams-fraud`);
    expect(((await res.json()) as { alerts: Alert[] }).alerts).toEqual([]);
  });

  it('reports Kafka and Redis in readiness, and rejects bad queries with a clear error', async () => {
    const ready = await fetch(`${baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', mode: 'service', checks: { redis: { ok: true }, kafka: { ok: true } } });
    const bad = await get(`${baseUrl}/v1/alerts?status=burning&limit=0`);
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('VALIDATION');
    expect(body.error.message).toMatch(/status/);
    expect(body.error.message).toMatch(/limit/);
    const missing = await get(`${baseUrl}/v1/alerts/al_0123456789abcdef`);
    expect(missing.status).toBe(404);
    expect((await fetch(`${baseUrl}/v1/alerts`)).status).toBe(401);
  });
});
