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
    /** Zset of series id -> sequence number of the last applied batch that counted into it. */
    changed: `${base}:changed`,
    /** Hash: seq (applied batches that counted something), epoch (when seq started over). */
    changeSeq: `${base}:changeseq`,
    /** Hash of series -> what the detection tick held of it (WindowStore.writeHeldSeries), with the set's epoch and sequence number. */
    heldSeries: `${base}:held`,
    /** Hash of bucketStart -> count for one series and one chunk of buckets. */
    counts: (series: string, chunkStartMs: number) => `${base}:c:${series}:${chunkStartMs}`,
    /** Hash of hour-of-day (0-23) -> count for one series and one UTC day. */
    hourly: (series: string, dayStartMs: number) => `${base}:h:${series}:${dayStartMs}`,
    authors: (series: string, bucketMs: number) => `${base}:a:${series}:${bucketMs}`,
    terms: (series: string, bucketMs: number) => `${base}:t:${series}:${bucketMs}`,
    samples: (series: string, bucketMs: number) => `${base}:s:${series}:${bucketMs}`,
    /** JSON of one sample signal's content (text, time, surface...), kept for the sample-text TTL. */
    sampleText: (signalId: string) => `${base}:st:${signalId}`,
    /** Set of (hashed) signal ids counted, for one dedupSec-wide event-time slice. */
    seen: (sliceStartMs: number) => `${base}:seen:${sliceStartMs}`,
    lease: (name: string) => `${base}:lease:${name}`,
    /** Hash of series -> consecutive significant ticks (the detection streaks; absent = 0). */
    streaks: `${base}:streaks`,
    alert: (id: string) => `${base}:alert:${id}`,
    alertIndex: `${base}:alerts`,
    openAlerts: `${base}:alerts:open`,
    cooldown: (series: string) => `${base}:alerts:cooldown:${series}`,
    alertEvents: `${base}:alerts:events`,
    /** Stream of alert events not yet published to Kafka. */
    alertOutbox: `${base}:alerts:outbox`,
    /** Index zsets (id -> updated ms) of the alerts of one topic, status or dimension: filtered lists read only these. */
    alertsByTopic: (topic: string) => `${base}:alerts:topic:${topic}`,
    alertsByStatus: (status: string) => `${base}:alerts:status:${status}`,
    alertsByDimension: (dimension: string) => `${base}:alerts:dim:${dimension}`,
    /** Present once the filter indexes cover every alert (built once from the main index). */
    alertIndexesReady: `${base}:alerts:indexed`,
  };
}

export type Keys = ReturnType<typeof createKeys>;

/** The key of a pipeline's lease named "<role>:<pipeline>" (e.g. "tick:high-harm"), next to the pipeline's alerts. */
export function leaseKey(prefix: string, name: string): string {
  return createKeys(prefix, name.split(':')[1] ?? name).lease(name);
}

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
    /** Hash of topic id -> JSON of its latest TopicVersion. */
    topicHeads: `${base}:topics:heads`,
    /** List of one topic's TopicVersion JSON, oldest first (the newest N). */
    topicVersions: (topicId: string) => `${base}:topic:${topicId}:versions`,
    /** Hash of version -> definition JSON for one topic (the versions still listed). */
    topicDefinitions: (topicId: string) => `${base}:topic:${topicId}:definitions`,
  };
}

export type ListKeys = ReturnType<typeof createListKeys>;

/**
 * Keys of the webhook delivery queue, shared by every pipeline and worker. The hash tag
 * {prefix} puts them in one slot with each other (the queue's scripts touch several).
 */
export function createDeliveryKeys(prefix: string) {
  const base = `${prefix}:{${prefix}}:deliveries`;
  return {
    base,
    /** Sorted set: delivery id -> due time (ms); a claimed one's score is its lease's end. */
    due: `${base}:due`,
    /** Sorted set: delivery id -> time it became a dead letter (ms). */
    dead: `${base}:dead`,
    /** Prefix of the per-delivery hashes (data, attempts, token, last_error, dead_at). */
    jobPrefix: `${base}:job:`,
    job: (id: string) => `${base}:job:${id}`,
    /** Marker of a delivered one, for dedupe. */
    done: (id: string) => `${base}:done:${id}`,
  };
}

export type DeliveryKeys = ReturnType<typeof createDeliveryKeys>;
/** The audit log's stream, global like the lists (hash tag {prefix}). */
export function auditKey(prefix: string): string {
  return `${prefix}:{${prefix}}:audit`;
}
