import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { alertStatuses } from '../alerts/alert.js';
import type { AlertStore } from '../alerts/alert-store.js';
import { decodeCursor } from '../alerts/alert-store.js';
import type { Logger } from '../shared/logger.js';
import { SurgewatchError } from '../shared/errors.js';

/**
 * A dependency's readiness, as /readyz reports it: throws when not ready, returns
 * `{ degraded }` when working with reduced function (e.g. lexicon-only without the model).
 */
export type ReadinessCheck = () => Promise<void | { degraded: string }>;

export interface ApiDeps {
  alerts: AlertStore;
  /** Named checks, e.g. { redis, kafka }; each throws when not ready. */
  checks: Record<string, ReadinessCheck>;
  mode: 'embedded' | 'service';
  logger: Logger;
  /** Prometheus text exposition for GET /metrics. */
  metrics?: () => string;
}

class BadRequestError extends SurgewatchError {
  constructor(message: string) {
    super('BAD_REQUEST', message);
    this.name = 'BadRequestError';
  }
}

const listQuerySchema = z.strictObject({
  status: z.enum(alertStatuses).optional(),
  topic: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be a topic id').optional(),
  pipeline: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be a pipeline id').optional(),
  dimension: z.string().min(1).max(80).optional(),
  since: z
    .string()
    .transform((s, ctx) => {
      const ms = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
      if (!Number.isFinite(ms)) ctx.addIssue({ code: 'custom', message: 'must be an ISO-8601 time or epoch milliseconds' });
      return ms;
    })
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z
    .string()
    .max(200)
    .refine((c) => decodeCursor(c) !== undefined, 'is not a cursor this API returned')
    .optional(),
});

const idSchema = z.strictObject({ id: z.string().regex(/^al_[0-9a-f]{1,64}$/, 'must be an alert id (al_...)') });

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const msg = r.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
  throw new BadRequestError(`invalid ${where}: ${msg}`);
}

async function timed(check: ReadinessCheck, ms: number): Promise<void | { degraded: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([check(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Builds the HTTP API; listening is the caller's business. */
export function buildApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({ loggerInstance: deps.logger.child({ component: 'api' }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024 });

  app.setErrorHandler((err: FastifyError | SurgewatchError, request, reply) => {
    if (err instanceof SurgewatchError && err.code === 'BAD_REQUEST') {
      return reply.status(400).send({ error: { code: 'BAD_REQUEST', message: err.message } });
    }
    const status = 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 400 && status < 500) {
      return reply.status(status).send({ error: { code: 'BAD_REQUEST', message: err.message } });
    }
    request.log.error({ err }, 'request failed');
    return reply.status(500).send({ error: { code: 'INTERNAL', message: 'internal error' } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` } }),
  );

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const results = await Promise.all(
      Object.entries(deps.checks).map(async ([name, check]) => {
        try {
          const r = await timed(check, 2000);
          return [name, r ? { ok: true, degraded: r.degraded } : { ok: true }] as const;
        } catch (err) {
          // A check may say more than its message, e.g. the state of each consumer.
          const details = (err as { details?: unknown }).details;
          return [name, { ok: false, error: (err as Error).message, ...(details !== undefined && { details }) }] as const;
        }
      }),
    );
    const ready = results.every(([, r]) => r.ok);
    // Degraded still answers 200: the service works (lexicon-only), but someone should look.
    const status = !ready ? 'not_ready' : results.some(([, r]) => 'degraded' in r) ? 'degraded' : 'ready';
    return reply.status(ready ? 200 : 503).send({ status, mode: deps.mode, checks: Object.fromEntries(results) });
  });

  app.get('/metrics', async (_request, reply) => reply.type('text/plain; version=0.0.4').send(deps.metrics?.() ?? ''));

  app.get('/v1/alerts', async (request) => {
    const q = parse(listQuerySchema, request.query, 'query');
    const page = await deps.alerts.list({
      limit: q.limit,
      ...(q.status && { status: q.status }),
      ...(q.topic && { topic: q.topic }),
      ...(q.pipeline && { pipeline: q.pipeline }),
      ...(q.dimension && { dimension: q.dimension }),
      ...(q.since !== undefined && { sinceMs: q.since }),
      ...(q.cursor && { cursor: q.cursor }),
    });
    return { alerts: page.alerts, next_cursor: page.nextCursor };
  });

  app.get('/v1/alerts/:id', async (request, reply) => {
    const { id } = parse(idSchema, request.params, 'alert id');
    const alert = await deps.alerts.get(id);
    if (!alert) return reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no alert ${id}` } });
    return alert;
  });

  return app;
}
