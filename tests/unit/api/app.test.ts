import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AlertStore } from '../../../src/alerts/alert-store.js';
import { MemoryAlertStore } from '../../../src/alerts/memory-alert-store.js';
import { buildApi, type ApiDeps } from '../../../src/api/app.js';
import { audit, routeAccess } from '../../../src/api/auth.js';
import { MemoryAuditLog } from '../../../src/audit/audit-log.js';
import { roles } from '../../../src/config/api-keys.js';
import { systemClock } from '../../../src/shared/clock.js';
import { makeAlert, MIN, T0 } from '../../_util/alerts.js';
import { buildFullApi } from '../../_util/full-api.js';
import { auth, ROLE_KEYS, roleKeyring } from '../../_util/role-keys.js';


interface Built {
  app: FastifyInstance;
  alerts: MemoryAlertStore;
  auditLog: MemoryAuditLog;
  logs: string[];
}

const apps: FastifyInstance[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  for (const close of closers.splice(0)) await close();
});

/** The API on in-memory stores, with one key per role and a logger whose output is kept. */
function build(overrides: Partial<ApiDeps> = {}, extra?: (app: FastifyInstance, deps: { auditLog: MemoryAuditLog }) => void): Built {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const alerts = new MemoryAlertStore();
  const auditLog = new MemoryAuditLog(systemClock);
  const keys = roleKeyring();
  const app = buildApi({ alerts, audit: auditLog, keys, checks: {}, mode: 'embedded', logger: pino({ level: 'debug' }, sink), ...overrides });
  extra?.(app, { auditLog });
  apps.push(app);
  return { app, alerts, auditLog, logs };
}

/** A write route as later routes will be: a zod body, a role, an audit entry. */
function withWriteRoute(app: FastifyInstance, { auditLog }: { auditLog: MemoryAuditLog }): void {
  app.register(
    async (v1) => {
      v1.withTypeProvider<ZodTypeProvider>().post(
        '/test-notes/:topic',
        {
          config: { access: 'analyst' },
          schema: {
            params: z.strictObject({ topic: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be a topic id') }),
            body: z.strictObject({ note: z.string().min(1).max(2000), count: z.number().int().optional() }),
          },
        },
        async (request) => {
          await audit(auditLog, request, { action: 'note.add', target: request.params.topic, details: { note: request.body.note } });
          return { ok: true };
        },
      );
    },
    { prefix: '/v1' },
  );
}

/** A concrete URL for a route pattern: dummy ids are fine, the walk is about who gets past access control. */
function sample(url: string): string {
  return url
    .replace(/\/topics\/:id/, '/topics/self-harm')
    .replace(':id', 'al_0123456789abcdef')
    .replace(':version', '1')
    .replace(':sampleId', 'sm_0123456789abcdef')
    .replace('*', 'index.css');
}

const errorShape = { error: { code: expect.any(String), message: expect.any(String) } };

/** Every route's role, as the API promises it. A new route fails the walk until it is listed here. */
const PROMISED: Record<string, string> = {
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /metrics': 'public',
  'GET /openapi.json': 'public',
  'GET /': 'public',
  'GET /ui/*': 'public',
  'GET /ui/vendor/uPlot.esm.js': 'public',
  'GET /ui/vendor/uPlot.min.css': 'public',
  'GET /v1/system': 'viewer',
  'GET /v1/alerts': 'viewer',
  'GET /v1/alerts/:id': 'viewer',
  'GET /v1/alerts/stream': 'viewer',
  'GET /v1/alerts/:id/detail': 'viewer',
  'GET /v1/alerts/:id/samples/:sampleId': 'viewer',
  'GET /v1/alerts/:id/report': 'viewer',
  'GET /v1/series': 'viewer',
  'GET /v1/reports/operations': 'viewer',
  'GET /v1/topics': 'viewer',
  'GET /v1/topics/:id': 'viewer',
  'GET /v1/topics/:id/versions': 'viewer',
  'GET /v1/topics/:id/versions/:version': 'viewer',
  'GET /v1/topics/:id/diff': 'viewer',
  'GET /v1/emerging': 'viewer',
  'POST /v1/alerts/:id/ack': 'analyst',
  'POST /v1/alerts/:id/assign': 'analyst',
  'POST /v1/alerts/:id/resolve': 'analyst',
  'POST /v1/alerts/:id/notes': 'analyst',
  'POST /v1/alerts/:id/feedback': 'analyst',
  'GET /v1/feedback/export': 'analyst',
  'POST /v1/dry-run': 'analyst',
  'PUT /v1/topics/:id': 'editor',
  'POST /v1/topics/:id/rollback': 'editor',
  'POST /v1/topics/:id/terms': 'editor',
  'GET /v1/audit': 'admin',
  'GET /v1/deliveries/dead': 'admin',
  'POST /v1/deliveries/dead/:id/replay': 'admin',
};

describe('access: the role matrix over every registered route', () => {
  /** The app with every optional part wired, listening: streams are walked like any route. */
  async function listening() {
    const full = await buildFullApi();
    closers.push(full.close);
    await full.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = full.app.server.address() as { port: number };
    return { ...full, base: `http://127.0.0.1:${port}` };
  }

  /** Status and body of a request; the body is read only when the answer is not a stream. */
  async function call(base: string, method: string, url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    const ac = new AbortController();
    const hasBody = method !== 'GET' && method !== 'HEAD';
    const res = await fetch(`${base}${url}`, { method, signal: ac.signal, headers: { ...headers, ...(hasBody && { 'content-type': 'application/json' }) }, ...(hasBody && { body: '{}' }) });
    const streaming = (res.headers.get('content-type') ?? '').startsWith('text/event-stream');
    const body = streaming || method === 'HEAD' ? '' : await res.text();
    ac.abort();
    return { status: res.status, body };
  }

  it('refuses a missing or unknown key everywhere but the open routes, and each role below the route\'s (403)', async () => {
    const { app, base } = await listening();
    const routes = routeAccess(app).filter((r) => r.method !== 'OPTIONS');
    // Every part of the API is in the walk.
    for (const part of ['/v1/alerts/stream', '/v1/topics/:id', '/v1/dry-run', '/v1/deliveries/dead', '/v1/alerts/:id/ack', '/v1/feedback/export', '/v1/series'])
      expect(routes.map((r) => r.url)).toContain(part);
    const open = routes.filter((r) => r.access === 'public').map((r) => r.url);
    expect(open.every((u) => /^\/(healthz|readyz|metrics|openapi\.json|docs|ui\/|$)/.test(u))).toBe(true);

    for (const route of routes) {
      const url = sample(route.url);
      const name = `${route.method} ${route.url}`;
      const anonymous = await call(base, route.method, url, {});
      if (route.access === 'public') {
        expect([401, 403], name).not.toContain(anonymous.status);
        continue;
      }
      expect(anonymous.status, `${name} without a key`).toBe(401);
      if (route.method !== 'HEAD') expect(JSON.parse(anonymous.body)).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
      expect((await call(base, route.method, url, { authorization: 'Bearer not-a-key-of-ours-0123456789abcdef' })).status, `${name} with a wrong key`).toBe(401);
      expect((await call(base, route.method, url, { authorization: ROLE_KEYS.admin })).status, `${name} without "Bearer"`).toBe(401);
      for (const role of roles) {
        const res = await call(base, route.method, url, auth(role));
        if (roles.indexOf(role) >= roles.indexOf(route.access)) expect([401, 403], `${name} as ${role}: ${res.body.slice(0, 200)}`).not.toContain(res.status);
        else {
          expect(res.status, `${name} as ${role}`).toBe(403);
          if (route.method !== 'HEAD') expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'FORBIDDEN' } });
        }
      }
    }
  });

  it('gives each route the role the API promises (a new route must be added here)', async () => {
    const full = await buildFullApi();
    closers.push(full.close);
    await full.app.ready();
    const declared = Object.fromEntries(
      routeAccess(full.app)
        .filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS' && !r.url.startsWith('/docs'))
        .map((r) => [`${r.method} ${r.url}`, r.access]),
    );
    expect(declared).toEqual(PROMISED);
    // HEAD follows its GET.
    for (const r of routeAccess(full.app).filter((x) => x.method === 'HEAD' && !x.url.startsWith('/docs'))) expect(r.access, r.url).toBe(PROMISED[`GET ${r.url}`]);
  });

  it('will not start with a route that does not say who may call it, or a public route off the open list', async () => {
    const { app } = build();
    expect(() => app.get('/v1/forgotten', async () => ({}))).toThrow(/GET \/v1\/forgotten declares no config.access/);
    expect(() => app.get('/v1/open-data', { config: { access: 'public' } }, async () => ({}))).toThrow(/\/v1\/open-data cannot be public/);
  });
});

describe('contract', () => {
  it('serves an OpenAPI 3 document that describes every /v1 route with its security, and the docs page offline', async () => {
    const { app } = build();
    await app.ready();
    const doc = (await app.inject({ url: '/openapi.json' })).json() as { openapi: string; paths: Record<string, Record<string, { security?: unknown[]; parameters?: { name: string }[] }>> };
    expect(doc.openapi).toMatch(/^3\./);
    const v1 = routeAccess(app).filter((r) => r.url.startsWith('/v1') && r.method !== 'HEAD');
    for (const r of v1) {
      const path = r.url.replace(/:(\w+)/g, '{$1}');
      const op = doc.paths[path]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${path}`).toBeDefined();
      expect(op!.security).toEqual([{ apiKey: [] }]);
    }
    expect(doc.paths['/v1/alerts']!.get!.parameters!.map((p) => p.name)).toEqual(
      expect.arrayContaining(['status', 'topic', 'severity', 'kind', 'dimension', 'since', 'until', 'limit', 'cursor']),
    );
    const page = await app.inject({ url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('swagger-ui');
    const bundle = await app.inject({ url: '/docs/static/swagger-ui-bundle.js' });
    expect(bundle.statusCode).toBe(200);
    expect(bundle.body.length).toBeGreaterThan(100_000);
  });

  it.each([
    ['a value of the wrong type', '/v1/alerts?limit=many', /querystring\.limit/],
    ['a value out of range', '/v1/alerts?limit=0', /querystring\.limit/],
    ['an unknown status', '/v1/alerts?status=burning', /querystring\.status/],
    ['an unknown parameter', '/v1/alerts?colour=red', /colour/],
    ['a repeated parameter', '/v1/alerts?topic=a&topic=b', /querystring\.topic/],
    ['a bad time', '/v1/alerts?since=yesterday', /querystring\.since: must be an ISO-8601 time/],
    ['a forged cursor', '/v1/alerts?cursor=bm90LWEtY3Vyc29y', /querystring\.cursor: is not a cursor/],
    ['a bad alert id', '/v1/alerts/not-an-id', /params\.id/],
    ['path traversal in an id', '/v1/alerts/..%2F..%2Fetc%2Fpasswd', /params\.id/],
    ['a bad audit cursor', '/v1/audit?cursor=../../x', /querystring\.cursor/],
  ])('answers %s with 400 VALIDATION naming the parameter', async (_, url, message) => {
    const { app } = build();
    const res = await app.inject({ url, headers: auth('admin') });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: { code: 'VALIDATION', message: expect.stringMatching(message) } });
  });

  it('names every bad parameter at once', async () => {
    const { app } = build();
    const res = await app.inject({ url: '/v1/alerts?status=burning&limit=0', headers: auth('viewer') });
    expect(res.json().error.message).toMatch(/status[\s\S]*limit/);
  });

  describe('hostile requests get a 4xx with the error shape, and change nothing', () => {
    const cases: [string, Record<string, unknown>, number, string][] = [
      ['malformed JSON', { payload: '{"note": "x"', headers: { 'content-type': 'application/json' } }, 400, 'VALIDATION'],
      ['an empty JSON body', { payload: '', headers: { 'content-type': 'application/json' } }, 400, 'VALIDATION'],
      ['a wrong type', { payload: { note: 42 } }, 400, 'VALIDATION'],
      ['an unknown field', { payload: { note: 'x', admin: true } }, 400, 'VALIDATION'],
      ['a prototype-pollution field', { payload: '{"note":"x","__proto__":{"role":"admin"}}', headers: { 'content-type': 'application/json' } }, 400, 'VALIDATION'],
      ['a huge body', { payload: JSON.stringify({ note: 'x'.repeat(2 * 1024 * 1024) }), headers: { 'content-type': 'application/json' } }, 413, 'PAYLOAD_TOO_LARGE'],
      ['a body that is not JSON', { payload: 'note=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ];
    it.each(cases)('%s', async (_, request, status, code) => {
      const built = build({}, withWriteRoute);
      const res = await built.app.inject({ method: 'POST', url: '/v1/test-notes/self-harm', ...request, headers: { ...auth('admin'), ...(request.headers as object) } });
      expect(res.statusCode).toBe(status);
      expect(res.json()).toEqual({ error: { code, message: expect.any(String) } });
      expect((await built.auditLog.list({ limit: 10 })).entries).toEqual([]);
    });

    it.each(['../etc', '..%2F..%2Fconfig', 'Self-Harm', 'a%00b', '%2e%2e'])('path tricks in a topic name: %s', async (topic) => {
      const built = build({}, withWriteRoute);
      const res = await built.app.inject({ method: 'POST', url: `/v1/test-notes/${topic}`, payload: { note: 'x' }, headers: auth('admin') });
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(res.json()).toMatchObject(errorShape);
      expect((await built.auditLog.list({ limit: 10 })).entries).toEqual([]);
    });
  });

  it('answers a store failure with 500 INTERNAL and no internals, and logs the error in full', async () => {
    const failing = { ...new MemoryAlertStore(), list: async () => { throw new Error('ERR wrong number of arguments for zrevrangebyscore at /srv/redis-alert-store.ts:77'); } } as unknown as AlertStore;
    const { app, logs } = build({ alerts: failing });
    const res = await app.inject({ url: '/v1/alerts', headers: auth('viewer') });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    expect(res.body).not.toMatch(/zrevrangebyscore|\.ts|at /);
    expect(logs.join('')).toContain('zrevrangebyscore');
  });

  it('answers Redis being down with 503 UNAVAILABLE, without the Redis error', async () => {
    const down = { get: async () => { throw new Error('Connection is closed.'); } } as unknown as AlertStore;
    const { app, logs } = build({ alerts: down });
    const res = await app.inject({ url: '/v1/alerts/al_0123456789abcdef', headers: auth('viewer') });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ error: { code: 'UNAVAILABLE', message: expect.not.stringMatching(/Connection/) } });
    expect(logs.join('')).toContain('Connection is closed');
  });

  it('does not return a failed readiness check\'s error, but logs it', async () => {
    const { app, logs } = build({ checks: { redis: async () => { throw new Error('connect ECONNREFUSED 10.1.2.3:6379'); } } });
    const res = await app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.body).not.toContain('10.1.2.3');
    expect(res.json()).toMatchObject({ status: 'not_ready', checks: { redis: { ok: false } } });
    expect(logs.join('')).toContain('10.1.2.3');
  });
});

describe('alert list', () => {
  async function seeded() {
    const built = build();
    const saved = [
      makeAlert({ series: 'self-harm|region=US-TX', openedMs: T0 + 1 * MIN }),
      makeAlert({ series: 'self-harm', openedMs: T0 + 2 * MIN, severity: 'high', status: 'acknowledged' }),
      makeAlert({ series: 'extremism', openedMs: T0 + 3 * MIN, kind: 'emerging_term' }),
      makeAlert({ series: 'extremism|region=GB', openedMs: T0 + 4 * MIN, status: 'resolved', severity: 'medium' }),
      makeAlert({ pipeline: 'scams', series: 'scams-fraud', openedMs: T0 + 5 * MIN, severity: 'high' }),
    ];
    for (const a of saved) await built.alerts.save(a, 'opened', 0);
    const list = async (query: string) => {
      const res = await built.app.inject({ url: `/v1/alerts${query}`, headers: auth('viewer') });
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { alerts: { id: string }[]; next_cursor: string | null };
    };
    const idsOf = (pick: number[]) => pick.map((i) => saved[i]!.id);
    return { ...built, saved, list, idsOf };
  }

  it.each([
    ['status', '?status=acknowledged', [1]],
    ['topic', '?topic=extremism', [3, 2]],
    ['severity', '?severity=high', [4, 1]],
    ['kind', '?kind=emerging_term', [2]],
    ['dimension', '?dimension=region%3DUS-TX', [0]],
    ['pipeline', '?pipeline=scams', [4]],
    ['a time range (ISO-8601 and epoch ms)', `?since=${new Date(T0 + 2 * MIN).toISOString()}&until=${T0 + 4 * MIN}`, [2, 1]],
    ['several filters', '?topic=self-harm&severity=critical&status=open', [0]],
  ])('filters by %s', async (_, query, expected) => {
    const { list, idsOf } = await seeded();
    expect((await list(query)).alerts.map((a) => a.id)).toEqual(idsOf(expected));
  });

  it('pages with a cursor, newest first, each alert once', async () => {
    const { list, idsOf } = await seeded();
    const first = await list('?limit=2');
    const second = await list(`?limit=2&cursor=${first.next_cursor}`);
    const third = await list(`?limit=2&cursor=${second.next_cursor}`);
    expect([...first.alerts, ...second.alerts, ...third.alerts].map((a) => a.id)).toEqual(idsOf([4, 3, 2, 1, 0]));
    expect(third.next_cursor).toBeNull();
  });

  it('sends an ETag, answers 304 to If-None-Match while nothing changed, and 200 with a new tag after a change', async () => {
    const { app, alerts, saved } = await seeded();
    const first = await app.inject({ url: '/v1/alerts?topic=self-harm', headers: auth('viewer') });
    const tag = first.headers.etag as string;
    expect(tag).toMatch(/^"[\w-]+"$/);
    const again = await app.inject({ url: '/v1/alerts?topic=self-harm', headers: { ...auth('viewer'), 'if-none-match': tag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect(again.headers.etag).toBe(tag);
    const other = await app.inject({ url: '/v1/alerts?topic=extremism', headers: { ...auth('viewer'), 'if-none-match': tag } });
    expect(other.statusCode).toBe(200);

    await alerts.save({ ...saved[0]!, status: 'acknowledged', updated_at: new Date(T0 + 10 * MIN).toISOString() }, 'updated', 0);
    const changed = await app.inject({ url: '/v1/alerts?topic=self-harm', headers: { ...auth('viewer'), 'if-none-match': tag } });
    expect(changed.statusCode).toBe(200);
    expect(changed.headers.etag).not.toBe(tag);
    const one = await app.inject({ url: `/v1/alerts/${saved[1]!.id}`, headers: auth('viewer') });
    const oneAgain = await app.inject({ url: `/v1/alerts/${saved[1]!.id}`, headers: { ...auth('viewer'), 'if-none-match': `W/${one.headers.etag as string}` } });
    expect(oneAgain.statusCode).toBe(304);
  });
});

describe('audit', () => {
  it('records who did what on a write route; admins read it newest first, in pages', async () => {
    const built = build({}, withWriteRoute);
    for (const note of ['first', 'second', 'third']) {
      const res = await built.app.inject({ method: 'POST', url: '/v1/test-notes/self-harm', payload: { note }, headers: auth('analyst') });
      expect(res.statusCode).toBe(200);
    }
    const page = await built.app.inject({ url: '/v1/audit?limit=2', headers: auth('admin') });
    expect(page.statusCode).toBe(200);
    const body = page.json() as { entries: { actor: unknown; action: string; target: string; details: { note: string } }[]; next_cursor: string };
    expect(body.entries.map((e) => e.details.note)).toEqual(['third', 'second']);
    expect(body.entries[0]).toMatchObject({ actor: { name: 'analyst-key', role: 'analyst' }, action: 'note.add', target: 'self-harm' });
    const rest = (await built.app.inject({ url: `/v1/audit?limit=2&cursor=${body.next_cursor}`, headers: auth('admin') })).json() as typeof body;
    expect(rest.entries.map((e) => e.details.note)).toEqual(['first']);
    expect((await built.app.inject({ url: '/v1/audit', headers: auth('editor') })).statusCode).toBe(403);
  });
});

describe('limits and CORS', () => {
  it('rate-limits per key with 429 RATE_LIMITED; another key keeps its own budget; probes are not limited', async () => {
    const { app } = build({ http: { rateLimitPerMin: 3 } });
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await app.inject({ url: '/v1/alerts', headers: auth('viewer') })).statusCode);
    expect(codes).toEqual([200, 200, 200, 429]);
    const limited = await app.inject({ url: '/v1/alerts', headers: auth('viewer') });
    expect(limited.json()).toEqual({ error: { code: 'RATE_LIMITED', message: expect.stringMatching(/3 requests per minute/) } });
    expect(limited.headers['retry-after']).toBeDefined();
    expect((await app.inject({ url: '/v1/alerts', headers: auth('analyst') })).statusCode).toBe(200);
    for (let i = 0; i < 5; i++) expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  it('allows the configured origins only', async () => {
    const { app } = build({ http: { corsOrigins: ['https://dash.example'] } });
    const preflight = (origin: string) =>
      app.inject({ method: 'OPTIONS', url: '/v1/alerts', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    const ok = await preflight('https://dash.example');
    expect(ok.headers['access-control-allow-origin']).toBe('https://dash.example');
    expect(String(ok.headers['access-control-allow-headers'])).toMatch(/authorization/);
    expect((await preflight('https://evil.example')).headers['access-control-allow-origin']).toBeUndefined();
    const get = await app.inject({ url: '/v1/alerts', headers: { ...auth('viewer'), origin: 'https://dash.example' } });
    expect(get.headers['access-control-allow-origin']).toBe('https://dash.example');
  });

  it('sends no CORS headers when no origin is configured', async () => {
    const { app } = build();
    const res = await app.inject({ url: '/v1/alerts', headers: { ...auth('viewer'), origin: 'https://dash.example' } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('secrets', () => {
  it('never puts a key in a log line or a response, whatever the request', async () => {
    // A store that fails on reads of one alert: the error is logged with the request's context.
    const alerts = new MemoryAlertStore();
    alerts.get = async () => {
      throw new Error('store exploded');
    };
    const { app, logs } = build({ alerts, http: { rateLimitPerMin: 3 } }, withWriteRoute);
    const requests = [
      { url: '/v1/alerts', headers: auth('admin') },
      { url: '/v1/alerts', headers: auth('admin') },
      { url: '/v1/alerts/al_0123456789abcdef', headers: auth('admin') }, // logged failure
      { url: '/v1/alerts', headers: auth('admin') }, // rate-limited
      { url: '/v1/audit', headers: auth('viewer') }, // forbidden
      { url: '/v1/alerts?status=bad', headers: auth('editor') },
      { url: `/v1/alerts/${ROLE_KEYS.analyst}`, headers: auth('analyst') },
      { url: '/v1/alerts', headers: { authorization: `Bearer ${ROLE_KEYS.admin}x` } },
      { method: 'POST' as const, url: '/v1/test-notes/self-harm', payload: '{bad', headers: { ...auth('editor'), 'content-type': 'application/json' } },
    ];
    const bodies: string[] = [];
    for (const r of requests) bodies.push((await app.inject(r)).body);
    const everything = logs.join('\n') + bodies.join('\n');
    expect(logs.join('')).toContain('store exploded');
    for (const key of Object.values(ROLE_KEYS)) expect(everything).not.toContain(key);
  });
});
