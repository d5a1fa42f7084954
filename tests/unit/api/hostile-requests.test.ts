import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeAccess } from '../../../src/api/auth.js';
import { makeAlert, MIN } from '../../_util/alerts.js';
import { buildFullApi, type FullApi } from '../../_util/full-api.js';
import { FUZZ_SEED, oddText } from '../../_util/hostile.js';
import { auth } from '../../_util/role-keys.js';

/** Headers every request carries: an admin key, so that requests reach every route's handler. */
const AUTH_HEADERS: Record<string, string> = auth('admin');

// Every part of the API wired (topics, dry runs, deliveries, alert detail), on memory stores.
const fuzzed = await buildFullApi();
const app = fuzzed.app;
afterAll(() => fuzzed.close());

const ROUTES = [
  '/v1/audit', '/openapi.json', '/v1/alerts', '/v1/alerts/al_0123abcd', '/healthz', '/readyz', '/metrics', '/v1', '/', '/v1/alerts/', '/v1//alerts', '/v1/alerts/%2e%2e%2fhealthz',
  '/v1/alerts/al_0123abcd/ack', '/v1/alerts/al_0123abcd/assign', '/v1/alerts/al_0123abcd/resolve', '/v1/alerts/al_0123abcd/notes', '/v1/alerts/al_0123abcd/feedback',
  '/v1/alerts/al_0123abcd/detail', '/v1/alerts/al_0123abcd/samples/sm_1', '/v1/alerts/al_0123abcd/report', '/v1/series', '/v1/reports/operations', '/v1/feedback/export',
  '/v1/topics', '/v1/topics/self-harm', '/v1/topics/self-harm/versions', '/v1/topics/self-harm/versions/1', '/v1/topics/self-harm/diff', '/v1/topics/self-harm/rollback',
  '/v1/topics/self-harm/terms', '/v1/topics/%2e%2e', '/v1/emerging', '/v1/dry-run', '/v1/deliveries/dead', '/v1/deliveries/dead/d_1/replay',
];
const PARAMS = ['status', 'topic', 'pipeline', 'dimension', 'since', 'limit', 'cursor', '__proto__', 'constructor', 'status[]', 'limit[$gt]'];
const HOSTILE_VALUES = [
  '%ff', '%E0%A4%A', '%00', '%u0041', '%%', '9'.repeat(400), '-1', '1e309', 'NaN', '0x10', '1.5', '[]', '{}',
  '99999999999999999999999999', '2026-13-45T99:99:99Z', 'open&status=resolved', 'a'.repeat(100_000), '\u202eopen', 'open\u0000',
];

/** Percent-encodes text as a client would (a lone surrogate cannot be encoded: it becomes U+FFFD). */
const encode = (s: string) => encodeURIComponent(s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'));
const queryValue = fc.oneof(fc.constantFrom(...HOSTILE_VALUES), oddText(4).map(encode), fc.string({ unit: 'binary', maxLength: 30 }).map(encode));
const query = fc.array(fc.tuple(fc.constantFrom(...PARAMS), queryValue), { maxLength: 6 }).map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${v}`).join('&'));

const body = fc.oneof(
  fc.constant(undefined),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.integer({ min: 1000, max: 50_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.constant(Buffer.alloc(1024 * 1024 + 1, 0x61)),
);

const request: fc.Arbitrary<InjectOptions> = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'),
    // (Never the event stream itself: it does not end, and tests/integration/alert-stream.test.ts covers it.)
    route: fc.oneof(fc.constantFrom(...ROUTES), fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map((s) => `/v1/alerts/${s === 'stream' ? 'streams' : encodeURIComponent(s)}`)),
    query,
    contentType: fc.constantFrom(undefined, 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-7', '\u0000'),
    body,
  })
  .map(({ method, route, query, contentType, body }) => ({
    method: method as InjectOptions['method'],
    url: query ? `${route}?${query}` : route,
    headers: { ...AUTH_HEADERS, ...(contentType && { 'content-type': contentType }) },
    ...(body !== undefined && method !== 'GET' && method !== 'HEAD' && { payload: body }),
  }));

describe('API under hostile requests', () => {
  it('never answers 5xx, and every client error has the error shape', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (req) => {
        const res = await app.inject(req);
        expect(res.statusCode, `${req.method} ${String(req.url).slice(0, 200)}`).toBeLessThan(500);
        if (res.statusCode >= 400 && req.method !== 'HEAD') {
          const payload = res.json() as { error?: { code?: unknown; message?: unknown } };
          expect(typeof payload.error?.code, res.body.slice(0, 300)).toBe('string');
          expect(typeof payload.error?.message).toBe('string');
          // The error text is ours, never a stack trace.
          expect(res.body).not.toMatch(/\n\s+at |node_modules/);
        }
      }),
      { seed: FUZZ_SEED, numRuns: 400 },
    );
  });
});

describe('hostile requests on every write route and every route with an id', () => {
  let full: FullApi;
  const alert = makeAlert({ pipeline: 'test', series: 'self-harm|region=US-TX', openedMs: Date.now() - 5 * MIN });
  beforeAll(async () => {
    full = await buildFullApi();
    await full.app.ready();
    await full.stores.alerts.save(alert, 'opened', 0);
  });
  afterAll(() => full.close());

  /** What a hostile request must not change: the alert, the audit log, the topics in force. */
  const state = async () =>
    JSON.stringify({
      alert: await full.stores.alerts.get(alert.id),
      audit: (await full.stores.audit.list({ limit: 100 })).entries,
      topics: (await full.app.inject({ url: '/v1/topics', headers: auth('admin') })).json(),
    });
  const concrete = (url: string, id = alert.id) => url.replace(/\/topics\/:id/, '/topics/self-harm').replace(':id', id).replace(':version', '1').replace(':sampleId', 'sm_0');
  const writes = () => routeAccess(full.app).filter((r) => r.method === 'POST' || r.method === 'PUT');

  const expectClientError = (res: { statusCode: number; body: string }, what: string) => {
    expect(res.statusCode, `${what}: ${res.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
    expect(res.statusCode, what).toBeLessThan(500);
    expect(JSON.parse(res.body), what).toEqual({ error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }) });
    expect(res.body, what).not.toMatch(/\n\s+at |node_modules|\.ts:\d/);
  };

  const BODIES: [string, string, string?][] = [
    ['malformed JSON', '{"text": "x", '],
    ['an array', '[1,2,3]'],
    ['a bare string', '"ack"'],
    ['wrong types', JSON.stringify({ base_version: 'one', definition: 5, text: 7, assignee: ['bo'], verdict: 1, note: {}, term: 3, version: 'x', signals: 'all' })],
    ['an unknown field', JSON.stringify({ zz_unknown_field: true })],
    ['a prototype-pollution field', '{"__proto__":{"role":"admin"},"constructor":{"prototype":{"x":1}}}'],
    ['a huge body', JSON.stringify({ text: 'x'.repeat(5 * 1024 * 1024) })],
    ['a form body', 'text=x', 'application/x-www-form-urlencoded'],
  ];

  it.each(BODIES)('answers %s with a 4xx in the error shape on every write route, and changes nothing', async (_, payload, type = 'application/json') => {
    expect(writes().length).toBeGreaterThanOrEqual(10);
    const before = await state();
    for (const r of writes()) {
      const res = await full.app.inject({ method: r.method as 'POST', url: concrete(r.url), payload, headers: { ...auth('admin'), 'content-type': type } });
      expectClientError(res, `${r.method} ${r.url}`);
    }
    expect(await state()).toBe(before);
  });

  const TRICKS = ['..', '../etc', '%2e%2e', '%2E%2E%2Fself-harm', '..%2F..%2Fconfig', '.%2e/.%2e/audit', 'self-harm%00', 'SELF-HARM', '%252e%252e', 'a'.repeat(300), '%F0%9F%92%A3', 'self-harm%2F..%2Fscams-fraud', '%ff', '%E0%A4%A'];

  it.each(TRICKS)('answers a path trick in an id (%s) with a 4xx in the error shape on every route with an id, and changes nothing', async (trick) => {
    const routes = routeAccess(full.app).filter((r) => r.url.includes(':') && r.method !== 'HEAD');
    expect(routes.length).toBeGreaterThanOrEqual(15);
    const before = await state();
    for (const r of routes) {
      const hasBody = r.method !== 'GET';
      const url = r.url.replace(/:(\w+)/g, trick);
      const res = await full.app.inject({ method: r.method as 'GET', url, headers: { ...auth('admin'), ...(hasBody && { 'content-type': 'application/json' }) }, ...(hasBody && { payload: '{}' }) });
      expectClientError(res, `${r.method} ${url.slice(0, 120)}`);
    }
    expect(await state()).toBe(before);
  });
});
