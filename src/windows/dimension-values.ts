/** The value counted once a dimension has too many. */
export const OTHER = 'other';

/**
 * Bounds the distinct values a dimension may take (regions and languages come from the
 * input, and hostile input could invent millions): once `max` values were seen within the
 * retention, new ones are counted as "other". Memory stays bounded whatever the input.
 */
export class DimensionValues {
  private readonly seen = new Map<string, Map<string, number>>();
  overflowed = 0;

  constructor(
    readonly max: number,
    private readonly retentionMs: number,
  ) {}

  admit(dimension: string, value: string, atMs: number): string {
    let values = this.seen.get(dimension);
    if (!values) this.seen.set(dimension, (values = new Map()));
    if (values.has(value) || values.size < this.max || this.evictBefore(values, atMs - this.retentionMs)) {
      values.set(value, Math.max(values.get(value) ?? -Infinity, atMs));
      return value;
    }
    this.overflowed++;
    return OTHER;
  }

  private evictBefore(values: Map<string, number>, cutoffMs: number): boolean {
    for (const [v, last] of values) if (last < cutoffMs) values.delete(v);
    return values.size < this.max;
  }
}
