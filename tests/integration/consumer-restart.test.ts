import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../src/ingest/kafka-client.js';
import { KafkaSignalSource } from '../../src/ingest/kafka-signal-source.js';
import { createLogger } from '../../src/shared/logger.js';
import type { SourceBatch } from '../../src/worker/source.js';
import { createTopic, deleteTopics, produce, testKafka } from '../_util/kafka.js';
import { KAFKA_BROKERS, uniqueId, waitFor } from '../_util/services.js';

/**
 * A consumer that kafkajs gives up on: the handler outlives the session (no heartbeat), the group
 * drops the member, and the commit after it fails with "The coordinator is not aware of this
 * member", a crash kafkajs does not restart from. The source starts a new consumer, which gets the
 * uncommitted batch again and everything produced after it.
 */
describe('a Kafka source whose consumer crashed for good', () => {
  const id = uniqueId('crash');
  const topic = `${id}-signals`;
  const groupId = `${id}-group`;
  const kafka = testKafka();
  const logger = createLogger('silent');
  const source = new KafkaSignalSource(createKafka({ brokers: KAFKA_BROKERS, clientId: id }, logger), { topic, groupId, sessionTimeoutMs: 6000, restartDelayMs: 200 }, logger);
  const handled = new Set<string>();
  let calls = 0;

  /** Until the coordinator has dropped every member of the group (the session ran out). */
  async function groupEmptied(): Promise<void> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await waitFor(
        async () => {
          const { groups } = await admin.describeGroups([groupId]);
          return groups[0]?.members.length === 0 ? true : undefined;
        },
        60_000,
        'the group to drop its silent member',
      );
    } finally {
      await admin.disconnect();
    }
  }

  const records = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => ({ value: `r${from + k}` }));

  beforeAll(async () => {
    await createTopic(kafka, topic, 1);
  });

  afterAll(async () => {
    await source.close();
    await deleteTopics(kafka, [topic]);
  });

  it('starts a new consumer, which takes the batch again and everything after it', async () => {
    await produce(kafka, topic, records(0, 100));
    await source.start(async (batch: SourceBatch) => {
      // The first batch hangs, without heartbeats, until the group has dropped this member.
      if (calls++ === 0) await groupEmptied();
      for (const r of batch.records) handled.add(Buffer.from(r.value!).toString());
    });
    await waitFor(async () => (source.status().failures > 0 ? true : undefined), 60_000, 'the consumer to crash');
    await produce(kafka, topic, records(100, 200));
    await waitFor(async () => (handled.size === 200 ? true : undefined), 60_000, 'all 200 records to be handled');
    expect([...handled].sort()).toEqual(records(0, 200).map((r) => r.value).sort());
    // The crashed batch came again: it was never committed.
    expect(calls).toBeGreaterThan(1);
    await waitFor(async () => (source.status().state === 'running' ? true : undefined), 30_000, 'the source to run again');
    expect(source.status()).toMatchObject({ state: 'running', failures: 1 });
    expect(source.status().error).toBeUndefined();
  });
});
