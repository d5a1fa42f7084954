import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { acknowledge } from '../../src/alerts/alert-actions.js';
import { RedisAlertStore } from '../../src/alerts/redis-alert-store.js';
import { buildApi } from '../../src/api/app.js';
import { ApiKeyring } from '../../src/api/auth.js';
import { RedisAuditLog } from '../../src/audit/redis-audit-log.js';
import { hashKey } from '../../src/config/api-keys.js';
import { makeAlert, MIN, T0 } from '../_util/alerts.js';
import { RedisDeliveryQueue } from '../../src/alerts/redis-delivery-queue.js';
import { routeAccess } from '../../src/api/auth.js';
import { RedisListChannel } from '../../src/lists/redis-list-channel.js';
import { RedisWindowStore } from '../../src/windows/redis-window-store.js';
import { buildFullApi, type FullApi } from '../_util/full-api.js';
import { auth } from '../_util/role-keys.js';
import { createTestRedis, deleteKeys, uniqueId } from '../_util/services.js';

/** The API on a real HTTP socket over the Redis stores: filters, paging, 304s and the audit log. */
describe('API over HTTP on Redis', () => {
  const prefix = uniqueId('api');
  const redis = createTestRedis();
  const VIEWER = `${prefix}-viewer-key-0123456789`;
  const ADMIN = `${prefix}-admin-key-0123456789`;
  const alerts = new RedisAlertStore(redis, prefix, ['high-harm', 'scams'], new Map());
  const audit = new RedisAuditLog(redis, prefix, { retentionDays: 30 });
  let app: FastifyInstance;
  let base: string;
  const saved: Alert[] = [];
  const get = (path: string, key = VIEWER, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}`, ...headers } });
  const ids = async (res: Response) => ((await res.json()) as { alerts: Alert[] }).alerts.map((a) => a.id);

  beforeAll(async () => {
    for (let i = 0; i < 30; i++) {
      const a = makeAlert({
        pipeline: i % 3 === 0 ? 'scams' : 'high-harm',
        // One alert per series: a series with an open alert opens no second one.
        series: i % 2 ? `self-harm|region=R${i}` : `extremism|region=E${i}`,
        openedMs: T0 + i * MIN,
        status: i % 5 === 0 ? 'resolved' : 'open',
        severity: i % 4 === 0 ? 'high' : 'critical',
        kind: i % 7 === 0 ? 'emerging_term' : 'spike',
      });
      saved.push(a);
      await alerts.save(a, 'opened', 0);
    }
    const keys = new ApiKeyring([
      { name: 'dash', role: 'viewer', sha256: hashKey(VIEWER) },
      { name: 'ops', role: 'admin', sha256: hashKey(ADMIN) },
    ]);
    app = buildApi({ alerts, audit, keys, checks: { redis: async () => void (await redis.ping()) }, mode: 'service', logger: pino({ level: 'silent' }) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });

  afterAll(async () => {
    await app?.close();
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  const newestFirst = (pick: (a: Alert) => boolean) => saved.filter(pick).reverse().map((a) => a.id);

  it.each([
    ['status', '?status=resolved', (a: Alert) => a.status === 'resolved'],
    ['topic and dimension', '?topic=self-harm&dimension=region%3DR1', (a: Alert) => a.topic === 'self-harm' && a.dimension === 'region=R1'],
    ['severity and kind', '?severity=high&kind=emerging_term', (a: Alert) => a.severity === 'high' && a.kind === 'emerging_term'],
    ['pipeline', '?pipeline=scams', (a: Alert) => a.pipeline === 'scams'],
    ['a time range', `?since=${T0 + 5 * MIN}&until=${new Date(T0 + 12 * MIN).toISOString()}`, (a: Alert) => Date.parse(a.updated_at) >= T0 + 5 * MIN && Date.parse(a.updated_at) < T0 + 12 * MIN],
  ])('filters by %s', async (_, query, pick) => {
    const expected = newestFirst(pick);
    expect(expected.length).toBeGreaterThan(0);
    expect(await ids(await get(`/v1/alerts${query}&limit=500`.replace('?&', '?')))).toEqual(expected);
  });

  it('pages a filtered list across both pipelines, each alert once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await get(`/v1/alerts?status=open&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      const body = (await res.json()) as { alerts: Alert[]; next_cursor: string | null };
      seen.push(...body.alerts.map((a) => a.id));
      cursor = body.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toEqual(newestFirst((a) => a.status === 'open'));
    expect(pages).toBe(4); // 24 open alerts
  });

  it('answers 304 to a current ETag, and 200 once an alert in the page changes', async () => {
    const first = await get('/v1/alerts?topic=extremism');
    const tag = first.headers.get('etag')!;
    expect(tag).toBeTruthy();
    const same = await get('/v1/alerts?topic=extremism', VIEWER, { 'if-none-match': tag });
    expect(same.status).toBe(304);
    expect(await same.text()).toBe('');
    // Acknowledged by someone (a resolved alert would refuse it).
    const changed = saved.find((a) => a.topic === 'extremism' && a.status === 'open')!;
    expect((await alerts.act(changed.id, acknowledge('ops', T0 + 100 * MIN), 0))?.outcome.kind).toBe('changed');
    const after = await get('/v1/alerts?topic=extremism', VIEWER, { 'if-none-match': tag });
    expect(after.status).toBe(200);
    expect((await ids(after))[0]).toBe(changed.id);
  });

  it('serves the audit log from Redis to admins only', async () => {
    await audit.append({ actor: { name: 'ops', role: 'admin' }, action: 'alert.acknowledge', target: saved[1]!.id, details: { note: 'on it' } });
    expect((await get('/v1/audit')).status).toBe(403);
    const res = await get('/v1/audit', ADMIN);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { entries: unknown[] }).entries[0]).toMatchObject({ action: 'alert.acknowledge', target: saved[1]!.id, actor: { name: 'ops', role: 'admin' } });
    expect((await fetch(`${base}/v1/audit`)).status).toBe(401);
  });
});

/**
 * The fully wired API (alert actions, detail, topics, dry runs, deliveries) on the service-mode
 * Redis stores, over a real socket. Filters, paging and 304s are above; the stream's resume on
 * Redis is in alert-stream.test.ts; topic edits in depth in tests/contract/topic-routes.test.ts.
 */
describe('every route over HTTP on the Redis stores', () => {
  const prefix = uniqueId('apifull');
  const redis = createTestRedis();
  const workerConn = redis.duplicate();
  const lists = new RedisListChannel(redis, prefix);
  const workerLists = new RedisListChannel(workerConn, prefix);
  const alertStore = new RedisAlertStore(redis, prefix, ['test'], new Map());
  const auditLog = new RedisAuditLog(redis, prefix, { retentionDays: 30 });
  let full: FullApi;
  let base: string;
  // The walk acts on one alert (it may resolve it); the acknowledgement is made on another.
  const alert = makeAlert({ pipeline: 'test', series: 'self-harm|region=US-TX', openedMs: Date.now() - 5 * MIN });
  const other = makeAlert({ pipeline: 'test', series: 'self-harm|region=GB', openedMs: Date.now() - 4 * MIN });
  const call = (method: string, path: string, role: 'viewer' | 'analyst' | 'editor' | 'admin', body?: unknown) =>
    fetch(`${base}${path}`, { method, headers: { ...auth(role), ...(body !== undefined && { 'content-type': 'application/json' }) }, ...(body !== undefined && { body: JSON.stringify(body) }) });

  beforeAll(async () => {
    await alertStore.save(alert, 'opened', 0);
    await alertStore.save(other, 'opened', 0);
    full = await buildFullApi({ alerts: alertStore, audit: auditLog, windows: new RedisWindowStore(redis, prefix), lists, workerLists, deliveryQueue: new RedisDeliveryQueue(redis, prefix) });
    await full.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(full.app.server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await full?.close();
    await workerLists.close();
    await lists.close();
    await workerConn.quit();
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  it('answers every route without a server error, as an admin with a real alert id and topic', async () => {
    const routes = routeAccess(full.app).filter((r) => r.url.startsWith('/v1') && r.method !== 'HEAD');
    expect(routes.length).toBeGreaterThan(25);
    for (const r of routes) {
      const url = r.url.replace(/\/topics\/:id/, '/topics/self-harm').replace(':id', alert.id).replace(':version', '1').replace(':sampleId', 'sm_0');
      const ac = new AbortController();
      const hasBody = r.method !== 'GET';
      const res = await fetch(`${base}${url}`, { method: r.method, signal: ac.signal, headers: { ...auth('admin'), ...(hasBody && { 'content-type': 'application/json' }) }, ...(hasBody && { body: '{}' }) });
      const text = (res.headers.get('content-type') ?? '').startsWith('text/event-stream') ? '' : await res.text();
      ac.abort();
      expect(res.status, `${r.method} ${url}: ${text.slice(0, 300)}`).toBeLessThan(500);
      if (res.status >= 400) expect(JSON.parse(text), `${r.method} ${url}`).toEqual({ error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }) });
    }
  });

  it('acknowledges an alert: the change is read back, listed, and audited in Redis', async () => {
    const res = await call('POST', `/v1/alerts/${other.id}/ack`, 'analyst', {});
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await (await call('GET', `/v1/alerts/${other.id}`, 'viewer')).json()) as Alert).status).toBe('acknowledged');
    const listed = (await (await call('GET', '/v1/alerts?status=acknowledged&pipeline=test', 'viewer')).json()) as { alerts: Alert[] };
    expect(listed.alerts.map((a) => a.id)).toContain(other.id);
    const audited = (await (await call('GET', '/v1/audit', 'admin')).json()) as { entries: { action: string; target: string; actor: { name: string } }[] };
    expect(audited.entries[0]).toMatchObject({ action: 'alert.acknowledge', target: other.id, actor: { name: 'analyst-key' } });
  });

  it('publishes a topic change and reads it back, then dry-runs a text with it', async () => {
    const before = (await (await call('GET', '/v1/topics/self-harm', 'viewer')).json()) as { version: number; definition: { terms: unknown[] } & Record<string, unknown> };
    const put = await call('PUT', '/v1/topics/self-harm', 'editor', { base_version: before.version, definition: { ...before.definition, terms: [...before.definition.terms, 'moonlit exit plan'] } });
    expect(put.status, await put.clone().text()).toBe(200);
    const after = (await (await call('GET', '/v1/topics/self-harm', 'viewer')).json()) as { version: number; definition: { terms: unknown[] } };
    expect(after.version).toBe(before.version + 1);
    expect(JSON.stringify(after.definition.terms)).toContain('moonlit exit plan');

    const dry = await call('POST', '/v1/dry-run', 'analyst', { text: 'my moonlit exit plan is ready' });
    expect(dry.status).toBe(200);
    const hits = ((await dry.json()) as { results: { hits: { topic: string; hit: boolean; matched: string[] }[] }[] }).results[0]!.hits;
    expect(hits).toEqual([expect.objectContaining({ topic: 'self-harm', hit: true, matched: expect.arrayContaining(['moonlit exit plan']) })]);
  });
});
