import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../../src/api/app.js';
import { MemoryAlertStore } from '../../../src/alerts/memory-alert-store.js';
import { ApiKeyring } from '../../../src/api/auth.js';
import { MemoryAuditLog } from '../../../src/audit/audit-log.js';
import { hashKey } from '../../../src/config/api-keys.js';
import { systemClock } from '../../../src/shared/clock.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { FUZZ_SEED, oddText } from '../../_util/hostile.js';

const ADMIN_KEY = 'hostile-requests-admin-key-0123456789';
/** Headers every request carries: an admin key, so that requests reach every route's handler. */
const AUTH_HEADERS: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}` };

const app = buildApi({
  alerts: new MemoryAlertStore(),
  audit: new MemoryAuditLog(systemClock),
  keys: new ApiKeyring([{ name: 'ops', role: 'admin', sha256: hashKey(ADMIN_KEY) }]),
  checks: {},
  mode: 'embedded',
  logger: silentLogger,
  http: { rateLimitPerMin: 100_000 },
});
afterAll(() => app.close());

const ROUTES = ['/v1/audit', '/openapi.json', '/v1/alerts', '/v1/alerts/al_0123abcd', '/healthz', '/readyz', '/metrics', '/v1', '/', '/v1/alerts/', '/v1//alerts', '/v1/alerts/%2e%2e%2fhealthz'];
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
    route: fc.oneof(fc.constantFrom(...ROUTES), fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map((s) => `/v1/alerts/${encodeURIComponent(s)}`)),
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
