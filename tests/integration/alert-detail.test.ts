import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { RedisAlertStore } from '../../src/alerts/redis-alert-store.js';
import { buildApi } from '../../src/api/app.js';
import { ApiKeyring } from '../../src/api/auth.js';
import { MemoryAuditLog } from '../../src/audit/audit-log.js';
import { hashKey } from '../../src/config/api-keys.js';
import { loadConfig } from '../../src/config/load.js';
import { pipelineSchema } from '../../src/config/pipeline-schema.js';
import { AppContext } from '../../src/context.js';
import { ManualClock, systemClock } from '../../src/shared/clock.js';
import { createLogger } from '../../src/shared/logger.js';
import { RedisWindowStore } from '../../src/windows/redis-window-store.js';
import type { RawRecord } from '../../src/worker/process-records.js';
import type { SourceBatch } from '../../src/worker/source.js';
import { makeAlert } from '../_util/alerts.js';
import { createTestRedis, deleteKeys, uniqueId } from '../_util/services.js';
import { SseReader } from '../_util/sse.js';

const KEYS = { viewer: 'viewer-key-7Qm2xW9pLr4tZs8vKe3n', analyst: 'analyst-key-Hc5yTb1uNd6gFj0aPq7w' };
const as = (role: keyof typeof KEYS) => ({ authorization: `Bearer ${KEYS[role]}` });

interface Detail {
  alert: Alert;
  bucket_seconds: number;
  series: { start: string; observed: number; expected: number; lower: number; upper: number }[];
  top_terms: { term: string; count: number }[];
  distinct_authors: number | null;
  related: { series: string; dimension: string; observed: number; expected: number; ratio: number; alert_id: string | null }[];
  samples: { id: string; ts: string; surface: string; region: string | null; lang: string | null; text: string; redacted: boolean }[];
  samples_expired: number;
}

/**
 * A real run in embedded mode: a steady baseline in three regions for half an hour, then a surge
 * of self-harm in US-TX in the last minute; one detection tick opens alerts on it.
 */
describe('alert detail, samples and series from a pipeline run (embedded)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-detail-'));
  const pipeline = uniqueId('d');
  writeFileSync(
    join(dir, `${pipeline}.yaml`),
    [
      `id: ${pipeline}`,
      'topics: [self-harm]',
      'windows: { bucketSec: 10, currentSec: 60, baselineSec: 1800, baselineGapSec: 0, retentionSec: 7200, latenessSec: 86400, dimensions: [region] }',
      'detect: { tickSec: 3600, minCount: 10, minRatio: 3, zThreshold: 3, openAfterTicks: 1, minBaselineCoverage: 0, longWindowsSec: [] }',
      'alerts: { sampleSize: 3 }',
    ].join('\n'),
  );
  const now = Math.floor(Date.UTC(2026, 10, 21, 12, 0, 0) / 10_000) * 10_000;
  const regions = ['GB', 'DE', 'US-TX'];
  const records: RawRecord[] = [];
  let usTxHarm = 0;
  let harm = 0;
  const push = (o: object) => records.push({ offset: String(records.length), value: Buffer.from(JSON.stringify(o)) });
  // Baseline: one signal every 5 s for 30 minutes, one in four harmful.
  for (let i = 0; i < 360; i++) {
    const region = regions[i % 3]!;
    const harmful = i % 4 === 0;
    if (harmful) harm++;
    if (harmful && region === 'US-TX') usTxHarm++;
    push({ id: `b${i}`, ts: now - 1_860_000 + i * 5000, text: harmful ? 'i want to die' : 'lovely weather today', surface: 'post', region, author: `a${i % 50}` });
  }
  // Surge: 40 self-harm signals in US-TX within the last minute, from 40 accounts.
  for (let i = 0; i < 40; i++) {
    harm++;
    usTxHarm++;
    push({ id: `s${i}`, ts: now - 59_000 + i * 1000, text: `I want to KILL MYSELF tonight, text @helper${i} or see http://example.com/${i}`, surface: 'comment', region: 'US-TX', author: `surge${i}` });
  }

  let ctx: AppContext;
  let base: string;
  let alert: Alert;
  const get = async <T>(path: string, role: keyof typeof KEYS = 'viewer') => {
    const res = await fetch(`${base}${path}`, { headers: as(role) });
    return { status: res.status, body: (await res.json()) as T };
  };

  beforeAll(async () => {
    const config = loadConfig({
      cwd: resolve('.'),
      env: {
        SURGEWATCH_PIPELINES_DIR: dir,
        SURGEWATCH_SEMANTIC_MODE: 'off',
        SURGEWATCH_ADMIN_KEY_FILE: join(dir, 'admin-key'),
        SURGEWATCH_API_KEYS: `dash:viewer:${KEYS.viewer},lead:analyst:${KEYS.analyst}`,
        HTTP_HOST: '127.0.0.1',
      },
    });
    let delivered!: () => void;
    const done = new Promise<void>((r) => (delivered = r));
    ctx = AppContext.fromConfig(config, {
      clock: new ManualClock(now),
      logger: createLogger('silent'),
      httpPort: 0,
      watchTopics: false,
      sourceFor: () => ({
        async start(handler: (batch: SourceBatch) => Promise<void>) {
          await handler({ topic: 'signals', partition: 0, records });
          delivered();
        },
        close: async () => {},
        ping: async () => {},
      }),
    });
    await ctx.start();
    await done;
    await ctx.ticker!.tick(now);
    base = ctx.apiUrl()!;
    const list = await get<{ alerts: Alert[] }>(`/v1/alerts?pipeline=${pipeline}&dimension=region%3DUS-TX`);
    alert = list.body.alerts[0]!;
    expect(alert, 'the surge opened an alert on US-TX').toBeDefined();
  });
  afterAll(async () => {
    await ctx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('charts the series bucket by bucket: observed sums to what was counted, and the surge leaves the expected band', async () => {
    const { status, body } = await get<Detail>(`/v1/alerts/${alert.id}/detail?hours=1`);
    expect(status).toBe(200);
    expect(body.alert.id).toBe(alert.id);
    expect(body.bucket_seconds).toBe(10);
    expect(body.series).toHaveLength(360);
    expect(body.series.reduce((n, b) => n + b.observed, 0)).toBe(usTxHarm);
    expect(body.series.at(-1)!.start).toBe(new Date(now).toISOString());
    for (const b of body.series) expect(b.lower <= b.expected && b.expected <= b.upper).toBe(true);
    // The surge's full buckets (60 to 30 s before now) are above the band; the baseline's stay within it.
    const surge = body.series.slice(-7, -3);
    expect(surge.map((b) => b.observed)).toEqual([9, 10, 10, 10]);
    expect(surge.every((b) => b.observed > b.upper)).toBe(true);
    const baseline = body.series.slice(-150, -10);
    expect(baseline.filter((b) => b.observed > b.upper).length).toBeLessThanOrEqual(2);
  });

  it("gives the window's terms and accounts, and the topic's other scopes with their figures and open alerts", async () => {
    const { body } = await get<Detail>(`/v1/alerts/${alert.id}/detail`);
    // The alert's window holds surge signals only, each from its own account.
    const inWindow = alert.window.observed;
    expect(inWindow).toBeGreaterThanOrEqual(10);
    expect(body.top_terms[0]).toEqual({ term: 'kill myself', count: inWindow });
    expect(body.distinct_authors).toBe(inWindow);
    const byDim = new Map(body.related.map((r) => [r.dimension, r]));
    expect(byDim.has('region=US-TX')).toBe(false); // the alert's own series
    const all = byDim.get('all')!;
    expect(all.series).toBe('self-harm');
    expect(all.observed).toBe(inWindow);
    const open = (await get<{ alerts: Alert[] }>(`/v1/alerts?pipeline=${pipeline}&dimension=all&status=open`)).body.alerts[0];
    expect(all.alert_id).toBe(open?.id ?? null);
    expect(byDim.get('region=GB')?.alert_id ?? null).toBeNull();
  });

  it('shows samples redacted: identifiers replaced and words masked, the matched terms readable', async () => {
    const { body } = await get<Detail>(`/v1/alerts/${alert.id}/detail`);
    expect(body.samples.length).toBeGreaterThan(0);
    expect(body.samples_expired).toBe(0);
    for (const s of body.samples) {
      expect(s).toMatchObject({ surface: 'comment', region: 'US-TX', redacted: true });
      expect(s.text).toMatch(/^I •••• to KILL MYSELF •••••••, •••• \[@user\] or ••• \[link\]$/);
      expect(s.text).not.toMatch(/helper|example|tonight/);
    }
  });

  it('reveals a sample in full to analysts only, and audits each reveal', async () => {
    const id = (await get<Detail>(`/v1/alerts/${alert.id}/detail`)).body.samples[0]!.id;
    const path = `/v1/alerts/${alert.id}/samples/${id}`;

    const redacted = await get<{ text: string; redacted: boolean }>(path);
    expect(redacted.status).toBe(200);
    expect(redacted.body.redacted).toBe(true);

    const refused = await get<{ error: { code: string } }>(`${path}?reveal=1`, 'viewer');
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');

    const revealed = await get<{ id: string; text: string; redacted: boolean }>(`${path}?reveal=1`, 'analyst');
    expect(revealed.status).toBe(200);
    expect(revealed.body).toMatchObject({ id, redacted: false });
    expect(revealed.body.text).toMatch(/^I want to KILL MYSELF tonight, text @helper\d+ or see http:\/\/example\.com\/\d+$/);

    const entries = (await ctx.audit.list({ limit: 10 })).entries.filter((e) => e.action === 'signal.reveal');
    expect(entries).toEqual([expect.objectContaining({ target: id, actor: { name: 'lead', role: 'analyst' }, details: { alert_id: alert.id, pipeline } })]);

    // A signal that is not one of this alert's samples is not served through it.
    expect((await get<{ error: { code: string } }>(`/v1/alerts/${alert.id}/samples/b1?reveal=1`, 'analyst')).status).toBe(404);
  });

  it('serves any series over a time range from the window store', async () => {
    const since = now - 1_860_000;
    const until = now + 10_000;
    const all = await get<{ series: string; bucket_seconds: number; buckets: { start: string; count: number }[] }>(`/v1/series?pipeline=${pipeline}&topic=self-harm&since=${since}&until=${until}`);
    expect(all.status).toBe(200);
    expect(all.body.series).toBe('self-harm');
    expect(all.body.buckets).toHaveLength(187);
    expect(all.body.buckets[0]!.start).toBe(new Date(since).toISOString());
    expect(all.body.buckets.reduce((n, b) => n + b.count, 0)).toBe(harm);
    const tx = await get<{ series: string; buckets: { count: number }[] }>(`/v1/series?pipeline=${pipeline}&topic=self-harm&dimension=region%3DUS-TX&since=${new Date(since).toISOString()}&until=${until}`);
    expect(tx.body.series).toBe('self-harm|region=US-TX');
    expect(tx.body.buckets.reduce((n, b) => n + b.count, 0)).toBe(usTxHarm);
    expect((await get(`/v1/series?pipeline=${pipeline}&topic=self-harm&since=${until}&until=${since}`)).status).toBe(400);
    expect((await get(`/v1/series?pipeline=nope&topic=self-harm`)).status).toBe(404);
    expect((await fetch(`${base}/v1/series?pipeline=${pipeline}&topic=self-harm`)).status).toBe(401);
  });

  // Last: it shuts the process down.
  it("streams the run's events from the start of the event stream, and shutting down ends the stream", async () => {
    const ac = new AbortController();
    const { response, reader } = await SseReader.open(`${base}/v1/alerts/stream?last_event_id=${pipeline}%400-0`, as('viewer'), ac.signal);
    expect(response.status).toBe(200);
    const opened = (await get<{ alerts: Alert[] }>(`/v1/alerts?pipeline=${pipeline}`)).body.alerts;
    const events = await reader!.next(opened.length);
    expect(new Set(events.map((e) => (JSON.parse(e.data) as { alert: Alert }).alert.id))).toEqual(new Set(opened.map((a) => a.id)));
    expect(events.every((e) => e.event === 'opened')).toBe(true);
    await ctx.close();
    expect(await reader!.ended()).toBe(true);
    ac.abort();
  });
});

describe('sample text expiry (Redis)', () => {
  const redis = createTestRedis();
  const prefix = uniqueId('sdx');
  let app: FastifyInstance;
  afterAll(async () => {
    await app?.close();
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  it('answers 404 NOT_FOUND saying the text expired once its TTL has passed', async () => {
    const cfg = pipelineSchema.parse({ id: 'high-harm' });
    const windows = new RedisWindowStore(redis, prefix);
    const alerts = new RedisAlertStore(redis, prefix, ['high-harm'], new Map());
    app = buildApi({
      alerts,
      audit: new MemoryAuditLog(systemClock),
      keys: new ApiKeyring([{ name: 'lead', role: 'analyst', sha256: hashKey(KEYS.analyst) }]),
      checks: {},
      mode: 'service',
      logger: pino({ level: 'silent' }),
      detail: { windows, pipelines: [cfg], clock: systemClock },
    });
    const a = makeAlert({ series: 'self-harm' });
    const bucketMs = 10_000;
    await windows.applyBatch({
      pipeline: 'high-harm',
      layout: { bucketMs, retentionSec: 3600, detailTtlSec: 600, samplesPerBucket: 3, hourlyTtlSec: 0, sampleTextTtlSec: 1 },
      position: null,
      totals: {},
      signals: [{ id: 's1', bucketMs: Math.floor(Date.parse(a.window.start) / bucketMs) * bucketMs, series: ['self-harm'], terms: ['kill myself'], sample: { tsMs: Date.parse(a.window.start), surface: 'post', region: null, lang: 'en', text: 'i want to kill myself' } }],
    });
    await alerts.save(a, 'opened', 600);
    const read = () => app.inject({ url: `/v1/alerts/${a.id}/samples/s1?reveal=1`, headers: as('analyst') });

    const before = await read();
    expect(before.statusCode).toBe(200);
    expect(before.json()).toMatchObject({ id: 's1', text: 'i want to kill myself', redacted: false });
    await new Promise((r) => setTimeout(r, 1600));
    const after = await read();
    expect(after.statusCode).toBe(404);
    expect(after.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.stringMatching(/expired/) } });
  });
});
