import { Kafka, logLevel, type CompressionTypes, type Consumer, type IHeaders, type Message } from 'kafkajs';
import { KAFKA_BROKERS, uniqueId, waitFor } from './services.js';

export function testKafka(): Kafka {
  return new Kafka({ clientId: uniqueId('test'), brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING });
}

/** `config`: topic-level settings, e.g. { 'max.message.bytes': '200000' }. */
export async function createTopic(kafka: Kafka, topic: string, numPartitions: number, config: Record<string, string> = {}): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const configEntries = Object.entries(config).map(([name, value]) => ({ name, value }));
    await admin.createTopics({ topics: [{ topic, numPartitions, configEntries }], waitForLeaders: false });
    // kafkajs's own wait gives up when the broker answers "unknown topic" for a topic it has just
    // created (a busy KRaft broker publishes it a moment later): ask until every partition has a leader.
    await waitFor(
      async () => {
        const [md] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
        return md?.partitions.length === numPartitions && md.partitions.every((p) => p.leader >= 0) ? true : undefined;
      },
      30_000,
      `the partitions of ${topic} to have leaders`,
    );
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const doomed = topics.filter((t) => existing.has(t));
    if (doomed.length > 0) await admin.deleteTopics({ topics: doomed });
  } finally {
    await admin.disconnect();
  }
}

export async function produce(kafka: Kafka, topic: string, messages: Message[], opts: { compression?: CompressionTypes } = {}): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 500) await producer.send({ topic, messages: messages.slice(i, i + 500), ...opts });
  } finally {
    await producer.disconnect();
  }
}

export interface Received {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

function headersOf(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) out[k] = Array.isArray(v) ? String(v[0]) : String(v);
  return out;
}

/** Reads a topic from the beginning until `count` messages arrived (or times out). */
export async function consumeN(kafka: Kafka, topic: string, count: number, timeoutMs: number): Promise<Received[]> {
  const consumer: Consumer = kafka.consumer({ groupId: uniqueId('reader'), sessionTimeout: 6000 });
  const got: Received[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${got.length}/${count} messages on ${topic} after ${timeoutMs} ms`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          got.push({ key: message.key?.toString() ?? null, value: message.value, headers: headersOf(message.headers) });
          if (got.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}

/** Reads every message a topic holds right now (up to each partition's end), from the beginning. */
export async function readTopic(kafka: Kafka, topic: string, timeoutMs: number): Promise<Received[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const total = ends.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  return total === 0 ? [] : consumeN(kafka, topic, total, timeoutMs);
}
