import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisAlertStore } from '../../src/alerts/redis-alert-store.js';
import { buildApi } from '../../src/api/app.js';
import { ApiKeyring } from '../../src/api/auth.js';
import { RedisAuditLog } from '../../src/audit/redis-audit-log.js';
import { hashKey } from '../../src/config/api-keys.js';
import { makeAlert } from '../_util/alerts.js';
import { waitFor } from '../_util/services.js';
import { freePort } from '../_util/own-kafka.js';

/**
 * A Redis of the test's own (another port) that the test stops: requests then get 503
 * UNAVAILABLE with no Redis error text, /readyz says not ready, and the log has the cause.
 */
describe('API when its Redis goes away', () => {
  const KEY = 'down-test-key-0123456789abcdef';
  let server: ChildProcess;
  let redis: Redis;
  let app: FastifyInstance;
  let base: string;
  const logs: string[] = [];
  const alert = makeAlert();

  beforeAll(async () => {
    const port = await freePort();
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    redis.on('error', () => undefined); // expected once the server is stopped
    await waitFor(async () => (redis.status === 'ready' ? true : undefined), 10_000, 'the test Redis to start');
    const alerts = new RedisAlertStore(redis, 'down', ['high-harm'], new Map());
    await alerts.save(alert, 'opened', 0);
    const logger = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, done) => void (logs.push(c.toString()), done()) }));
    app = buildApi({
      alerts,
      audit: new RedisAuditLog(redis, 'down', { retentionDays: 1 }),
      keys: new ApiKeyring([{ name: 'ops', role: 'admin', sha256: hashKey(KEY) }]),
      checks: { redis: async () => void (await redis.ping()) },
      mode: 'service',
      logger,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await app?.close();
    redis?.disconnect();
    if (server && server.exitCode === null) server.kill('SIGKILL');
  });

  it('answers from Redis while it runs, then 503 UNAVAILABLE on every Redis-backed route, with the cause only in the log', async () => {
    const get = (path: string) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${KEY}` } });
    expect((await get(`/v1/alerts/${alert.id}`)).status).toBe(200);

    server.kill('SIGKILL');
    await once(server, 'exit');

    for (const path of ['/v1/alerts', `/v1/alerts/${alert.id}`, '/v1/audit']) {
      const res = await get(path);
      expect(res.status, path).toBe(503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('UNAVAILABLE');
      expect(body.error.message).not.toMatch(/ECONNREFUSED|max retries|Connection|127\.0\.0\.1/i);
    }
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(logs.join('')).toMatch(/a backing service is unavailable/);
  });
});
