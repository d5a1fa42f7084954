import { SurgewatchError } from '../shared/errors.js';
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
 * What a source is doing: `starting` (first connect and group join), `running` (in its consumer
 * group, taking batches), `restarting` (crashed; a new start is scheduled), `failed` (a start
 * failed; another is scheduled), `stopped` (closed).
 */
export const SOURCE_STATES = ['starting', 'running', 'restarting', 'failed', 'stopped'] as const;
export type SourceState = (typeof SOURCE_STATES)[number];

export interface SourceStatus {
  state: SourceState;
  /** Since when (ISO-8601) the source is in this state. */
  since: string;
  /** Crashes and failed starts so far (each followed by a restart). */
  failures: number;
  /** The last crash or start failure, while not running. */
  error?: string;
}

/** Where a source stands in one partition it consumes. */
export interface PartitionPosition {
  topic: string;
  partition: number;
  /** The next offset to process: everything before it is applied and committed. */
  committedOffset: string;
  /** Records between that offset and the end of the partition (see `SignalSource.positions`). */
  lag: number;
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
  /** What the source is doing; a source without it counts as running once started. */
  status?(): SourceStatus;
  /**
   * Its position in each partition it consumed since it was last assigned them (Kafka), with the
   * lag against the partition's end now when the broker answers soon, else as of the last fetch.
   */
  positions?(): Promise<PartitionPosition[]>;
}

export interface DeadLetterSink {
  send(pipeline: string, source: { topic: string; partition: number }, letters: readonly DeadLetter[]): Promise<void>;
  close(): Promise<void>;
}

/** Not every signal source is consuming: `details` has each one's status, by pipeline. */
export class SourcesNotRunningError extends SurgewatchError {
  /** Each source's state, without the client library's error text (that is logged where it happens). */
  readonly details: Record<string, Omit<SourceStatus, 'error'>>;

  constructor(statuses: Record<string, SourceStatus>) {
    const down = Object.entries(statuses).filter(([, st]) => st.state !== 'running');
    super('CONSUMERS_NOT_RUNNING', down.map(([pipeline, st]) => `${pipeline}: ${st.state}`).join('; '));
    this.details = Object.fromEntries(Object.entries(statuses).map(([pipeline, { error: _error, ...st }]) => [pipeline, st]));
    this.name = 'SourcesNotRunningError';
  }
}

/** Throws SourcesNotRunningError, with every source's status, unless all of them run. */
export function checkSourcesRunning(statuses: Record<string, SourceStatus>): void {
  if (Object.values(statuses).some((st) => st.state !== 'running')) throw new SourcesNotRunningError(statuses);
}
