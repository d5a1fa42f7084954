import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EVENT_POSITION, type EventCursor, type StoredAlertEvent } from '../alerts/alert-store.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../shared/clock.js';
import { SurgewatchError } from '../shared/errors.js';
import { within } from '../shared/once.js';
import { buildAlertDetail, pipelineOf, readSeries, sampleIdsOf, sampleView, type AlertDetailSources } from './alert-detail.js';
import { atLeast, audit } from './auth.js';
import { ApiError, commonErrorResponses, errorBodySchema } from './errors.js';
import { alertIdParams, alertSchema, slug, timeParam } from './schemas.js';

export interface AlertDetailRoutesOptions extends AlertDetailSources {
  audit: AuditLog;
  clock: Clock;
  /** A comment line keeps idle streams open through proxies (default 15000). */
  heartbeatMs?: number;
  /** A request waits this long for a store, then answers 503 UNAVAILABLE (default 3000). */
  storeTimeoutMs?: number;
}

type FastifyZod = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;


/** Events read from the store at a time while catching up. */
const READ_BATCH = 100;
/** Buckets one /v1/series answer holds at most. */
const MAX_SERIES_BUCKETS = 10_000;

/**
 * The stream's event ids say where the reader is in every pipeline's event stream
 * ("high-harm@1764572400000-0,scams@1764572399000-3"): resuming after one is exact per
 * pipeline, whichever order the pipelines' events were interleaved in.
 */
export function encodeEventId(cursor: EventCursor): string {
  return Object.entries(cursor)
    .map(([p, pos]) => `${p}@${pos}`)
    .join(',');
}

export function decodeEventId(id: string): EventCursor | undefined {
  if (id.length === 0 || id.length > 2000) return undefined;
  const cursor: EventCursor = {};
  for (const part of id.split(',')) {
    const at = part.lastIndexOf('@');
    const pipeline = part.slice(0, at);
    const position = part.slice(at + 1);
    if (at <= 0 || !/^[a-z0-9][a-z0-9-]{0,63}$/.test(pipeline) || !EVENT_POSITION.test(position)) return undefined;
    cursor[pipeline] = position;
  }
  return cursor;
}

const streamQuery = z.strictObject({
  pipeline: slug('pipeline').optional(),
  topic: slug('topic').optional(),
  last_event_id: z.string().max(2000).optional().describe('resume after this event id (for clients that cannot send the Last-Event-ID header)'),
});

const seriesPoint = z.object({ start: z.string(), observed: z.number(), expected: z.number(), lower: z.number(), upper: z.number() });
const sampleSchema = z
  .object({
    id: z.string(),
    ts: z.string(),
    surface: z.string(),
    region: z.string().nullable(),
    lang: z.string().nullable(),
    text: z.string(),
    redacted: z.boolean(),
  })
  .meta({ id: 'SampleSignal' });

const detailResponse = z.object({
  alert: alertSchema,
  bucket_seconds: z.number(),
  series: z.array(seriesPoint).describe('observed count and the band the baseline expects (expected +- zThreshold sd), bucket by bucket, oldest first'),
  top_terms: z.array(z.object({ term: z.string(), count: z.number() })),
  distinct_authors: z.number().nullable(),
  related: z.array(
    z.object({ series: z.string(), dimension: z.string(), observed: z.number(), expected: z.number(), ratio: z.number(), alert_id: z.string().nullable() }),
  ),
  samples: z.array(sampleSchema).describe('redacted: handles, links, e-mails and phone numbers replaced, words masked but the matched terms'),
  samples_expired: z.number().describe('sample signals whose text is no longer kept'),
});

/** One SSE frame. JSON.stringify never emits a raw newline, so `data` is one line. */
function frame(e: StoredAlertEvent, id: string): string {
  return `id: ${id}\nevent: ${e.type}\ndata: ${JSON.stringify({ type: e.type, event_id: e.eventId, alert: e.alert })}\n\n`;
}

/**
 * GET /v1/alerts/stream (Server-Sent Events), /v1/alerts/:id/detail,
 * /v1/alerts/:id/samples/:sampleId and /v1/series, in their own plugin scope.
 */
export function registerAlertDetailRoutes(app: FastifyInstance, opts: AlertDetailRoutesOptions): void {
  void app.register(async (scope) => {
    scope.setValidatorCompiler(validatorCompiler);
    scope.setSerializerCompiler(serializerCompiler);
    alertDetailRoutes(scope, opts);
  });
}

function alertDetailRoutes(scope: FastifyInstance, opts: AlertDetailRoutesOptions): void {
  const r: FastifyZod = scope.withTypeProvider<ZodTypeProvider>();
  const timeoutMs = opts.storeTimeoutMs ?? 3000;
  const fromStore = <T>(p: Promise<T>) => within(p, timeoutMs, () => new SurgewatchError('UNAVAILABLE', `the store did not answer within ${timeoutMs} ms`, { retriable: true }));
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  /** Open streams, ended when the server closes (else app.close() would wait on them forever). */
  const streams = new Set<AbortController>();
  scope.addHook('preClose', async () => {
    for (const s of streams) s.abort();
  });

  const alertOr404 = async (id: string) => {
    const alert = await fromStore(opts.alerts.get(id));
    if (!alert) throw new ApiError('NOT_FOUND', `no alert ${id}`);
    const cfg = pipelineOf(opts, alert.pipeline);
    if (!cfg) throw new ApiError('NOT_FOUND', `alert ${id} belongs to pipeline "${alert.pipeline}", which this process does not run`);
    return { alert, cfg };
  };

  r.get(
    '/v1/alerts/stream',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['alerts'],
        summary: 'Alert events (opened, updated, resolved) as Server-Sent Events; resumes after Last-Event-ID',
        description:
          'text/event-stream. Each event: `id`, `event: opened|updated|resolved`, `data: {"type","event_id","alert"}`. ' +
          'Send the last id received as the Last-Event-ID header (or ?last_event_id=) to resume exactly after it. ' +
          `A comment line every ${heartbeatMs / 1000} s keeps the connection open.`,
        querystring: streamQuery,
        response: { 404: errorBodySchema.describe('NOT_FOUND: no such pipeline'), ...commonErrorResponses },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const all = opts.pipelines.map((p) => p.id);
      if (q.pipeline !== undefined && !all.includes(q.pipeline)) throw new ApiError('NOT_FOUND', `no pipeline "${q.pipeline}"`);
      const pipelines = q.pipeline !== undefined ? [q.pipeline] : all;
      const header = request.headers['last-event-id'];
      const lastId = (typeof header === 'string' && header.trim() !== '' ? header.trim() : undefined) ?? q.last_event_id;
      const resume = lastId !== undefined ? decodeEventId(lastId) : undefined;
      if (lastId !== undefined && !resume) throw new ApiError('VALIDATION', 'Last-Event-ID is not an event id this stream sent');
      // Pipelines the id does not cover start from now; those it does, right after it.
      const heads = await fromStore(opts.alerts.eventHeads(pipelines));
      const cursor: EventCursor = Object.fromEntries(pipelines.map((p) => [p, resume?.[p] ?? heads[p] ?? '0-0']));
      // A HEAD gets the stream's headers and ends: Node sends no headers for a body-less response
      // until it ends, so streaming it would keep the client (and a store reader) waiting forever.
      const headers = { ...(reply.getHeaders() as Record<string, string>), 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform' };
      if (request.method === 'HEAD') {
        reply.hijack();
        reply.raw.writeHead(200, headers).end();
        return;
      }

      const res = reply.raw;
      const stop = new AbortController();
      streams.add(stop);
      const ended = () => stop.abort();
      res.on('close', ended);
      reply.hijack();
      res.writeHead(200, {
        ...headers,
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      try {
        await pump(res, cursor, q.topic, stop.signal);
      } catch (err) {
        if (!stop.signal.aborted) request.log.warn({ err }, 'alert event stream ended on an error; the client resumes with its Last-Event-ID');
      } finally {
        streams.delete(stop);
        res.off('close', ended);
        if (!res.destroyed) res.end();
      }
    },
  );

  /** Catch-up then live, from one cursor: events saved while catching up are read next, none is skipped. */
  async function pump(res: ServerResponse, cursor: EventCursor, topic: string | undefined, signal: AbortSignal): Promise<void> {
    let lastWrite = Date.now();
    const write = async (chunk: string) => {
      lastWrite = Date.now();
      if (!res.write(chunk)) await once(res, 'drain', { signal });
    };
    await write(': connected\n\n');
    while (!signal.aborted) {
      const events = await opts.alerts.readEvents(cursor, READ_BATCH);
      for (const e of events) {
        if (signal.aborted) return;
        cursor[e.pipeline] = e.position;
        if (topic !== undefined && e.alert.topic !== topic) continue;
        await write(frame(e, encodeEventId(cursor)));
      }
      if (events.length === READ_BATCH) continue;
      const waitMs = Math.max(1, heartbeatMs - (Date.now() - lastWrite));
      await opts.alerts.waitForEvents(cursor, waitMs, signal);
      if (!signal.aborted && Date.now() - lastWrite >= heartbeatMs) await write(': heartbeat\n\n');
    }
  }

  r.get(
    '/v1/alerts/:id/detail',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['alerts'],
        summary: "An alert with its series (observed and expected band), top terms, accounts, the topic's other scopes and redacted samples",
        params: alertIdParams,
        querystring: z.strictObject({ hours: z.coerce.number().min(0.1).max(48).default(6).describe('hours of series to chart (at most the retention)') }),
        response: { 200: detailResponse, 404: errorBodySchema.describe('NOT_FOUND: no such alert'), ...commonErrorResponses },
      },
    },
    async (request) => {
      const { alert, cfg } = await alertOr404(request.params.id);
      return fromStore(buildAlertDetail(opts, alert, cfg, request.query.hours, opts.clock.now()));
    },
  );

  r.get(
    '/v1/alerts/:id/samples/:sampleId',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['alerts'],
        summary: "One of an alert's sample signals: redacted, or with reveal=1 (analyst or above; audited) in full",
        params: z.strictObject({ id: alertIdParams.shape.id, sampleId: z.string().min(1).max(128) }),
        querystring: z.strictObject({ reveal: z.enum(['0', '1']).default('0') }),
        response: {
          200: sampleSchema,
          404: errorBodySchema.describe('NOT_FOUND: no such alert or sample, or the sample text has expired'),
          ...commonErrorResponses,
        },
      },
    },
    async (request) => {
      const reveal = request.query.reveal === '1';
      const principal = request.principal;
      // Checked before anything is read: a viewer learns nothing from a refused reveal.
      if (reveal && (!principal || !atLeast(principal.role, 'analyst'))) {
        throw new ApiError('FORBIDDEN', `revealing sample text needs the analyst role or above; key "${principal?.name ?? ''}" is ${principal?.role ?? 'unknown'}`);
      }
      const { alert, cfg } = await alertOr404(request.params.id);
      const { sampleId } = request.params;
      if (!(await fromStore(sampleIdsOf(opts, alert, cfg))).includes(sampleId)) throw new ApiError('NOT_FOUND', `no sample ${sampleId} on alert ${alert.id}`);
      const stored = (await fromStore(opts.windows.readSamples(alert.pipeline, [sampleId]))).get(sampleId);
      if (!stored) throw new ApiError('NOT_FOUND', `the text of sample ${sampleId} has expired (kept ${cfg.alerts.sampleTextTtlHours} h)`);
      // Audited before the text leaves: a reveal that cannot be recorded does not happen.
      if (reveal) await fromStore(audit(opts.audit, request, { action: 'signal.reveal', target: sampleId, details: { alert_id: alert.id, pipeline: alert.pipeline } }));
      return sampleView(stored, reveal, alert.top_terms.map((t) => t.term));
    },
  );

  r.get(
    '/v1/series',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['alerts'],
        summary: 'Bucket counts of one (pipeline, topic, dimension) series over a time range',
        querystring: z.strictObject({
          pipeline: slug('pipeline').optional().describe('required when several pipelines run'),
          topic: slug('topic'),
          dimension: z
            .string()
            .max(160)
            .regex(/^(all|(region|surface|lang|term)=[^|]{1,140})$/, 'must be "all" or name=value with name region, surface, lang or term')
            .default('all'),
          since: timeParam.optional().describe('ISO-8601 or epoch ms (default: until - 1 h)'),
          until: timeParam.optional().describe('ISO-8601 or epoch ms (default: now)'),
        }),
        response: {
          200: z.object({ series: z.string(), bucket_seconds: z.number(), buckets: z.array(z.object({ start: z.string(), count: z.number() })) }),
          404: errorBodySchema.describe('NOT_FOUND: no such pipeline'),
          ...commonErrorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query;
      if (q.pipeline === undefined && opts.pipelines.length !== 1) throw new ApiError('VALIDATION', `querystring.pipeline: required (one of ${opts.pipelines.map((p) => p.id).join(', ')})`);
      const cfg = q.pipeline === undefined ? opts.pipelines[0]! : pipelineOf(opts, q.pipeline);
      if (!cfg) throw new ApiError('NOT_FOUND', `no pipeline "${q.pipeline}"`);
      const until = q.until ?? opts.clock.now();
      const since = q.since ?? until - 3_600_000;
      if (since >= until) throw new ApiError('VALIDATION', 'querystring.since: must be before until');
      if ((until - since) / (cfg.windows.bucketSec * 1000) > MAX_SERIES_BUCKETS) {
        throw new ApiError('VALIDATION', `querystring: at most ${MAX_SERIES_BUCKETS} buckets of ${cfg.windows.bucketSec} s per request; narrow since..until`);
      }
      return fromStore(readSeries(opts, cfg, q.topic, q.dimension, since, until));
    },
  );
}
