/**
 * `npm run bench`: throughput of ingest (decode + validate) + normalize + lexicon + count, on
 * one core, against the in-memory window store and the real Redis (when reachable). Prints
 * figures; asserts nothing.
 */
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/load.js';
import { ManualClock } from '../src/shared/clock.js';
import { silentLogger } from '../src/shared/logger.js';
import { MemoryWindowStore } from '../src/windows/memory-window-store.js';
import { RedisWindowStore } from '../src/windows/redis-window-store.js';
import type { WindowStore } from '../src/windows/window-store.js';
import { BatchApplier } from '../src/worker/batch-applier.js';
import { MemoryDeadLetterSink } from '../src/worker/local-sinks.js';
import { buildPipelineRuntime } from '../src/worker/pipeline-runtime.js';
import { processRecords, type RawRecord } from '../src/worker/process-records.js';
import { SampleStreamSource } from '../src/worker/sample-stream.js';

const N = Number(process.env.BENCH_SIGNALS ?? 200_000);
const BATCH = 2000;

const config = loadConfig({ env: {} });
const runtime = buildPipelineRuntime(config.pipelines[0]!, config.topics);
const t0 = Date.UTC(2026, 10, 1);
const gen = new SampleStreamSource({ clock: new ManualClock(t0), logger: silentLogger, ratePerSec: 100 });
const records: RawRecord[] = [];
for (let t = t0; records.length < N; t += 10_000) {
  for (const s of gen.generate(t, t + 10_000)) records.push({ offset: String(records.length), value: Buffer.from(JSON.stringify(s)) });
}
records.length = N;
const bytes = records.reduce((s, r) => s + (r.value?.length ?? 0), 0);

function report(name: string, ms: number, extra = ''): void {
  const perSec = Math.round((N / ms) * 1000);
  console.log(`${name.padEnd(44)} ${String(perSec).padStart(9)} signals/s/core  ${(ms / 1000).toFixed(2)} s${extra}`);
}

console.log(`surgewatch bench: ${N} signals (${(bytes / N).toFixed(0)} B avg), pipeline "${runtime.config.id}", ${runtime.topics.size} topics, node ${process.version}`);

// Stage 1: decode + validate + normalize + lexicon, no counting.
{
  const wm = { maxEventMs: -Infinity };
  const start = performance.now();
  let hits = 0;
  for (let i = 0; i < N; i += BATCH) hits += (await processRecords(records.slice(i, i + BATCH), runtime, { authorHashKey: 'k'.repeat(16), watermark: wm })).totals.hits ?? 0;
  report('decode+validate+normalize+lexicon', performance.now() - start, `  (${((hits / N) * 100).toFixed(1)}% hit)`);
}

async function endToEnd(name: string, store: WindowStore): Promise<void> {
  const applier = new BatchApplier(runtime, {
    store,
    deadLetters: new MemoryDeadLetterSink(silentLogger),
    authorHashKey: 'k'.repeat(16),
    clock: new ManualClock(t0),
    logger: silentLogger,
    checkFuture: false,
  });
  const heapBefore = process.memoryUsage().heapUsed;
  const start = performance.now();
  for (let i = 0; i < N; i += BATCH) await applier.handle({ topic: 'bench', partition: 0, records: records.slice(i, i + BATCH) });
  const ms = performance.now() - start;
  const totals = await store.totals(runtime.config.id);
  if (totals.signals !== N) throw new Error(`${name}: counted ${totals.signals}, expected ${N}`);
  report(name, ms, `  heap ${((process.memoryUsage().heapUsed - heapBefore) / 1e6 >= 0 ? "+" : "")}${((process.memoryUsage().heapUsed - heapBefore) / 1e6).toFixed(1)} MB`);
}

await endToEnd('ingest..count, in-memory windows', new MemoryWindowStore());

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
try {
  await redis.connect();
  const prefix = `bench${Date.now()}`;
  await endToEnd('ingest..count, Redis windows (1 partition)', new RedisWindowStore(redis, prefix));
  let cursor = '0';
  let keys = 0;
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    keys += batch.length;
    if (batch.length) await redis.del(...batch);
  } while (cursor !== '0');
  console.log(`Redis keys written (then deleted): ${keys}`);
} catch (err) {
  console.log(`Redis at ${redisUrl} not reachable (${(err as Error).message}); skipped the Redis figure`);
} finally {
  redis.disconnect();
}
