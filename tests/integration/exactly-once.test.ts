import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/logger.js';
import { RedisWindowStore } from '../../src/windows/redis-window-store.js';
import { BatchApplier } from '../../src/worker/batch-applier.js';
import { MemoryDeadLetterSink } from '../../src/worker/local-sinks.js';
import type { RawRecord } from '../../src/worker/process-records.js';
import { testRuntime } from '../_util/fixtures.js';
import { createTestRedis, deleteKeys, uniqueId } from '../_util/services.js';

/** Re-delivery as Kafka does it after a crash: the same or overlapping batches, to another worker. */
describe('exactly-once counting under re-delivery (real Redis)', () => {
  const prefix = uniqueId('eo');
  const redis = createTestRedis();
  const store = new RedisWindowStore(redis, prefix);
  const runtime = testRuntime();
  const t0 = Date.UTC(2026, 10, 21, 12);
  const records = (from: number, to: number, idPrefix = 's'): RawRecord[] =>
    Array.from({ length: to - from }, (_, k) => {
      const i = from + k;
      return { offset: String(i), value: Buffer.from(JSON.stringify({ id: `${idPrefix}${i}`, ts: t0 + i, text: 'i want to die', surface: 'post' })) };
    });
  const applier = () =>
    new BatchApplier(runtime, {
      store,
      deadLetters: new MemoryDeadLetterSink(silentLogger),
      authorHashKey: 'k'.repeat(16),
      clock: new ManualClock(t0),
      logger: silentLogger,
    });

  afterAll(async () => {
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  it('counts identical, overlapping and stale re-deliveries once, across workers', async () => {
    const a = applier();
    const b = applier(); // a second worker that takes the partition over
    await a.handle({ topic: 'signals', partition: 0, records: records(0, 100) });
    await a.handle({ topic: 'signals', partition: 0, records: records(0, 100) }); // same batch again
    await b.handle({ topic: 'signals', partition: 0, records: records(50, 150) }); // overlaps: only 100..149 are new
    await a.handle({ topic: 'signals', partition: 0, records: records(120, 200) }); // a's cache is stale: fence re-reads
    await b.handle({ topic: 'signals', partition: 1, records: records(0, 10, 'p1-') }); // another partition is independent
    const totals = await store.totals(runtime.config.id);
    expect(totals.signals).toBe(210);
    expect(await store.appliedOffset(runtime.config.id, 'signals:0')).toBe('199');
    const counts = await store.readCounts(runtime.config.id, ['self-harm'], Math.floor(t0 / 10_000) * 10_000, Math.floor(t0 / 10_000) * 10_000, 10_000);
    expect(counts.get('self-harm')).toEqual([210]);
  });
});
