import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/logger.js';
import { MemoryWindowStore } from '../../src/windows/memory-window-store.js';
import { RedisWindowStore } from '../../src/windows/redis-window-store.js';
import type { WindowStore } from '../../src/windows/window-store.js';
import { BatchApplier } from '../../src/worker/batch-applier.js';
import { MemoryDeadLetterSink } from '../../src/worker/local-sinks.js';
import type { RawRecord } from '../../src/worker/process-records.js';
import { testRuntime } from '../_util/fixtures.js';
import { badRecord, FUZZ_SEED, validSignalFields } from '../_util/hostile.js';
import { createTestRedis, deleteKeys, uniqueId } from '../_util/services.js';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);

/** A partition batch of valid (if absurd) signals and hostile records in random order. */
const mixedBatch = fc
  .tuple(
    fc.array(validSignalFields(NOW - 30 * 60_000, NOW), { minLength: 1, maxLength: 12 }),
    fc.array(badRecord(NOW), { minLength: 1, maxLength: 12 }),
    fc.infiniteStream(fc.boolean()),
  )
  .map(([good, bad, coin]) => {
    const items: ({ good: true; value: Buffer } | { good: false; kind: string; value: Buffer | null })[] = [];
    const goodItems = good.map((g, i) => ({ good: true as const, value: Buffer.from(JSON.stringify({ ...g, id: `good-${i}` })) }));
    const badItems = bad.map((b) => ({ good: false as const, ...b }));
    while (goodItems.length + badItems.length > 0) {
      const takeGood = badItems.length === 0 || (goodItems.length > 0 && coin.next().value);
      items.push(takeGood ? goodItems.shift()! : badItems.shift()!);
    }
    return items;
  });

const stores: [string, () => { store: WindowStore; numRuns: number; cleanUp: () => Promise<void> }][] = [
  ['in-memory store', () => ({ store: new MemoryWindowStore(), numRuns: 150, cleanUp: async () => {} })],
  [
    'Redis store',
    () => {
      const redis = createTestRedis();
      const prefix = uniqueId('hostile');
      return {
        store: new RedisWindowStore(redis, prefix),
        numRuns: 40,
        cleanUp: async () => {
          await deleteKeys(redis, prefix);
          await redis.quit();
        },
      };
    },
  ],
];

describe.each(stores)('hostile records in a partition batch (%s)', (_name, make) => {
  const { store, numRuns, cleanUp } = make();
  afterAll(cleanUp);
  let partition = 0;

  it('counts every valid signal, dead-letters every bad record with a reason, and never throws', async () => {
    await fc.assert(
      fc.asyncProperty(mixedBatch, async (items) => {
        // A fresh pipeline id per run keeps the runs' counts apart in one store.
        const runtime = testRuntime({ id: `fuzz-${partition}` });
        const deadLetters = new MemoryDeadLetterSink(silentLogger, 10_000);
        const applier = new BatchApplier(runtime, { store, deadLetters, authorHashKey: 'k'.repeat(16), clock: new ManualClock(NOW), logger: silentLogger, maxRetryDelayMs: 1 });
        const records: RawRecord[] = items.map((it, i) => ({ offset: String(i), value: it.value }));
        // An infrastructure failure would be retried for ever: a poison record must not cause one.
        const handled = applier.handle({ topic: 'signals', partition: partition++, records });
        const outcome = await Promise.race([handled.then(() => 'done'), new Promise((r) => setTimeout(() => r('stuck retrying'), 10_000))]);
        expect(outcome).toBe('done');

        const badOffsets = items.flatMap((it, i) => (it.good ? [] : [String(i)]));
        expect(deadLetters.letters.map((d) => d.offset)).toEqual(badOffsets);
        for (const d of deadLetters.letters) expect(d.reason, `dead letter ${d.offset} (${(items[Number(d.offset)] as { kind: string }).kind})`).toMatch(/\S{3}/);
        const totals = await store.totals(runtime.config.id);
        const goodCount = items.length - badOffsets.length;
        // Valid signals are counted, or dropped as late (the generator spreads them over 30 minutes).
        expect((totals.signals ?? 0) + (totals.late ?? 0)).toBe(goodCount);
        expect(totals.dead_letters ?? 0).toBe(badOffsets.length);
      }),
      { seed: FUZZ_SEED, numRuns },
    );
  }, 300_000);
});
