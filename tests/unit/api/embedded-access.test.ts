import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { AppContext } from '../../../src/context.js';
import { makeAlert } from '../../_util/alerts.js';
import { waitFor } from '../../_util/services.js';

const dir = mkdtempSync(join(tmpdir(), 'surgewatch-embedded-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function start(env: Record<string, string> = {}, watchTopics = false) {
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write: (c: Buffer, _e, done) => void (logs.push(c.toString()), done()) }));
  const config = loadConfig({ cwd: resolve('.'), env: { SURGEWATCH_SAMPLE_STREAM: 'off', SURGEWATCH_SEMANTIC_MODE: 'off', SURGEWATCH_ADMIN_KEY_FILE: join(dir, 'admin-key'), ...env } });
  const ctx = AppContext.fromConfig(config, { httpPort: 0, logger, watchTopics });
  return { ctx, logs };
}

describe('embedded mode without configured keys', () => {
  it('creates an admin key once, keeps it in a file, listens on 127.0.0.1 only and never logs the key', async () => {
    const { ctx, logs } = start();
    try {
      await ctx.start();
      const key = ctx.adminKey?.created;
      expect(key).toMatch(/^sw_/);
      expect(readFileSync(join(dir, 'admin-key'), 'utf8').trim()).toBe(key);
      const base = ctx.apiUrl()!;
      expect(base).toMatch(/^http:\/\/127\.0\.0\.1:/);
      expect((await fetch(`${base}/v1/alerts`)).status).toBe(401);
      const ok = await fetch(`${base}/v1/alerts`, { headers: { authorization: `Bearer ${key}` } });
      expect(ok.status).toBe(200);
      const audit = (await (await fetch(`${base}/v1/audit`, { headers: { authorization: `Bearer ${key}` } })).json()) as { entries: { action: string; actor: { name: string } }[] };
      expect(audit.entries).toEqual([expect.objectContaining({ action: 'keys.create', actor: { name: 'system', role: null } })]);
      expect(logs.join('')).toMatch(/listening on 127\.0\.0\.1 only: no SURGEWATCH_API_KEYS/);
      expect(logs.join('')).not.toContain(key);
    } finally {
      await ctx.close();
    }

    // The next start reuses the file: same key, not shown again.
    const again = start();
    try {
      await again.ctx.start();
      expect(again.ctx.adminKey).toEqual({ file: join(dir, 'admin-key') });
      const key = readFileSync(join(dir, 'admin-key'), 'utf8').trim();
      expect((await fetch(`${again.ctx.apiUrl()}/v1/alerts`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    } finally {
      await again.ctx.close();
    }
  });

  it('uses configured keys instead, and creates none', async () => {
    const { ctx } = start({ SURGEWATCH_API_KEYS: 'ops:viewer:a-configured-key-0123456789', SURGEWATCH_ADMIN_KEY_FILE: join(dir, 'unused-key'), HTTP_HOST: '127.0.0.1' });
    try {
      await ctx.start();
      expect(ctx.adminKey).toBeUndefined();
      expect((await fetch(`${ctx.apiUrl()}/v1/alerts`, { headers: { authorization: 'Bearer a-configured-key-0123456789' } })).status).toBe(200);
      expect(() => readFileSync(join(dir, 'unused-key'))).toThrow();
    } finally {
      await ctx.close();
    }
  });
});

describe('/metrics', () => {
  it('is open, and carries alerts by topic and severity, the latency histograms, model status and process metrics', async () => {
    const { ctx } = start({ SURGEWATCH_SEMANTIC_MODE: 'candidates', SURGEWATCH_API_KEYS: 'ops:viewer:a-configured-key-0123456789', HTTP_HOST: '127.0.0.1' });
    try {
      await ctx.start();
      const pipeline = ctx.runtimes[0]!.config.id;
      const alert = makeAlert({ pipeline, series: 'self-harm|region=US-TX', severity: 'high' });
      await ctx.alerts.save(alert, 'opened', 0);
      await ctx.publisher.publish('alerts', { type: 'opened', alert, eventId: `${alert.id}.opened` });
      const res = await fetch(`${ctx.apiUrl()}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain(`surgewatch_alerts_open{pipeline="${pipeline}",topic="self-harm",severity="high"} 1`);
      expect(text).toMatch(new RegExp(`surgewatch_alert_events_total\\{pipeline="${pipeline}",topic="self-harm",severity="high",kind="spike",event="opened"\\} [1-9]`));
      expect(text).toContain('# TYPE surgewatch_tick_seconds histogram');
      expect(text).toContain('# TYPE surgewatch_scoring_seconds histogram');
      expect(text).toMatch(new RegExp(`surgewatch_semantic_up\\{pipeline="${pipeline}",model="[^"]+",mode="candidates"\\} [01]`));
      expect(text).toMatch(/surgewatch_process_resident_memory_bytes \d+/);
      expect(text).toMatch(/surgewatch_nodejs_eventloop_lag_seconds /);
    } finally {
      await ctx.close();
    }
  });
});

describe('the audit log in embedded mode', () => {
  it('records topic lists published from a changed file, with the new version', async () => {
    const topics = join(dir, 'topics');
    cpSync(resolve('config/topics'), topics, { recursive: true });
    const { ctx } = start({ SURGEWATCH_TOPICS_DIR: topics, SURGEWATCH_API_KEYS: 'ops:admin:a-configured-key-0123456789', HTTP_HOST: '127.0.0.1' }, true);
    try {
      await ctx.start();
      const before = ctx.runtimes[0]!.lists.set.version;
      const file = join(topics, 'spam.yaml');
      writeFileSync(file, `${readFileSync(file, 'utf8')}\n# edited\n`.replace('terms:', 'terms:\n  - buy followers cheap today'));
      const entry = await waitFor(
        async () => {
          const res = await fetch(`${ctx.apiUrl()}/v1/audit`, { headers: { authorization: 'Bearer a-configured-key-0123456789' } });
          const body = (await res.json()) as { entries: { action: string; actor: unknown; target: string; details: { version: string } }[] };
          return body.entries.find((e) => e.action === 'lists.publish');
        },
        15_000,
        'the lists.publish audit entry',
      );
      expect(entry).toMatchObject({ actor: { name: 'system:files', role: null }, target: topics });
      expect(entry.details.version).not.toBe(before);
      expect(entry.details.version).toBe(ctx.runtimes[0]!.lists.set.version);
    } finally {
      await ctx.close();
    }
  });
});

describe('the dashboard in embedded mode', () => {
  it('serves the page to anyone and the system figures to the admin key: signals counted, no Kafka lag, ticks running', async () => {
    const { ctx } = start({ SURGEWATCH_SAMPLE_STREAM: 'on', SURGEWATCH_ADMIN_KEY_FILE: join(dir, 'dashboard-key') });
    try {
      await ctx.start();
      const base = ctx.apiUrl()!;
      const page = await fetch(`${base}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('Sign in with an API key');
      const key = readFileSync(join(dir, 'dashboard-key'), 'utf8').trim();
      const system = () => fetch(`${base}/v1/system`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.json() as Promise<Record<string, unknown>>);
      expect((await fetch(`${base}/v1/system`)).status).toBe(401);
      const s = await waitFor(async () => {
        const body = await system();
        return body.last_tick_at !== null && typeof body.signals_per_sec === 'number' && body.signals_per_sec > 0 ? body : undefined;
      }, 30_000, 'a detection tick and a processing rate');
      expect(s.consumer_lag).toBeNull();
      expect(s.dead_lettered).toBe(0);
      expect(s.model).toEqual({ status: 'ok', detail: expect.any(String) });
    } finally {
      await ctx.close();
    }
  });
});
