/** The value counted once a dimension has too many. */
export const OTHER = 'other';

/**
 * Bounds the distinct values a dimension may take (regions and languages come from the
 * input, and hostile input could invent millions): once `max` values were seen within the
 * retention, new ones are counted as "other". Memory stays bounded whatever the input.
 */
export class DimensionValues {
  /** Per dimension: each value's last event time, and a lower bound of the oldest of them. */
  private readonly seen = new Map<string, { values: Map<string, number>; oldestMs: number }>();
  overflowed = 0;

  constructor(
    readonly max: number,
    private readonly retentionMs: number,
  ) {}

  admit(dimension: string, value: string, atMs: number): string {
    let d = this.seen.get(dimension);
    if (!d) this.seen.set(dimension, (d = { values: new Map(), oldestMs: Infinity }));
    const { values } = d;
    if (values.has(value) || values.size < this.max || this.evictBefore(d, atMs - this.retentionMs)) {
      values.set(value, Math.max(values.get(value) ?? -Infinity, atMs));
      d.oldestMs = Math.min(d.oldestMs, atMs);
      return value;
    }
    this.overflowed++;
    return OTHER;
  }

  /** Drops values not seen since cutoffMs; scans only when one of them can be that old. */
  private evictBefore(d: { values: Map<string, number>; oldestMs: number }, cutoffMs: number): boolean {
    if (d.oldestMs >= cutoffMs) return d.values.size < this.max;
    let oldest = Infinity;
    for (const [v, last] of d.values) {
      if (last < cutoffMs) d.values.delete(v);
      else if (last < oldest) oldest = last;
    }
    d.oldestMs = oldest;
    return d.values.size < this.max;
  }
}
