import { afterAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { RedisAlertStore } from '../../src/alerts/redis-alert-store.js';
import { makeAlert } from '../_util/alerts.js';
import { servicePipeline } from '../_util/service-config.js';
import { createTestRedis, serviceApiKey, uniqueId } from '../_util/services.js';
import { SseReader } from '../_util/sse.js';

/**
 * Service mode, API role: the process serving the stream is not the one that writes alerts (a
 * worker elsewhere does, into Redis); shutting the API down ends the open streams.
 */
describe('GET /v1/alerts/stream in service mode (API process)', () => {
  const id = uniqueId('sss');
  const pipeline = 'stream-svc';
  const svc = servicePipeline(id, pipeline, [`source: { topic: ${id}-signals }`, `alerts: { kafkaTopic: ${id}-alerts }`], { SURGEWATCH_ROLE: 'api', SURGEWATCH_SEMANTIC_MODE: 'off' });
  const redis = createTestRedis();
  afterAll(async () => {
    await svc.cleanup([`${id}-signals`, `${id}-alerts`]);
    await redis.quit();
  });

  it("streams what a worker saves, and ends the stream when the API process closes", async () => {
    const ctx = await svc.start(Date.now());
    const worker = new RedisAlertStore(redis, id, [pipeline], new Map());
    const ac = new AbortController();
    try {
      const { response, reader } = await SseReader.open(`${ctx.apiUrl()}/v1/alerts/stream`, { authorization: `Bearer ${serviceApiKey(id)}` }, ac.signal);
      expect(response.status).toBe(200);
      const a = makeAlert({ pipeline, series: 'self-harm|region=US-TX' });
      await worker.save(a, 'opened', 600);
      const [e] = await reader!.next(1);
      expect(e!.event).toBe('opened');
      expect((JSON.parse(e!.data) as { alert: Alert }).alert.id).toBe(a.id);
      expect(e!.id).toMatch(new RegExp(`^${pipeline}@\\d+-\\d+$`));
      await ctx.close();
      expect(await reader!.ended()).toBe(true);
    } finally {
      ac.abort();
      await ctx.close();
    }
  }, 60_000);
});
