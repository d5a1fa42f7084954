import type { Logger } from '../shared/logger.js';
import { sleep } from '../shared/once.js';
import type { Clock } from '../shared/clock.js';
import type { WindowStore } from '../windows/window-store.js';
import type { PipelineRuntime } from './pipeline-runtime.js';
import { processRecords, type ProcessedRecords, type RawRecord, type Watermark } from './process-records.js';
import type { DeadLetterSink, SourceBatch } from './source.js';
import { counter, histogram, latencyBuckets } from '../shared/metrics.js';

const scoringSeconds = histogram({ name: 'surgewatch_scoring_seconds', help: 'Time to validate, normalise and score one batch of records (lexicon and semantic).', labelNames: ['pipeline'], buckets: latencyBuckets });
const processed = counter({ name: 'surgewatch_signals_processed_total', help: 'Signals counted into the windows (valid, on time, not seen before), by pipeline.', labelNames: ['pipeline'] });
const withoutAuthor = counter({ name: 'surgewatch_signals_without_author_total', help: 'Signals counted that carry no author id, by pipeline (over surgewatch_signals_processed_total: the share without one).', labelNames: ['pipeline'] });
const dropped = counter({ name: 'surgewatch_signals_dropped_total', help: 'Valid signals not counted, by pipeline and reason: late (behind the watermark by more than the lateness) or duplicate (id already counted).', labelNames: ['pipeline', 'reason'] });
const deadLetterCount = counter({ name: 'surgewatch_dead_letters_total', help: 'Records sent to the dead-letter topic, by pipeline and reason (the decode failure code, or future).', labelNames: ['pipeline', 'reason'] });

/** Counts what an applied batch did, once (a batch re-read after a conflict is counted by its final pass only). */
function countApplied(pipeline: string, out: ProcessedRecords): void {
  processed.inc({ pipeline }, out.totals.signals ?? 0);
  withoutAuthor.inc({ pipeline }, out.totals.no_author ?? 0);
  dropped.inc({ pipeline, reason: 'late' }, out.totals.late ?? 0);
  dropped.inc({ pipeline, reason: 'duplicate' }, out.totals.duplicates ?? 0);
  for (const d of out.deadLetters) deadLetterCount.inc({ pipeline, reason: d.code });
}

export interface BatchApplierOptions {
  store: WindowStore;
  deadLetters: DeadLetterSink;
  authorHashKey: string;
  clock: Clock;
  logger: Logger;
  /** Aborted on shutdown: retries stop and the batch is left uncommitted. */
  signal?: AbortSignal;
  /** Check event times against the clock (off for replays of old files). */
  checkFuture?: boolean;
  maxRetryDelayMs?: number;
}

const MAX_CONFLICT_RETRIES = 10;
/** How often a batch waiting on Redis or Kafka asks the consumer to heartbeat (kafkajs throttles it). */
const KEEP_ALIVE_MS = 1000;

/**
 * Heartbeats while a batch waits on infrastructure, so that its consumer keeps the partition
 * through an outage longer than the session. A failed heartbeat (the group is rebalancing, or
 * the member was dropped) is kept: the batch is then given up, to be delivered again.
 */
class KeepAlive {
  private readonly timer: NodeJS.Timeout;
  private lost: unknown;

  constructor(heartbeat: () => Promise<void>) {
    this.timer = setInterval(() => {
      heartbeat().catch((err: unknown) => {
        this.lost ??= err;
      });
    }, KEEP_ALIVE_MS);
    this.timer.unref();
  }

  /** Throws the heartbeat's error once the membership is lost. */
  check(): void {
    if (this.lost !== undefined) throw this.lost;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * Applies partition batches to the window store exactly once. The store keeps each partition's
 * last applied offset; records at or below it are skipped, and the write is a compare-and-set
 * on that offset, so a re-delivered or overlapping batch never counts twice.
 */
export class BatchApplier {
  private readonly applied = new Map<string, string>();
  /**
   * Event-time progress per source partition: lateness is judged within a partition, so one
   * that lags behind another (a slow producer, a backlog) is not dropped as late.
   */
  private readonly watermarks = new Map<string, Watermark>();

  constructor(
    readonly runtime: PipelineRuntime,
    private readonly opts: BatchApplierOptions,
  ) {}

  get pipeline(): string {
    return this.runtime.config.id;
  }

  async handle(batch: SourceBatch): Promise<void> {
    if (batch.records.length === 0) return;
    const partitionKey = `${batch.topic}:${batch.partition}`;
    const lastOffset = batch.records[batch.records.length - 1]!.offset;
    const deadLettered = new Set<string>();

    const { heartbeat } = batch;
    // Signals an earlier batch counted (a producer's retry): found by the store, then left out.
    const skipIds = new Set<string>();
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const prev = this.applied.get(partitionKey) ?? (await this.retry(() => this.opts.store.appliedOffset(this.pipeline, partitionKey), heartbeat));
      const prevN = BigInt(prev);
      const fresh = batch.records.filter((r) => BigInt(r.offset) > prevN);
      if (fresh.length === 0) {
        this.applied.set(partitionKey, prev);
        return;
      }
      const scoring = scoringSeconds.startTimer({ pipeline: this.pipeline });
      // Advanced on a copy, kept only once the batch is applied (a retry starts from the same point).
      const watermark: Watermark = { maxEventMs: this.watermarks.get(partitionKey)?.maxEventMs ?? -Infinity };
      const out = await processRecords(fresh, this.runtime, {
        authorHashKey: this.opts.authorHashKey,
        watermark,
        skipIds,
        ...(batch.heartbeat && { keepAlive: batch.heartbeat }),
        ...(this.opts.checkFuture === false ? {} : { nowMs: this.opts.clock.now() }),
      });
      scoring({ pipeline: this.pipeline });
      // Dead letters go out before the counts: if we die in between, they are re-sent (a
      // duplicate on the dead-letter topic) rather than lost.
      const letters = out.deadLetters.filter((d) => !deadLettered.has(d.record.offset));
      if (letters.length > 0) {
        await this.retry(() => this.opts.deadLetters.send(this.pipeline, batch, letters), heartbeat);
        for (const d of letters) deadLettered.add(d.record.offset);
      }
      const result = await this.retry(() =>
        this.opts.store.applyBatch({
          pipeline: this.pipeline,
          layout: this.runtime.layout,
          position: { partitionKey, expectedPrevOffset: prev, lastOffset },
          signals: out.signals,
          totals: out.totals,
          seen: out.seen,
        }),
        heartbeat,
      );
      if (result.status === 'applied') {
        this.applied.set(partitionKey, lastOffset);
        this.watermarks.set(partitionKey, watermark);
        countApplied(this.pipeline, out);
        return;
      }
      if (result.status === 'duplicates') {
        const before = skipIds.size;
        for (const id of result.ids) skipIds.add(id);
        if (skipIds.size === before) throw new Error(`partition ${partitionKey}: the store reported duplicates it was not given`);
        // Each round leaves out more ids, so this ends; it is not a fence conflict.
        attempt--;
        continue;
      }
      this.opts.logger.info({ partitionKey, expected: prev, current: result.currentOffset }, 'offset fence moved (another worker applied); re-reading');
      this.applied.set(partitionKey, result.currentOffset);
    }
    throw new Error(`partition ${partitionKey}: offset fence kept moving; batch left for redelivery`);
  }

  /** Forget cached offsets and watermarks, e.g. after a partition is reassigned. */
  forget(): void {
    this.applied.clear();
    this.watermarks.clear();
  }

  /**
   * Retries infrastructure failures with capped exponential backoff until shutdown, heartbeating
   * meanwhile (nothing is committed while it waits). Gives up when the membership is lost.
   */
  private async retry<T>(fn: () => Promise<T>, heartbeat?: () => Promise<void>): Promise<T> {
    const maxDelay = this.opts.maxRetryDelayMs ?? 5000;
    const keepAlive = heartbeat && new KeepAlive(heartbeat);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          return await fn();
        } catch (err) {
          if (this.opts.signal?.aborted) throw err;
          keepAlive?.check();
          const delay = Math.min(maxDelay, 100 * 2 ** attempt);
          this.opts.logger.warn({ err, attempt, delay }, 'store or dead-letter write failed; retrying');
          await sleep(delay, this.opts.signal);
          if (this.opts.signal?.aborted) throw err;
          keepAlive?.check();
        }
      }
    } finally {
      keepAlive?.stop();
    }
  }
}

export type { RawRecord };
