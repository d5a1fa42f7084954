import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeContract, type ContractHooks } from '../_util/contract.js';
import { MemoryWindowStore } from '../../src/windows/memory-window-store.js';
import { RedisWindowStore } from '../../src/windows/redis-window-store.js';
import {
  BUCKETS_PER_CHUNK,
  type CountBatch,
  type CountedSignal,
  type HeldSeries,
  type HeldSeriesWrite,
  type SourcePosition,
  type WindowLayout,
  type WindowStore,
} from '../../src/windows/window-store.js';
import { createTestRedis, deleteKeys, uniqueId } from '../_util/services.js';

const BUCKET_MS = 10_000;
const CHUNK_MS = BUCKET_MS * BUCKETS_PER_CHUNK;
/** Event time a long way from the wall clock, aligned to a Redis chunk so that tests can cross one on purpose. */
const T0 = Math.floor(Date.UTC(2024, 2, 1) / CHUNK_MS) * CHUNK_MS;
/** Start of bucket i after T0. */
const b = (i: number) => T0 + i * BUCKET_MS;

const layout: WindowLayout = { bucketMs: BUCKET_MS, retentionSec: 3600, detailTtlSec: 600, samplesPerBucket: 3, hourlyTtlSec: 3 * 86_400 };
const PIPELINE = 'high-harm';

function sig(id: string, bucket: number, series: string[], extra: Partial<CountedSignal> = {}): CountedSignal {
  return { id, bucketMs: b(bucket), series, terms: [], ...extra };
}

function batch(signals: CountedSignal[], more: Partial<CountBatch> = {}): CountBatch {
  return { pipeline: PIPELINE, layout, position: null, signals, totals: {}, ...more };
}

function at(partitionKey: string, expectedPrevOffset: string, lastOffset: string): SourcePosition {
  return { partitionKey, expectedPrevOffset, lastOffset };
}

/** n signals in one bucket for the given series. */
function many(n: number, bucket: number, series: string[], idPrefix = 's'): CountedSignal[] {
  return Array.from({ length: n }, (_, i) => sig(`${idPrefix}${bucket}-${i}`, bucket, series));
}


/** The behaviour every WindowStore must show; run once per implementation. */
function describeWindowStoreContract(name: string, factory: () => WindowStore, hooks: ContractHooks = {}): void {
  describeContract(`${name} (WindowStore contract)`, factory, hooks, (current) => {
    let store: WindowStore;
    beforeEach(() => {
      store = current();
    });

    describe('counts', () => {
      it('counts each signal once per series and bucket, with zeros for empty buckets', async () => {
        await store.applyBatch(
          batch([
            ...many(3, 1, ['self-harm', 'self-harm|region=US-TX']),
            ...many(2, 1, ['self-harm']),
            ...many(4, 3, ['self-harm', 'self-harm|region=US-TX']),
          ]),
        );
        const counts = await store.readCounts(PIPELINE, ['self-harm', 'self-harm|region=US-TX', 'never-seen'], b(0), b(4), BUCKET_MS);
        expect(Object.fromEntries(counts)).toEqual({
          'self-harm': [0, 5, 0, 4, 0],
          'self-harm|region=US-TX': [0, 3, 0, 4, 0],
          'never-seen': [0, 0, 0, 0, 0],
        });
      });

      it('reads a range that spans two chunks as one bucket-aligned array', async () => {
        const last = BUCKETS_PER_CHUNK - 1; // final bucket of the first chunk
        await store.applyBatch(
          batch([...many(1, last - 1, ['t']), ...many(2, last, ['t']), ...many(3, last + 1, ['t']), ...many(4, last + 3, ['t'])]),
        );
        const counts = await store.readCounts(PIPELINE, ['t'], b(last - 2), b(last + 4), BUCKET_MS);
        expect(counts.get('t')).toEqual([0, 1, 2, 3, 0, 4, 0]);
      });

      it('reads several series over two chunks, each its own counts (and none for a series never counted)', async () => {
        const last = BUCKETS_PER_CHUNK - 1;
        await store.applyBatch(batch([...many(1, last, ['a']), ...many(2, last + 1, ['a', 'b']), ...many(5, last - 1, ['b']), ...many(3, last + 2, ['c'])]));
        const counts = await store.readCounts(PIPELINE, ['a', 'never-seen', 'b', 'c'], b(last - 1), b(last + 2), BUCKET_MS);
        expect(Object.fromEntries(counts)).toEqual({ a: [0, 1, 2, 0], 'never-seen': [0, 0, 0, 0], b: [5, 0, 2, 0], c: [0, 0, 0, 3] });
      });

      it('adds the counts of later batches to the same buckets', async () => {
        await store.applyBatch(batch(many(2, 5, ['t'], 'a')));
        await store.applyBatch(batch([...many(3, 5, ['t'], 'b'), ...many(1, 6, ['t'], 'b')]));
        const counts = await store.readCounts(PIPELINE, ['t'], b(5), b(6), BUCKET_MS);
        expect(counts.get('t')).toEqual([5, 1]);
      });

      it('keeps pipelines apart', async () => {
        await store.applyBatch(batch(many(2, 1, ['t'])));
        await store.applyBatch(batch(many(7, 1, ['t']), { pipeline: 'other' }));
        expect((await store.readCounts(PIPELINE, ['t'], b(1), b(1), BUCKET_MS)).get('t')).toEqual([2]);
        expect((await store.readCounts('other', ['t'], b(1), b(1), BUCKET_MS)).get('t')).toEqual([7]);
      });
    });

    describe('non-zero counts', () => {
      it('gives the buckets that hold a count, in bucket order, over a range that starts mid-chunk and crosses chunks', async () => {
        const c = BUCKETS_PER_CHUNK;
        // Counted out of order (late batches), and in the range's first and last chunks outside it.
        await store.applyBatch(batch([...many(5, 2 * c, ['t']), ...many(1, 2 * c + 12, ['t'])]));
        await store.applyBatch(batch([...many(1, 30, ['t'], 'x'), ...many(2, c - 1, ['t'], 'x'), ...many(3, c, ['t'], 'x'), ...many(4, 100, ['t'], 'x'), ...many(6, 10, ['t'], 'x')]));
        const nonZero = await store.readNonZeroCounts(PIPELINE, ['t'], b(20), b(2 * c + 2), BUCKET_MS);
        expect(nonZero.get('t')).toEqual([30 - 20, 1, c - 1 - 20, 2, c - 20, 3, 100 - 20, 4, 2 * c - 20, 5]);
        // What readCounts gives, less its zeros.
        const dense = (await store.readCounts(PIPELINE, ['t'], b(20), b(2 * c + 2), BUCKET_MS)).get('t')!;
        expect(dense.flatMap((n, i) => (n === 0 ? [] : [i, n]))).toEqual(nonZero.get('t'));
      });

      it('gives an empty list for a series never counted, or without counts in the range', async () => {
        await store.applyBatch(batch([...many(2, 5, ['quiet']), ...many(1, 40, ['quiet'])]));
        const nonZero = await store.readNonZeroCounts(PIPELINE, ['quiet', 'never-seen'], b(10), b(30), BUCKET_MS);
        expect(Object.fromEntries(nonZero)).toEqual({ quiet: [], 'never-seen': [] });
      });

      it('reads a series given with its activity between its first and last bucket as reported, so later counts wait for its next report', async () => {
        await store.applyBatch(batch([...many(1, 3, ['t'], 'a'), ...many(2, 70, ['t'], 'a')]));
        const [reported] = await store.liveSeries(PIPELINE, 0, 10);
        await store.applyBatch(batch([...many(3, 80, ['t'], 'b'), ...many(4, 1, ['t'], 'b')])); // a later bucket, and a late one
        expect((await store.readNonZeroCounts(PIPELINE, [reported!], b(0), b(100), BUCKET_MS)).get('t')).toEqual([3, 1, 70, 2]);
        expect((await store.readNonZeroCounts(PIPELINE, ['t'], b(0), b(100), BUCKET_MS)).get('t')).toEqual([1, 4, 3, 1, 70, 2, 80, 3]);
        const [now] = await store.liveSeries(PIPELINE, 0, 10);
        expect((await store.readNonZeroCounts(PIPELINE, [now!], b(0), b(100), BUCKET_MS)).get('t')).toEqual([1, 4, 3, 1, 70, 2, 80, 3]);
        // Within a range that starts after its first bucket and ends before its last.
        expect((await store.readNonZeroCounts(PIPELINE, [now!], b(2), b(75), BUCKET_MS)).get('t')).toEqual([1, 1, 68, 2]);
      });

      it('reads several series at once, each its own counts, whatever the chunks their activity spans', async () => {
        const c = BUCKETS_PER_CHUNK;
        await store.applyBatch(
          batch([...many(1, 5, ['early']), ...many(2, 1, ['wide']), ...many(3, 2 * c + 1, ['wide']), ...many(4, c + 2, ['late']), ...many(5, 0, ['gone'])]),
        );
        const live = await store.liveSeries(PIPELINE, 0, 10);
        const nonZero = await store.readNonZeroCounts(PIPELINE, [...live.filter((s) => s.series !== 'gone'), 'never-seen', live.find((s) => s.series === 'gone')!], b(1), b(3 * c), BUCKET_MS);
        expect(Object.fromEntries(nonZero)).toEqual({ early: [4, 1], wide: [0, 2, 2 * c, 3], late: [c + 1, 4], 'never-seen': [], gone: [] });
      });

      it('reads a thousand series over many chunks in one go', async () => {
        const names = Array.from({ length: 1000 }, (_, i) => `s${i}`);
        await store.applyBatch(batch(names.flatMap((name, i) => [sig(`${name}-a`, i % 400, [name]), sig(`${name}-b`, 400, [name]), sig(`${name}-c`, 400, [name])])));
        const nonZero = await store.readNonZeroCounts(PIPELINE, names, b(0), b(400), BUCKET_MS);
        expect(names.filter((name, i) => JSON.stringify(nonZero.get(name)) !== JSON.stringify([i % 400, 1, 400, 2]))).toEqual([]);
      });
    });

    describe('exactly once: the partition offset fence', () => {
      it('turns a re-delivered batch into a no-op that reports the applied offset', async () => {
        const first = batch(many(3, 2, ['t']), { position: at('signals:0', '-1', '9'), totals: { signals: 3 } });
        expect(await store.applyBatch(first)).toEqual({ status: 'applied' });
        expect(await store.applyBatch(first)).toEqual({ status: 'conflict', currentOffset: '9' });

        expect((await store.readCounts(PIPELINE, ['t'], b(2), b(2), BUCKET_MS)).get('t')).toEqual([3]);
        expect(await store.totals(PIPELINE)).toEqual({ signals: 3 });
        expect(await store.appliedOffset(PIPELINE, 'signals:0')).toBe('9');
      });

      it('applies the next batch built on the applied offset, and refuses one built on an older offset', async () => {
        await store.applyBatch(batch(many(1, 2, ['t'], 'a'), { position: at('signals:0', '-1', '9') }));
        expect(await store.applyBatch(batch(many(2, 2, ['t'], 'b'), { position: at('signals:0', '9', '19') }))).toEqual({ status: 'applied' });
        expect(await store.applyBatch(batch(many(4, 2, ['t'], 'c'), { position: at('signals:0', '9', '29') }))).toEqual({
          status: 'conflict',
          currentOffset: '19',
        });
        expect(await store.appliedOffset(PIPELINE, 'signals:0')).toBe('19');
        expect((await store.readCounts(PIPELINE, ['t'], b(2), b(2), BUCKET_MS)).get('t')).toEqual([3]);
      });

      it('a refused batch changes no series, first-seen time or details', async () => {
        await store.applyBatch(batch([sig('a', 10, ['t'], { authorHash: 'h1', terms: ['x'] })], { position: at('signals:0', '-1', '0') }));
        await store.applyBatch(
          batch([sig('late', 2, ['t', 'u'], { authorHash: 'h2', terms: ['y'] })], { position: at('signals:0', '-1', '5') }),
        );
        expect(await store.liveSeries(PIPELINE, 0, 10)).toEqual([{ series: 't', firstSeenMs: b(10), lastBucketMs: b(10) }]);
        expect(await store.readDetails(PIPELINE, 't', b(0), b(10), BUCKET_MS, { topTerms: 5, samples: 5 })).toEqual({
          distinctAuthors: 1,
          topTerms: [{ term: 'x', count: 1 }],
          sampleIds: ['a'],
        });
      });

      it('keeps one fence per partition', async () => {
        expect(await store.applyBatch(batch(many(1, 1, ['t'], 'p0'), { position: at('signals:0', '-1', '41') }))).toEqual({ status: 'applied' });
        expect(await store.applyBatch(batch(many(1, 1, ['t'], 'p1'), { position: at('signals:1', '-1', '7') }))).toEqual({ status: 'applied' });
        expect(await store.appliedOffset(PIPELINE, 'signals:0')).toBe('41');
        expect(await store.appliedOffset(PIPELINE, 'signals:1')).toBe('7');
        expect(await store.appliedOffset(PIPELINE, 'signals:2')).toBe('-1');
        expect((await store.readCounts(PIPELINE, ['t'], b(1), b(1), BUCKET_MS)).get('t')).toEqual([2]);
      });

      it('keeps the fences of different pipelines apart', async () => {
        await store.applyBatch(batch(many(1, 1, ['t']), { position: at('signals:0', '-1', '9') }));
        expect(await store.applyBatch(batch(many(1, 1, ['t']), { pipeline: 'other', position: at('signals:0', '-1', '3') }))).toEqual({
          status: 'applied',
        });
        expect(await store.appliedOffset('other', 'signals:0')).toBe('3');
      });

      it('always applies a batch without a source position, and leaves offsets alone', async () => {
        const posted = batch(many(2, 4, ['t']), { totals: { signals: 2 } });
        expect(await store.applyBatch(posted)).toEqual({ status: 'applied' });
        expect(await store.applyBatch(posted)).toEqual({ status: 'applied' });
        expect((await store.readCounts(PIPELINE, ['t'], b(4), b(4), BUCKET_MS)).get('t')).toEqual([4]);
        expect(await store.totals(PIPELINE)).toEqual({ signals: 4 });
        expect(await store.appliedOffset(PIPELINE, 'signals:0')).toBe('-1');
      });
    });

    describe('de-duplication across batches', () => {
      const dedup: WindowLayout = { ...layout, dedupSec: 600 };
      const seenOf = (signals: CountedSignal[]) => signals.map((s) => ({ id: s.id, tsMs: s.bucketMs + 1234 }));
      const counted = async () => (await store.readCounts(PIPELINE, ['t'], b(0), b(2), BUCKET_MS)).get('t');

      it('refuses, writing nothing, a batch with a signal an earlier batch counted, and names it', async () => {
        const first = many(3, 1, ['t'], 'a');
        expect(await store.applyBatch(batch(first, { layout: dedup, position: at('signals:0', '-1', '2'), totals: { signals: 3 }, seen: seenOf(first) }))).toEqual({
          status: 'applied',
        });
        // A producer's retry of a1-1 lands in a later batch, on another partition, next to new signals.
        const retry = [first[1]!, ...many(2, 2, ['t'], 'b')];
        const refused = await store.applyBatch(batch(retry, { layout: dedup, position: at('signals:1', '-1', '9'), totals: { signals: 3 }, seen: seenOf(retry) }));
        expect(refused).toEqual({ status: 'duplicates', ids: ['a1-1'] });
        expect(await counted()).toEqual([0, 3, 0]);
        expect(await store.totals(PIPELINE)).toEqual({ signals: 3 });
        expect(await store.appliedOffset(PIPELINE, 'signals:1')).toBe('-1');

        // Without it, the batch applies; the new signals are remembered in turn.
        const rest = retry.slice(1);
        expect(await store.applyBatch(batch(rest, { layout: dedup, position: at('signals:1', '-1', '9'), totals: { signals: 2, duplicates: 1 }, seen: seenOf(rest) }))).toEqual({
          status: 'applied',
        });
        expect(await counted()).toEqual([0, 3, 2]);
        expect(await store.totals(PIPELINE)).toEqual({ signals: 5, duplicates: 1 });
        expect(await store.applyBatch(batch([], { layout: dedup, seen: seenOf(rest) }))).toEqual({ status: 'duplicates', ids: ['b2-0', 'b2-1'] });
      });

      it('remembers signals that hit nothing too, and nothing when dedupSec is 0', async () => {
        expect(await store.applyBatch(batch([], { layout: dedup, totals: { signals: 1 }, seen: [{ id: 'benign', tsMs: b(1) }] }))).toEqual({ status: 'applied' });
        expect(await store.applyBatch(batch([], { layout: dedup, totals: { signals: 1 }, seen: [{ id: 'benign', tsMs: b(1) }] }))).toEqual({
          status: 'duplicates',
          ids: ['benign'],
        });
        const off: WindowLayout = { ...layout, dedupSec: 0 };
        const once = many(1, 1, ['t'], 'z');
        expect(await store.applyBatch(batch(once, { layout: off, seen: seenOf(once) }))).toEqual({ status: 'applied' });
        expect(await store.applyBatch(batch(once, { layout: off, seen: seenOf(once) }))).toEqual({ status: 'applied' });
        expect(await counted()).toEqual([0, 2, 0]);
      });
    });

    describe('totals', () => {
      it('accumulates every field across batches', async () => {
        expect(await store.totals(PIPELINE)).toEqual({});
        await store.applyBatch(batch([], { totals: { signals: 120, hits: 7, dead_letters: 1 } }));
        await store.applyBatch(batch([], { position: at('signals:0', '-1', '1'), totals: { signals: 30, hits: 2 } }));
        expect(await store.totals(PIPELINE)).toEqual({ signals: 150, hits: 9, dead_letters: 1 });
        expect(await store.totals('other')).toEqual({});
      });
    });

    describe('live series', () => {
      it('lists series active since a time, most recently active first, up to the limit', async () => {
        await store.applyBatch(
          batch([sig('1', 1, ['old']), sig('2', 5, ['mid']), sig('3', 9, ['new']), sig('4', 7, ['recent']), sig('5', 2, ['recent'])]),
        );
        const live = await store.liveSeries(PIPELINE, b(5), 10);
        expect(live.map((s) => s.series)).toEqual(['new', 'recent', 'mid']);
        expect(live.map((s) => s.lastBucketMs)).toEqual([b(9), b(7), b(5)]);
        expect((await store.liveSeries(PIPELINE, b(0), 2)).map((s) => s.series)).toEqual(['new', 'recent']);
        expect(await store.liveSeries(PIPELINE, b(10), 10)).toEqual([]);
      });

      it('reports as first seen the earliest bucket ever applied, within a batch and across late batches', async () => {
        await store.applyBatch(batch([sig('a', 20, ['t']), sig('b', 12, ['t']), sig('c', 16, ['t'])]));
        expect(await store.liveSeries(PIPELINE, 0, 10)).toEqual([{ series: 't', firstSeenMs: b(12), lastBucketMs: b(20) }]);

        await store.applyBatch(batch([sig('late', 3, ['t'])])); // out of order: older than anything so far
        await store.applyBatch(batch([sig('later', 8, ['t'])]));
        expect(await store.liveSeries(PIPELINE, 0, 10)).toEqual([{ series: 't', firstSeenMs: b(3), lastBucketMs: b(20) }]);
      });

      it('forgets series with no data since a time when pruned', async () => {
        await store.applyBatch(batch([sig('1', 1, ['stale']), sig('2', 2, ['also-stale']), sig('3', 6, ['fresh']), sig('4', 0, ['fresh'])]));
        expect(await store.pruneSeries(PIPELINE, b(5))).toBe(2);
        expect(await store.liveSeries(PIPELINE, 0, 10)).toEqual([{ series: 'fresh', firstSeenMs: b(0), lastBucketMs: b(6) }]);
        expect(await store.pruneSeries(PIPELINE, b(5))).toBe(0);

        // A pruned series that comes back starts over: its old first-seen time is gone.
        await store.applyBatch(batch([sig('5', 8, ['stale'])]));
        expect((await store.liveSeries(PIPELINE, 0, 10)).find((s) => s.series === 'stale')).toEqual({
          series: 'stale',
          firstSeenMs: b(8),
          lastBucketMs: b(8),
        });
      });
    });

    describe('changed series', () => {
      it('without a cursor says it cannot tell; from its cursor on, reports the series later batches counted into, with their activity', async () => {
        await store.applyBatch(batch([sig('1', 4, ['old'])]));
        const start = await store.changedSeries(PIPELINE, undefined);
        expect(start).toMatchObject({ complete: false, series: [] });

        expect(await store.changedSeries(PIPELINE, start.cursor)).toEqual({ cursor: start.cursor, complete: true, series: [] });
        await store.applyBatch(batch([sig('2', 6, ['a', 'b'])]));
        await store.applyBatch(batch([sig('3', 2, ['a']), sig('4', 9, ['c'])]));
        const next = await store.changedSeries(PIPELINE, start.cursor);
        expect(next.complete).toBe(true);
        expect(next.series.sort((x, y) => (x.series < y.series ? -1 : 1))).toEqual([
          { series: 'a', firstSeenMs: b(2), lastBucketMs: b(6) },
          { series: 'b', firstSeenMs: b(6), lastBucketMs: b(6) },
          { series: 'c', firstSeenMs: b(9), lastBucketMs: b(9) },
        ]);
        // Counts read now hold every change up to the cursor.
        expect((await store.readCounts(PIPELINE, ['a'], b(2), b(6), BUCKET_MS)).get('a')).toEqual([1, 0, 0, 0, 1]);

        // Only what came after the cursor, and nothing from another pipeline.
        await store.applyBatch(batch([sig('5', 7, ['b'])]));
        await store.applyBatch(batch([sig('6', 7, ['x'])], { pipeline: 'other' }));
        const last = await store.changedSeries(PIPELINE, next.cursor);
        expect(last.series).toEqual([{ series: 'b', firstSeenMs: b(6), lastBucketMs: b(7) }]);
        expect((await store.changedSeries(PIPELINE, last.cursor)).series).toEqual([]);
      });

      it('reports nothing for a refused batch or one that counts no signal', async () => {
        await store.applyBatch(batch([sig('1', 1, ['t'])], { position: at('signals:0', '-1', '3') }));
        const { cursor } = await store.changedSeries(PIPELINE, undefined);
        await store.applyBatch(batch([sig('2', 2, ['u'])], { position: at('signals:0', '-1', '5') })); // conflict
        await store.applyBatch(batch([], { totals: { signals: 1 } }));
        expect(await store.changedSeries(PIPELINE, cursor)).toEqual({ cursor, complete: true, series: [] });
      });

      it('does not report pruned series, and does not understand a cursor it did not give', async () => {
        await store.applyBatch(batch([sig('0', 0, ['t'])]));
        const { cursor } = await store.changedSeries(PIPELINE, undefined);
        await store.applyBatch(batch([sig('1', 1, ['stale']), sig('2', 8, ['fresh'])]));
        await store.pruneSeries(PIPELINE, b(5));
        expect((await store.changedSeries(PIPELINE, cursor)).series.map((s) => s.series)).toEqual(['fresh']);
        expect(await store.changedSeries(PIPELINE, { epoch: 'elsewhere', seq: 0 })).toMatchObject({ complete: false, series: [] });
      });
    });

    describe('held series (what the detection tick holds, for the next process)', () => {
      const held = (series: string, readSeq: number, last: number, nonZero?: number[]): HeldSeries => ({
        info: { series, firstSeenMs: b(0), lastBucketMs: b(last) },
        readSeq,
        ...(nonZero && { counts: { fromMs: b(0), toMs: b(last), bucketMs: BUCKET_MS, nonZero } }),
      });
      const write = (w: Partial<HeldSeriesWrite>): HeldSeriesWrite => ({ epoch: 'e1', entries: [], forget: [], ttlSec: 3600, ...w });
      const bySeries = (entries: readonly HeldSeries[]) => [...entries].sort((x, y) => (x.info.series < y.info.series ? -1 : 1));

      it('gives none before a write; then every entry as written (with or without counts), whole at the sequence number given', async () => {
        expect(await store.readHeldSeries(PIPELINE)).toBeUndefined();
        const entries = [held('self-harm', 4, 3, [0, 2, 3, 1]), held('self-harm|term=kill myself', 4, 3, []), held('~traffic|region=GB', 3, 2)];
        await store.writeHeldSeries(PIPELINE, write({ entries: entries.slice(0, 2) }));
        expect(await store.readHeldSeries(PIPELINE)).toMatchObject({ epoch: 'e1', completeSeq: undefined });
        await store.writeHeldSeries(PIPELINE, write({ entries: entries.slice(2), completeAt: { seq: 4, limit: 100 } }));
        const set = (await store.readHeldSeries(PIPELINE))!;
        expect({ ...set, entries: bySeries(set.entries) }).toEqual({ epoch: 'e1', completeSeq: 4, limit: 100, entries: bySeries(entries) });
        expect(await store.readHeldSeries('other')).toBeUndefined();
      });

      it('never goes back: an older entry, an older whole sequence number or a forget older than the entry changes nothing', async () => {
        await store.writeHeldSeries(PIPELINE, write({ entries: [held('a', 9, 5, [5, 3]), held('b', 9, 5, [5, 1])], completeAt: { seq: 9, limit: 10 } }));
        // A writer that fell behind: its entries, its whole point and its forgets are older.
        await store.writeHeldSeries(PIPELINE, write({ entries: [held('a', 7, 4, [4, 1])], forget: [{ series: 'b', seq: 8 }], completeAt: { seq: 7, limit: 10 } }));
        let set = (await store.readHeldSeries(PIPELINE))!;
        expect(set.completeSeq).toBe(9);
        expect(bySeries(set.entries)).toEqual([held('a', 9, 5, [5, 3]), held('b', 9, 5, [5, 1])]);
        // A newer one moves both on; a series forgotten as of its entry or later goes.
        await store.writeHeldSeries(PIPELINE, write({ entries: [held('a', 12, 6, [5, 3, 6, 2])], forget: [{ series: 'b', seq: 12 }], completeAt: { seq: 12, limit: 10 } }));
        set = (await store.readHeldSeries(PIPELINE))!;
        expect(set.completeSeq).toBe(12);
        expect(set.entries).toEqual([held('a', 12, 6, [5, 3, 6, 2])]);
      });

      it('starts over when written with another epoch (the change sequence started over)', async () => {
        await store.writeHeldSeries(PIPELINE, write({ entries: [held('a', 9, 5, [5, 3])], completeAt: { seq: 9, limit: 10 } }));
        await store.writeHeldSeries(PIPELINE, write({ epoch: 'e2', entries: [held('c', 1, 6)] }));
        expect(await store.readHeldSeries(PIPELINE)).toEqual({ epoch: 'e2', completeSeq: undefined, limit: 0, entries: [held('c', 1, 6)] });
      });
    });

    describe('details', () => {
      const limits = { topTerms: 10, samples: 10 };

      it('counts distinct authors across the buckets of the range only', async () => {
        await store.applyBatch(
          batch([
            sig('1', 1, ['t'], { authorHash: 'alice' }),
            sig('2', 1, ['t'], { authorHash: 'alice' }),
            sig('3', 2, ['t'], { authorHash: 'alice' }),
            sig('4', 2, ['t'], { authorHash: 'bob' }),
            sig('5', 3, ['t'], { authorHash: 'carol' }),
            sig('6', 3, ['t']), // no author: counted, but not as an account
            sig('7', 9, ['t'], { authorHash: 'dave' }), // outside the range read below
            sig('8', 2, ['u'], { authorHash: 'erin' }), // another series
          ]),
        );
        expect((await store.readDetails(PIPELINE, 't', b(0), b(4), BUCKET_MS, limits)).distinctAuthors).toBe(3);
        expect((await store.readDetails(PIPELINE, 't', b(2), b(9), BUCKET_MS, limits)).distinctAuthors).toBe(4);
        expect((await store.readDetails(PIPELINE, 'nothing', b(0), b(9), BUCKET_MS, limits)).distinctAuthors).toBe(0);
      });

      it('says the number of authors is unknown (null), not zero, when the signals of the window carry no author id', async () => {
        await store.applyBatch(batch([...many(5, 1, ['anon']), ...many(2, 6, ['anon']), sig('x', 6, ['anon'], { authorHash: 'alice' })]));
        expect((await store.readDetails(PIPELINE, 'anon', b(0), b(4), BUCKET_MS, limits)).distinctAuthors).toBeNull();
        // One signal with an author id in the range: the accounts counted are the ones known.
        expect((await store.readDetails(PIPELINE, 'anon', b(0), b(9), BUCKET_MS, limits)).distinctAuthors).toBe(1);
        // No signal at all in the range: zero accounts.
        expect((await store.readDetails(PIPELINE, 'anon', b(2), b(4), BUCKET_MS, limits)).distinctAuthors).toBe(0);
      });

      it('sums terms across buckets, most frequent first, cut at the limit', async () => {
        await store.applyBatch(
          batch([
            sig('1', 1, ['t'], { terms: ['kys', '#wanttodie'] }),
            sig('2', 1, ['t'], { terms: ['kys'] }),
            sig('3', 2, ['t'], { terms: ['#wanttodie', 'goodbye forever'] }),
            sig('4', 3, ['t'], { terms: ['#wanttodie'] }),
            sig('5', 3, ['t'], { terms: ['kys', 'pills'] }),
            sig('6', 3, ['t'], { terms: ['kys'] }),
            sig('7', 8, ['t'], { terms: ['pills', 'pills', 'pills'] }), // outside the range
          ]),
        );
        const all = await store.readDetails(PIPELINE, 't', b(0), b(4), BUCKET_MS, limits);
        expect(all.topTerms).toEqual([
          { term: 'kys', count: 4 },
          { term: '#wanttodie', count: 3 },
          { term: 'goodbye forever', count: 1 },
          { term: 'pills', count: 1 },
        ]);
        const top2 = await store.readDetails(PIPELINE, 't', b(0), b(4), BUCKET_MS, { topTerms: 2, samples: 10 });
        expect(top2.topTerms).toEqual([
          { term: 'kys', count: 4 },
          { term: '#wanttodie', count: 3 },
        ]);
      });

      it('returns sample ids newest first, capped by the requested number', async () => {
        await store.applyBatch(batch([sig('a1', 1, ['t']), sig('a2', 1, ['t'])]));
        await store.applyBatch(batch([sig('c1', 3, ['t']), sig('b1', 2, ['t'])]));
        await store.applyBatch(batch([sig('c2', 3, ['t'])]));
        const all = await store.readDetails(PIPELINE, 't', b(0), b(4), BUCKET_MS, limits);
        expect(all.sampleIds).toEqual(['c2', 'c1', 'b1', 'a2', 'a1']);
        const three = await store.readDetails(PIPELINE, 't', b(0), b(4), BUCKET_MS, { topTerms: 10, samples: 3 });
        expect(three.sampleIds).toEqual(['c2', 'c1', 'b1']);
        const older = await store.readDetails(PIPELINE, 't', b(0), b(2), BUCKET_MS, limits);
        expect(older.sampleIds).toEqual(['b1', 'a2', 'a1']);
      });

      it('keeps only the newest samplesPerBucket sample ids of each bucket', async () => {
        await store.applyBatch(batch(['x1', 'x2'].map((id) => sig(id, 5, ['t']))));
        await store.applyBatch(batch(['x3', 'x4', 'x5'].map((id) => sig(id, 5, ['t']))));
        await store.applyBatch(batch([sig('y1', 6, ['t'])]));
        const details = await store.readDetails(PIPELINE, 't', b(5), b(6), BUCKET_MS, limits);
        expect(details.sampleIds).toEqual(['y1', 'x5', 'x4', 'x3']);

        await store.applyBatch(batch([sig('z1', 7, ['u'])], { layout: { ...layout, samplesPerBucket: 0 } }));
        expect((await store.readDetails(PIPELINE, 'u', b(7), b(7), BUCKET_MS, limits)).sampleIds).toEqual([]);
      });
    });

    describe('hourly rollups (seasonality)', () => {
      const HOUR = 3_600_000;
      const hour0 = Math.floor(T0 / 86_400_000) * 86_400_000 + 22 * HOUR; // 22:00, so the read crosses midnight
      const at = (h: number, minute = 0) => ({ bucketMs: hour0 + h * HOUR + minute * 60_000 });

      it('sums counts per series and hour, across days, with zeros where none', async () => {
        await store.applyBatch(
          batch([
            { ...sig('h1', 0, ['t', 't|region=GB']), ...at(0, 5) },
            { ...sig('h2', 0, ['t']), ...at(0, 59) },
            { ...sig('h3', 0, ['t']), ...at(3, 30) }, // 01:30 the next day
          ]),
        );
        const hourly = await store.readHourly(PIPELINE, ['t', 't|region=GB', 'never'], hour0, hour0 + 4 * HOUR);
        expect(Object.fromEntries(hourly)).toEqual({ t: [2, 0, 0, 1, 0], 't|region=GB': [1, 0, 0, 0, 0], never: [0, 0, 0, 0, 0] });
      });

      it('keeps none when the layout keeps no rollups', async () => {
        await store.applyBatch(batch([{ ...sig('h4', 0, ['v']), ...at(1) }], { layout: { ...layout, hourlyTtlSec: 0 } }));
        expect((await store.readHourly(PIPELINE, ['v'], hour0, hour0 + 2 * HOUR)).get('v')).toEqual([0, 0, 0]);
      });
    });
  });
}

describeWindowStoreContract('MemoryWindowStore', () => new MemoryWindowStore());

{
  const redis = createTestRedis();
  let prefixes: string[] = [];
  describeWindowStoreContract(
    'RedisWindowStore',
    () => {
      const prefix = uniqueId('swc');
      prefixes.push(prefix);
      return new RedisWindowStore(redis, prefix);
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

describe('RedisWindowStore (Redis only)', () => {
  const redis = createTestRedis();
  let prefix: string;
  let store: RedisWindowStore;

  beforeEach(() => {
    prefix = uniqueId('swr');
    store = new RedisWindowStore(redis, prefix);
  });
  afterEach(async () => {
    await store.close();
    await deleteKeys(redis, prefix);
  });
  afterAll(async () => {
    await redis.quit();
  });

  async function keysUnder(p: string): Promise<string[]> {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${p}:*`, 'COUNT', 1000);
      cursor = next;
      out.push(...keys);
    } while (cursor !== '0');
    return out.sort();
  }

  /** Writes one of every kind of key: offsets, series, first seen, totals, counts in two chunks, authors, terms, samples. */
  async function writeEverything(pipeline = PIPELINE): Promise<void> {
    const last = BUCKETS_PER_CHUNK - 1;
    await store.applyBatch({
      ...batch(
        [
          sig('1', last, ['self-harm', 'self-harm|region=US'], { authorHash: 'h1', terms: ['kys'] }),
          sig('2', last + 1, ['self-harm'], { authorHash: 'h2', terms: ['#wanttodie'] }),
          sig('3', 1, ['scams'], { authorHash: 'h3', terms: ['crypto giveaway'] }),
        ],
        { position: at('signals:0', '-1', '2'), totals: { signals: 3, hits: 3 } },
      ),
      pipeline,
    });
    await store.applyBatch({ ...batch([sig('4', 2, ['scams'])], { totals: { signals: 1 } }), pipeline });
    // Seen-sets: signals remembered for de-duplication, hits or not.
    await store.applyBatch({ ...batch([], { layout: { ...layout, dedupSec: 600 }, seen: [{ id: '5', tsMs: b(3) }] }), pipeline });
    // What a detection tick held.
    const info = { series: 'scams', firstSeenMs: b(1), lastBucketMs: b(2) };
    await store.writeHeldSeries(pipeline, { epoch: 'e', entries: [{ info, readSeq: 2, counts: { fromMs: b(0), toMs: b(2), bucketMs: BUCKET_MS, nonZero: [1, 1, 2, 1] } }], forget: [], completeAt: { seq: 2, limit: 10 }, ttlSec: layout.retentionSec });
  }

  it('stores a held-series write larger than one script call whole, said whole only with its last part; an entry it cannot read makes the set not whole', async () => {
    const entries: HeldSeries[] = Array.from({ length: 1234 }, (_, i) => ({
      info: { series: `self-harm|region=R-${i}`, firstSeenMs: b(0), lastBucketMs: b(i % 50) },
      readSeq: 40,
      ...(i % 3 > 0 && { counts: { fromMs: b(0), toMs: b(49), bucketMs: BUCKET_MS, nonZero: [i % 50, 1 + (i % 4)] } }),
    }));
    await store.writeHeldSeries(PIPELINE, { epoch: 'e', entries, forget: [], completeAt: { seq: 40, limit: 5000 }, ttlSec: 600 });
    const set = (await store.readHeldSeries(PIPELINE))!;
    expect(set.completeSeq).toBe(40);
    expect(set.entries.sort((x, y) => (x.info.series < y.info.series ? -1 : 1))).toEqual(entries.sort((x, y) => (x.info.series < y.info.series ? -1 : 1)));
    const key = (await keysUnder(prefix)).find((k) => k.endsWith(':held'))!;
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(600);

    await redis.hset(key, 'self-harm|region=R-7', 'not counts');
    expect(await store.readHeldSeries(PIPELINE)).toMatchObject({ completeSeq: undefined });
  });

  it('keeps a seen-set no longer than dedupSec, with 16 bytes per signal id whatever its length', async () => {
    const dedup: WindowLayout = { ...layout, dedupSec: 300 };
    const long = 'x'.repeat(128);
    await store.applyBatch(batch([], { layout: dedup, seen: [{ id: long, tsMs: b(1) }, { id: 'short', tsMs: b(1) }] }));
    const seenKeys = (await keysUnder(prefix)).filter((k) => k.includes(':seen:'));
    expect(seenKeys).toHaveLength(1);
    const ttl = await redis.ttl(seenKeys[0]!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
    expect((await redis.smembers(seenKeys[0]!)).map((m) => m.length)).toEqual([16, 16]);
  });

  it('gives every key it writes a TTL, so that Redis memory stays bounded', async () => {
    await writeEverything();
    // A refused batch and a prune must not leave keys without an expiry either.
    await store.applyBatch(batch([sig('x', 3, ['late'])], { position: at('signals:0', '-1', '1') }));
    await store.pruneSeries(PIPELINE, b(3));

    const keys = await keysUnder(prefix);
    expect(keys.length).toBeGreaterThanOrEqual(10);
    const ttls = await Promise.all(keys.map(async (key) => [key, await redis.ttl(key)] as const));
    expect(ttls.filter(([, ttl]) => ttl <= 0)).toEqual([]);
  });

  it("puts all of a pipeline's keys under one hash tag, so that a script's keys share a Redis Cluster slot", async () => {
    await writeEverything(PIPELINE);
    await writeEverything('other');
    const tagOf = (key: string) => /\{([^}]+)\}/.exec(key)?.[1];
    const keys = await keysUnder(prefix);
    const tags = new Map<string, Set<string | undefined>>();
    for (const key of keys) {
      const pipeline = key.includes(`:${PIPELINE}}`) ? PIPELINE : 'other';
      if (!tags.has(pipeline)) tags.set(pipeline, new Set());
      tags.get(pipeline)!.add(tagOf(key));
    }
    expect([...tags.get(PIPELINE)!]).toEqual([`${prefix}:${PIPELINE}`]);
    expect([...tags.get('other')!]).toEqual([`${prefix}:other`]);
    expect(keys.filter((k) => tagOf(k) === undefined)).toEqual([]);
  });

  it('applies a very large batch in one go and counts it exactly', async () => {
    const n = 20_000;
    const signals = Array.from({ length: n }, (_, i) =>
      sig(`big-${i}`, 7, ['self-harm', 'self-harm|region=US-TX'], { authorHash: `author-${i}`, terms: [`term-${i % 5000}`] }),
    );
    expect(await store.applyBatch(batch(signals, { position: at('signals:0', '-1', String(n - 1)), totals: { signals: n } }))).toEqual({
      status: 'applied',
    });
    const counts = await store.readCounts(PIPELINE, ['self-harm', 'self-harm|region=US-TX'], b(6), b(8), BUCKET_MS);
    expect(Object.fromEntries(counts)).toEqual({ 'self-harm': [0, n, 0], 'self-harm|region=US-TX': [0, n, 0] });
    expect(await store.totals(PIPELINE)).toEqual({ signals: n });
    expect(await store.appliedOffset(PIPELINE, 'signals:0')).toBe(String(n - 1));

    const details = await store.readDetails(PIPELINE, 'self-harm', b(7), b(7), BUCKET_MS, { topTerms: 3, samples: 5 });
    // HyperLogLog: standard error 0.81 %.
    expect(Math.abs(details.distinctAuthors! - n) / n).toBeLessThan(0.03);
    expect(details.topTerms.map((t) => t.count)).toEqual([4, 4, 4]);
    expect(details.sampleIds).toEqual([`big-${n - 1}`, `big-${n - 2}`, `big-${n - 3}`]);
  });
});
