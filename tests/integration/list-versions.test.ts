import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import type { TopicDefinition } from '../../src/config/topic-schema.js';
import { RedisListChannel } from '../../src/lists/redis-list-channel.js';
import { ManualClock } from '../../src/shared/clock.js';
import { createLogger } from '../../src/shared/logger.js';
import { ListSync } from '../../src/worker/list-sync.js';
import { swapLists, type PipelineRuntime } from '../../src/worker/pipeline-runtime.js';
import { testRuntime, testTopics } from '../_util/fixtures.js';
import { createTestRedis, deleteKeys, uniqueId, waitFor } from '../_util/services.js';

/**
 * Worker processes sharing lists through Redis, started on files of different ages: one started
 * on stale files does not revert the others; it runs the newer lists in force, and says so.
 */
describe('list versions across worker processes on Redis', () => {
  const redis = createTestRedis();
  const prefix = uniqueId('lv');
  const T0 = Date.UTC(2026, 10, 21, 12);
  const NEW_TERM = 'moonlit exit plan';
  const newer: TopicDefinition[] = testTopics.map((t) => (t.id === 'self-harm' ? { ...t, terms: [...t.terms, NEW_TERM] } : t));
  const closers: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
    await deleteKeys(redis, prefix);
  });
  afterAll(async () => {
    await redis.quit();
  });

  /** One worker process: its own connection to Redis, pipelines compiled from its files, its log. */
  function workerProcess(files: TopicDefinition[]) {
    const conn = redis.duplicate();
    const channel = new RedisListChannel(conn, prefix, { clock: new ManualClock(T0) });
    const runtime: PipelineRuntime = testRuntime({ topics: ['self-harm', 'scams-fraud'] });
    swapLists(runtime, files); // compiled from its own files, as at start
    const logs: { msg: string }[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _e, done) => (chunk.toString().split('\n').filter(Boolean).forEach((l) => logs.push(JSON.parse(l) as { msg: string })), done()) });
    const sync = new ListSync({ channel, runtimes: [runtime], clock: new ManualClock(T0), logger: createLogger('info', 'test', sink), source: 'files:/srv/topics' });
    closers.push(async () => {
      await sync.close();
      await channel.close();
      await conn.quit();
    });
    return { runtime, sync, logs, files, hits: (text: string) => runtime.lexicon.match({ text, hashtags: [] }).map((m) => m.topic) };
  }

  it('keeps the newer lists in force when a process starts on older files, and runs them there too', async () => {
    const current = workerProcess(newer);
    const stale = workerProcess(testTopics);
    const refCurrent = await current.sync.start(newer, T0);
    const refStale = await stale.sync.start(testTopics, T0 - 86_400_000);

    expect(refStale).toEqual(refCurrent);
    expect(current.runtime.lists.set).toEqual(refCurrent);
    expect(current.hits(`my ${NEW_TERM}`)).toEqual(['self-harm']);
    // The stale process runs the newer lists, not its files, and says why.
    expect(stale.runtime.lists.set).toEqual(refCurrent);
    expect(stale.hits(`my ${NEW_TERM}`)).toEqual(['self-harm']);
    expect(stale.logs.some((l) => /newer than this process's files/.test(l.msg))).toBe(true);
    expect(refCurrent.revision).toBe(1);
  });

  it('lets a process started on files edited later replace them, everywhere', async () => {
    const first = workerProcess(newer);
    const later = workerProcess(testTopics);
    await first.sync.start(newer, T0);
    const ref = await later.sync.start(testTopics, T0 + 60_000);
    expect(ref.revision).toBe(2);
    await waitFor(async () => (first.runtime.lists.set.revision === 2 ? true : undefined), 10_000, 'the first process to swap in the later lists');
    expect(first.hits(`my ${NEW_TERM}`)).toEqual([]);
  });
});
