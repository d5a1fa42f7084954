import { describe, expect, it } from 'vitest';
import type { AlertPublisher } from '../../../src/alerts/alert-store.js';
import { MemoryAlertStore } from '../../../src/alerts/memory-alert-store.js';
import { OutboxRelay } from '../../../src/alerts/outbox-relay.js';
import type { TopicDefinition } from '../../../src/config/topic-schema.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { MemoryLease } from '../../../src/windows/lease.js';
import { MemoryWindowStore } from '../../../src/windows/memory-window-store.js';
import { DetectionTicker } from '../../../src/worker/detection-ticker.js';
import { MissingTopicsError, swapLists, type PipelineRuntime } from '../../../src/worker/pipeline-runtime.js';
import { processRecords, type RawRecord } from '../../../src/worker/process-records.js';
import { testRuntime, testTopics } from '../../_util/fixtures.js';

const T0 = Date.UTC(2026, 4, 1, 12, 0, 0);
const NEW_TERM = 'moonlit exit plan';

let offset = 0;
const signal = (text: string, tsMs = T0): RawRecord => ({
  offset: String(offset++),
  value: Buffer.from(JSON.stringify({ id: `s${offset}`, ts: tsMs, text, surface: 'post', author: `a${offset}` })),
});
const hits = async (rt: PipelineRuntime, records: RawRecord[]) =>
  (await processRecords(records, rt, { authorHashKey: 'unit-test-author-hash-key', watermark: { maxEventMs: -Infinity } })).totals.hits;

/** The fixture topics with one more self-harm term. */
const withNewTerm = (): TopicDefinition[] => testTopics.map((t) => (t.id === 'self-harm' ? { ...t, terms: [...t.terms, NEW_TERM] } : t));

describe('swapLists', () => {
  it('makes the next batch score with the new lists', async () => {
    const rt = testRuntime({ topics: ['self-harm'] });
    const before = rt.lists;
    expect(await hits(rt, [signal(`my ${NEW_TERM} is ready`)])).toBe(0);

    const previous = swapLists(rt, withNewTerm(), { version: 'v-next', revision: 2 });
    expect(previous).toBe(before);
    expect(rt.lists.set).toEqual({ version: 'v-next', revision: 2 });
    expect(await hits(rt, [signal(`my ${NEW_TERM} is ready`), signal('i want to kill myself')])).toBe(2);
    // The shorthands follow the swap.
    expect(rt.lexicon).toBe(rt.lists.lexicon);
    expect(rt.topics).toBe(rt.lists.topics);
    expect(rt.lexicon.version).not.toBe(before.lexicon.version);
  });

  it('leaves a batch in progress on the lists it started with', async () => {
    const rt = testRuntime({ topics: ['self-harm'] });
    const inProgress = rt.lists;
    swapLists(rt, withNewTerm());
    // A batch holds the lists it read at its start; the swap does not change them under it.
    expect(inProgress.lexicon.match({ text: `my ${NEW_TERM}`, hashtags: [] })).toEqual([]);
    expect(rt.lists.lexicon.match({ text: `my ${NEW_TERM}`, hashtags: [] }).map((m) => m.term)).toEqual([NEW_TERM]);
  });

  it('refuses lists that lack a topic the pipeline names, and keeps the old ones', async () => {
    const rt = testRuntime({ topics: ['self-harm', 'scams-fraud'] });
    const before = rt.lists;
    const err = (() => {
      try {
        swapLists(rt, testTopics.filter((t) => t.id !== 'scams-fraud'));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MissingTopicsError);
    expect((err as MissingTopicsError).missing).toEqual(['scams-fraud']);
    expect((err as MissingTopicsError).code).toBe('CONFIG_INVALID');
    expect(rt.lists).toBe(before);
    expect(await hits(rt, [signal('guaranteed returns, act now')])).toBe(1);
  });

  it('lets a pipeline on "all" topics drop a topic', async () => {
    const rt = testRuntime({ topics: 'all' });
    swapLists(rt, testTopics.filter((t) => t.id !== 'scams-fraud'));
    expect([...rt.topics.keys()]).toEqual(['self-harm']);
    expect(await hits(rt, [signal('guaranteed returns, act now')])).toBe(0);
  });

  it('makes detection raise alerts on the new lists, carrying their version', async () => {
    const clock = new ManualClock(T0);
    const rt = testRuntime({
      topics: ['self-harm'],
      windows: { bucketSec: 10, currentSec: 60, baselineSec: 600, retentionSec: 3600, dimensions: [] },
      detect: { tickSec: 5, minCount: 5, minRatio: 2, zThreshold: 2, minBaselineCoverage: 0 },
    });
    const oldVersion = rt.lexicon.version;
    const windows = new MemoryWindowStore();
    const lease = new MemoryLease(clock);
    const alerts = new MemoryAlertStore({ fenceCheck: lease.holds });
    const published: string[] = [];
    const publisher: AlertPublisher = { publish: async (_topic, e) => void published.push(e.alert.list_version), close: async () => undefined };
    const relay = new OutboxRelay({ store: alerts, publisher, pipelines: [{ id: rt.config.id, topic: 'alerts' }], logger: silentLogger });
    const ticker = new DetectionTicker({ runtimes: [rt], windows, alerts, outbox: relay, lease, clock, logger: silentLogger });

    swapLists(rt, withNewTerm());
    const records = Array.from({ length: 20 }, (_, i) => signal(`the ${NEW_TERM} again`, T0 - 30_000 + i * 1000));
    const out = await processRecords(records, rt, { authorHashKey: 'unit-test-author-hash-key', watermark: { maxEventMs: -Infinity } });
    expect(out.totals.hits).toBe(20);
    await windows.applyBatch({
      pipeline: rt.config.id,
      layout: rt.layout,
      position: { partitionKey: 'signals:0', expectedPrevOffset: '-1', lastOffset: records.at(-1)!.offset },
      signals: out.signals,
      totals: out.totals,
    });

    const [report] = await ticker.tick(T0);
    await ticker.close();
    await relay.drain();
    expect(report!.events.map((e) => [e.type, e.alert.topic, e.alert.top_terms[0]?.term])).toEqual([['opened', 'self-harm', NEW_TERM]]);
    expect(report!.events[0]!.alert.list_version).toBe(rt.lists.set.version);
    expect(report!.events[0]!.alert.list_version).not.toBe(oldVersion);
    expect(published).toEqual([rt.lists.set.version]);
  });
});
