import { denseCounts, type ChangeCursor, type HeldSeries, type SeriesChanges, type SeriesInfo, type WindowStore } from '../windows/window-store.js';

/** Series per read of the store: a few hundred keep a call's reply, and its share of the tick, small. */
const READ_CHUNK = 500;
/**
 * Held series stored per save at most: a process that started without a stored set (or after a
 * long silence) stores what it holds over some ticks instead of in one long one.
 */
const SAVE_MAX = 25_000;

/** One series as last read: its activity and, once read, its non-zero counts over a range. */
export interface CachedSeries {
  readonly info: SeriesInfo;
  /** A new number whenever the series' counts may have changed (see SeriesCache.version). */
  readonly version: number;
  /** The change sequence number its activity and counts are current to (see HeldSeries). */
  readSeq: number;
  /** Its non-zero counts over fromMs..toMs: pairs of (bucket index from fromMs, count). */
  counts?: { fromMs: number; toMs: number; bucketMs: number; nonZero: number[] };
}

/** The order of WindowStore.liveSeries: most recently active first, ties by series id, descending. */
const byActivity = ({ info: a }: CachedSeries, { info: b }: CachedSeries) => b.lastBucketMs - a.lastBucketMs || (a.series < b.series ? 1 : a.series > b.series ? -1 : 0);

/**
 * What the detection tick keeps of one pipeline's live series between ticks: their activity and
 * counts, brought up to date from the series the window store reports changed since the last
 * tick (WindowStore.changedSeries). A tick then reads the counts of the series that changed, not
 * of every live series. Nothing here can be made stale by another process: the changes are a log
 * that each reader follows from its own cursor (no reader consumes them), so a cache built by a
 * new lease holder, or one that missed ticks, reaches the same counts as one that never stopped.
 *
 * What it holds is also stored (save, by the lease holder; WindowStore.writeHeldSeries), so that
 * a process that starts, or that takes the tick over without having followed, begins from the
 * stored set and reads the counts of the series changed since it was whole, not of every series.
 */
export class SeriesCache {
  private cursor: ChangeCursor | undefined;
  private readonly series = new Map<string, CachedSeries>();
  /** The held series in liveSeries' order, as of the last call. */
  private ordered: CachedSeries[] = [];
  private versions = 0;
  /** Held series whose entry in the stored set is missing or older than what is held. */
  private readonly unsaved = new Set<string>();
  /** Series no longer held, with the sequence number up to which they were not: removed from the stored set. */
  private readonly forgotten = new Map<string, number>();
  /** The sequence number the stored set was last said whole at by this cache. */
  private savedAt: number | undefined;
  /** What the first call started from: the stored held series, or the store's every series (unset before it). */
  startedFrom: 'held series' | 'every series' | undefined;

  constructor(
    private readonly windows: WindowStore,
    private readonly pipeline: string,
  ) {}

  /**
   * The series with data at or after sinceMs, up to limit, as WindowStore.liveSeries lists them
   * (each with its version), after taking in what changed since the last call (everything, the
   * first time).
   */
  async live(sinceMs: number, limit: number): Promise<readonly CachedSeries[]> {
    let restored: Awaited<ReturnType<SeriesCache['restore']>>;
    if (this.cursor === undefined) {
      restored = await this.restore(limit);
      this.startedFrom = restored ? 'held series' : 'every series';
    }
    const changes = restored?.changes ?? (await this.windows.changedSeries(this.pipeline, this.cursor));
    let unchanged = restored?.ordered ?? this.ordered;
    const hold = (info: SeriesInfo) => {
      const entry: CachedSeries = { info, version: ++this.versions, readSeq: changes.cursor.seq };
      this.series.set(info.series, entry);
      this.unsaved.add(info.series);
      this.forgotten.delete(info.series);
      return entry;
    };
    if (!changes.complete) {
      for (const name of this.series.keys()) this.forgotten.set(name, changes.cursor.seq);
      this.unsaved.clear();
      // Unknown changes: start over from the store. Series beyond the limit now cannot come back
      // within it without changing: the ones ahead of them only leave by ageing out first.
      this.series.clear();
      unchanged = (await this.windows.liveSeries(this.pipeline, sinceMs, limit)).map(hold);
    }
    const changedAll = changes.series.map(hold);
    this.cursor = changes.cursor;

    // The last order, less what changed and what aged out, merged with what changed (sorted):
    // a tick sorts the series counted since the last one, not every live series.
    const changed = changedAll.filter((e) => e.info.lastBucketMs >= sinceMs).sort(byActivity);
    const moved = new Set(changed.map((e) => e.info.series));
    const kept = unchanged.filter((e) => e.info.lastBucketMs >= sinceMs && !moved.has(e.info.series));
    const live: CachedSeries[] = [];
    for (let i = 0, j = 0; live.length < limit && (i < kept.length || j < changed.length); ) {
      live.push(j >= changed.length || (i < kept.length && byActivity(kept[i]!, changed[j]!) <= 0) ? kept[i++]! : changed[j++]!);
    }
    // Aged out, or beyond the limit: forgotten (it comes back through the changes if counted again).
    if (this.series.size > live.length) {
      const held = new Set(live.map((e) => e.info.series));
      for (const name of this.series.keys()) {
        if (held.has(name)) continue;
        this.series.delete(name);
        this.unsaved.delete(name);
        this.forgotten.set(name, changes.cursor.seq);
      }
    }
    this.ordered = live;
    return live;
  }

  /**
   * The stored set of held series (see WindowStore.readHeldSeries), when it is whole at a
   * sequence number of the current epoch and was written with a limit at least this one: its
   * entries (in liveSeries' order) and the changes since it was whole, which replace theirs.
   */
  private async restore(limit: number): Promise<{ ordered: CachedSeries[]; changes: SeriesChanges } | undefined> {
    const set = await this.windows.readHeldSeries(this.pipeline);
    if (!set || set.completeSeq === undefined || (set.limit < limit && set.entries.length >= set.limit)) return undefined;
    const changes = await this.windows.changedSeries(this.pipeline, { epoch: set.epoch, seq: set.completeSeq });
    if (!changes.complete) return undefined;
    const ordered = set.entries.map((h): CachedSeries => {
      const entry: CachedSeries = { info: h.info, version: ++this.versions, readSeq: h.readSeq };
      if (h.counts) entry.counts = h.counts;
      this.series.set(h.info.series, entry);
      return entry;
    });
    return { ordered: ordered.sort(byActivity), changes };
  }

  /**
   * Stores what is held and was not stored yet (at most SAVE_MAX series a call), and forgets in
   * the store the series no longer held; once nothing is left unsaved, says the stored set is
   * whole at this call's sequence number. The stored set lives ttlSec after its last save.
   */
  async save(limit: number, ttlSec: number): Promise<void> {
    if (this.cursor === undefined) return;
    const entries: HeldSeries[] = [];
    for (const name of this.unsaved) {
      if (entries.length >= SAVE_MAX) break;
      entries.push(this.series.get(name)!); // a held series is a HeldSeries (with its version besides)
    }
    const forget = [...this.forgotten].map(([series, seq]) => ({ series, seq }));
    if (entries.length === 0 && forget.length === 0 && this.savedAt === this.cursor.seq) return;
    const whole = entries.length === this.unsaved.size;
    await this.windows.writeHeldSeries(this.pipeline, {
      epoch: this.cursor.epoch,
      entries,
      forget,
      ...(whole && { completeAt: { seq: this.cursor.seq, limit } }),
      ttlSec,
    });
    for (const e of entries) this.unsaved.delete(e.info.series);
    for (const f of forget) this.forgotten.delete(f.series);
    if (whole) this.savedAt = this.cursor.seq;
  }

  /**
   * A number that changes whenever the series' counts may have (undefined for a series not
   * held: treat it as changed), so that what was computed from them can be reused until then.
   */
  version(series: string): number | undefined {
    return this.series.get(series)?.version;
  }

  /** A held series (one of the last call's live series) with its version; undefined for any other. */
  held(series: string): CachedSeries | undefined {
    return this.series.get(series);
  }

  /**
   * Makes sure the held counts of these series cover fromBucketMs..toBucketMs, reading from the
   * store only the series whose held counts do not: changed, never read, or with data beyond the
   * range they were read over (a bucket ahead of the tick's time). Returns the counts of the
   * series read that are not held (an open alert's series gone quiet: read each time), as
   * WindowStore.readCounts gives them; the others' are had with fill.
   */
  async ensure(series: readonly string[], fromBucketMs: number, toBucketMs: number, bucketMs: number): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    const missing: string[] = [];
    for (const name of series) {
      const held = this.series.get(name);
      if (!held || !covers(held, fromBucketMs, toBucketMs, bucketMs)) missing.push(name);
    }
    const buckets = (toBucketMs - fromBucketMs) / bucketMs + 1;
    for (let i = 0; i < missing.length; i += READ_CHUNK) {
      // A held series is read over its activity only (the chunks it can have counts in); a
      // change since brings a new entry, read afresh.
      const chunk = missing.slice(i, i + READ_CHUNK).map((name) => this.series.get(name)?.info ?? name);
      const read = await this.windows.readNonZeroCounts(this.pipeline, chunk, fromBucketMs, toBucketMs, bucketMs);
      for (const [name, nonZero] of read) {
        const held = this.series.get(name);
        if (held) {
          held.counts = { fromMs: fromBucketMs, toMs: toBucketMs, bucketMs, nonZero };
          held.readSeq = this.cursor?.seq ?? held.readSeq;
          this.unsaved.add(name);
        } else out.set(name, denseCounts(nonZero, buckets));
      }
    }
    return out;
  }

  /**
   * Writes a held series' counts per bucket from fromBucketMs to toBucketMs inclusive into
   * `into` (from its start; zero where none), as WindowStore.readCounts gives them. False when
   * the held counts do not cover the range (see ensure).
   */
  fill(name: string, fromBucketMs: number, toBucketMs: number, bucketMs: number, into: Float64Array): boolean {
    const held = this.series.get(name);
    if (!held || !covers(held, fromBucketMs, toBucketMs, bucketMs)) return false;
    const c = held.counts!;
    const n = (toBucketMs - fromBucketMs) / bucketMs + 1;
    into.fill(0, 0, n);
    const shift = (c.fromMs - fromBucketMs) / bucketMs;
    for (let k = 0; k < c.nonZero.length; k += 2) {
      const at = c.nonZero[k]! + shift;
      if (at >= 0 && at < n) into[at] = c.nonZero[k + 1]!;
    }
    return true;
  }

  /**
   * fill's counts given sparse: a held series' non-zero counts from fromBucketMs to toBucketMs
   * inclusive, as bucket indexes from fromBucketMs (ascending) and counts, written into `into`
   * (grown when too short). False when the held counts do not cover the range (see ensure).
   */
  sparse(name: string, fromBucketMs: number, toBucketMs: number, bucketMs: number, into: { at: Int32Array; values: Float64Array; count: number }): boolean {
    const held = this.series.get(name);
    if (!held || !covers(held, fromBucketMs, toBucketMs, bucketMs)) return false;
    const c = held.counts!;
    const n = (toBucketMs - fromBucketMs) / bucketMs + 1;
    const shift = (c.fromMs - fromBucketMs) / bucketMs;
    if (into.at.length < c.nonZero.length / 2) {
      into.at = new Int32Array(Math.max(c.nonZero.length / 2, 2 * into.at.length));
      into.values = new Float64Array(into.at.length);
    }
    let count = 0;
    for (let k = 0; k < c.nonZero.length; k += 2) {
      const at = c.nonZero[k]! + shift;
      if (at < 0 || at >= n) continue;
      into.at[count] = at;
      into.values[count++] = c.nonZero[k + 1]!;
    }
    into.count = count;
    return true;
  }
}

/** Whether a series' held counts cover a range: read over it (in the same buckets), or over its start up to the series' last data. */
function covers(held: CachedSeries, fromBucketMs: number, toBucketMs: number, bucketMs: number): boolean {
  const c = held.counts;
  return c !== undefined && c.bucketMs === bucketMs && c.fromMs <= fromBucketMs && (toBucketMs <= c.toMs || held.info.lastBucketMs <= c.toMs);
}
