import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisWindowStore } from '../../src/windows/redis-window-store.js';
import { createTopic, deleteTopics, produce, testKafka } from '../_util/kafka.js';
import { startSurgewatch } from '../_util/processes.js';
import { createTestRedis, deleteKeys, uniqueId, waitFor, workerEnv } from '../_util/services.js';

/** A worker process killed with SIGKILL in the middle of a stream loses nothing and counts nothing twice. */
describe('worker restart in the middle of a stream', () => {
  const id = uniqueId('rst');
  const topic = `${id}-signals`;
  const prefix = id;
  const kafka = testKafka();
  const redis = createTestRedis();
  const store = new RedisWindowStore(redis, prefix);
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-restart-'));
  const children: ChildProcess[] = [];
  const TOTAL = 24_000;
  const t0 = Date.UTC(2026, 10, 21, 12, 0, 0);

  const env = workerEnv(id, { SURGEWATCH_PIPELINES_DIR: dir, LOG_LEVEL: 'warn' });

  const startWorker = () => startSurgewatch(env, children);

  const signal = (i: number) => ({
    key: `k${i}`,
    value: JSON.stringify({
      id: `sig-${i}`,
      ts: t0 + i * 10,
      text: i % 4 === 0 ? 'i want to die' : 'an ordinary afternoon',
      surface: 'post',
      region: 'GB',
      author: `a${i % 300}`,
    }),
  });
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => signal(from + k));

  beforeAll(async () => {
    writeFileSync(
      join(dir, 'restart.yaml'),
      [`id: restart`, `source: { topic: ${topic} }`, 'topics: [self-harm]', 'windows: { bucketSec: 10, currentSec: 60, baselineSec: 600, retentionSec: 3600, latenessSec: 86400 }'].join('\n'),
    );
    await createTopic(kafka, topic, 4);
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await deleteTopics(kafka, [topic, `${id}-dlq`, 'alerts'].filter((t) => t !== 'alerts'));
    await deleteKeys(redis, prefix);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ends with exactly one count per valid signal after a SIGKILL and a restart', async () => {
    await produce(kafka, topic, range(0, TOTAL / 2));
    const first = startWorker();
    // Kill the first worker once it has applied part of the stream, while more keeps arriving.
    const producing = (async () => {
      for (let i = TOTAL / 2; i < TOTAL; i += 1000) {
        await produce(kafka, topic, range(i, i + 1000));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await waitFor(async () => ((await store.totals('restart')).signals ?? 0) >= 2000 || undefined, 60_000, 'the first worker to apply some signals');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const atKill = (await store.totals('restart')).signals ?? 0;
    await producing;
    startWorker();

    await waitFor(async () => ((await store.totals('restart')).signals ?? 0) >= TOTAL || undefined, 90_000, `all ${TOTAL} signals counted`);
    // Give any re-delivered batch time to (wrongly) land twice before checking.
    await new Promise((r) => setTimeout(r, 3000));
    const totals = await store.totals('restart');
    expect(atKill).toBeLessThan(TOTAL);
    expect(totals.signals).toBe(TOTAL);
    expect(totals.hits).toBe(TOTAL / 4);
    const counts = await store.readCounts('restart', ['self-harm', 'self-harm|region=GB'], t0, t0 + TOTAL * 10, 10_000);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(counts.get('self-harm')!)).toBe(TOTAL / 4);
    expect(sum(counts.get('self-harm|region=GB')!)).toBe(TOTAL / 4);
  });
});
