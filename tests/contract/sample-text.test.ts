import { beforeEach, expect, it } from 'vitest';
import { describeContract, type ContractHooks } from '../_util/contract.js';
import { ManualClock } from '../../src/shared/clock.js';
import { MemoryWindowStore } from '../../src/windows/memory-window-store.js';
import { RedisWindowStore } from '../../src/windows/redis-window-store.js';
import type { CountBatch, CountedSignal, SampleContent, WindowLayout, WindowStore } from '../../src/windows/window-store.js';
import { createTestRedis, deleteKeys, uniqueId } from '../_util/services.js';

const BUCKET_MS = 10_000;
const T0 = Date.UTC(2024, 2, 1, 12);
const PIPELINE = 'high-harm';
const TTL_SEC = 1;
const layout: WindowLayout = { bucketMs: BUCKET_MS, retentionSec: 3600, detailTtlSec: 600, samplesPerBucket: 2, hourlyTtlSec: 0, sampleTextTtlSec: TTL_SEC };

const content = (text: string, more: Partial<SampleContent> = {}): SampleContent => ({ tsMs: T0 + 1000, surface: 'post', region: 'US-TX', lang: 'en', text, ...more });

function hit(id: string, series: string[], terms: string[], text: string, more: Partial<CountedSignal> = {}): CountedSignal {
  return { id, bucketMs: T0, series, terms, sample: content(text), ...more };
}

const batch = (signals: CountedSignal[], l: WindowLayout = layout): CountBatch => ({ pipeline: PIPELINE, layout: l, position: null, signals, totals: {} });

interface Harness {
  store: WindowStore;
  /** Lets sampleTextTtlSec pass (wall clock). */
  expire(): Promise<void>;
  close(): Promise<void>;
}

/** Sample-text storage, the same for every WindowStore. */
function describeSampleTextContract(name: string, factory: () => Harness, hooks: ContractHooks = {}): void {
  describeContract(`${name} (sample text contract)`, factory, hooks, (current) => {
    let h: Harness;
    beforeEach(() => {
      h = current();
    });

    it("keeps a sample's text, where it was seen and the union of its terms over the topics it hit", async () => {
      await h.store.applyBatch(
        batch([
          hit('s1', ['self-harm', 'self-harm|region=US-TX'], ['kms'], 'honestly kms @someone'),
          hit('s1', ['harassment'], ['kys', 'kms'], 'honestly kms @someone'),
        ]),
      );
      const got = await h.store.readSamples(PIPELINE, ['s1', 'unknown']);
      expect([...got.keys()]).toEqual(['s1']);
      const s = got.get('s1')!;
      expect(s).toMatchObject({ id: 's1', tsMs: T0 + 1000, surface: 'post', region: 'US-TX', lang: 'en', text: 'honestly kms @someone' });
      expect([...s.terms].sort()).toEqual(['kms', 'kys']);
    });

    it('keeps the text of the samples a bucket keeps only (the newest samplesPerBucket), and none for counted-only signals', async () => {
      await h.store.applyBatch(
        batch([
          hit('old', ['self-harm'], ['kms'], 'first'),
          hit('mid', ['self-harm'], ['kms'], 'second'),
          hit('new', ['self-harm'], ['kms'], 'third'),
          { id: 'traffic', bucketMs: T0, series: ['~traffic'], terms: [], countOnly: true },
        ]),
      );
      const got = await h.store.readSamples(PIPELINE, ['old', 'mid', 'new', 'traffic']);
      expect([...got.keys()].sort()).toEqual(['mid', 'new']);
      const details = await h.store.readDetails(PIPELINE, 'self-harm', T0, T0, BUCKET_MS, { topTerms: 5, samples: 5 });
      expect([...details.sampleIds].sort()).toEqual(['mid', 'new']);
    });

    it('stores no text when the layout keeps none', async () => {
      await h.store.applyBatch(batch([hit('s1', ['self-harm'], ['kms'], 'text')], { ...layout, sampleTextTtlSec: 0 }));
      expect((await h.store.readSamples(PIPELINE, ['s1'])).size).toBe(0);
      // The sample id itself is still kept.
      expect((await h.store.readDetails(PIPELINE, 'self-harm', T0, T0, BUCKET_MS, { topTerms: 5, samples: 5 })).sampleIds).toEqual(['s1']);
    });

    it("keeps only what alerts show for long: other samples' text lives as long as the bucket's details", async () => {
      const long = { ...layout, detailTtlSec: TTL_SEC, sampleTextTtlSec: 3600 };
      await h.store.applyBatch(batch([hit('shown', ['self-harm'], ['kms'], 'on an alert'), hit('other', ['self-harm'], ['kms'], 'on none')], long));
      await h.store.keepSamples(PIPELINE, ['shown', 'never-stored'], 3600);
      await h.expire();
      const got = await h.store.readSamples(PIPELINE, ['shown', 'other', 'never-stored']);
      expect([...got.keys()]).toEqual(['shown']);
      expect(got.get('shown')!.text).toBe('on an alert');
    });

    it('forgets the text once sampleTextTtlSec has passed', async () => {
      await h.store.applyBatch(batch([hit('s1', ['self-harm'], ['kms'], 'text to forget')]));
      expect((await h.store.readSamples(PIPELINE, ['s1'])).get('s1')?.text).toBe('text to forget');
      await h.expire();
      expect((await h.store.readSamples(PIPELINE, ['s1'])).size).toBe(0);
    });
  });
}

describeSampleTextContract('MemoryWindowStore', () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const store = new MemoryWindowStore({ clock });
  return { store, expire: async () => clock.advance(TTL_SEC * 1000 + 1), close: () => store.close() };
});

{
  const redis = createTestRedis();
  let prefixes: string[] = [];
  describeSampleTextContract(
    'RedisWindowStore',
    () => {
      const prefix = uniqueId('sws');
      prefixes.push(prefix);
      const store = new RedisWindowStore(redis, prefix);
      // Redis times keys out on its own clock: wait past the TTL.
      return { store, expire: () => new Promise((r) => setTimeout(r, TTL_SEC * 1000 + 600)), close: () => store.close() };
    },
    {
      afterEach: async () => {
        for (const p of prefixes) await deleteKeys(redis, p);
        prefixes = [];
      },
      afterAll: async () => {
        await redis.quit();
      },
    },
  );
}

