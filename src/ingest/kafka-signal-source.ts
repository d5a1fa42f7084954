import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../shared/logger.js';
import { closeOnce } from '../shared/once.js';
import type { SignalSource, SourceBatch } from '../worker/source.js';

export interface KafkaSourceSettings {
  topic: string;
  groupId: string;
  /** A batch is handed over in chunks of at most this many records (heartbeats in between). */
  maxRecordsPerChunk?: number;
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
}

/**
 * A consumer-group member over one topic. Offsets are committed manually, after the handler
 * has applied the chunk; nothing is auto-committed.
 */
export class KafkaSignalSource implements SignalSource {
  private readonly consumer: Consumer;
  private readonly admin;
  private onRebalance: (() => void) | undefined;
  private closing = false;

  constructor(
    kafka: Kafka,
    private readonly settings: KafkaSourceSettings,
    private readonly logger: Logger,
  ) {
    this.consumer = kafka.consumer({
      groupId: settings.groupId,
      sessionTimeout: settings.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: Math.min(3000, Math.floor((settings.sessionTimeoutMs ?? 30_000) / 3)),
      maxBytesPerPartition: 1024 * 1024,
      // A crash while closing (e.g. a fetch cut by disconnect) must not restart the consumer.
      retry: { retries: 10, restartOnFailure: async () => !this.closing },
    });
    this.admin = kafka.admin();
  }

  /** Called when partitions may have moved, so cached per-partition state can be dropped. */
  onPartitionsMoved(fn: () => void): void {
    this.onRebalance = fn;
  }

  async start(handler: (batch: SourceBatch) => Promise<void>): Promise<void> {
    const { topic } = this.settings;
    const chunkSize = this.settings.maxRecordsPerChunk ?? 2000;
    await this.admin.connect();
    await this.consumer.connect();
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      this.logger.info({ topic, assignment: e.payload.memberAssignment }, 'joined consumer group');
      this.onRebalance?.();
    });
    await this.consumer.subscribe({ topics: [topic], fromBeginning: this.settings.fromBeginning ?? true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const messages = batch.messages;
        for (let i = 0; i < messages.length; i += chunkSize) {
          if (!isRunning() || isStale()) return;
          const chunk = messages.slice(i, i + chunkSize);
          const records = chunk.map((m) => ({ offset: m.offset, value: m.value, key: m.key, headers: m.headers }));
          await handler({ topic: batch.topic, partition: batch.partition, records, heartbeat });
          const last = chunk[chunk.length - 1]!.offset;
          resolveOffset(last);
          await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
          await heartbeat();
        }
      },
    });
  }

  async ping(): Promise<void> {
    await this.admin.describeCluster();
  }

  close = closeOnce(async () => {
    this.closing = true;
    // disconnect() waits for the batch in hand, which commits what it applied.
    await this.consumer.disconnect();
    await this.admin.disconnect();
  });
}
