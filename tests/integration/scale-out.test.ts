import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisAlertStore } from '../../src/alerts/redis-alert-store.js';
import { leaseKey } from '../../src/windows/keys.js';
import { RedisWindowStore } from '../../src/windows/redis-window-store.js';
import { createTopic, deleteTopics, produce, readTopic, testKafka } from '../_util/kafka.js';
import { killAndWait } from '../_util/own-kafka.js';
import { startSurgewatch } from '../_util/processes.js';
import { SurgeStream } from '../_util/surge-stream.js';
import { createTestRedis, deleteKeys, uniqueId, waitFor, workerEnv } from '../_util/services.js';

/**
 * Three worker processes in one consumer group over four partitions and one Redis. The process
 * holding the detection lease is killed (SIGKILL) in the middle of the stream, after it opened
 * the surge's alert, and a replacement joins: the others take its partitions and the lease,
 * every signal is counted once, and the alert is neither opened again nor lost on its way to
 * the alerts topic.
 */
describe('scale-out: worker processes in one group, the lease holder killed', () => {
  const id = uniqueId('scl');
  const topic = `${id}-signals`;
  const alertsTopic = `${id}-alerts`;
  const kafka = testKafka();
  const redis = createTestRedis();
  const windows = new RedisWindowStore(redis, id);
  const alerts = new RedisAlertStore(redis, id, ['scale'], new Map([['scale', 86_400]]));
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-scale-'));
  const children: ChildProcess[] = [];
  const env = workerEnv(id, { SURGEWATCH_PIPELINES_DIR: dir, LOG_LEVEL: 'warn' });
  const stream = new SurgeStream();
  const SURGE_SERIES = SurgeStream.SERIES;

  const leaseOwner = async () => (await redis.hget(leaseKey(id, 'tick:scale'), 'owner')) ?? undefined;
  const pidOf = (owner: string) => Number(owner.split('-')[0]);

  beforeAll(async () => {
    writeFileSync(join(dir, 'scale.yaml'), SurgeStream.pipeline('scale', topic, alertsTopic));
    await createTopic(kafka, topic, 4);
    await createTopic(kafka, alertsTopic, 1);
  });

  afterAll(async () => {
    for (const c of children) await killAndWait(c);
    await deleteTopics(kafka, [topic, alertsTopic, `${id}-dlq`]);
    await deleteKeys(redis, id);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts every signal once, opens the alert once and hands the lease to a survivor', async () => {
    await produce(kafka, topic, stream.steady(6000));
    const workers = [0, 1, 2].map(() => startSurgewatch(env, children));
    const holderOwner = await waitFor(leaseOwner, 120_000, 'a worker to take the detection lease');
    expect(workers.map((w) => w.pid)).toContain(pidOf(holderOwner));

    // More traffic with the first part of the surge, then the rest of the stream keeps coming in
    // chunks (the rest of the surge among them) while the holder opens its alert and is killed.
    await produce(kafka, topic, [...stream.steady(3000), ...stream.surge(150), ...stream.steady(3000)]);
    const rest = [...stream.steady(4000), ...stream.surge(50), ...stream.steady(4000)];
    const TOTAL = stream.n;
    const producing = (async () => {
      for (let i = 0; i < rest.length; i += 500) {
        await produce(kafka, topic, rest.slice(i, i + 500));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const opened = await waitFor(
      async () => (await alerts.list({ limit: 100 })).alerts.find((a) => a.series === SURGE_SERIES),
      120_000,
      'the surge alert to open',
    );
    const holderPid = pidOf((await leaseOwner()) ?? holderOwner);
    const holder = workers.find((w) => w.pid === holderPid)!;
    const atKill = (await windows.totals('scale')).signals ?? 0;
    await killAndWait(holder);
    console.log(`scale-out: lease holder pid ${holderPid} killed with ${atKill}/${TOTAL} signals counted`);
    // A replacement joins while the stream goes on: the partitions move once more.
    const replacement = startSurgewatch(env, children);
    await producing;

    await waitFor(async () => ((await windows.totals('scale')).signals === TOTAL ? true : undefined), 180_000, `all ${TOTAL} signals counted`);
    const survivors = [...workers.filter((w) => w !== holder), replacement].map((w) => w.pid);
    const heir = await waitFor(async () => {
      const owner = await leaseOwner();
      return owner && survivors.includes(pidOf(owner)) ? owner : undefined;
    }, 60_000, 'a surviving worker to hold the lease');
    // The outbox drained: every alert event reached the alerts topic.
    await waitFor(async () => ((await alerts.pendingEvents('scale', 10)).length === 0 ? true : undefined), 60_000, 'the outbox to drain');
    // A re-delivered batch would land in these seconds if it were counted twice.
    await new Promise((r) => setTimeout(r, 3000));

    expect(survivors).toContain(pidOf(heir));
    const totals = await windows.totals('scale');
    expect(totals.signals).toBe(TOTAL);
    expect(totals.hits).toBe(stream.harm);
    const counts = await windows.readCounts('scale', ['self-harm', SURGE_SERIES], stream.now - 1_600_000, stream.now, 10_000);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(counts.get('self-harm')!)).toBe(stream.harm);
    expect(sum(counts.get(SURGE_SERIES)!)).toBe(stream.harmUsTx);

    // One alert for the surge's series, the one opened before the kill.
    const stored = (await alerts.list({ limit: 100 })).alerts;
    expect(stored.filter((a) => a.series === SURGE_SERIES).map((a) => a.id)).toEqual([opened.id]);
    // On the alerts topic: one `opened` event (by event id) per alert, and the surge's among them.
    const published = await readTopic(kafka, alertsTopic, 60_000);
    const openedEvents = new Map<string, Set<string>>();
    for (const m of published.filter((p) => p.headers['x-surgewatch-event'] === 'opened')) {
      const ids = openedEvents.get(m.key!) ?? new Set<string>();
      ids.add(m.headers['x-surgewatch-event-id']!);
      openedEvents.set(m.key!, ids);
    }
    console.log(`scale-out: ${stored.length} alerts; ${published.length} messages on the alerts topic, ${new Set(published.map((p) => p.headers['x-surgewatch-event-id'])).size} distinct events`);
    expect([...openedEvents.keys()].sort()).toEqual(stored.map((a) => a.id).sort());
    for (const ids of openedEvents.values()) expect(ids.size).toBe(1);
    expect(openedEvents.get(opened.id)?.size).toBe(1);
  }, 420_000);
});
