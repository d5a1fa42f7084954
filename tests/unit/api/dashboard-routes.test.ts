import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryAlertStore } from '../../../src/alerts/memory-alert-store.js';
import { buildApi } from '../../../src/api/app.js';
import { ApiKeyring } from '../../../src/api/auth.js';
import { MemoryAuditLog } from '../../../src/audit/audit-log.js';
import { systemClock } from '../../../src/shared/clock.js';

/** The dashboard's files as the app serves them: open, same-origin only, nothing from elsewhere. */
describe('dashboard files', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = buildApi({ alerts: new MemoryAlertStore(), audit: new MemoryAuditLog(systemClock), keys: new ApiKeyring([]), checks: {}, mode: 'embedded', logger: pino({ level: 'silent' }) });
    await app.ready();
  });
  afterAll(() => app.close());

  it('serves the page at / without a key, with a policy that allows this origin only', async () => {
    const page = await app.inject({ url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    // Every file the page and its modules name is served by the app itself (works offline).
    const refs = new Set<string>();
    const pending = [page.body];
    while (pending.length > 0) {
      const text = pending.pop()!;
      for (const m of text.matchAll(/(?:src|href)="(\/[^"]+)"|from '(\/ui\/[^']+|\.\/[^']+)'/g)) {
        const ref = (m[1] ?? m[2]!).replace(/^\.\//, '/ui/');
        if (refs.has(ref)) continue;
        refs.add(ref);
        const res = await app.inject({ url: ref });
        expect(res.statusCode, ref).toBe(200);
        if (ref.endsWith('.js') && !ref.includes('/vendor/')) pending.push(res.body);
      }
    }
    expect([...refs]).toEqual(expect.arrayContaining(['/ui/app.js', '/ui/style.css', '/ui/vendor/uPlot.esm.js', '/ui/vendor/uPlot.min.css', '/ui/detail.js']));
    expect(page.body + [...refs].join()).not.toMatch(/https?:\/\//);
  });

  it('serves nothing outside its folder', async () => {
    for (const url of ['/ui/../package.json', '/ui/%2e%2e/%2e%2e/package.json', '/ui/..%2f..%2fpackage.json', '/ui/vendor/uPlot.cjs.js']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(res.body, url).not.toContain('"dependencies"');
    }
  });
});
