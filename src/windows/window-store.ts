/**
 * Per-pipeline event-time counting. A batch of one source partition is applied atomically
 * together with that partition's offset, so a re-delivered batch counts nothing twice.
 */

/** One valid, scored signal reduced to what the windows keep. */
export interface CountedSignal {
  id: string;
  /** Start of the event-time bucket the signal falls in (ms). */
  bucketMs: number;
  /** Series ids to increment, e.g. "self-harm" and "self-harm|region=US-TX". */
  series: string[];
  /** Terms and hashtags that made the signal hit, for "top terms". */
  terms: string[];
  /** Keyed hash of the author; never the raw id. */
  authorHash?: string;
  /** Counted only: no authors, terms or samples kept (the traffic series). */
  countOnly?: boolean;
  /**
   * What is kept of the signal if it becomes a sample (with layout.sampleTextTtlSec): its text
   * and where it was seen, so that an analyst can read it (redacted, or revealed) later.
   */
  sample?: SampleContent;
}

/** A sample signal's content, kept for sampleTextTtlSec (wall clock) and then gone. */
export interface SampleContent {
  tsMs: number;
  surface: string;
  region: string | null;
  lang: string | null;
  text: string;
}

/** A stored sample: its content and the terms that made it hit (to keep readable when redacted). */
export interface StoredSample extends SampleContent {
  id: string;
  terms: string[];
}

/**
 * Pseudo-topic of the traffic series: every accepted signal, hit or not, per scope (e.g.
 * "~traffic" and "~traffic|region=US-TX"), so that a topic's volume can be judged against it.
 */
export const TRAFFIC_TOPIC = '~traffic';

/** The traffic series of a dimension's scope; an emerging term is judged against the whole stream's. */
export function trafficSeriesOf(dimension: string): string {
  return dimension === 'all' || dimension.startsWith('term=') ? TRAFFIC_TOPIC : `${TRAFFIC_TOPIC}|${dimension}`;
}

export interface WindowLayout {
  bucketMs: number;
  /** TTL of count buckets (s). */
  retentionSec: number;
  /** TTL of per-bucket details: authors, terms, samples (s). */
  detailTtlSec: number;
  /** Sample ids kept per series bucket. */
  samplesPerBucket: number;
  /** TTL of the hourly rollups used for seasonality (s); 0 = not kept. */
  hourlyTtlSec: number;
  /** Signal ids are remembered this long (s) to count each once across batches; 0 or absent = not. */
  dedupSec?: number;
  /**
   * How long (s, wall clock) the text of a sample an alert shows is kept (see keepSamples); 0 or
   * absent = no text stored. Other samples' text lives as long as the bucket's details
   * (detailTtlSec, if shorter): every hit is a sample for a while, so only what alerts show
   * is kept long, and memory stays bounded by the alerts rather than by the stream.
   */
  sampleTextTtlSec?: number;
}

/** A signal a batch counts (hit or not), remembered for de-duplication across batches. */
export interface SeenSignal {
  id: string;
  tsMs: number;
}

export interface SourcePosition {
  /** e.g. "signals:3" (topic:partition). */
  partitionKey: string;
  /** Last applied offset the batch was built against ("-1" when none), for compare-and-set. */
  expectedPrevOffset: string;
  /** Offset of the batch's last record. */
  lastOffset: string;
}

export interface CountBatch {
  pipeline: string;
  layout: WindowLayout;
  /** Null for sources without offsets (signals posted to the API). */
  position: SourcePosition | null;
  signals: CountedSignal[];
  /** Totals to add, e.g. { signals: 120, hits: 7, dead_letters: 1 }. */
  totals: Record<string, number>;
  /**
   * Every signal the batch counts, hits or not (with layout.dedupSec). If one was counted in an
   * earlier batch, nothing is written and the result is `duplicates`.
   */
  seen?: readonly SeenSignal[];
}

export type ApplyResult =
  | { status: 'applied' }
  /** The partition's applied offset is not the one the batch was built against. */
  | { status: 'conflict'; currentOffset: string }
  /** These ids of `seen` were counted before (within dedupSec); nothing was written. */
  | { status: 'duplicates'; ids: string[] };

export interface SeriesInfo {
  series: string;
  firstSeenMs: number;
  lastBucketMs: number;
}

/**
 * A reader's place in a pipeline's sequence of applied batches (see WindowStore.changedSeries).
 * The epoch names one run of the sequence: when the store starts it over (a new memory store,
 * Redis keys expired after a long silence), a cursor of an earlier epoch says nothing.
 */
export interface ChangeCursor {
  epoch: string;
  seq: number;
}

export interface SeriesChanges {
  cursor: ChangeCursor;
  /**
   * False when the changes since the given cursor are not known (no cursor, or one of another
   * epoch): the reader must take every series as changed. `series` is empty then.
   */
  complete: boolean;
  /** The series a batch applied after the given cursor counted into, with their activity now. */
  series: SeriesInfo[];
}

/**
 * What a reader of changedSeries held of one series (see WindowStore.writeHeldSeries): its
 * activity and, when it had read them, its non-zero counts over fromMs..toMs, both current as
 * of the change sequence number readSeq (no change up to it is missing from them).
 */
export interface HeldSeries {
  info: SeriesInfo;
  readSeq: number;
  counts?: { fromMs: number; toMs: number; bucketMs: number; nonZero: NonZeroCounts };
}

/** A pipeline's held series as stored (see WindowStore.readHeldSeries). */
export interface HeldSeriesSet {
  /** The epoch of the change sequence the entries' readSeq belong to. */
  epoch: string;
  /**
   * The sequence number to which the set is whole: every series the writer held then has an
   * entry current to it, and a series left out was not held (see completeAt). Undefined until a
   * write said so.
   */
  completeSeq: number | undefined;
  /** The most series the writer holds (its limit): a reader that holds more cannot rely on the set being whole. */
  limit: number;
  entries: HeldSeries[];
}

/** A write to a pipeline's held series (see WindowStore.writeHeldSeries). */
export interface HeldSeriesWrite {
  epoch: string;
  /** Entries to store; one older (lower readSeq) than the stored entry of its series is ignored. */
  entries: readonly HeldSeries[];
  /** Series no longer held, each with the readSeq up to which it was not: removed unless a later entry was stored. */
  forget: readonly { series: string; seq: number }[];
  /** Set when, after this write, the writer has stored every series it holds as of this seq (with its limit). */
  completeAt?: { seq: number; limit: number };
  /** How long the set is kept after its last write (the retention: entries older say nothing). */
  ttlSec: number;
}

/** A series to read: its id (read over the whole range), or its activity as the store reported it. */
export type SeriesToRead = string | SeriesInfo;

/**
 * A series' non-zero counts over a range, flat: bucket index (from the range's first bucket),
 * count, bucket index, count..., in bucket order.
 */
export type NonZeroCounts = number[];

export interface WindowDetails {
  /**
   * Distinct authors among the window's signals; null when the window holds signals but none
   * carries an author id (unknown, not zero). 0 for a window without signals.
   */
  distinctAuthors: number | null;
  topTerms: { term: string; count: number }[];
  sampleIds: string[];
}

export interface WindowStore {
  applyBatch(batch: CountBatch): Promise<ApplyResult>;
  /** Last applied offset of a partition, "-1" when none. */
  appliedOffset(pipeline: string, partitionKey: string): Promise<string>;
  /** Series with data at or after sinceMs, most recently active first. */
  liveSeries(pipeline: string, sinceMs: number, limit: number): Promise<SeriesInfo[]>;
  /**
   * The series whose counts changed since `after` (a later call with the returned cursor reports
   * the batches applied meanwhile), so that a reader can keep counts and only re-read these. A
   * batch's changes and its counts are applied in one step: counts read after this call hold at
   * least every change up to the returned cursor. Series pruned since are not reported.
   */
  changedSeries(pipeline: string, after: ChangeCursor | undefined): Promise<SeriesChanges>;
  /**
   * What the detection tick holds of each series (see SeriesCache), kept so that a process that
   * starts, or takes the tick over, begins from it and reads only the series changed since
   * (changedSeries from completeSeq) instead of every series' counts. Any process may write it:
   * an entry never goes back to an older readSeq and completeSeq never goes back, so a writer
   * that fell behind cannot make the set older than it was. Undefined when none is stored for
   * the pipeline (or its epoch is over: a set of another epoch is dropped by the next write).
   */
  readHeldSeries(pipeline: string): Promise<HeldSeriesSet | undefined>;
  writeHeldSeries(pipeline: string, write: HeldSeriesWrite): Promise<void>;
  /** Counts per bucket from fromBucketMs to toBucketMs inclusive, for each series. */
  readCounts(pipeline: string, series: readonly string[], fromBucketMs: number, toBucketMs: number, bucketMs: number): Promise<Map<string, number[]>>;
  /**
   * The buckets that hold a count from fromBucketMs to toBucketMs inclusive, for each series (an
   * empty list for one without any), as NonZeroCounts: what readCounts gives less its zeros,
   * without the cost of the zeros (most buckets of a window are empty). A series given with its
   * SeriesInfo is read between its firstSeenMs and lastBucketMs only, where its counts were when
   * the store reported that activity; a reader that follows changedSeries hears of any since.
   */
  readNonZeroCounts(pipeline: string, series: readonly SeriesToRead[], fromBucketMs: number, toBucketMs: number, bucketMs: number): Promise<Map<string, NonZeroCounts>>;
  readDetails(
    pipeline: string,
    series: string,
    fromBucketMs: number,
    toBucketMs: number,
    bucketMs: number,
    limits: { topTerms: number; samples: number },
  ): Promise<WindowDetails>;
  /**
   * Hourly counts (from the hourly rollup) for each series, from fromHourMs to toHourMs
   * inclusive (hour starts), 0 where none. Empty arrays when rollups are not kept.
   */
  readHourly(pipeline: string, series: readonly string[], fromHourMs: number, toHourMs: number): Promise<Map<string, number[]>>;
  totals(pipeline: string): Promise<Record<string, number>>;
  /**
   * The stored content of sample signals by id; ids whose text was never kept or has expired
   * (sampleTextTtlSec) are absent from the map.
   */
  readSamples(pipeline: string, ids: readonly string[]): Promise<Map<string, StoredSample>>;
  /** Keeps the text of these samples (those still stored) for ttlSec from now: an alert shows them. */
  keepSamples(pipeline: string, ids: readonly string[], ttlSec: number): Promise<void>;
  /** Forgets series with no data since beforeMs. */
  pruneSeries(pipeline: string, beforeMs: number): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A held series as one string, readSeq first: "readSeq firstSeen lastBucket[ fromMs toMs bucketMs index count...]". */
export function encodeHeld(h: HeldSeries): string {
  const head = `${h.readSeq} ${h.info.firstSeenMs} ${h.info.lastBucketMs}`;
  const c = h.counts;
  return c ? `${head} ${c.fromMs} ${c.toMs} ${c.bucketMs}${c.nonZero.length > 0 ? ' ' : ''}${c.nonZero.join(' ')}` : head;
}

/** encodeHeld's string back (undefined for one it did not write). */
export function decodeHeld(series: string, value: string): HeldSeries | undefined {
  // By hand rather than split and Number: a new process reads every held series at its start.
  const n: number[] = [];
  let x = -1;
  for (let i = 0; i <= value.length; i++) {
    const c = i < value.length ? value.charCodeAt(i) : 32;
    if (c >= 48 && c <= 57) x = (x < 0 ? 0 : x * 10) + (c - 48);
    else if (c === 32 && x >= 0) {
      n.push(x);
      x = -1;
    } else return undefined;
  }
  if (!n.every(Number.isSafeInteger) || (n.length !== 3 && (n.length < 6 || n.length % 2 !== 0))) return undefined;
  const held: HeldSeries = { info: { series, firstSeenMs: n[1]!, lastBucketMs: n[2]! }, readSeq: n[0]! };
  if (n.length > 3) held.counts = { fromMs: n[3]!, toMs: n[4]!, bucketMs: n[5]!, nonZero: n.slice(6) };
  return held;
}

/** Bucket starts from..to inclusive. */
export function bucketRange(fromBucketMs: number, toBucketMs: number, bucketMs: number): number[] {
  const out: number[] = [];
  for (let b = fromBucketMs; b <= toBucketMs; b += bucketMs) out.push(b);
  return out;
}

/** The buckets of a range that a SeriesToRead can hold counts in: its activity's, within the range. */
export function readBounds(s: SeriesToRead, fromBucketMs: number, toBucketMs: number): { series: string; fromMs: number; toMs: number } {
  if (typeof s === 'string') return { series: s, fromMs: fromBucketMs, toMs: toBucketMs };
  return { series: s.series, fromMs: Math.max(fromBucketMs, s.firstSeenMs), toMs: Math.min(toBucketMs, s.lastBucketMs) };
}

/** Puts (index, count) pairs in index order, in place. */
export function sortNonZero(pairs: NonZeroCounts): NonZeroCounts {
  for (let k = 2; k < pairs.length; k += 2) {
    if (pairs[k]! >= pairs[k - 2]!) continue;
    const order: number[] = [];
    for (let j = 0; j < pairs.length; j += 2) order.push(j);
    order.sort((a, b) => pairs[a]! - pairs[b]!);
    const copy = pairs.slice();
    order.forEach((j, i) => {
      pairs[2 * i] = copy[j]!;
      pairs[2 * i + 1] = copy[j + 1]!;
    });
    break;
  }
  return pairs;
}

/** A range's counts per bucket (zero where none) from its non-zero ones. */
export function denseCounts(pairs: NonZeroCounts, buckets: number): number[] {
  const values = new Array<number>(buckets).fill(0);
  for (let k = 0; k < pairs.length; k += 2) values[pairs[k]!] = pairs[k + 1]!;
  return values;
}

export function bucketStart(tsMs: number, bucketMs: number): number {
  return Math.floor(tsMs / bucketMs) * bucketMs;
}

/** The event-time slice whose seen-set remembers a signal id (slices are dedupSec wide). */
export function dedupSlice(tsMs: number, dedupSec: number): number {
  return Math.floor(tsMs / (dedupSec * 1000)) * dedupSec * 1000;
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Buckets are grouped into chunks (one Redis hash each) of this many buckets. */
export const BUCKETS_PER_CHUNK = 64;

/** How long a batch stores sample text: the details' TTL, or the text's own when shorter. */
export function batchTextTtlSec(layout: WindowLayout): number {
  const ttl = layout.sampleTextTtlSec ?? 0;
  return ttl > 0 ? Math.min(ttl, layout.detailTtlSec) : 0;
}

/**
 * The samples of a batch, once per signal id with the union of its terms (a signal hitting
 * several topics is counted once per topic): those among `keptIds` that carry content.
 */
export function samplesOf(signals: readonly CountedSignal[], keptIds: ReadonlySet<string>): StoredSample[] {
  const out = new Map<string, StoredSample>();
  for (const s of signals) {
    if (!s.sample || !keptIds.has(s.id)) continue;
    const seen = out.get(s.id);
    if (!seen) out.set(s.id, { id: s.id, ...s.sample, terms: [...new Set(s.terms)] });
    else for (const t of s.terms) if (!seen.terms.includes(t)) seen.terms.push(t);
  }
  return [...out.values()];
}
