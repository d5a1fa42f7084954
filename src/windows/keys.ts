import { BUCKETS_PER_CHUNK } from './window-store.js';

/**
 * The one builder of Redis keys. Every key of a pipeline carries the hash tag
 * {prefix:pipeline}, so that one script's keys share a Redis Cluster slot.
 */
export function createKeys(prefix: string, pipeline: string) {
  const base = `${prefix}:{${prefix}:${pipeline}}`;
  return {
    base,
    offsets: `${base}:offsets`,
    series: `${base}:series`,
    firstSeen: `${base}:first`,
    totals: `${base}:totals`,
    /** Hash of bucketStart -> count for one series and one chunk of buckets. */
    counts: (series: string, chunkStartMs: number) => `${base}:c:${series}:${chunkStartMs}`,
    authors: (series: string, bucketMs: number) => `${base}:a:${series}:${bucketMs}`,
    terms: (series: string, bucketMs: number) => `${base}:t:${series}:${bucketMs}`,
    samples: (series: string, bucketMs: number) => `${base}:s:${series}:${bucketMs}`,
    lease: (name: string) => `${base}:lease:${name}`,
    alert: (id: string) => `${base}:alert:${id}`,
    alertIndex: `${base}:alerts`,
    openAlerts: `${base}:alerts:open`,
    cooldown: (series: string) => `${base}:alerts:cooldown:${series}`,
    alertEvents: `${base}:alerts:events`,
  };
}

export type Keys = ReturnType<typeof createKeys>;

export function chunkStart(bucketStartMs: number, bucketMs: number): number {
  const span = bucketMs * BUCKETS_PER_CHUNK;
  return Math.floor(bucketStartMs / span) * span;
}
