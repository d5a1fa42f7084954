import type { DeadLetter, RawRecord } from './process-records.js';

/** Records of one partition, in offset order. */
export interface SourceBatch {
  topic: string;
  partition: number;
  records: RawRecord[];
  /** Keeps the consumer's group membership while a long batch is worked on (Kafka). */
  heartbeat?: () => Promise<void>;
}

/**
 * Where signals come from (a Kafka consumer group, the embedded sample stream). The source
 * calls the handler per partition batch and only moves its committed position after the
 * handler resolves; a handler that throws leaves the batch to be delivered again.
 */
export interface SignalSource {
  start(handler: (batch: SourceBatch) => Promise<void>): Promise<void>;
  /** Stops taking work, lets the batch in hand finish, commits, disconnects. Idempotent. */
  close(): Promise<void>;
  /** Throws when the source cannot reach its broker. */
  ping(): Promise<void>;
}

export interface DeadLetterSink {
  send(pipeline: string, source: { topic: string; partition: number }, letters: readonly DeadLetter[]): Promise<void>;
  close(): Promise<void>;
}
