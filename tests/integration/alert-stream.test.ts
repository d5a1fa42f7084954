import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Alert, AlertStatus } from '../../src/alerts/alert.js';
import type { AlertStore } from '../../src/alerts/alert-store.js';
import { MemoryAlertStore } from '../../src/alerts/memory-alert-store.js';
import { RedisAlertStore } from '../../src/alerts/redis-alert-store.js';
import { buildApi } from '../../src/api/app.js';
import { ApiKeyring } from '../../src/api/auth.js';
import { MemoryAuditLog } from '../../src/audit/audit-log.js';
import { hashKey } from '../../src/config/api-keys.js';
import { pipelineSchema } from '../../src/config/pipeline-schema.js';
import { ManualClock } from '../../src/shared/clock.js';
import { MemoryWindowStore } from '../../src/windows/memory-window-store.js';
import { iso, makeAlert, MIN, T0 } from '../_util/alerts.js';
import { createTestRedis, deleteKeys, uniqueId } from '../_util/services.js';
import { SseReader } from '../_util/sse.js';

const VIEWER = 'viewer-key-7Qm2xW9pLr4tZs8vKe3n';
const PIPELINES = ['high-harm', 'scams'];
const auth = { authorization: `Bearer ${VIEWER}` };

function moved(a: Alert, status: AlertStatus, updatedMs: number): Alert {
  return { ...a, status, updated_at: iso(updatedMs), resolved_at: status === 'resolved' ? iso(updatedMs) : null };
}

interface Running {
  app: FastifyInstance;
  base: string;
  store: AlertStore;
}

async function serve(store: AlertStore, heartbeatMs = 15_000): Promise<Running> {
  const app = buildApi({
    alerts: store,
    audit: new MemoryAuditLog(new ManualClock(T0)),
    keys: new ApiKeyring([{ name: 'dash', role: 'viewer', sha256: hashKey(VIEWER) }]),
    checks: {},
    mode: 'service',
    logger: pino({ level: 'silent' }),
    detail: { windows: new MemoryWindowStore(), pipelines: PIPELINES.map((id) => pipelineSchema.parse({ id })), clock: new ManualClock(T0), heartbeatMs },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address() as { port: number };
  return { app, base: `http://127.0.0.1:${addr.port}`, store };
}

const data = (e: { data: string }) => JSON.parse(e.data) as { type: string; event_id: string; alert: Alert };

function describeStream(name: string, makeStore: () => AlertStore, cleanup: () => Promise<void>): void {
  describe(`GET /v1/alerts/stream (${name})`, () => {
    let running: Running;
    let aborts: AbortController[];
    const open = async (query = '', headers: Record<string, string> = {}) => {
      const ac = new AbortController();
      aborts.push(ac);
      return SseReader.open(`${running.base}/v1/alerts/stream${query}`, { ...auth, ...headers }, ac.signal);
    };

    beforeEach(async () => {
      aborts = [];
      running = await serve(makeStore());
    });
    afterEach(async () => {
      for (const ac of aborts) ac.abort();
      await running.app.close();
      await running.store.close();
      await cleanup();
    });

    it('refuses a request without a key (401), before any stream starts', async () => {
      const res = await fetch(`${running.base}/v1/alerts/stream`);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    });

    it('delivers events of every pipeline live, as they are saved, with their type and the alert', async () => {
      const { response, reader } = await open();
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const a = makeAlert();
      const b = makeAlert({ pipeline: 'scams', series: 'scams-fraud' });
      await running.store.save(a, 'opened', 600);
      await running.store.save(b, 'opened', 600);
      await running.store.save(moved(a, 'resolved', T0 + MIN), 'resolved', 600);
      const events = await reader!.next(3);
      // In order per pipeline (events of two pipelines saved within one millisecond have no order between them).
      const of = (pipeline: string) => events.filter((e) => data(e).alert.pipeline === pipeline).map((e) => [e.event, data(e).type, data(e).alert.id, data(e).alert.status]);
      expect(of('high-harm')).toEqual([
        ['opened', 'opened', a.id, 'open'],
        ['resolved', 'resolved', a.id, 'resolved'],
      ]);
      expect(of('scams')).toEqual([['opened', 'opened', b.id, 'open']]);
      expect(new Set(events.map((e) => e.id)).size).toBe(3);
    });

    it('resumes exactly after the Last-Event-ID it is given (header or ?last_event_id=), events saved while away included', async () => {
      const first = await open();
      const a = makeAlert();
      const b = makeAlert({ pipeline: 'scams', series: 'scams-fraud' });
      await running.store.save(a, 'opened', 600);
      await running.store.save(b, 'opened', 600);
      const seen = await first.reader!.next(2);
      aborts[0]!.abort(); // the client goes away after the second event

      await running.store.save(moved(a, 'acknowledged', T0 + MIN), 'updated', 600);
      await running.store.save(moved(b, 'resolved', T0 + 2 * MIN), 'resolved', 600);

      const again = await open('', { 'last-event-id': seen[0]!.id! });
      const missed = await again.reader!.next(3);
      expect(missed.map((e) => [e.event, data(e).alert.id]).sort()).toEqual(
        [
          ['opened', b.id],
          ['updated', a.id],
          ['resolved', b.id],
        ].sort(),
      );
      expect(missed.filter((e) => data(e).alert.id === b.id).map((e) => e.event)).toEqual(['opened', 'resolved']);
      // The same resume by query parameter, after the second event: only what followed it.
      const byQuery = await open(`?last_event_id=${encodeURIComponent(seen[1]!.id!)}`);
      expect((await byQuery.reader!.next(2)).map((e) => e.event)).toEqual(['updated', 'resolved']);
      // Then it goes on live.
      await running.store.save(moved(a, 'resolved', T0 + 3 * MIN), 'resolved', 600);
      expect((await byQuery.reader!.next(1)).map((e) => [e.event, data(e).alert.id])).toEqual([['resolved', a.id]]);
      expect((await again.reader!.next(1)).map((e) => data(e).event_id)).toEqual([(await running.store.readEvents({ 'high-harm': '0-0' }, 10)).at(-1)!.eventId]);
    });

    it('filters by topic and by pipeline', async () => {
      const harm = await open('?topic=self-harm');
      const scams = await open('?pipeline=scams');
      await running.store.save(makeAlert({ series: 'extremism' }), 'opened', 600);
      await running.store.save(makeAlert({ pipeline: 'scams', series: 'scams-fraud' }), 'opened', 600);
      await running.store.save(makeAlert({ series: 'self-harm|region=US-TX' }), 'opened', 600);
      expect((await harm.reader!.next(1)).map((e) => data(e).alert.series)).toEqual(['self-harm|region=US-TX']);
      expect((await scams.reader!.next(1)).map((e) => data(e).alert.series)).toEqual(['scams-fraud']);
      expect((await fetch(`${running.base}/v1/alerts/stream?pipeline=nope`, { headers: auth })).status).toBe(404);
    });

    it('refuses a Last-Event-ID it did not send (400)', async () => {
      const res = await fetch(`${running.base}/v1/alerts/stream`, { headers: { ...auth, 'last-event-id': 'garbage' } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('VALIDATION');
    });

    it('answers HEAD with the stream\'s headers and ends, rather than holding the request open', async () => {
      const res = await fetch(`${running.base}/v1/alerts/stream`, { method: 'HEAD', headers: auth, signal: AbortSignal.timeout(5000) });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(await res.text()).toBe('');
    });

    it('ends open streams when the server closes, so that closing does not hang', async () => {
      const { reader } = await open();
      await running.store.save(makeAlert(), 'opened', 600);
      await reader!.next(1);
      await running.app.close();
      expect(await reader!.ended()).toBe(true);
    });
  });
}

describeStream('memory store', () => new MemoryAlertStore(), async () => {});

{
  const redis = createTestRedis();
  let prefixes: string[] = [];
  describeStream(
    'Redis store',
    () => {
      const prefix = uniqueId('sse');
      prefixes.push(prefix);
      return new RedisAlertStore(redis, prefix, PIPELINES, new Map());
    },
    async () => {
      for (const p of prefixes) await deleteKeys(redis, p);
      prefixes = [];
    },
  );

  describe('GET /v1/alerts/stream (Redis, events saved by another process)', () => {
    it('delivers events another process saves, woken by the blocking reader rather than a poll', async () => {
      const prefix = uniqueId('ssx');
      prefixes.push(prefix);
      const other = createTestRedis();
      const running = await serve(new RedisAlertStore(redis, prefix, PIPELINES, new Map()));
      const worker = new RedisAlertStore(other, prefix, PIPELINES, new Map());
      const ac = new AbortController();
      try {
        const { reader } = await SseReader.open(`${running.base}/v1/alerts/stream`, auth, ac.signal);
        await reader!.next(0);
        const a = makeAlert({ pipeline: 'scams', series: 'scams-fraud' });
        await worker.save(a, 'opened', 600);
        expect((await reader!.next(1)).map((e) => [e.event, data(e).alert.id])).toEqual([['opened', a.id]]);
      } finally {
        ac.abort();
        await running.app.close();
        await running.store.close();
        await other.quit();
        for (const p of prefixes) await deleteKeys(redis, p);
        prefixes = [];
      }
    });
  });
  afterAll(async () => {
    await redis.quit();
  });
}

describe('GET /v1/alerts/stream heartbeats', () => {
  it('sends a comment line while no event comes, so that proxies keep the connection', async () => {
    const running = await serve(new MemoryAlertStore(), 200);
    const ac = new AbortController();
    try {
      const { reader } = await SseReader.open(`${running.base}/v1/alerts/stream`, auth, ac.signal);
      expect(await reader!.comment()).toBe('heartbeat');
      expect(reader!.events).toEqual([]);
    } finally {
      ac.abort();
      await running.app.close();
    }
  });
});
