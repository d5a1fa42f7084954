import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisWindowStore } from '../../src/windows/redis-window-store.js';
import { badRecord, FUZZ_SEED } from '../_util/hostile.js';
import { consumeN, createTopic, deleteTopics, produce, testKafka } from '../_util/kafka.js';
import { createTestRedis, deleteKeys, uniqueId, waitFor, workerEnv } from '../_util/services.js';

/** Valid signals mixed with fuzzed bad records, through a real broker and a real worker process. */
describe('hostile records on the real Kafka', () => {
  const id = uniqueId('hk');
  const topic = `${id}-signals`;
  const dlq = `${id}-dlq`;
  const kafka = testKafka();
  const redis = createTestRedis();
  const store = new RedisWindowStore(redis, id);
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-hostile-'));
  let child: ChildProcess | undefined;
  const now = Date.now();
  const VALID = 400;
  const bad = fc.sample(badRecord(now), { seed: FUZZ_SEED, numRuns: 80 });

  beforeAll(async () => {
    writeFileSync(join(dir, 'hostile.yaml'), [`id: hostile`, `source: { topic: ${topic} }`, 'topics: [self-harm]'].join('\n'));
    await createTopic(kafka, topic, 3);
    await createTopic(kafka, dlq, 1);
  });

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await deleteTopics(kafka, [topic, dlq]);
    await deleteKeys(redis, id);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts every valid signal once and dead-letters every bad record with its reason', async () => {
    const valid = Array.from({ length: VALID }, (_, i) => ({
      key: `v${i}`,
      value: JSON.stringify({ id: `ok-${i}`, ts: now - 60_000 + i * 10, text: i % 2 ? 'i want to die \u202e\u200b' : 'lunch #\u200dnoodles', surface: 'post', author: `a${i % 37}` }),
    }));
    const messages = [...valid];
    // Bad records spread through the stream, so they share batches with good ones.
    bad.forEach((b, i) => messages.splice((i * 7) % messages.length, 0, { key: `bad${i}`, value: b.value as never }));
    await produce(kafka, topic, messages);

    const stderr: string[] = [];
    child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/surgewatch.ts'], {
      cwd: resolve('.'),
      env: workerEnv(id, { SURGEWATCH_PIPELINES_DIR: dir, LOG_LEVEL: 'error' }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));

    const letters = await consumeN(kafka, dlq, bad.length, 120_000);
    await waitFor(async () => ((await store.totals('hostile')).signals ?? 0) >= VALID || undefined, 60_000, `${VALID} signals counted`);
    // Let a wrongly repeated batch land before checking exact figures.
    await new Promise((r) => setTimeout(r, 2000));

    const totals = await store.totals('hostile');
    expect(totals.signals).toBe(VALID);
    expect(totals.hits).toBe(VALID / 2);
    expect(totals.dead_letters).toBe(bad.length);
    const admin = kafka.admin();
    await admin.connect();
    const dlqOffsets = await admin.fetchTopicOffsets(dlq);
    await admin.disconnect();
    expect(dlqOffsets.reduce((n, p) => n + Number(p.high), 0)).toBe(bad.length);
    for (const l of letters) {
      expect(l.headers['x-surgewatch-reason']).toMatch(/\S{3}/);
      expect(l.headers['x-surgewatch-code']).toMatch(/^(empty|oversize|not_utf8|not_json|invalid|future)$/);
    }
    expect(letters.map((l) => l.value?.toString('base64') ?? null).sort()).toEqual(bad.map((b) => b.value?.toString('base64') ?? null).sort());
    expect(child.exitCode).toBe(null);
    expect(stderr.join('')).not.toMatch(/uncaught|unhandled|crash/i);
  }, 200_000);
});
