/** An in-process service-mode context on the real Kafka and Redis, with one pipeline, for a test. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig, type AppConfig } from '../../src/config/load.js';
import { AppContext } from '../../src/context.js';
import { ManualClock } from '../../src/shared/clock.js';
import { createLogger } from '../../src/shared/logger.js';
import { deleteTopics, testKafka } from './kafka.js';
import { createTestRedis, deleteKeys, serviceEnv } from './services.js';

export interface ServicePipeline {
  /** The configuration; `more` adds or overrides variables. */
  config(more?: Record<string, string>): AppConfig;
  /** Builds and starts a context (silent log, clock stopped at nowMs, no topics watching). */
  start(nowMs: number, more?: Record<string, string>): Promise<AppContext>;
  /** Closes the contexts started, deletes `topics`, the dead-letter topic and the keys, and the folder. */
  cleanup(topics: string[]): Promise<void>;
}

/**
 * One pipeline `pipeline` (its YAML lines after the id) in a temporary folder, and the service
 * configuration around it under the test's `id` (see serviceEnv), with an API on any free port.
 * `env` adds or overrides variables.
 */
export function servicePipeline(id: string, pipeline: string, yaml: string[], env: Record<string, string> = {}): ServicePipeline {
  const dir = mkdtempSync(join(tmpdir(), `surgewatch-${pipeline}-`));
  writeFileSync(join(dir, `${pipeline}.yaml`), [`id: ${pipeline}`, ...yaml].join('\n'));
  const started: AppContext[] = [];
  const config = (more: Record<string, string> = {}) =>
    loadConfig({ cwd: resolve('.'), env: { ...serviceEnv(id), SURGEWATCH_PIPELINES_DIR: dir, HTTP_HOST: '127.0.0.1', ...env, ...more } });
  return {
    config,
    async start(nowMs, more) {
      const ctx = AppContext.fromConfig(config(more), { clock: new ManualClock(nowMs), logger: createLogger('silent'), httpPort: 0, watchTopics: false });
      started.push(ctx);
      await ctx.start();
      return ctx;
    },
    async cleanup(topics) {
      for (const ctx of started) await ctx.close();
      await deleteTopics(testKafka(), [...new Set([...topics, `${id}-dlq`])]);
      const redis = createTestRedis();
      await deleteKeys(redis, id);
      await redis.quit();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
