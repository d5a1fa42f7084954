import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** Real services for integration tests; `npm test` starts them (scripts/services.mjs). */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const KAFKA_BROKERS = (process.env.TEST_KAFKA_BROKERS ?? `127.0.0.1:${process.env.KAFKA_PORT ?? 9092}`).split(',');

/** A short random id for key prefixes, topic and group names, so tests never share state. */
export function uniqueId(label = 't'): string {
  return `${label}${randomBytes(5).toString('hex')}`;
}

export function createTestRedis(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
}

/** Deletes every key under a test's prefix. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

/** Polls until fn returns a value that is not undefined, or fails after timeoutMs. */
export async function waitFor<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/**
 * Service-mode variables for a test: Kafka and Redis, its own key prefix `id`, consumer group
 * `<id>-group`, dead-letter topic `<id>-dlq`, and a 6 s session.
 */
export function serviceEnv(id: string): Record<string, string> {
  return {
    KAFKA_BROKERS: KAFKA_BROKERS.join(','),
    REDIS_URL,
    REDIS_KEY_PREFIX: id,
    AUTHOR_HASH_KEY: 'test-key-0123456789',
    KAFKA_GROUP_ID: `${id}-group`,
    KAFKA_DEAD_LETTER_TOPIC: `${id}-dlq`,
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    SURGEWATCH_API_KEYS: `test:admin:${serviceApiKey(id)}`,
  };
}

/** The admin API key of serviceEnv(id)'s processes (send as `Authorization: Bearer <key>`). */
export function serviceApiKey(id: string): string {
  return `${id}-admin-key-0123456789`;
}

/** Environment of a service-mode worker process for a test: its own prefix, group and DLQ under `id`. */
export function workerEnv(id: string, overrides: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...serviceEnv(id), SURGEWATCH_ROLE: 'worker', ...overrides };
}
