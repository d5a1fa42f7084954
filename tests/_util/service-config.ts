/** Service-mode configuration for an in-process test context on the real Kafka and Redis. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig, type AppConfig } from '../../src/config/load.js';
import { KAFKA_BROKERS, REDIS_URL } from './services.js';

/**
 * One pipeline `pipeline` (its YAML lines after the id) in a temporary folder, and the service
 * configuration around it under the test's `id`: key prefix, consumer group `<id>-group`,
 * dead-letter topic `<id>-dlq`, a 6 s session. `env` (and `config(env)`) add or override variables.
 */
export function servicePipeline(
  id: string,
  pipeline: string,
  yaml: string[],
  env: Record<string, string> = {},
): { config: (more?: Record<string, string>) => AppConfig; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `surgewatch-${pipeline}-`));
  writeFileSync(join(dir, `${pipeline}.yaml`), [`id: ${pipeline}`, ...yaml].join('\n'));
  return {
    config: (more = {}) =>
      loadConfig({
        cwd: resolve('.'),
        env: {
          KAFKA_BROKERS: KAFKA_BROKERS.join(','),
          REDIS_URL,
          REDIS_KEY_PREFIX: id,
          AUTHOR_HASH_KEY: 'test-key-0123456789',
          KAFKA_GROUP_ID: `${id}-group`,
          KAFKA_DEAD_LETTER_TOPIC: `${id}-dlq`,
          KAFKA_SESSION_TIMEOUT_MS: '6000',
          SURGEWATCH_PIPELINES_DIR: dir,
          HTTP_HOST: '127.0.0.1',
          ...env,
          ...more,
        },
      }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
