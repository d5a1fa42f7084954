import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { AppContext } from '../../src/context.js';
import { createLogger } from '../../src/shared/logger.js';
import { deleteTopics, testKafka } from '../_util/kafka.js';
import { OwnRedis } from '../_util/own-redis.js';
import { KAFKA_BROKERS, uniqueId, waitFor } from '../_util/services.js';

/** The API while its Redis is down: clear 503s, readiness in its own words, structured logs. */
describe('the API with Redis down', () => {
  const id = uniqueId('rdown');
  const redis = new OwnRedis();
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-rdown-'));
  const logLines: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  let ctx: AppContext;
  let base: string;

  beforeAll(async () => {
    await redis.start();
    writeFileSync(join(dir, 'rdown.yaml'), [`id: rdown`, `source: { topic: ${id}-signals }`, 'topics: [self-harm]', `alerts: { kafkaTopic: ${id}-alerts }`].join('\n'));
    const config = loadConfig({
      cwd: resolve('.'),
      env: {
        KAFKA_BROKERS: KAFKA_BROKERS.join(','),
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: id,
        AUTHOR_HASH_KEY: 'test-key-0123456789',
        KAFKA_DEAD_LETTER_TOPIC: `${id}-dlq`,
        SURGEWATCH_PIPELINES_DIR: dir,
        SURGEWATCH_ROLE: 'api',
        SURGEWATCH_API_KEYS: `dash:viewer:${id}-viewer-key-0123456789`,
        HTTP_HOST: '127.0.0.1',
      },
    });
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n')) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void stderr.push(args.map(String).join(' ')));
    ctx = AppContext.fromConfig(config, { httpPort: 0, logger: createLogger('info', 'surgewatch', sink) });
    await ctx.start();
    base = ctx.apiUrl()!;
  }, 60_000);

  afterAll(async () => {
    await ctx?.close();
    await redis.stop();
    vi.restoreAllMocks();
    await deleteTopics(testKafka(), [`${id}-signals`, `${id}-alerts`, `${id}-dlq`]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A request that must answer well within the client's patience (8 s). */
  const get = (path: string) => fetch(`${base}${path}`, { signal: AbortSignal.timeout(8000), headers: { authorization: `Bearer ${id}-viewer-key-0123456789` } });

  it('answers 503 UNAVAILABLE, says so in readiness without the client library’s wording, logs structured lines, and recovers', async () => {
    expect((await get('/v1/alerts')).status).toBe(200);
    await redis.stop();

    for (const path of ['/v1/alerts', '/v1/alerts?topic=self-harm&status=open', '/v1/alerts/al_0123456789abcdef']) {
      const res = await get(path);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('UNAVAILABLE');
      expect(body.error.message).toMatch(/Redis is unavailable|did not answer/);
    }

    const ready = await get('/readyz');
    expect(ready.status).toBe(503);
    const checks = ((await ready.json()) as { checks: Record<string, { ok: boolean; error?: string }> }).checks;
    expect(checks.redis!.ok).toBe(false);
    expect(checks.redis!.error).toMatch(/^(Redis is unavailable|redis did not answer within 2000 ms)$/);

    expect(logLines.filter((l) => l.msg === 'Redis connection lost; reconnecting')).toHaveLength(1);
    expect(stderr.filter((l) => l.includes('[ioredis]'))).toEqual([]);

    await redis.start();
    await waitFor(async () => ((await get('/v1/alerts')).status === 200 ? true : undefined), 30_000, 'the API to answer again');
    expect((await get('/readyz')).status).toBe(200);
    expect(logLines.filter((l) => l.msg === 'Redis connection restored')).toHaveLength(1);
  }, 90_000);
});
