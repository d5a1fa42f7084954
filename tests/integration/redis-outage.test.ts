import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { createTopic, produce, testKafka } from '../_util/kafka.js';
import { OwnRedis } from '../_util/own-redis.js';
import { servicePipeline } from '../_util/service-config.js';
import { uniqueId, waitFor } from '../_util/services.js';

/** How long Redis stays down: over seven times the consumers' session timeout. */
const OUTAGE_MS = 45_000;

/**
 * Redis stopped for 45 s while signals keep coming, under two workers of one consumer group
 * (a Redis server of the test's own, stopped and started again with its data). The workers keep
 * their partitions and commit nothing while Redis is down, readiness says so, and once Redis is
 * back every signal is counted exactly once.
 */
describe('Redis down for 45 s under traffic', () => {
  const id = uniqueId('rdown');
  const topic = `${id}-signals`;
  const groupId = `${id}-group.rdown`;
  const kafka = testKafka();
  const setup = servicePipeline(id, 'rdown', [`source: { topic: ${topic} }`, 'topics: [self-harm]', 'windows: { bucketSec: 10, retentionSec: 7200, latenessSec: 86400 }']);
  const now = Date.UTC(2026, 10, 21, 12, 0, 0);
  const redis = new OwnRedis({ persist: true });
  const workers: AppContext[] = [];
  let api: string;
  let hits = 0;

  const signal = (i: number) => {
    const harmful = i % 5 === 0;
    if (harmful) hits++;
    return { key: `k${i}`, value: JSON.stringify({ id: `s${i}`, ts: now - 600_000 + i * 50, text: harmful ? 'i want to die' : 'lunch was great', surface: 'post' }) };
  };
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => signal(from + k));

  async function committed(): Promise<string> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return JSON.stringify(offsets!.partitions.map((p) => [p.partition, p.offset]).sort());
    } finally {
      await admin.disconnect();
    }
  }

  async function groupMembers(): Promise<number> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return (await admin.describeGroups([groupId])).groups[0]!.members.length;
    } finally {
      await admin.disconnect();
    }
  }

  const totals = () => workers[0]!.windows.totals('rdown');
  const counted = async (n: number) => ((await totals()).signals ?? 0) >= n || undefined;
  const ready = async () => {
    const res = await fetch(`${api}/readyz`);
    return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, { ok: boolean }> } };
  };

  beforeAll(async () => {
    await redis.start();
    await createTopic(kafka, topic, 4);
    for (const role of ['all', 'worker'] as const) {
      workers.push(await setup.start(now, { REDIS_URL: redis.url, SURGEWATCH_ROLE: role }));
    }
    api = workers[0]!.apiUrl()!;
  });

  afterAll(async () => {
    await redis.start().catch(() => undefined); // closing flushes to Redis
    await setup.cleanup([topic]);
    await redis.remove();
  });

  it('holds its partitions, commits nothing and reports not ready while down, then counts every signal once', { timeout: 300_000 }, async () => {
    await produce(kafka, topic, range(0, 4000));
    await waitFor(() => counted(4000), 60_000, 'the first 4000 signals to be counted');
    await waitFor(async () => ((await groupMembers()) === 2 ? true : undefined), 30_000, 'both workers in the group');

    await redis.stop();
    // Traffic goes on during the outage.
    await produce(kafka, topic, range(4000, 10_000));
    const down = await waitFor(async () => {
      const r = await ready();
      return r.status === 503 ? r : undefined;
    }, 30_000, 'readiness to turn false');
    expect(down.body.status).toBe('not_ready');
    expect(down.body.checks.redis!.ok).toBe(false);
    // The consumers hold their place in the group meanwhile.
    expect(down.body.checks.consumers).toEqual({ ok: true });
    const before = await committed();

    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    // Nothing was committed for signals that could not be counted, and no worker lost its place.
    expect(await committed()).toBe(before);
    expect(await groupMembers()).toBe(2);
    expect((await ready()).status).toBe(503);

    await redis.start();
    await produce(kafka, topic, range(10_000, 12_000));
    await waitFor(() => counted(12_000), 120_000, 'all 12000 signals to be counted');
    const up = await waitFor(async () => {
      const r = await ready();
      return r.status === 200 ? r : undefined;
    }, 30_000, 'readiness to return');
    expect(up.body.status).toBe('ready');
    const t = await totals();
    expect(t.signals).toBe(12_000);
    expect(t.hits).toBe(hits);
    const buckets = await workers[0]!.windows.readCounts('rdown', ['self-harm'], now - 600_000, now, 10_000);
    expect(buckets.get('self-harm')!.reduce((a, b) => a + b, 0)).toBe(hits);
    for (const w of workers) for (const s of w.sources) expect(s.status?.()).toMatchObject({ state: 'running', failures: 0 });
  });
});
