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
    /** Hash of hour-of-day (0-23) -> count for one series and one UTC day. */
    hourly: (series: string, dayStartMs: number) => `${base}:h:${series}:${dayStartMs}`,
    authors: (series: string, bucketMs: number) => `${base}:a:${series}:${bucketMs}`,
    terms: (series: string, bucketMs: number) => `${base}:t:${series}:${bucketMs}`,
    samples: (series: string, bucketMs: number) => `${base}:s:${series}:${bucketMs}`,
    /** Set of (hashed) signal ids counted, for one dedupSec-wide event-time slice. */
    seen: (sliceStartMs: number) => `${base}:seen:${sliceStartMs}`,
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

/**
 * Keys of the topic lists, which are global (shared by every pipeline). Their hash tag
 * {prefix} cannot collide with a pipeline's {prefix:pipeline}.
 */
export function createListKeys(prefix: string) {
  const base = `${prefix}:{${prefix}}:lists`;
  return {
    base,
    /** Hash: version, revision, published_at, source, topics (JSON). */
    current: `${base}:current`,
    /** Counter behind the revisions; outlives the current set's refreshes together with it. */
    revision: `${base}:revision`,
    /** Hash of workerId -> JSON { version, revision, at, pid, host }. */
    workers: `${base}:workers`,
    /** JSON of the last rejected reload. */
    error: `${base}:error`,
    /** Pub/sub channel announcing each new revision. */
    channel: `${base}:published`,
  };
}

export type ListKeys = ReturnType<typeof createListKeys>;
