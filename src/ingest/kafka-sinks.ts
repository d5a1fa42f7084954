import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import kafkajs, { CompressionTypes, type Kafka, type Message, type Producer } from 'kafkajs';
import type { Alert, AlertEventType } from '../alerts/alert.js';
import type { AlertPublisher } from '../alerts/alert-store.js';
import type { Logger } from '../shared/logger.js';
import { closeOnce } from '../shared/once.js';
import type { DeadLetter, RecordHeaders } from '../worker/process-records.js';
import type { DeadLetterSink } from '../worker/source.js';

// Not among the names Node can import from kafkajs (CommonJS) directly.
const { ConfigResourceTypes } = kafkajs;

/** Kafka's default max.message.bytes, used when a topic's own setting cannot be read. */
const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/** One idempotent producer shared by the dead-letter sink and the alert publisher. */
export class KafkaProducerHandle {
  readonly producer: Producer;
  private connecting: Promise<void> | undefined;
  private readonly limits = new Map<string, number>();

  constructor(
    private readonly kafka: Kafka,
    private readonly logger?: Logger,
  ) {
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  }

  ready(): Promise<void> {
    // A failed connect is tried again by the next caller, not remembered.
    this.connecting ??= this.producer.connect().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  /** The largest record batch a topic accepts (its max.message.bytes), read once and cached. */
  async maxMessageBytes(topic: string): Promise<number> {
    const known = this.limits.get(topic);
    if (known !== undefined) return known;
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const res = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }],
      });
      const value = Number(res.resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue);
      if (!Number.isInteger(value) || value <= 0) throw new Error(`topic ${topic} reports no max.message.bytes`);
      this.limits.set(topic, value);
      return value;
    } catch (err) {
      // Not cached: the next send asks again.
      this.logger?.warn({ err, topic }, `cannot read max.message.bytes; assuming ${DEFAULT_MAX_MESSAGE_BYTES}`);
      return DEFAULT_MAX_MESSAGE_BYTES;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Forgets a topic's cached limit (it may have been changed). */
  forgetLimit(topic: string): void {
    this.limits.delete(topic);
  }

  close = closeOnce(async () => {
    if (this.connecting) await this.producer.disconnect();
  });
}

/** Kafka's record batch header. */
const BATCH_HEADER_BYTES = 61;
/** Per record: length, attributes, deltas and the key, value and header lengths (varints). */
const RECORD_FRAMING_BYTES = 40;
/** Left unused in every batch, for compression framing and estimation error. */
const BATCH_MARGIN_BYTES = 1024;

export interface FittedValue {
  value: Buffer;
  truncated: boolean;
  /** Upper estimate of its size in a gzip-compressed batch. */
  bytes: number;
}

const gzipAsync = promisify(gzip);

/**
 * The value, or as much of its beginning as fits in maxBytes once gzip-compressed (to within 1 %
 * of maxBytes). Values that fit uncompressed are not compressed here (the batch is; raw size
 * bounds it).
 */
export async function fitValue(value: Buffer, maxBytes: number): Promise<FittedValue> {
  if (value.length <= maxBytes) return { value, truncated: false, bytes: value.length };
  if (maxBytes <= 0) return { value: value.subarray(0, 0), truncated: true, bytes: 0 };
  const whole = (await gzipAsync(value)).length;
  if (whole <= maxBytes) return { value, truncated: false, bytes: whole };
  // Binary search on the cut: `fits` fits (raw, at worst), `over` does not even compressed.
  let fits = maxBytes;
  let fitsBytes = maxBytes;
  let over = value.length;
  const step = Math.max(1, Math.floor(maxBytes / 100));
  while (over - fits > step) {
    const mid = fits + Math.floor((over - fits) / 2);
    const gz = (await gzipAsync(value.subarray(0, mid))).length;
    if (gz <= maxBytes) {
      fits = mid;
      fitsBytes = gz;
    } else over = mid;
  }
  return { value: value.subarray(0, fits), truncated: true, bytes: fitsBytes };
}

function headerBytes(headers: RecordHeaders): number {
  let n = 0;
  for (const [k, v] of Object.entries(headers)) {
    for (const x of v === undefined ? [] : Array.isArray(v) ? v : [v]) n += Buffer.byteLength(k) + Buffer.byteLength(x) + 8;
  }
  return n;
}

const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/**
 * Bad records go to the dead-letter topic as they came: value, key and headers, with the reason
 * and their origin added in headers (x-surgewatch-reason, -code, -pipeline, -source-topic,
 * -source-partition, -source-offset, -original-bytes). Batches are gzip-compressed and sized to
 * the topic's max.message.bytes. A value too big for it even compressed is cut to fit
 * (x-surgewatch-truncated: true); key and headers too big to leave room for it are dropped
 * (x-surgewatch-dropped: key,headers). So every bad record lands and the stream moves on.
 */
export class KafkaDeadLetterSink implements DeadLetterSink {
  /** Halved each time the broker still finds a batch too large (limit changed, estimate off). */
  private shrink = 1;

  constructor(
    private readonly handle: KafkaProducerHandle,
    private readonly topic: string,
  ) {}

  async send(pipeline: string, source: { topic: string; partition: number }, letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await this.handle.ready();
    const budget = Math.floor((await this.handle.maxMessageBytes(this.topic)) * this.shrink) - BATCH_HEADER_BYTES - BATCH_MARGIN_BYTES;
    const groups: Message[][] = [];
    let group: Message[] = [];
    let groupBytes = 0;
    for (const d of letters) {
      const { message, bytes } = await this.toMessage(pipeline, source, d, budget);
      if (group.length > 0 && groupBytes + bytes > budget) {
        groups.push(group);
        group = [];
        groupBytes = 0;
      }
      group.push(message);
      groupBytes += bytes;
    }
    groups.push(group);
    try {
      for (const messages of groups) await this.handle.producer.send({ topic: this.topic, acks: -1, compression: CompressionTypes.GZIP, messages });
    } catch (err) {
      if ((err as { type?: string }).type === 'MESSAGE_TOO_LARGE') {
        this.handle.forgetLimit(this.topic);
        this.shrink = Math.max(1 / 64, this.shrink / 2);
      }
      throw err;
    }
  }

  private async toMessage(pipeline: string, source: { topic: string; partition: number }, d: DeadLetter, budget: number): Promise<{ message: Message; bytes: number }> {
    const value = d.record.value ? asBuffer(d.record.value) : null;
    const ours: RecordHeaders = {
      'x-surgewatch-reason': d.reason,
      'x-surgewatch-code': d.code,
      'x-surgewatch-pipeline': pipeline,
      'x-surgewatch-source-topic': source.topic,
      'x-surgewatch-source-partition': String(source.partition),
      'x-surgewatch-source-offset': d.record.offset,
      'x-surgewatch-original-bytes': String(value?.length ?? 0),
    };
    let key = d.record.key ? asBuffer(d.record.key) : null;
    let theirs = d.record.headers ?? {};
    // The reason must get through: the record's own key and headers give way when they would crowd out its value.
    const dropped: string[] = [];
    if ((key?.length ?? 0) + headerBytes(theirs) > budget / 2) {
      if (headerBytes(theirs) > 0) dropped.push('headers');
      theirs = {};
      if ((key?.length ?? 0) > budget / 4) {
        key = null;
        dropped.push('key');
      }
    }
    if (dropped.length > 0) ours['x-surgewatch-dropped'] = dropped.join(',');
    const overhead = RECORD_FRAMING_BYTES + (key?.length ?? 0) + headerBytes(theirs) + headerBytes(ours) + 64;
    let fitted: FittedValue | undefined;
    if (value) {
      fitted = await fitValue(value, budget - overhead);
      if (fitted.truncated) ours['x-surgewatch-truncated'] = 'true';
    }
    return { message: { key, value: fitted?.value ?? null, headers: { ...theirs, ...ours } }, bytes: overhead + (fitted?.bytes ?? 0) };
  }

  async close(): Promise<void> {}
}

/**
 * Alert events on a Kafka topic, keyed by alert id (so one alert's versions stay ordered), each
 * with its stable event id (header x-surgewatch-event-id and `event_id` in the value) by which
 * consumers drop a copy sent twice.
 */
export class KafkaAlertPublisher implements AlertPublisher {
  constructor(private readonly handle: KafkaProducerHandle) {}

  async publish(topic: string, event: { type: AlertEventType; alert: Alert; eventId: string }): Promise<void> {
    await this.handle.ready();
    await this.handle.producer.send({
      topic,
      acks: -1,
      messages: [
        {
          key: event.alert.id,
          value: JSON.stringify({ event: event.type, event_id: event.eventId, alert: event.alert }),
          headers: { 'x-surgewatch-event': event.type, 'x-surgewatch-event-id': event.eventId },
        },
      ],
    });
  }

  async close(): Promise<void> {}
}
