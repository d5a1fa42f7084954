import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisAlertStore } from '../../src/alerts/redis-alert-store.js';
import { RedisWindowStore } from '../../src/windows/redis-window-store.js';
import { createTopic, produce, readTopic } from '../_util/kafka.js';
import { freePort, killAndWait, OwnKafka } from '../_util/own-kafka.js';
import { startSurgewatch } from '../_util/processes.js';
import { createTestRedis, deleteKeys, uniqueId, waitFor, workerEnv } from '../_util/services.js';

/**
 * A surgewatch process on a broker of the test's own, which is restarted in the middle of the
 * stream (stopped cleanly with SIGTERM, or killed, then started again on the same port and data):
 * the consumer and the producer (dead letters, alerts) reconnect and carry on, with every signal
 * counted once.
 */
describe.each(['SIGTERM', 'SIGKILL'] as const)('a Kafka broker restart (%s) under a running worker', (stopSignal) => {
  const id = uniqueId('brk');
  const topic = `${id}-signals`;
  const alertsTopic = `${id}-alerts`;
  const dlqTopic = `${id}-dlq`;
  const broker = new OwnKafka();
  const redis = createTestRedis();
  const windows = new RedisWindowStore(redis, id);
  const alerts = new RedisAlertStore(redis, id, ['brk'], new Map([['brk', 86_400]]));
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-broker-'));
  const children: ChildProcess[] = [];
  const SURGE_SERIES = 'self-harm|region=US-TX';
  // The process runs on the wall clock: history ends now, the surge is in the last minute.
  const now = Math.floor(Date.now() / 10_000) * 10_000;
  const regions = ['GB', 'DE', 'FR', 'US-TX'];
  let kafka: Kafka;
  let port = 0;
  let n = 0;
  let harm = 0;
  let harmUsTx = 0;

  const signal = (ts: number, region: string, harmful: boolean, author: string) => {
    if (harmful) harm++;
    if (harmful && region === 'US-TX') harmUsTx++;
    const i = n++;
    return { key: `k${i}`, value: JSON.stringify({ id: `s${i}`, ts, text: harmful ? 'i want to die' : 'an ordinary afternoon', surface: 'post', region, author }) };
  };
  const steady = (count: number) =>
    Array.from({ length: count }, () => {
      const i = n;
      return signal(now - 1_500_000 + ((i * 7919) % 1_440_000), regions[i % 4]!, i % 8 === 0, `a${i % 500}`);
    });
  const surge = (count: number) => Array.from({ length: count }, (_, k) => signal(now - 60_000 + ((n * 37) % 59_000), 'US-TX', true, `surge${k % 60}`));
  const malformed = (k: string) => ({ key: k, value: '{"id": "cut short' });
  const readyz = async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status;

  beforeAll(async () => {
    await broker.start();
    kafka = new Kafka({ clientId: uniqueId('test'), brokers: broker.brokers, logLevel: logLevel.NOTHING });
    writeFileSync(
      join(dir, 'brk.yaml'),
      [
        'id: brk',
        `source: { topic: ${topic} }`,
        'topics: [self-harm]',
        'windows: { bucketSec: 10, currentSec: 300, baselineSec: 1800, baselineGapSec: 0, retentionSec: 7200, latenessSec: 86400, dimensions: [region] }',
        'detect: { tickSec: 1, minCount: 10, minRatio: 3, zThreshold: 4, openAfterTicks: 1, minBaselineCoverage: 0, resolveAfterTicks: 1000 }',
        `alerts: { kafkaTopic: ${alertsTopic} }`,
      ].join('\n'),
    );
    await createTopic(kafka, topic, 2);
    await createTopic(kafka, alertsTopic, 1);
    await createTopic(kafka, dlqTopic, 1);
    port = await freePort();
  }, 180_000);

  afterAll(async () => {
    for (const c of children) await killAndWait(c);
    await broker.destroy();
    await deleteKeys(redis, id);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reconnects its consumer and producer and resumes with exact counts', async () => {
    startSurgewatch(
      workerEnv(id, {
        KAFKA_BROKERS: broker.brokers.join(','),
        SURGEWATCH_ROLE: 'all',
        SURGEWATCH_PIPELINES_DIR: dir,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: String(port),
        LOG_LEVEL: 'warn',
      }),
      children,
    );
    await waitFor(async () => ((await readyz()) === 200 ? true : undefined), 120_000, '/readyz to answer 200');

    // First half: steady traffic only, and one malformed record. The broker goes down while the
    // worker is still at it (or just after): a chunk applied but not committed comes again.
    await produce(kafka, topic, [...steady(6000), malformed('bad1'), ...steady(6000)]);
    await waitFor(async () => ((await windows.totals('brk')).signals ?? 0) >= 1000 || undefined, 120_000, 'the first signals counted');
    await broker.stop(stopSignal);
    console.log(`broker-restart (${stopSignal}): the broker stopped with ${(await windows.totals('brk')).signals}/${n} signals of the first half counted`);
    await waitFor(async () => ((await readyz()) === 503 ? true : undefined), 60_000, '/readyz to answer 503 while the broker is down');
    await broker.start();

    // Second half, after the restart: the surge, more traffic and another malformed record.
    await produce(kafka, topic, [...steady(2000), ...surge(200), malformed('bad2'), ...steady(2000)]);
    const TOTAL = n;
    await waitFor(async () => ((await windows.totals('brk')).signals === TOTAL ? true : undefined), 180_000, `all ${TOTAL} signals counted`);
    await waitFor(async () => ((await readyz()) === 200 ? true : undefined), 60_000, '/readyz to answer 200 again');
    const opened = await waitFor(
      async () => (await alerts.list({ limit: 100 })).alerts.find((a) => a.series === SURGE_SERIES),
      60_000,
      'the surge alert to open',
    );
    await waitFor(async () => ((await alerts.pendingEvents('brk', 10)).length === 0 ? true : undefined), 60_000, 'the outbox to drain');
    // A re-delivered batch would land in these seconds if it were counted twice.
    await new Promise((r) => setTimeout(r, 3000));

    const totals = await windows.totals('brk');
    expect(totals.signals).toBe(TOTAL);
    expect(totals.hits).toBe(harm);
    expect(totals.dead_letters).toBe(2);
    const counts = await windows.readCounts('brk', [SURGE_SERIES], now - 1_600_000, now, 10_000);
    expect(counts.get(SURGE_SERIES)!.reduce((a, b) => a + b, 0)).toBe(harmUsTx);

    // The producer works again: the alert and the second dead letter reached their topics.
    const published = await readTopic(kafka, alertsTopic, 60_000);
    expect(published.filter((m) => m.key === opened.id && m.headers['x-surgewatch-event'] === 'opened')).toHaveLength(1);
    const letters = await readTopic(kafka, dlqTopic, 60_000);
    expect(letters.map((l) => l.key).sort()).toEqual(['bad1', 'bad2']);
  }, 420_000);
});
