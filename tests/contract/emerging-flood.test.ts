import { afterAll, describe, expect, it } from 'vitest';
import { MemoryWindowStore } from '../../src/windows/memory-window-store.js';
import { RedisWindowStore } from '../../src/windows/redis-window-store.js';
import type { WindowStore } from '../../src/windows/window-store.js';
import { processRecords, type RawRecord } from '../../src/worker/process-records.js';
import { memoryTicker, testRuntime } from '../_util/fixtures.js';
import { createTestRedis, deleteKeys, uniqueId } from '../_util/services.js';

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const redis = createTestRedis();
const prefix = uniqueId('flood');
afterAll(async () => {
  await deleteKeys(redis, prefix);
  await redis.quit();
});

const stores: [string, () => WindowStore][] = [
  ['in-memory store', () => new MemoryWindowStore()],
  ['Redis store', () => new RedisWindowStore(redis, `${prefix}${Math.random().toString(36).slice(2, 8)}`)],
];

/**
 * One account sends a listed keyword with fresh junk hashtags, thousands of times, while a new
 * coded tag spreads among 30 accounts. The junk must not use up the distinct-term cap.
 */
describe.each(stores)('emerging terms under a junk-hashtag flood (%s)', (_name, makeStore) => {
  it('counts and alerts on the spreading tag, and counts none of the junk', async () => {
    const runtime = testRuntime({ topics: ['self-harm'], windows: { dimensions: [], maxValuesPerDimension: 50 } });
    const store = makeStore();
    const { ticker, openedAlerts } = memoryTicker(runtime, T0, store);
    let offset = 0;
    const records: RawRecord[] = [];
    const add = (tsMs: number, text: string, author: string | undefined, hashtags: string[] = []) =>
      records.push({ offset: String(offset++), value: Buffer.from(JSON.stringify({ id: `s${offset}`, ts: tsMs, text, surface: 'post', author, hashtags })) });
    // A steady baseline, then the flood and the burst interleaved in the last minute.
    for (let t = T0 - 50 * 60_000; t < T0 - 60_000; t += 5_000) add(t, 'i want to kill myself', `a${(t / 5_000) % 400}`);
    for (let i = 0; i < 3000; i++) {
      const junk = Array.from({ length: 5 }, (_, k) => `#junk${i}x${k}`);
      add(T0 - 59_000 + Math.floor(i / 60) * 1_000, 'i want to die', i % 2 ? 'flooder' : undefined, junk);
      if (i % 75 === 0) add(T0 - 59_000 + Math.floor(i / 60) * 1_000, 'i want to kill myself #unaliveparty', `burst${(i / 75) % 30}`);
    }
    const watermark = { maxEventMs: -Infinity };
    for (let i = 0; i < records.length; i += 500) {
      const out = await processRecords(records.slice(i, i + 500), runtime, { authorHashKey: 'k'.repeat(16), watermark });
      await store.applyBatch({ pipeline: runtime.config.id, layout: runtime.layout, position: null, signals: out.signals, totals: out.totals });
    }

    const live = await store.liveSeries(runtime.config.id, T0 - 3_600_000, 100_000);
    expect(live.map((s) => s.series).filter((s) => s.includes('|term=')).sort()).toEqual(['self-harm|term=#unaliveparty']);
    const counts = await store.readCounts(runtime.config.id, ['self-harm|term=#unaliveparty'], T0 - 60_000, T0, runtime.layout.bucketMs);
    // 40 uses by 30 accounts; counting starts with the third account.
    expect(counts.get('self-harm|term=#unaliveparty')!.reduce((a, b) => a + b, 0)).toBe(38);

    for (let tick = 0; tick < runtime.config.detect.openAfterTicks; tick++) await ticker.tick(T0 + tick * 1000);
    expect(openedAlerts().filter((a) => a.kind === 'emerging_term').map((a) => a.suggested_term)).toEqual(['#unaliveparty']);
  }, 120_000);
});
