import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../shared/clock.js';
import {
  batchTextTtlSec,
  bucketRange,
  samplesOf,
  dedupSlice,
  HOUR_MS,
  readBounds,
  sortNonZero,
  type NonZeroCounts,
  type SeriesToRead,
  type ApplyResult,
  type ChangeCursor,
  type CountBatch,
  type SeriesChanges,
  type HeldSeries,
  type HeldSeriesSet,
  type HeldSeriesWrite,
  type SeriesInfo,
  type StoredSample,
  type WindowDetails,
  type WindowStore,
} from './window-store.js';

interface BucketDetail {
  authors: Set<string>;
  terms: Map<string, number>;
  samples: string[];
}

interface PipelineData {
  offsets: Map<string, string>;
  counts: Map<string, Map<number, number>>;
  /** series -> hour start -> count (only when the layout keeps hourly rollups). */
  hourly: Map<string, Map<number, number>>;
  details: Map<string, Map<number, BucketDetail>>;
  firstSeen: Map<string, number>;
  lastBucket: Map<string, number>;
  /** Applied batches that counted something, and per series the last of them that counted into it. */
  changeSeq: number;
  changedAt: Map<string, number>;
  /** What the detection tick held of each series (writeHeldSeries); no TTL: it lives with the store. */
  held: { epoch: string; completeSeq: number | undefined; limit: number; entries: Map<string, HeldSeries> } | undefined;
  totals: Map<string, number>;
  /** Event-time slice start -> signal ids counted in it (de-duplication across batches). */
  seen: Map<number, Set<string>>;
  newestBucketMs: number;
  batchesSinceEviction: number;
  /** Sample content by signal id, with its expiry (wall clock, like Redis's TTL). */
  sampleTexts: Map<string, { sample: StoredSample; expiresAtMs: number }>;
}

const EVICT_EVERY_BATCHES = 256;
const MAX_SAMPLE_TEXTS = 100_000;

/**
 * In-process window store for embedded mode, replays and unit tests. Same contract as the
 * Redis store; instead of TTLs, data older than the retention (in event time, behind the newest
 * bucket seen) is evicted.
 */
export class MemoryWindowStore implements WindowStore {
  private readonly pipelines = new Map<string, PipelineData>();
  private closed = false;
  private readonly clock: Clock;
  /** A new store is a new sequence of changes: cursors of another store's are not understood. */
  private readonly epoch = randomUUID();

  /** The clock times sample texts out (sampleTextTtlSec is wall-clock time, as in Redis). */
  constructor(opts: { clock?: Clock } = {}) {
    this.clock = opts.clock ?? systemClock;
  }

  private data(pipeline: string): PipelineData {
    let d = this.pipelines.get(pipeline);
    if (!d) {
      d = {
        offsets: new Map(),
        counts: new Map(),
        hourly: new Map(),
        details: new Map(),
        firstSeen: new Map(),
        lastBucket: new Map(),
        changeSeq: 0,
        changedAt: new Map(),
        held: undefined,
        totals: new Map(),
        seen: new Map(),
        newestBucketMs: -Infinity,
        batchesSinceEviction: 0,
        sampleTexts: new Map(),
      };
      this.pipelines.set(pipeline, d);
    }
    return d;
  }

  async applyBatch(batch: CountBatch): Promise<ApplyResult> {
    const d = this.data(batch.pipeline);
    const pos = batch.position;
    if (pos) {
      const current = d.offsets.get(pos.partitionKey) ?? '-1';
      if (current !== pos.expectedPrevOffset) return { status: 'conflict', currentOffset: current };
    }
    const dedupSec = batch.layout.dedupSec ?? 0;
    if (dedupSec > 0 && batch.seen) {
      const dups = batch.seen.filter((s) => d.seen.get(dedupSlice(s.tsMs, dedupSec))?.has(s.id)).map((s) => s.id);
      if (dups.length > 0) return { status: 'duplicates', ids: dups };
      for (const s of batch.seen) {
        const slice = dedupSlice(s.tsMs, dedupSec);
        let ids = d.seen.get(slice);
        if (!ids) d.seen.set(slice, (ids = new Set()));
        ids.add(s.id);
      }
    }
    const { samplesPerBucket } = batch.layout;
    const sampledInto = new Set<BucketDetail>();
    if (batch.signals.length > 0) d.changeSeq++;
    for (const s of batch.signals) {
      if (s.bucketMs > d.newestBucketMs) d.newestBucketMs = s.bucketMs;
      for (const series of s.series) {
        let c = d.counts.get(series);
        if (!c) d.counts.set(series, (c = new Map()));
        c.set(s.bucketMs, (c.get(s.bucketMs) ?? 0) + 1);
        if (batch.layout.hourlyTtlSec > 0) {
          let h = d.hourly.get(series);
          if (!h) d.hourly.set(series, (h = new Map()));
          const hour = Math.floor(s.bucketMs / HOUR_MS) * HOUR_MS;
          h.set(hour, (h.get(hour) ?? 0) + 1);
        }
        if ((d.lastBucket.get(series) ?? -Infinity) < s.bucketMs) d.lastBucket.set(series, s.bucketMs);
        if ((d.firstSeen.get(series) ?? Infinity) > s.bucketMs) d.firstSeen.set(series, s.bucketMs);
        d.changedAt.set(series, d.changeSeq);

        if (s.countOnly) continue;
        let perBucket = d.details.get(series);
        if (!perBucket) d.details.set(series, (perBucket = new Map()));
        let det = perBucket.get(s.bucketMs);
        if (!det) perBucket.set(s.bucketMs, (det = { authors: new Set(), terms: new Map(), samples: [] }));
        if (s.authorHash) det.authors.add(s.authorHash);
        for (const t of s.terms) det.terms.set(t, (det.terms.get(t) ?? 0) + 1);
        if (samplesPerBucket > 0) {
          det.samples.unshift(s.id);
          if (det.samples.length > samplesPerBucket) det.samples.length = samplesPerBucket;
          sampledInto.add(det);
        }
      }
    }
    for (const [field, n] of Object.entries(batch.totals)) d.totals.set(field, (d.totals.get(field) ?? 0) + n);
    const textTtlMs = batchTextTtlSec(batch.layout) * 1000;
    if (textTtlMs > 0) {
      const now = this.clock.now();
      // Only the samples still in a bucket's list need their text (as in Redis, after the trim).
      const kept = new Set([...sampledInto].flatMap((det) => det.samples));
      for (const sample of samplesOf(batch.signals, kept)) {
        d.sampleTexts.delete(sample.id); // re-inserted: Map order tracks recency for the cap
        d.sampleTexts.set(sample.id, { sample, expiresAtMs: now + textTtlMs });
      }
      // A safety net for embedded mode (no TTL sweep between evictions): the oldest go first.
      for (const id of d.sampleTexts.keys()) {
        if (d.sampleTexts.size <= MAX_SAMPLE_TEXTS) break;
        d.sampleTexts.delete(id);
      }
    }
    if (pos) d.offsets.set(pos.partitionKey, pos.lastOffset);
    if (++d.batchesSinceEviction >= EVICT_EVERY_BATCHES) {
      d.batchesSinceEviction = 0;
      this.evict(d, batch.layout.retentionSec * 1000, batch.layout.detailTtlSec * 1000, batch.layout.hourlyTtlSec * 1000, dedupSec * 1000);
    }
    return { status: 'applied' };
  }

  private evict(d: PipelineData, retentionMs: number, detailMs: number, hourlyMs: number, dedupMs: number): void {
    const now = this.clock.now();
    for (const [id, { expiresAtMs }] of d.sampleTexts) if (expiresAtMs <= now) d.sampleTexts.delete(id);
    // A slice's ids are kept while the newest event is within two slices of it (no wall-clock TTL here).
    for (const slice of d.seen.keys()) if (slice < d.newestBucketMs - 2 * dedupMs) d.seen.delete(slice);
    const hourlyCutoff = d.newestBucketMs - hourlyMs;
    for (const [series, h] of d.hourly) {
      for (const hour of h.keys()) if (hour < hourlyCutoff) h.delete(hour);
      if (h.size === 0) d.hourly.delete(series);
    }
    const countCutoff = d.newestBucketMs - retentionMs;
    const detailCutoff = d.newestBucketMs - detailMs;
    for (const [series, c] of d.counts) {
      for (const b of c.keys()) if (b < countCutoff) c.delete(b);
      if (c.size === 0) d.counts.delete(series);
    }
    for (const [series, det] of d.details) {
      for (const b of det.keys()) if (b < detailCutoff) det.delete(b);
      if (det.size === 0) d.details.delete(series);
    }
  }

  async appliedOffset(pipeline: string, partitionKey: string): Promise<string> {
    return this.data(pipeline).offsets.get(partitionKey) ?? '-1';
  }

  async liveSeries(pipeline: string, sinceMs: number, limit: number): Promise<SeriesInfo[]> {
    const d = this.data(pipeline);
    const out: SeriesInfo[] = [];
    for (const [series, lastBucketMs] of d.lastBucket) {
      if (lastBucketMs >= sinceMs) out.push({ series, lastBucketMs, firstSeenMs: d.firstSeen.get(series) ?? lastBucketMs });
    }
    // Same order as the Redis store's ZREVRANGEBYSCORE: ties by series id, descending.
    out.sort((a, b) => b.lastBucketMs - a.lastBucketMs || (a.series < b.series ? 1 : -1));
    return out.slice(0, limit);
  }

  async changedSeries(pipeline: string, after: ChangeCursor | undefined): Promise<SeriesChanges> {
    const d = this.data(pipeline);
    const cursor = { epoch: this.epoch, seq: d.changeSeq };
    if (after?.epoch !== this.epoch) return { cursor, complete: false, series: [] };
    const series = [];
    for (const [s, seq] of d.changedAt) if (seq > after.seq) series.push({ series: s, lastBucketMs: d.lastBucket.get(s)!, firstSeenMs: d.firstSeen.get(s)! });
    return { cursor, complete: true, series };
  }

  async readHeldSeries(pipeline: string): Promise<HeldSeriesSet | undefined> {
    const held = this.data(pipeline).held;
    if (!held) return undefined;
    return { epoch: held.epoch, completeSeq: held.completeSeq, limit: held.limit, entries: [...held.entries.values()].map(copyHeld) };
  }

  async writeHeldSeries(pipeline: string, write: HeldSeriesWrite): Promise<void> {
    const d = this.data(pipeline);
    if (d.held?.epoch !== write.epoch) d.held = { epoch: write.epoch, completeSeq: undefined, limit: 0, entries: new Map() };
    const entries = d.held.entries;
    for (const h of write.entries) {
      const old = entries.get(h.info.series);
      if (!old || old.readSeq <= h.readSeq) entries.set(h.info.series, copyHeld(h));
    }
    for (const { series, seq } of write.forget) {
      const old = entries.get(series);
      if (old && old.readSeq <= seq) entries.delete(series);
    }
    const complete = write.completeAt;
    if (complete && complete.seq > (d.held.completeSeq ?? -1)) {
      d.held.completeSeq = complete.seq;
      d.held.limit = complete.limit;
    }
  }

  async readCounts(pipeline: string, series: readonly string[], fromBucketMs: number, toBucketMs: number, bucketMs: number) {
    const d = this.data(pipeline);
    const buckets = bucketRange(fromBucketMs, toBucketMs, bucketMs);
    const out = new Map<string, number[]>();
    for (const s of series) {
      const c = d.counts.get(s);
      if (c && c.size < buckets.length) {
        // A sparse series: walk its buckets rather than look up every bucket of the range.
        const values = new Array<number>(buckets.length).fill(0);
        for (const [b, n] of c) if (b >= fromBucketMs && b <= toBucketMs) values[(b - fromBucketMs) / bucketMs] = n;
        out.set(s, values);
      } else out.set(s, buckets.map((b) => c?.get(b) ?? 0));
    }
    return out;
  }

  async readNonZeroCounts(pipeline: string, series: readonly SeriesToRead[], fromBucketMs: number, toBucketMs: number, bucketMs: number) {
    const d = this.data(pipeline);
    const out = new Map<string, NonZeroCounts>();
    for (const s of series) {
      const { series: name, fromMs, toMs } = readBounds(s, fromBucketMs, toBucketMs);
      const c = d.counts.get(name);
      const pairs: NonZeroCounts = [];
      if (c && fromMs <= toMs) {
        for (const [b, n] of c) {
          const at = (b - fromBucketMs) / bucketMs;
          if (b >= fromMs && b <= toMs && n !== 0 && Number.isInteger(at)) pairs.push(at, n);
        }
      }
      out.set(name, sortNonZero(pairs));
    }
    return out;
  }

  async readDetails(
    pipeline: string,
    series: string,
    fromBucketMs: number,
    toBucketMs: number,
    bucketMs: number,
    limits: { topTerms: number; samples: number },
  ): Promise<WindowDetails> {
    const det = this.data(pipeline).details.get(series);
    const authors = new Set<string>();
    const terms = new Map<string, number>();
    const sampleIds: string[] = [];
    for (const b of bucketRange(fromBucketMs, toBucketMs, bucketMs).reverse()) {
      const x = det?.get(b);
      if (!x) continue;
      for (const a of x.authors) authors.add(a);
      for (const [t, n] of x.terms) terms.set(t, (terms.get(t) ?? 0) + n);
      for (const id of x.samples) if (sampleIds.length < limits.samples) sampleIds.push(id);
    }
    const topTerms = [...terms]
      .map(([term, count]) => ({ term, count }))
      .sort((a, b) => b.count - a.count || a.term.localeCompare(b.term))
      .slice(0, limits.topTerms);
    const counts = this.data(pipeline).counts.get(series);
    const anySignal = authors.size === 0 && bucketRange(fromBucketMs, toBucketMs, bucketMs).some((b) => (counts?.get(b) ?? 0) > 0);
    return { distinctAuthors: anySignal ? null : authors.size, topTerms, sampleIds };
  }

  async readHourly(pipeline: string, series: readonly string[], fromHourMs: number, toHourMs: number): Promise<Map<string, number[]>> {
    const d = this.data(pipeline);
    const hours = Math.max(0, Math.floor((toHourMs - fromHourMs) / HOUR_MS) + 1);
    return new Map(series.map((s) => [s, Array.from({ length: hours }, (_, i) => d.hourly.get(s)?.get(fromHourMs + i * HOUR_MS) ?? 0)]));
  }

  async totals(pipeline: string): Promise<Record<string, number>> {
    return Object.fromEntries(this.data(pipeline).totals);
  }

  async readSamples(pipeline: string, ids: readonly string[]): Promise<Map<string, StoredSample>> {
    const texts = this.data(pipeline).sampleTexts;
    const now = this.clock.now();
    const out = new Map<string, StoredSample>();
    for (const id of ids) {
      const t = texts.get(id);
      if (t && t.expiresAtMs > now) out.set(id, structuredClone(t.sample));
    }
    return out;
  }

  async keepSamples(pipeline: string, ids: readonly string[], ttlSec: number): Promise<void> {
    const texts = this.data(pipeline).sampleTexts;
    const now = this.clock.now();
    for (const id of ids) {
      const t = texts.get(id);
      if (t && t.expiresAtMs > now) t.expiresAtMs = now + ttlSec * 1000;
    }
  }

  async pruneSeries(pipeline: string, beforeMs: number): Promise<number> {
    const d = this.data(pipeline);
    let n = 0;
    for (const [series, last] of d.lastBucket) {
      if (last < beforeMs) {
        d.lastBucket.delete(series);
        d.firstSeen.delete(series);
        d.changedAt.delete(series);
        d.counts.delete(series);
        d.details.delete(series);
        n++;
      }
    }
    return n;
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error('window store is closed');
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

function copyHeld(h: HeldSeries): HeldSeries {
  const copy: HeldSeries = { info: { ...h.info }, readSeq: h.readSeq };
  if (h.counts) copy.counts = { ...h.counts, nonZero: h.counts.nonZero.slice() };
  return copy;
}
