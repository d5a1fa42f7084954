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
import { SurgeStream } from '../_util/surge-stream.js';
import { createTestRedis, deleteKeys, uniqueId, waitFor, workerEnv } from '../_util/services.js';

/**
 * A surgewatch process on a broker of the test's own, which is restarted in the middle of the
 * stream (stopped cleanly with SIGTERM, or killed, then started again on the same port and data):
 * the consumer and the producer (dead letters, alerts) reconnect and carry on, with every signal
 * counted once. Both restarts happen to one broker (each on its own topics, group and prefix): a
 * broker is started once for the file.
 */
const broker = new OwnKafka();
beforeAll(() => broker.start(), 180_000);
afterAll(() => broker.destroy());

describe.each(['SIGTERM', 'SIGKILL'] as const)('a Kafka broker restart (%s) under a running worker', (stopSignal) => {
  const id = uniqueId('brk');
  const topic = `${id}-signals`;
  const alertsTopic = `${id}-alerts`;
  const dlqTopic = `${id}-dlq`;
  const redis = createTestRedis();
  const windows = new RedisWindowStore(redis, id);
  const alerts = new RedisAlertStore(redis, id, ['brk'], new Map([['brk', 86_400]]));
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-broker-'));
  const children: ChildProcess[] = [];
  const stream = new SurgeStream();
  const SURGE_SERIES = SurgeStream.SERIES;
  let kafka: Kafka;
  let port = 0;
  const malformed = (k: string) => ({ key: k, value: '{"id": "cut short' });
  const readyz = async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status;

  beforeAll(async () => {
    await broker.start(); // up again if the restart before this one failed half-way
    kafka = new Kafka({ clientId: uniqueId('test'), brokers: broker.brokers, logLevel: logLevel.NOTHING });
    writeFileSync(join(dir, 'brk.yaml'), SurgeStream.pipeline('brk', topic, alertsTopic));
    await createTopic(kafka, topic, 2);
    await createTopic(kafka, alertsTopic, 1);
    await createTopic(kafka, dlqTopic, 1);
    port = await freePort();
  }, 180_000);

  afterAll(async () => {
    for (const c of children) await killAndWait(c);
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
    await produce(kafka, topic, [...stream.steady(6000), malformed('bad1'), ...stream.steady(6000)]);
    await waitFor(async () => ((await windows.totals('brk')).signals ?? 0) >= 1000 || undefined, 120_000, 'the first signals counted');
    await broker.stop(stopSignal);
    console.log(`broker-restart (${stopSignal}): the broker stopped with ${(await windows.totals('brk')).signals}/${stream.n} signals of the first half counted`);
    await waitFor(async () => ((await readyz()) === 503 ? true : undefined), 60_000, '/readyz to answer 503 while the broker is down');
    await broker.start();

    // Second half, after the restart: the surge, more traffic and another malformed record.
    await produce(kafka, topic, [...stream.steady(2000), ...stream.surge(200), malformed('bad2'), ...stream.steady(2000)]);
    const TOTAL = stream.n;
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
    expect(totals.hits).toBe(stream.harm);
    expect(totals.dead_letters).toBe(2);
    const counts = await windows.readCounts('brk', [SURGE_SERIES], stream.now - 1_600_000, stream.now, 10_000);
    expect(counts.get(SURGE_SERIES)!.reduce((a, b) => a + b, 0)).toBe(stream.harmUsTx);

    // The producer works again: the alert and the second dead letter reached their topics.
    const published = await readTopic(kafka, alertsTopic, 60_000);
    expect(published.filter((m) => m.key === opened.id && m.headers['x-surgewatch-event'] === 'opened')).toHaveLength(1);
    const letters = await readTopic(kafka, dlqTopic, 60_000);
    expect(letters.map((l) => l.key).sort()).toEqual(['bad1', 'bad2']);
  }, 420_000);
});
