import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../shared/logger.js';
import { counter, gauge } from '../shared/metrics.js';
import { closeOnce, sleep, within } from '../shared/once.js';
import type { PartitionPosition, SignalSource, SourceBatch, SourceState, SourceStatus } from '../worker/source.js';

export interface KafkaSourceSettings {
  topic: string;
  groupId: string;
  /** A batch is handed over in chunks of at most this many records (heartbeats in between). */
  maxRecordsPerChunk?: number;
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
  /** First wait before a crashed consumer is started again; doubles up to maxRestartDelayMs. */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
}

type Handler = (batch: SourceBatch) => Promise<void>;

/** How long a scrape waits for the partitions' end before it reports the lag as of the last fetch. */
const POSITIONS_TIMEOUT_MS = 1000;

function lagOf(end: bigint, committed: bigint): number {
  return end > committed ? Number(end - committed) : 0;
}
const consumed = counter({ name: 'surgewatch_records_consumed_total', help: 'Records applied and committed (signals, drops and dead letters alike).', labelNames: ['group', 'topic'] });
const inFlight = gauge({ name: 'surgewatch_records_in_flight', help: 'Records handed to the pipeline and not yet committed.', labelNames: ['group', 'topic'] });
const inFlightPeak = gauge({
  name: 'surgewatch_records_in_flight_peak',
  help: 'The most records in flight at once since the process started: at most one chunk (maxRecordsPerChunk), however large the backlog.',
  labelNames: ['group', 'topic'],
});

/**
 * A consumer-group member over one topic. Offsets are committed manually, after the handler
 * has applied the chunk; nothing is auto-committed.
 *
 * Supervised: kafkajs restarts its consumer after retriable errors only. When it gives up (e.g.
 * "The coordinator is not aware of this member" after a handler outlived the session), or a
 * start fails, a new consumer is started after a backoff, for as long as the source is open.
 * `status()` says which of these it is in.
 */
export class KafkaSignalSource implements SignalSource {
  private consumer: Consumer | undefined;
  private readonly admin: Admin;
  private onRebalance: (() => void) | undefined;
  private handler: Handler | undefined;
  private closing = false;
  private readonly stopped = new AbortController();
  private current: SourceStatus = { state: 'starting', since: new Date().toISOString(), failures: 0 };
  private nextDelayMs: number;
  private restarting: Promise<void> | undefined;
  private restartPending = false;
  private adminConnected: Promise<void> | undefined;
  private readonly positionByPartition = new Map<number, PartitionPosition>();
  private inFlightNow = 0;
  private inFlightMost = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly settings: KafkaSourceSettings,
    private readonly logger: Logger,
  ) {
    this.admin = kafka.admin();
    this.nextDelayMs = settings.restartDelayMs ?? 1000;
  }

  /** Called when partitions may have moved, so cached per-partition state can be dropped. */
  onPartitionsMoved(fn: () => void): void {
    this.onRebalance = fn;
  }

  status(): SourceStatus {
    return { ...this.current };
  }

  /**
   * The lag is measured against the partitions' end at the time of asking, so that a consumer
   * stuck on a batch (Redis down) shows its backlog growing; when the broker does not answer
   * within a moment, it is the lag as of the last fetch.
   */
  async positions(): Promise<PartitionPosition[]> {
    const known = [...this.positionByPartition.values()].sort((a, b) => a.partition - b.partition).map((p) => ({ ...p }));
    if (known.length === 0 || this.closing) return known;
    try {
      const ends = await within(
        this.connectAdmin().then(() => this.admin.fetchTopicOffsets(this.settings.topic)),
        POSITIONS_TIMEOUT_MS,
        () => new Error(`no partition offsets within ${POSITIONS_TIMEOUT_MS} ms`),
      );
      const high = new Map(ends.map((e) => [e.partition, BigInt(e.high)]));
      for (const p of known) {
        const end = high.get(p.partition);
        if (end !== undefined) p.lag = lagOf(end, BigInt(p.committedOffset));
      }
    } catch (err) {
      this.logger.debug({ err, topic: this.settings.topic }, 'partition ends not read; lag as of the last fetch');
    }
    return known;
  }

  private setState(state: SourceState, error?: unknown): void {
    if (this.current.state === state && error === undefined) return;
    this.current = {
      state,
      since: new Date().toISOString(),
      failures: this.current.failures + (state === 'restarting' || state === 'failed' ? 1 : 0),
      ...(error !== undefined && { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
    };
  }

  /**
   * Starts consuming. Resolves once the first consumer runs; if that start fails, the failure is
   * reported by `status()` and the start is retried in the background (the promise rejects).
   */
  async start(handler: Handler): Promise<void> {
    this.handler = handler;
    try {
      await this.launch();
    } catch (err) {
      this.failedToStart(err);
      throw err;
    }
  }

  private failedToStart(err: unknown): void {
    this.logger.error({ err, topic: this.settings.topic }, 'consumer failed to start; retrying');
    this.setState('failed', err);
    this.scheduleRestart();
  }

  private createConsumer(): Consumer {
    const sessionTimeout = this.settings.sessionTimeoutMs ?? 30_000;
    return this.kafka.consumer({
      groupId: this.settings.groupId,
      sessionTimeout,
      heartbeatInterval: Math.min(3000, Math.floor(sessionTimeout / 3)),
      maxBytesPerPartition: 1024 * 1024,
      // A crash while closing (e.g. a fetch cut by disconnect) must not restart the consumer.
      retry: { retries: 10, restartOnFailure: async () => !this.closing },
    });
  }

  private async launch(): Promise<void> {
    const { topic } = this.settings;
    const chunkSize = this.settings.maxRecordsPerChunk ?? 2000;
    const consumer = this.createConsumer();
    this.consumer = consumer;
    const { GROUP_JOIN, CRASH } = consumer.events;
    consumer.on(GROUP_JOIN, (e) => {
      this.logger.info({ topic, assignment: e.payload.memberAssignment }, 'joined consumer group');
      this.setState('running');
      // Partitions gone to another member are that member's to report.
      const assigned = new Set(e.payload.memberAssignment[topic] ?? []);
      for (const partition of this.positionByPartition.keys()) if (!assigned.has(partition)) this.positionByPartition.delete(partition);
      this.onRebalance?.();
    });
    consumer.on(CRASH, (e) => {
      if (this.closing) return;
      this.logger.error({ err: e.payload.error, topic, restart: e.payload.restart }, 'consumer crashed');
      this.setState('restarting', e.payload.error);
      // kafkajs restarts by itself after retriable errors; after the others it stays down.
      if (!e.payload.restart) this.scheduleRestart();
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: this.settings.fromBeginning ?? true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          const messages = batch.messages;
          for (let i = 0; i < messages.length; i += chunkSize) {
            if (!isRunning() || isStale()) return;
            const chunk = messages.slice(i, i + chunkSize);
            const records = chunk.map((m) => ({ offset: m.offset, value: m.value, key: m.key, headers: m.headers }));
            const last = chunk[chunk.length - 1]!.offset;
            this.holding(records.length);
            try {
              await this.handler!({ topic: batch.topic, partition: batch.partition, records, heartbeat });
              resolveOffset(last);
              const next = BigInt(last) + 1n;
              await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next.toString() }]);
              this.positionByPartition.set(batch.partition, { topic: batch.topic, partition: batch.partition, committedOffset: next.toString(), lag: lagOf(BigInt(batch.highWatermark), next) });
            } finally {
              this.holding(-records.length);
            }
            consumed.inc({ group: this.settings.groupId, topic }, records.length);
            await heartbeat();
            // Work went through: the next crash starts the backoff over.
            this.nextDelayMs = this.settings.restartDelayMs ?? 1000;
          }
        },
      });
    } catch (err) {
      await consumer.disconnect().catch(() => undefined);
      throw err;
    }
  }

  private holding(delta: number): void {
    const labels = { group: this.settings.groupId, topic: this.settings.topic };
    this.inFlightNow += delta;
    inFlight.set(labels, this.inFlightNow);
    if (this.inFlightNow > this.inFlightMost) {
      this.inFlightMost = this.inFlightNow;
      inFlightPeak.set(labels, this.inFlightMost);
    }
  }

  /** Starts a new consumer after the current backoff (one pending restart at a time). */
  private scheduleRestart(): void {
    if (this.closing || this.restartPending) return;
    this.restartPending = true;
    const delayMs = this.nextDelayMs;
    this.nextDelayMs = Math.min(this.settings.maxRestartDelayMs ?? 30_000, delayMs * 2);
    this.logger.warn({ topic: this.settings.topic, delayMs }, 'starting a new consumer after a backoff');
    this.restarting = (async () => {
      await sleep(delayMs, this.stopped.signal);
      // From here on, a crash of the new consumer (even while it starts) schedules the next restart.
      this.restartPending = false;
      if (this.closing) return;
      // The crashed consumer has disconnected itself; make sure before replacing it.
      await this.consumer?.disconnect().catch(() => undefined);
      await this.launch().catch((err: unknown) => this.failedToStart(err));
    })();
  }

  private async connectAdmin(): Promise<void> {
    try {
      await (this.adminConnected ??= this.admin.connect());
    } catch (err) {
      this.adminConnected = undefined;
      throw err;
    }
  }

  async ping(): Promise<void> {
    await this.connectAdmin();
    await this.admin.describeCluster();
  }

  close = closeOnce(async () => {
    this.closing = true;
    this.stopped.abort();
    for (let r = this.restarting; r; r = r === this.restarting ? undefined : this.restarting) await r;
    // disconnect() waits for the batch in hand, which commits what it applied.
    await this.consumer?.disconnect();
    if (this.adminConnected) await this.admin.disconnect();
    this.setState('stopped');
  });
}
