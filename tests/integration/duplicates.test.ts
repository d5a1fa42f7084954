import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { createTopic, produce, testKafka } from '../_util/kafka.js';
import { servicePipeline } from '../_util/service-config.js';
import { uniqueId, waitFor } from '../_util/services.js';

/**
 * A producer retries: signals already counted arrive again, in a later batch and on another
 * partition, mixed with new ones. Each signal id counts once.
 */
describe('signals sent twice, in different batches', () => {
  const id = uniqueId('dup');
  const topic = `${id}-signals`;
  const kafka = testKafka();
  const now = Date.UTC(2026, 10, 21, 12, 0, 0);
  const setup = servicePipeline(id, 'dup', [`source: { topic: ${topic} }`, 'topics: [self-harm]', 'windows: { bucketSec: 10, retentionSec: 7200, latenessSec: 86400 }'], {
    SURGEWATCH_ROLE: 'worker',
  });
  let ctx: AppContext;

  const signal = (i: number, partition: number) => ({
    partition,
    value: JSON.stringify({ id: `s${i}`, ts: now - 300_000 + i * 100, text: i % 3 === 0 ? 'i want to die' : 'a quiet evening', surface: 'post' }),
  });
  const hitsIn = (ids: number[]) => ids.filter((i) => i % 3 === 0).length;
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

  beforeAll(async () => {
    await createTopic(kafka, topic, 2);
    ctx = await setup.start(now);
  });

  afterAll(async () => {
    await setup.cleanup([topic]);
  });

  it('counts each signal id once', async () => {
    await produce(kafka, topic, range(0, 300).map((i) => signal(i, 0)));
    await waitFor(async () => ((await ctx.windows.totals('dup')).signals === 300 ? true : undefined), 60_000, 'the first 300 signals to be counted');

    // 60 of them again (every fifth), on the other partition, between 100 new ones.
    const again = range(0, 300).filter((i) => i % 5 === 0);
    await produce(kafka, topic, [...range(300, 350), ...again, ...range(350, 400)].map((i) => signal(i, 1)));
    const totals = await waitFor(
      async () => {
        const t = await ctx.windows.totals('dup');
        return (t.signals ?? 0) + (t.duplicates ?? 0) >= 460 ? t : undefined;
      },
      60_000,
      'the second batch to be applied',
    );
    expect(totals.signals).toBe(400);
    expect(totals.duplicates).toBe(again.length);
    expect(totals.hits).toBe(hitsIn(range(0, 400)));
    const counts = await ctx.windows.readCounts('dup', ['self-harm'], now - 300_000, now, 10_000);
    expect(counts.get('self-harm')!.reduce((a, b) => a + b, 0)).toBe(hitsIn(range(0, 400)));
  });
});
