import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { topicDefinitionSchema, type TopicDefinition, type TopicDefinitionInput } from '../../src/config/topic-schema.js';
import { MemoryListChannel, type ListChannel } from '../../src/lists/list-channel.js';
import { createListSetDraft, type ListError, type ListSetRef, type WorkerListState } from '../../src/lists/list-set.js';
import { RedisListChannel } from '../../src/lists/redis-list-channel.js';
import { ManualClock } from '../../src/shared/clock.js';
import { createListKeys } from '../../src/windows/keys.js';
import { createTestRedis, deleteKeys, uniqueId, waitFor } from '../_util/services.js';

interface ChannelHarness {
  /** The channel of one worker process... */
  a: ListChannel;
  /** ...and of another one sharing it (the same object in memory, another connection on Redis). */
  b: ListChannel;
  clock: ManualClock;
}

const topic = (input: Partial<TopicDefinitionInput> & { id: string }): TopicDefinition =>
  topicDefinitionSchema.parse({ name: input.id, severity: 'high', ...input });

const selfHarm = topic({
  id: 'self-harm',
  severity: 'critical',
  terms: ['kill myself', { term: 'goodbye forever', weight: 0.5 }, { term: 'unalive', mode: 'prefix', lang: 'en' }],
  hashtags: ['wanttodie'],
  exclusions: ['suicide squad', { phrase: 'kill myself laughing', terms: ['kill myself'] }],
  exemplars: ['nobody would notice if I was gone'],
  thresholds: { lexicon: 1.5 },
});
const scams = topic({ id: 'scams', severity: 'medium', terms: ['guaranteed returns'] });
const v1 = createListSetDraft([selfHarm, scams], 'files:/srv/topics');
const v2 = createListSetDraft([selfHarm, { ...scams, terms: [...scams.terms, 'crypto giveaway'] }], 'files:/srv/topics');

const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);
const WORKER_TTL_SEC = 60;
const KEPT = 3;

const worker = (workerId: string, ref: ListSetRef, atMs: number): WorkerListState => ({
  workerId,
  pid: 4242,
  host: 'node-1',
  ...ref,
  at: new Date(atMs).toISOString(),
});

/** The behaviour every ListChannel must show; run once per implementation. */
function describeListChannelContract(name: string, factory: () => Promise<ChannelHarness>, cleanup: () => Promise<void>): void {
  describe(`${name} (ListChannel contract)`, () => {
    let a: ListChannel;
    let b: ListChannel;
    let clock: ManualClock;
    beforeEach(async () => {
      ({ a, b, clock } = await factory());
    });
    afterEach(cleanup);

    it('has no list set before the first publish, then serves the published one to every process', async () => {
      expect(await a.current()).toBeUndefined();
      expect(await b.currentRef()).toBeUndefined();

      const { set, published } = await a.publish(v1);
      expect(published).toBe(true);
      expect(set).toMatchObject({ version: v1.version, revision: 1, source: 'files:/srv/topics', publishedAt: new Date(T0).toISOString() });

      const read = await b.current();
      expect(read).toEqual(set);
      // Every field survives the trip: term objects, modes, languages, exclusions, thresholds, exemplars.
      expect(read!.topics).toEqual(v1.topics);
      expect(await b.currentRef()).toEqual({ version: v1.version, revision: 1 });
    });

    it('keeps a set edited later than a draft published only-if-not-older, and replaces an older one', async () => {
      const edited = (draft: typeof v1, ms: number) => ({ ...draft, editedAt: new Date(ms).toISOString() });
      const first = await a.publish(edited(v2, T0 + 60_000));
      expect(first.set.editedAt).toBe(new Date(T0 + 60_000).toISOString());
      // Stale files (edited before the set in force): the set stays, nothing is announced.
      const stale = await b.publish(edited(v1, T0), { onlyIfNotOlder: true });
      expect(stale).toMatchObject({ published: false, superseded: true, set: { version: v2.version, revision: 1, editedAt: new Date(T0 + 60_000).toISOString() } });
      expect(await b.currentRef()).toEqual({ version: v2.version, revision: 1 });
      // Files edited later win; so does any publish not asking for the check (a reload).
      expect(await b.publish(edited(v1, T0 + 120_000), { onlyIfNotOlder: true })).toMatchObject({ published: true, set: { version: v1.version, revision: 2 } });
      expect(await a.publish(edited(v2, T0), {})).toMatchObject({ published: true, set: { version: v2.version, revision: 3 } });
      // A draft or a set without an edit time is never "older".
      expect(await b.publish(v1, { onlyIfNotOlder: true })).toMatchObject({ published: true, set: { revision: 4 } });
      expect((await a.current())!.editedAt).toBeUndefined();
      expect(await a.publish(edited(v2, T0 - 60_000), { onlyIfNotOlder: true })).toMatchObject({ published: true, set: { revision: 5 } });
    });

    it('gives each new version the next revision, and does not republish the current version', async () => {
      expect((await a.publish(v1)).set.revision).toBe(1);
      const again = await b.publish(v1);
      expect(again.published).toBe(false);
      expect(again.set.revision).toBe(1);

      const second = await b.publish(v2);
      expect(second).toMatchObject({ published: true, set: { version: v2.version, revision: 2 } });
      // Going back to earlier content is a change too: a new revision, not an old one.
      const third = await a.publish(v1);
      expect(third).toMatchObject({ published: true, set: { version: v1.version, revision: 3 } });
      expect(await b.currentRef()).toEqual({ version: v1.version, revision: 3 });
    });

    it('creates one revision when several processes publish the same files at once', async () => {
      const results = await Promise.all([a.publish(v2), b.publish(v2), a.publish(v2), b.publish(v2)]);
      expect(results.filter((r) => r.published)).toHaveLength(1);
      expect(new Set(results.map((r) => r.set.revision))).toEqual(new Set([1]));
    });

    it('announces each new revision to subscribers in other processes, until they unsubscribe', async () => {
      const seen: ListSetRef[] = [];
      const unsubscribe = await b.subscribe((ref) => seen.push(ref));
      await a.publish(v1);
      await waitFor(async () => (seen.length >= 1 ? true : undefined), 5000, 'the first announcement');
      await a.publish(v1); // unchanged: no announcement
      await a.publish(v2);
      await waitFor(async () => (seen.length >= 2 ? true : undefined), 5000, 'the second announcement');
      expect(seen).toEqual([
        { version: v1.version, revision: 1 },
        { version: v2.version, revision: 2 },
      ]);

      await unsubscribe();
      await a.publish(v1);
      // A subscriber that is still there proves the announcement went out before we check.
      const later: ListSetRef[] = [];
      await b.subscribe((ref) => later.push(ref));
      await a.publish(v2);
      await waitFor(async () => (later.length >= 1 ? true : undefined), 5000, 'an announcement to the new subscriber');
      expect(seen).toHaveLength(2);
    });

    it('lists the version each worker process reports, forgetting stopped and silent ones', async () => {
      const r1 = { version: v1.version, revision: 1 };
      const r2 = { version: v2.version, revision: 2 };
      await a.reportActive(worker('w-a', r1, T0));
      await b.reportActive(worker('w-b', r1, T0));
      expect((await a.activeWorkers()).map((w) => [w.workerId, w.revision])).toEqual([
        ['w-a', 1],
        ['w-b', 1],
      ]);

      await a.reportActive(worker('w-a', r2, T0 + 1000));
      expect(await b.activeWorkers()).toEqual([worker('w-a', r2, T0 + 1000), worker('w-b', r1, T0)]);

      await b.removeWorker('w-b');
      expect((await a.activeWorkers()).map((w) => w.workerId)).toEqual(['w-a']);

      // A process that stopped reporting (killed) drops out once its report is older than the TTL.
      await b.reportActive(worker('w-b', r2, T0 + 1000));
      clock.set(T0 + 1000 + WORKER_TTL_SEC * 1000 - 1);
      await a.reportActive(worker('w-a', r2, clock.now()));
      clock.advance(2);
      expect((await b.activeWorkers()).map((w) => w.workerId)).toEqual(['w-a']);
    });

    it('publishes over a given version only (compare-and-set), so a change built on an older set undoes nothing', async () => {
      await a.publish(v1);
      const concurrent = await b.publish(v2, { ifVersion: v1.version });
      expect(concurrent.published).toBe(true);
      // Built on v1 as well, but v2 is in force now: refused, v2 stays.
      const v3 = createListSetDraft([{ ...selfHarm, terms: ['moonlit exit plan'] }, scams], 'api');
      const stale = await a.publish(v3, { ifVersion: v1.version });
      expect(stale).toMatchObject({ published: false, stale: true, set: { version: v2.version } });
      expect(await b.currentRef()).toEqual({ version: v2.version, revision: 2 });
    });

    it('gives each topic the next version when its content changes, with who published it, and keeps its definitions', async () => {
      await a.publish(v1);
      clock.advance(1000);
      await b.publish(v2, { actor: 'editor-key' });
      const { set, heads } = await b.snapshot();
      expect(set!.version).toBe(v2.version);
      // scams changed (v2 adds a term); self-harm did not.
      expect(heads.get('scams')).toMatchObject({ topic: 'scams', version: 2, by: 'editor-key', revision: 2, at: new Date(T0 + 1000).toISOString() });
      expect(heads.get('self-harm')).toMatchObject({ version: 1, by: 'files:/srv/topics', revision: 1 });
      expect((await a.topicVersions('scams')).map((v) => [v.version, v.by])).toEqual([
        [1, 'files:/srv/topics'],
        [2, 'editor-key'],
      ]);
      expect(await a.topicDefinition('scams', 1)).toEqual(v1.topics.find((t) => t.id === 'scams'));
      expect(await a.topicDefinition('scams', 2)).toEqual(v2.topics.find((t) => t.id === 'scams'));
      expect(await a.topicDefinition('scams', 3)).toBeUndefined();
      expect(await a.topicVersions('no-such-topic')).toEqual([]);

      // Back to the first content: a new version (3), equal to version 1.
      await a.publish(createListSetDraft(v1.topics, 'api'), { actor: 'editor-key' });
      const back = await b.topicVersions('scams');
      expect(back.map((v) => v.version)).toEqual([1, 2, 3]);
      expect(back[2]!.hash).toBe(back[0]!.hash);
    });

    it(`keeps the newest ${KEPT} versions of a topic and their definitions`, async () => {
      for (let i = 0; i < KEPT + 2; i++) await a.publish(createListSetDraft([selfHarm, { ...scams, terms: [`term ${i}`] }], 'api'));
      const versions = await b.topicVersions('scams');
      expect(versions.map((v) => v.version)).toEqual([3, 4, 5]);
      expect(await b.topicDefinition('scams', 2)).toBeUndefined();
      expect((await b.topicDefinition('scams', 3))!.terms).toEqual(['term 2']);
      expect((await b.snapshot()).heads.get('scams')!.version).toBe(5);
    });

    it('keeps the last error until it is cleared', async () => {
      expect(await a.lastError()).toBeUndefined();
      const error: ListError = {
        at: new Date(T0).toISOString(),
        source: 'files:/srv/topics',
        problems: [{ source: '/srv/topics/scams.yaml', path: 'severity', message: 'Invalid option: expected one of "critical"|"high"|"medium"|"low"' }],
        active: { version: v1.version, revision: 1 },
        reportedBy: 'w-a',
      };
      await a.reportError(error);
      expect(await b.lastError()).toEqual(error);
      await b.clearError();
      expect(await a.lastError()).toBeUndefined();
    });
  });
}

describeListChannelContract(
  'MemoryListChannel',
  async () => {
    const clock = new ManualClock(T0);
    const channel = new MemoryListChannel({ clock, workerTtlSec: WORKER_TTL_SEC, topicVersionsKept: KEPT });
    return { a: channel, b: channel, clock };
  },
  async () => undefined,
);

describe('RedisListChannel', () => {
  const redisA = createTestRedis();
  const redisB = createTestRedis();
  let prefix = uniqueId('lc');
  const open: ListChannel[] = [];

  afterAll(async () => {
    await redisA.quit();
    await redisB.quit();
  });

  const cleanup = async () => {
    for (const c of open.splice(0)) await c.close();
    await deleteKeys(redisA, prefix);
  };

  const channel = (redis: Redis, clock: ManualClock) => {
    const c = new RedisListChannel(redis, prefix, { clock, workerTtlSec: WORKER_TTL_SEC, topicVersionsKept: KEPT });
    open.push(c);
    return c;
  };

  describeListChannelContract(
    'RedisListChannel',
    async () => {
      prefix = uniqueId('lc');
      const clock = new ManualClock(T0);
      return { a: channel(redisA, clock), b: channel(redisB, clock), clock };
    },
    cleanup,
  );

  it('gives every key it writes a TTL', async () => {
    prefix = uniqueId('lc');
    const clock = new ManualClock(T0);
    const a = channel(redisA, clock);
    await a.subscribe(() => undefined);
    await a.publish(v1);
    await a.publish(v2);
    await a.reportActive(worker('w-a', { version: v2.version, revision: 2 }, T0));
    await a.reportError({ at: new Date(T0).toISOString(), source: 'x', problems: [], reportedBy: 'w-a' });
    const keys = await redisA.keys(`${prefix}:*`);
    expect(keys.length).toBeGreaterThanOrEqual(4);
    for (const key of keys) expect({ key, ttlPositive: (await redisA.ttl(key)) > 0 }).toEqual({ key, ttlPositive: true });
    await cleanup();
  });

  it('refuses list sets in Redis that do not validate, rather than running them', async () => {
    prefix = uniqueId('lc');
    const a = channel(redisA, new ManualClock(T0));
    await a.publish(v1);
    await redisA.hset(createListKeys(prefix).current, 'topics', JSON.stringify([{ id: 'x', name: 'x', severity: 'extreme' }]));
    await expect(a.current()).rejects.toThrow(/severity/);
    await cleanup();
  });
});
