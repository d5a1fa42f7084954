import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisWindowStore } from '../../src/windows/redis-window-store.js';
import { createTopic, deleteTopics, produce, testKafka } from '../_util/kafka.js';
import { OwnRedis } from '../_util/own-redis.js';
import { uniqueId, waitFor, workerEnv } from '../_util/services.js';

/** SIGTERM: the worker finishes and commits what it can, and exits within its grace period, Redis up or down. */
describe('graceful shutdown of a worker process', () => {
  const id = uniqueId('stop');
  const topic = `${id}-signals`;
  const group = `${id}-group.stop`;
  const GRACE_MS = 8000;
  const redisServer = new OwnRedis();
  const kafka = testKafka();
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-stop-'));
  const children: ChildProcess[] = [];
  let redis: Redis;
  let store: RedisWindowStore;
  const t0 = Date.UTC(2026, 10, 21, 12);

  beforeAll(async () => {
    await redisServer.start();
    redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    store = new RedisWindowStore(redis, id);
    writeFileSync(join(dir, 'stop.yaml'), [`id: stop`, `source: { topic: ${topic} }`, 'topics: [self-harm]', 'windows: { bucketSec: 10, currentSec: 60, baselineSec: 600, retentionSec: 3600, latenessSec: 86400 }'].join('\n'));
    await createTopic(kafka, topic, 2);
  }, 60_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    redis.disconnect();
    await redisServer.stop();
    await deleteTopics(kafka, [topic, `${id}-dlq`]);
    rmSync(dir, { recursive: true, force: true });
  });

  function startWorker(): { child: ChildProcess; logs: string[]; exited: Promise<number | null> } {
    const env = workerEnv(id, { REDIS_URL: redisServer.url, SURGEWATCH_PIPELINES_DIR: dir, SURGEWATCH_SHUTDOWN_GRACE_MS: String(GRACE_MS), LOG_LEVEL: 'info' });
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/surgewatch.ts'], { cwd: resolve('.'), env, stdio: ['ignore', 'pipe', 'pipe'] });
    const logs: string[] = [];
    child.stdout!.on('data', (d: Buffer) => logs.push(...d.toString().split('\n').filter(Boolean)));
    child.stderr!.on('data', (d: Buffer) => logs.push(...d.toString().split('\n').filter(Boolean)));
    children.push(child);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return { child, logs, exited };
  }

  const signals = (from: number, n: number) =>
    Array.from({ length: n }, (_, k) => ({ key: `k${from + k}`, value: JSON.stringify({ id: `sig-${from + k}`, ts: t0 + (from + k) * 10, text: 'i want to die', surface: 'post' }) }));

  async function committed(): Promise<number> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      return offsets!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    } finally {
      await admin.disconnect();
    }
  }

  /** Resolves with the exit code, or fails once the grace period and a little more passed. */
  async function exitWithinGrace(w: { exited: Promise<number | null> }): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([w.exited, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('still running past the grace period')), GRACE_MS + 2500)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  it('commits what it counted and exits cleanly on SIGTERM', async () => {
    const w = startWorker();
    await produce(kafka, topic, signals(0, 3000));
    await waitFor(async () => ((await store.totals('stop')).signals === 3000 ? true : undefined), 60_000, 'the worker to count 3000 signals');
    w.child.kill('SIGTERM');
    expect(await exitWithinGrace(w)).toBe(0);
    expect(await committed()).toBe(3000);
    expect(w.logs.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
  }, 120_000);

  it('exits within its grace period on SIGTERM while Redis is down, committing nothing it did not count', async () => {
    const w = startWorker();
    await produce(kafka, topic, signals(3000, 1000));
    await waitFor(async () => ((await store.totals('stop')).signals === 4000 ? true : undefined), 60_000, 'the worker to count 1000 more');
    // Counted, then committed (a batch is committed once its handling ends): the outage comes after both.
    await waitFor(async () => ((await committed()) === 4000 ? true : undefined), 30_000, 'the worker to commit the 1000');
    await redisServer.stop();
    // A batch the worker cannot write: it is in hand, retried, when SIGTERM comes.
    await produce(kafka, topic, signals(4000, 500));
    await waitFor(async () => (w.logs.some((l) => l.includes('retrying')) ? true : undefined), 30_000, 'the worker to retry its batch');
    w.child.kill('SIGTERM');
    expect(await exitWithinGrace(w)).toBe(0);
    expect(await committed()).toBe(4000);
    expect(w.logs.filter((l) => l.includes('[ioredis]'))).toEqual([]);
  }, 120_000);
});
