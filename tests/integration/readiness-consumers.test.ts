import { AssignerProtocol, PartitionAssigners, type Consumer, type PartitionAssigner } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { createTopic, produce, testKafka } from '../_util/kafka.js';
import { servicePipeline } from '../_util/service-config.js';
import { uniqueId, waitFor } from '../_util/services.js';

interface Readiness {
  status: string;
  checks: Record<string, { ok: boolean; error?: string; details?: Record<string, { state: string; since: string; failures: number }> }>;
}

/**
 * Readiness looks at the consumers. Another application holds the consumer group with a partition
 * assignment protocol surgewatch does not speak, so surgewatch's consumer cannot join: /readyz
 * answers 503 and says which consumer is down and why. Once the group is free, the consumer joins
 * on its next restart and /readyz answers 200.
 */
describe('readiness of the consumers', () => {
  const id = uniqueId('rdy');
  const topic = `${id}-signals`;
  const groupId = `${id}-group.rdy`;
  const kafka = testKafka();
  const setup = servicePipeline(id, 'rdy', [`source: { topic: ${topic} }`, 'topics: [self-harm]', 'windows: { latenessSec: 86400 }']);
  const now = Date.UTC(2026, 10, 21, 12, 0, 0);
  let ctx: AppContext;
  let squatter: Consumer;

  // Round robin under another protocol name: the group takes no member that lacks it.
  const otherProtocol: PartitionAssigner = (config) => ({
    ...PartitionAssigners.roundRobin(config),
    name: 'SomeOtherAssigner',
    protocol: ({ topics }) => ({ name: 'SomeOtherAssigner', metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) }),
  });

  const ready = async (): Promise<{ code: number; body: Readiness }> => {
    const res = await fetch(`${ctx.apiUrl()}/readyz`);
    return { code: res.status, body: (await res.json()) as Readiness };
  };

  beforeAll(async () => {
    await createTopic(kafka, topic, 2);
    squatter = kafka.consumer({ groupId, partitionAssigners: [otherProtocol], sessionTimeout: 6000 });
    await squatter.connect();
    await squatter.subscribe({ topics: [topic] });
    await squatter.run({ eachMessage: async () => {} });
    ctx = await setup.start(now);
  });

  afterAll(async () => {
    await squatter?.disconnect();
    await setup.cleanup([topic]);
  });

  it('answers 503 with the consumer\'s state while it cannot join, 200 once it runs', async () => {
    const down = await waitFor(
      async () => {
        const r = await ready();
        return r.code === 503 && (r.body.checks.consumers?.details?.rdy?.failures ?? 0) > 0 ? r : undefined;
      },
      30_000,
      'readiness to report the consumer down',
    );
    expect(down.body.status).toBe('not_ready');
    expect(down.body.checks.redis!.ok).toBe(true);
    const consumer = down.body.checks.consumers!;
    expect(consumer.ok).toBe(false);
    expect(['restarting', 'failed']).toContain(consumer.details!.rdy!.state);
    // The state in surgewatch's words; Kafka's own error text goes to the log only (/readyz is open).
    expect(consumer.error).toMatch(/^rdy: (restarting|failed)$/);
    expect(JSON.stringify(down.body)).not.toMatch(/protocol/i);

    await squatter.disconnect();
    await produce(kafka, topic, Array.from({ length: 50 }, (_, i) => ({ value: JSON.stringify({ id: `s${i}`, ts: now - i * 1000, text: 'i want to die', surface: 'post' }) })));
    await waitFor(async () => ((await ctx.windows.totals('rdy')).signals === 50 ? true : undefined), 90_000, 'the 50 signals to be counted');
    const up = await ready();
    expect(up.code).toBe(200);
    expect(up.body.checks.consumers).toEqual({ ok: true });
  });
});
