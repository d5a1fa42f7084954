import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { createTopic, produce, testKafka } from '../_util/kafka.js';
import { servicePipeline } from '../_util/service-config.js';
import { uniqueId, waitFor } from '../_util/services.js';

/**
 * Lateness is judged per partition. One partition runs an hour behind another (its producer
 * caught up on a backlog): its signals are counted, not dropped as late because the other
 * partition is ahead. A signal late within its own partition is still dropped.
 */
describe('lateness per partition', () => {
  const id = uniqueId('late');
  const topic = `${id}-signals`;
  const kafka = testKafka();
  const now = Date.UTC(2026, 10, 21, 12, 0, 0);
  const LATENESS_SEC = 600;
  const setup = servicePipeline(id, 'late', [`source: { topic: ${topic} }`, 'topics: [self-harm]', `windows: { bucketSec: 60, retentionSec: 86400, latenessSec: ${LATENESS_SEC} }`], {
    SURGEWATCH_ROLE: 'worker',
  });
  let ctx: AppContext;

  const signal = (partition: number, n: number, tsMs: number) => ({
    partition,
    value: JSON.stringify({ id: `p${partition}-${n}`, ts: tsMs, text: n % 2 ? 'i want to die' : 'lovely weather', surface: 'post' }),
  });

  beforeAll(async () => {
    await createTopic(kafka, topic, 2);
    ctx = await setup.start(now);
  });

  afterAll(async () => {
    await setup.cleanup([topic]);
  });

  it('counts a partition an hour behind another, and drops only what is late within its own partition', async () => {
    // Partition 0 is current: its newest event is `now`.
    await produce(kafka, topic, Array.from({ length: 200 }, (_, n) => signal(0, n, now - 199_000 + n * 1000)));
    await waitFor(async () => ((await ctx.windows.totals('late')).signals === 200 ? true : undefined), 60_000, 'partition 0 to be counted');

    // Partition 1 runs an hour behind, then has 10 signals later than latenessSec within itself.
    const behind = now - 3_600_000;
    await produce(kafka, topic, [
      ...Array.from({ length: 200 }, (_, n) => signal(1, n, behind + n * 1000)),
      ...Array.from({ length: 10 }, (_, n) => signal(1, 200 + n, behind + 199_000 - (LATENESS_SEC + 60) * 1000)),
    ]);
    const totals = await waitFor(
      async () => {
        const t = await ctx.windows.totals('late');
        return (t.signals ?? 0) + (t.late ?? 0) >= 410 ? t : undefined;
      },
      60_000,
      'partition 1 to be applied',
    );
    expect(totals.signals).toBe(400);
    expect(totals.late).toBe(10);
    expect(totals.hits).toBe(200);
    const hour = await ctx.windows.readCounts('late', ['self-harm'], behind - 3_600_000, now, 60_000);
    expect(hour.get('self-harm')!.reduce((a, b) => a + b, 0)).toBe(200);
  });
});
