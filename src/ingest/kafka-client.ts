import { Kafka, logLevel, type Admin, type ITopicConfig, type LogEntry } from 'kafkajs';
import type { Logger } from '../shared/logger.js';

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
}

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export function createKafka(settings: KafkaSettings, logger: Logger): Kafka {
  const log = logger.child({ component: 'kafka' });
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 200, retries: 8 },
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        log[levels[level] ?? 'info'](rest, message);
      },
  });
}

/** Creates the topics that do not exist yet (broker-default partitions unless given). */
export async function ensureTopics(admin: Admin, topics: readonly { topic: string; numPartitions?: number }[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = [];
  for (const t of topics) {
    if (existing.has(t.topic) || missing.some((m) => m.topic === t.topic)) continue;
    missing.push(t.numPartitions ? { topic: t.topic, numPartitions: t.numPartitions } : { topic: t.topic });
  }
  if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
  return missing.map((m) => m.topic);
}
