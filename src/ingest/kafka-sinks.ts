import type { Kafka, Producer } from 'kafkajs';
import type { Alert, AlertEventType } from '../alerts/alert.js';
import type { AlertPublisher } from '../alerts/alert-store.js';
import { closeOnce } from '../shared/once.js';
import type { DeadLetter } from '../worker/process-records.js';
import type { DeadLetterSink } from '../worker/source.js';

/** One idempotent producer shared by the dead-letter sink and the alert publisher. */
export class KafkaProducerHandle {
  readonly producer: Producer;
  private connecting: Promise<void> | undefined;

  constructor(kafka: Kafka) {
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

  close = closeOnce(async () => {
    if (this.connecting) await this.producer.disconnect();
  });
}

/**
 * Bad records go to the dead-letter topic unchanged, with the reason and their origin in
 * headers (x-surgewatch-reason, -code, -pipeline, -source-topic, -source-partition, -source-offset).
 */
export class KafkaDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly handle: KafkaProducerHandle,
    private readonly topic: string,
  ) {}

  async send(pipeline: string, source: { topic: string; partition: number }, letters: readonly DeadLetter[]): Promise<void> {
    await this.handle.ready();
    await this.handle.producer.send({
      topic: this.topic,
      acks: -1,
      messages: letters.map((d) => ({
        value: d.record.value ? Buffer.from(d.record.value) : null,
        headers: {
          'x-surgewatch-reason': d.reason,
          'x-surgewatch-code': d.code,
          'x-surgewatch-pipeline': pipeline,
          'x-surgewatch-source-topic': source.topic,
          'x-surgewatch-source-partition': String(source.partition),
          'x-surgewatch-source-offset': d.record.offset,
        },
      })),
    });
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
