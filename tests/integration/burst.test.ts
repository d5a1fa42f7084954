import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisWindowStore } from '../../src/windows/redis-window-store.js';
import { createTopic, deleteTopics, produce, testKafka } from '../_util/kafka.js';
import { samples } from '../_util/metrics.js';
import { freePort, killAndWait } from '../_util/own-kafka.js';
import { startSurgewatch } from '../_util/processes.js';
import { createTestRedis, deleteKeys, uniqueId, waitFor, workerEnv } from '../_util/services.js';

/** The chunk a consumer hands to the pipeline at most (KafkaSourceSettings.maxRecordsPerChunk's default). */
const CHUNK = 2000;

/**
 * A burst: a backlog of 120,000 signals (ten times the other tests' streams) waits on four
 * partitions when the worker starts. The work it holds stays within one chunk however large the
 * backlog, lag is reported per partition and drains to zero, and every signal is counted once.
 */
describe('a 10x burst of input', () => {
  const id = uniqueId('bst');
  const topic = `${id}-signals`;
  const kafka = testKafka();
  const redis = createTestRedis();
  const windows = new RedisWindowStore(redis, id);
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-burst-'));
  const children: ChildProcess[] = [];
  const TOTAL = 120_000;
  const now = Date.now();
  let port = 0;

  beforeAll(async () => {
    writeFileSync(join(dir, 'bst.yaml'), ['id: bst', `source: { topic: ${topic} }`, 'topics: [self-harm]', 'windows: { latenessSec: 86400, dimensions: [region] }'].join('\n'));
    await createTopic(kafka, topic, 4);
    port = await freePort();
    const signal = (i: number) => ({
      key: `k${i}`,
      value: JSON.stringify({ id: `s${i}`, ts: now - 1_800_000 + (i % 1_800_000), text: i % 10 === 0 ? 'i want to die' : 'an ordinary afternoon', surface: 'post', region: 'GB', author: `a${i % 1000}` }),
    });
    for (let i = 0; i < TOTAL; i += 20_000) await produce(kafka, topic, Array.from({ length: 20_000 }, (_, k) => signal(i + k)));
  }, 300_000);

  afterAll(async () => {
    for (const c of children) await killAndWait(c);
    await deleteTopics(kafka, [topic, `${id}-dlq`]);
    await deleteKeys(redis, id);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds at most one chunk in flight, reports lag, drains it and counts every signal once', async () => {
    startSurgewatch(
      workerEnv(id, { SURGEWATCH_ROLE: 'all', SURGEWATCH_PIPELINES_DIR: dir, HTTP_HOST: '127.0.0.1', HTTP_PORT: String(port), LOG_LEVEL: 'warn' }),
      children,
    );
    const metrics = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      return res.ok ? await res.text() : undefined;
    };
    let inFlightSeen = 0;
    let lagSeen = 0;
    const drained = await waitFor(
      async () => {
        const text = await metrics();
        if (text === undefined) return undefined;
        inFlightSeen = Math.max(inFlightSeen, ...samples(text, 'surgewatch_records_in_flight').map((s) => s.value));
        lagSeen = Math.max(lagSeen, ...samples(text, 'surgewatch_consumer_lag').map((s) => s.value));
        // Counted in Redis first, committed (and only then counted as consumed) just after.
        const counted = ((await windows.totals('bst')).signals ?? 0) >= TOTAL;
        const committed = samples(text, 'surgewatch_records_consumed_total').reduce((n, s) => n + s.value, 0) >= TOTAL;
        return counted && committed ? text : undefined;
      },
      300_000,
      `all ${TOTAL} signals counted and committed`,
    );
    // Scraped once more after the last commit: the figures of the drained state.
    const text = (await metrics())!;
    console.log(`burst: ${TOTAL} signals; most in flight seen in scrapes ${inFlightSeen}; most lag seen ${lagSeen}`);

    expect(drained).toBeDefined();
    expect((await windows.totals('bst')).signals).toBe(TOTAL);
    expect(samples(text, 'surgewatch_records_consumed_total')).toEqual([{ labels: { group: `${id}-group.bst`, topic }, value: TOTAL }]);
    // The work held never exceeded one chunk, though 30,000 records waited on each partition.
    const peak = samples(text, 'surgewatch_records_in_flight_peak');
    expect(peak).toHaveLength(1);
    expect(peak[0]!.value).toBeGreaterThan(0);
    expect(peak[0]!.value).toBeLessThanOrEqual(CHUNK);
    expect(samples(text, 'surgewatch_records_in_flight').map((s) => s.value)).toEqual([0]);
    // Lag is reported for each of the four partitions, and has drained.
    const lag = samples(text, 'surgewatch_consumer_lag');
    expect(lag.map((s) => s.labels.partition).sort()).toEqual(['0', '1', '2', '3']);
    expect(lag.map((s) => s.value)).toEqual([0, 0, 0, 0]);
  }, 420_000);
});
