import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { alertEventId, type Alert, type AlertEventType } from '../../src/alerts/alert.js';
import { makeAlert } from '../_util/alerts.js';
import { OutboxRelay } from '../../src/alerts/outbox-relay.js';
import { RedisAlertStore } from '../../src/alerts/redis-alert-store.js';
import { createKafka } from '../../src/ingest/kafka-client.js';
import { KafkaAlertPublisher, KafkaProducerHandle } from '../../src/ingest/kafka-sinks.js';
import { silentLogger } from '../../src/shared/logger.js';
import { consumeN } from '../_util/kafka.js';
import { OwnKafka } from '../_util/own-kafka.js';
import { createTestRedis, deleteKeys, uniqueId, waitFor } from '../_util/services.js';

/**
 * Alert events written while the Kafka alerts topic cannot be reached stay in the Redis outbox
 * and reach the topic once it is back: each event once, none lost. The broker is the test's own.
 */
describe('alert outbox through a Kafka outage', () => {
  const broker = new OwnKafka();
  const redis = createTestRedis();
  const prefix = uniqueId('outbox');
  const topic = 'alerts';
  const store = new RedisAlertStore(redis, prefix, ['high-harm'], new Map([['high-harm', 86_400]]));
  let handle: KafkaProducerHandle;
  let relay: OutboxRelay;
  const T0 = Date.UTC(2026, 10, 21, 12);
  const written: string[] = [];

  beforeAll(async () => {
    await broker.start();
    const admin = new Kafka({ clientId: 'outbox-test', brokers: broker.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    handle = new KafkaProducerHandle(createKafka({ brokers: broker.brokers, clientId: 'outbox-test' }, silentLogger));
    relay = new OutboxRelay({
      store,
      publisher: new KafkaAlertPublisher(handle),
      pipelines: [{ id: 'high-harm', topic }],
      logger: silentLogger,
      publishTimeoutMs: 2000,
      idleMs: 200,
      maxBackoffMs: 1000,
    });
    relay.start();
  }, 120_000);

  afterAll(async () => {
    await relay?.close();
    await handle?.close().catch(() => undefined);
    await broker.destroy();
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  /** Opens, updates and resolves an alert per region: three events each. */
  async function lifecycles(regions: string[], t: number): Promise<void> {
    for (const region of regions) {
      const series = `self-harm|region=${region}`;
      const steps: [number, Alert['status'], AlertEventType][] = [
        [t, 'open', 'opened'],
        [t + 10_000, 'open', 'updated'],
        [t + 20_000, 'resolved', 'resolved'],
      ];
      for (const [ms, status, type] of steps) {
        const a = makeAlert({ series, openedMs: t, updatedMs: ms, status });
        expect(await store.save(a, type, 60)).toBe(true);
        written.push(alertEventId(a, type));
        relay.wake();
      }
    }
  }

  it('publishes every event once, including those written while the broker was down', async () => {
    await lifecycles(['US-TX', 'GB'], T0);
    await waitFor(async () => ((await store.pendingEvents('high-harm', 1)).length === 0 ? true : undefined), 30_000, 'the outbox to drain');

    await broker.stop();
    await lifecycles(['DE', 'FR', 'BR', 'IN'], T0 + 60_000);
    // Writing alerts does not wait for the broker: every event is in the outbox, none is lost.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await store.pendingEvents('high-harm', 100)).map((e) => e.eventId)).toEqual(written.slice(6));

    await broker.start();
    await lifecycles(['JP'], T0 + 120_000);
    await waitFor(async () => ((await store.pendingEvents('high-harm', 1)).length === 0 ? true : undefined), 90_000, 'the outbox to drain after the outage');

    const kafka = new Kafka({ clientId: uniqueId('reader'), brokers: broker.brokers, logLevel: logLevel.NOTHING });
    const got = await consumeN(kafka, topic, written.length, 60_000);
    expect(got.map((m) => m.headers['x-surgewatch-event-id']).sort()).toEqual([...written].sort());
    expect(got.map((m) => (JSON.parse(m.value!.toString()) as { event_id: string }).event_id).sort()).toEqual([...written].sort());
    // Nothing more on the topic than one message per event: no copy sent twice.
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    expect(offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0)).toBe(written.length);
    // Each message is keyed by its alert, so one alert's events stay in order on one partition.
    for (const m of got) expect(m.key).toBe((JSON.parse(m.value!.toString()) as { alert: Alert }).alert.id);
  }, 240_000);
});
