import { afterEach, describe, expect, it } from 'vitest';
import type { TopicDefinition } from '../../../src/config/topic-schema.js';
import { MemoryListChannel } from '../../../src/lists/list-channel.js';
import { createListSetDraft, type ListSetRef } from '../../../src/lists/list-set.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { ListSync } from '../../../src/worker/list-sync.js';
import type { PipelineRuntime } from '../../../src/worker/pipeline-runtime.js';
import { testRuntime, testTopics } from '../../_util/fixtures.js';
import { waitFor } from '../../_util/services.js';
import type { Embedder } from '../../../src/scoring/embedder.js';
import { SemanticScorer } from '../../../src/scoring/semantic-scorer.js';

const NEW_TERM = 'moonlit exit plan';
const withNewTerm = (): TopicDefinition[] => testTopics.map((t) => (t.id === 'self-harm' ? { ...t, terms: [...t.terms, NEW_TERM] } : t));
const hitsTopic = (rt: PipelineRuntime, text: string) => rt.lexicon.match({ text, hashtags: [] }).map((m) => m.topic);

describe('ListSync over a shared channel', () => {
  const clock = new ManualClock(Date.UTC(2026, 4, 1));
  let channel: MemoryListChannel;
  const syncs: ListSync[] = [];

  /** One worker process: its pipelines, compiled from its files, and its ListSync. */
  function workerProcess(topics: PipelineRuntime['config']['topics'] = ['self-harm', 'scams-fraud']) {
    const runtime = testRuntime({ topics });
    const sync = new ListSync({ channel, runtimes: [runtime], clock, logger: silentLogger, source: 'files:/srv/topics' });
    syncs.push(sync);
    return { runtime, sync };
  }

  const refsOfWorkers = async () => (await channel.activeWorkers()).map((w): ListSetRef => ({ version: w.version, revision: w.revision }));

  afterEach(async () => {
    for (const s of syncs.splice(0)) await s.close();
  });

  it('publishes the files at start once, however many processes start on them', async () => {
    channel = new MemoryListChannel({ clock });
    const a = workerProcess();
    const b = workerProcess();
    const refA = await a.sync.start(testTopics);
    const refB = await b.sync.start(testTopics);
    expect(refA).toEqual({ version: createListSetDraft(testTopics, '').version, revision: 1 });
    expect(refB).toEqual(refA);
    expect(await refsOfWorkers()).toEqual([refA, refA]);
    expect(a.runtime.lists.set).toEqual(refA);
  });

  it('publishes files that differ from the channel at start: the files are the source of truth', async () => {
    channel = new MemoryListChannel({ clock });
    await channel.publish(createListSetDraft(withNewTerm(), 'files:/elsewhere'));
    const a = workerProcess();
    const ref = await a.sync.start(testTopics);
    expect(ref.revision).toBe(2);
    expect((await channel.current())!.version).toBe(ref.version);
    expect(hitsTopic(a.runtime, `my ${NEW_TERM}`)).toEqual([]);
  });

  it('swaps a reload published by one process into every process, which report the new version', async () => {
    channel = new MemoryListChannel({ clock });
    const a = workerProcess();
    const b = workerProcess();
    await a.sync.start(testTopics);
    await b.sync.start(testTopics);
    await channel.reportError({ at: '2026-05-01T00:00:00.000Z', source: 'files:/srv/topics', problems: [], reportedBy: 'x' });

    await a.sync.publishTopics(withNewTerm());
    const next = { version: createListSetDraft(withNewTerm(), '').version, revision: 2 };
    await waitFor(async () => (b.runtime.lists.set.revision === 2 ? true : undefined), 5000, 'process b to swap');
    expect(hitsTopic(a.runtime, `my ${NEW_TERM}`)).toEqual(['self-harm']);
    expect(hitsTopic(b.runtime, `my ${NEW_TERM}`)).toEqual(['self-harm']);
    expect(await refsOfWorkers()).toEqual([next, next]);
    // The folder reads cleanly again: the old error is gone.
    expect(await channel.lastError()).toBeUndefined();
  });

  it('keeps the old lists in a process whose pipeline names a topic the new set lacks, and reports why', async () => {
    channel = new MemoryListChannel({ clock });
    const named = workerProcess(['self-harm', 'scams-fraud']);
    const all = workerProcess('all');
    const first = await named.sync.start(testTopics);
    await all.sync.start(testTopics);

    await all.sync.publishTopics(testTopics.filter((t) => t.id !== 'scams-fraud'));
    await waitFor(async () => (all.runtime.lists.set.revision === 2 ? true : undefined), 5000, 'the "all" pipeline to swap');
    await waitFor(async () => channel.lastError(), 5000, 'the rejection to be reported');

    expect(named.runtime.lists.set).toEqual(first);
    expect(hitsTopic(named.runtime, 'guaranteed returns')).toEqual(['scams-fraud']);
    expect(hitsTopic(all.runtime, 'guaranteed returns')).toEqual([]);
    const error = (await channel.lastError())!;
    expect(error.active).toEqual(first);
    expect(error.problems).toEqual([{ source: 'pipeline test', path: 'topics', message: expect.stringMatching(/"scams-fraud".*revision 2/) as string }]);
  });

  it('records a rejected reload with the version that stays', async () => {
    channel = new MemoryListChannel({ clock });
    const a = workerProcess();
    const ref = await a.sync.start(testTopics);
    await a.sync.reportProblems([{ source: '/srv/topics/scams-fraud.yaml', path: 'severity', message: 'Invalid option' }]);
    expect(await channel.lastError()).toMatchObject({ source: 'files:/srv/topics', active: ref, reportedBy: a.sync.workerId });
    expect(a.runtime.lists.set).toEqual(ref);
  });

  it('stops reporting a process once it closes', async () => {
    channel = new MemoryListChannel({ clock });
    const a = workerProcess();
    const b = workerProcess();
    await a.sync.start(testTopics);
    await b.sync.start(testTopics);
    await a.sync.close();
    expect((await channel.activeWorkers()).map((w) => w.workerId)).toEqual([b.sync.workerId]);
  });

  it('embeds the exemplars of new lists before swapping them in', async () => {
    channel = new MemoryListChannel({ clock });
    const embedded: string[] = [];
    // A stand-in model: what matters here is which texts are embedded, and when.
    const embedder: Embedder = {
      model: 'stand-in',
      dim: 2,
      embed: async (texts) => (embedded.push(...texts), texts.map((t) => Float32Array.from([t.length, 1]))),
      close: async () => {},
    };
    const a = workerProcess(['self-harm']);
    a.runtime.semantic = new SemanticScorer(a.runtime.config.semantic, embedder, silentLogger);
    await a.sync.start(testTopics);
    const exemplar = 'the moon is calling me to leave for good';
    const next = testTopics.map((t) => (t.id === 'self-harm' ? { ...t, exemplars: [exemplar], counterExemplars: ['the moon is pretty tonight'] } : t));
    await a.sync.publishTopics(next);
    await waitFor(async () => (a.runtime.lists.set.revision === 2 ? true : undefined), 5000, 'the swap');
    const index = a.runtime.lists.semantic!;
    expect(index.topics.map((t) => [t.topic, t.exemplars, t.counterExemplars, t.vectors.length])).toEqual([['self-harm', [exemplar], ['the moon is pretty tonight'], 1]]);
    expect(embedded).toEqual([exemplar, 'the moon is pretty tonight']);
  });
});
