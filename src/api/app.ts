import { createHash } from 'node:crypto';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AlertStore } from '../alerts/alert-store.js';
import type { AuditLog } from '../audit/audit-log.js';
import { SurgewatchError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { MetricsRegistry } from '../shared/metrics.js';
import { within } from '../shared/once.js';
import { installAuth, type ApiKeyring } from './auth.js';
import { registerDashboard } from './dashboard-routes.js';
import { registerAlertActionRoutes, type AlertActionOptions } from './alert-action-routes.js';
import { registerDeliveryRoutes, type DeliveryRoutesOptions } from './delivery-routes.js';
import { registerTopicRoutes, type TopicRoutesOptions } from './topic-routes.js';
import { registerAlertDetailRoutes, type AlertDetailRoutesOptions } from './alert-detail-routes.js';
import { ApiError, commonErrorResponses, errorBody, errorBodySchema, handleError } from './errors.js';
import { registerSystemRoutes } from './system-routes.js';
import { alertIdParams, alertListQuery, alertListResponse, alertSchema, auditListResponse, auditQuery, healthResponse, readyResponse } from './schemas.js';

/**
 * A dependency's readiness, as /readyz reports it: throws when not ready, returns
 * `{ degraded }` when working with reduced function (e.g. lexicon-only without the model).
 */
export type ReadinessCheck = () => Promise<void | { degraded: string }>;

export interface HttpOptions {
  bodyLimitBytes: number;
  /** Requests per minute per key (or address); 0 = no limit. */
  rateLimitPerMin: number;
  /** Origins allowed by CORS ("*" = any); empty = no CORS headers. */
  corsOrigins: readonly string[];
}

export interface ApiDeps {
  alerts: AlertStore;
  audit: AuditLog;
  keys: ApiKeyring;
  /** Named checks, e.g. { redis, kafka }; each throws when not ready. */
  checks: Record<string, ReadinessCheck>;
  mode: 'embedded' | 'service';
  logger: Logger;
  /** Prometheus text exposition for GET /metrics. */
  metrics?: () => Promise<string>;
  http?: Partial<HttpOptions>;
  /** Webhook dead letters and their replay (routes in delivery-routes.ts, admin only). */
  deliveries?: DeliveryRoutesOptions;
  /** The alert event stream, alert detail, samples and series (alert-detail-routes.ts). */
  detail?: Omit<AlertDetailRoutesOptions, 'alerts' | 'audit'>;
  /** A request waits this long for the alert store, then answers 503 UNAVAILABLE (default 3000). */
  storeTimeoutMs?: number;
  /** Registries GET /v1/system reads besides the process's own (a context's scrape-time figures). */
  metricRegistries?: readonly MetricsRegistry[];
  /** Topics, lists and dry runs (routes in topic-routes.ts). */
  topics?: Omit<TopicRoutesOptions, 'audit'>;
  /** Only /healthz, /readyz and /metrics: what a worker-only process serves (no alerts, no docs). */
  probesOnly?: boolean;
  /** Clock, cooldowns and outbox wake-up for the alert actions (alert-action-routes.ts). */
  alertActions?: AlertActionOptions;
}

export const defaultHttpOptions: HttpOptions = { bodyLimitBytes: 1024 * 1024, rateLimitPerMin: 600, corsOrigins: [] };
const CHECK_TIMEOUT_MS = 2000;
/** Longest path parameter (ids are far shorter); longer ones are refused by the router (414). */
const MAX_PARAM_LENGTH = 200;

class CheckTimeoutError extends Error {}

const timed = (check: ReadinessCheck, ms: number) => within(check(), ms, () => new CheckTimeoutError(`did not answer within ${ms} ms`));

/**
 * Sets a strong ETag from the serialized body and answers 304 when the client has it already
 * (If-None-Match). The body is still built: the tag saves the transfer and the client's work.
 */
async function etag(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (reply.statusCode !== 200 || typeof payload !== 'string') return payload;
  const tag = `"${createHash('sha1').update(payload).digest('base64url')}"`;
  reply.header('etag', tag).header('cache-control', 'private, no-cache');
  const match = request.headers['if-none-match'];
  if (typeof match === 'string' && (match.trim() === '*' || match.split(',').some((t) => t.trim().replace(/^W\//, '') === tag))) {
    reply.code(304);
    return '';
  }
  return payload;
}

const notModified = z.undefined().describe('Not modified: the If-None-Match tag is current; no body');

/** Builds the HTTP API; listening is the caller's business. */
export function buildApi(deps: ApiDeps): FastifyInstance {
  const http = { ...defaultHttpOptions, ...deps.http };
  const storeTimeoutMs = deps.storeTimeoutMs ?? 3000;
  const fromStore = <T>(p: Promise<T>) =>
    within(p, storeTimeoutMs, () => new SurgewatchError('UNAVAILABLE', `the alert store did not answer within ${storeTimeoutMs} ms`, { retriable: true }));
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'api' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: http.bodyLimitBytes,
    // Path tricks (../, %2e%2e) never reach a handler as such: params are checked by their schema.
    routerOptions: { ignoreDuplicateSlashes: true, maxParamLength: MAX_PARAM_LENGTH },
    // The router's own refusals come before any hook or error handler: they get the error shape
    // too, and a message that does not echo the (possibly huge) path back.
    frameworkErrors: (err, request, rawReply) => {
      const reply = rawReply as unknown as FastifyReply;
      if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') return void reply.status(414).send(errorBody('VALIDATION', `a path segment is longer than ${MAX_PARAM_LENGTH} characters`));
      if (err.code === 'FST_ERR_BAD_URL') return void reply.status(400).send(errorBody('VALIDATION', 'the path is not a valid URL (bad percent-encoding)'));
      return void handleError(err, request as unknown as FastifyRequest, reply);
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => reply.status(404).send(errorBody('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`)));
  installAuth(app, deps.keys);

  if (!deps.probesOnly) app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'surgewatch API',
        version: '1',
        description: 'Alerts on emerging high-harm trends. Every route under /v1 needs `Authorization: Bearer <key>`.',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'an API key from SURGEWATCH_API_KEYS' } } },
    },
    transform: (input) => {
      const out = jsonSchemaTransform(input);
      const access = input.route.config?.access;
      const described = (out.schema as { description?: string }).description;
      if (access && access !== 'public') out.schema = { ...out.schema, security: [{ apiKey: [] }], description: [described, `Role: ${access} or above.`].filter(Boolean).join('\n\n') };
      return out;
    },
    transformObject: jsonSchemaTransformObject,
  });
  if (!deps.probesOnly) app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  if (http.corsOrigins.length > 0) {
    app.register(cors, {
      origin: http.corsOrigins.includes('*') ? '*' : [...http.corsOrigins],
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'if-none-match', 'last-event-id'],
      exposedHeaders: ['etag', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
      maxAge: 600,
    });
  }
  if (http.rateLimitPerMin > 0) {
    app.register(rateLimit, {
      max: http.rateLimitPerMin,
      timeWindow: 60_000,
      // Runs after authentication: a key has its own budget wherever it calls from.
      keyGenerator: (request) => (request.principal ? `key:${request.principal.name}` : `ip:${request.ip}`),
      errorResponseBuilder: (_request, context) => new ApiError('RATE_LIMITED', `rate limit of ${context.max} requests per minute reached; retry in ${context.after}`),
    });
  }

  app.register(async (root) => {
    const r = root.withTypeProvider<ZodTypeProvider>();
    const probe = { access: 'public' as const, rateLimit: false as const };

    r.get('/healthz', { config: probe, schema: { tags: ['system'], summary: 'The process is up', response: { 200: healthResponse } } }, async () => ({ status: 'ok' as const }));

    r.get(
      '/readyz',
      { config: probe, schema: { tags: ['system'], summary: 'Redis, Kafka and the models answer', response: { 200: readyResponse, 503: readyResponse } } },
      async (request, reply) => {
        const results = await Promise.all(
          Object.entries(deps.checks).map(async ([name, check]) => {
            try {
              const res = await timed(check, CHECK_TIMEOUT_MS);
              return [name, res ? { ok: true, degraded: res.degraded } : { ok: true }] as const;
            } catch (err) {
              // The cause is logged; the response says what is wrong in surgewatch's words only.
              request.log.warn({ err, check: name }, 'readiness check failed');
              const error = err instanceof CheckTimeoutError ? `${name} ${err.message}` : err instanceof SurgewatchError ? err.message : 'not answering (see the logs)';
              // A check may say more than its message, e.g. the state of each consumer.
              const details = (err as { details?: unknown }).details;
              return [name, { ok: false, error, ...(details !== undefined && { details }) }] as const;
            }
          }),
        );
        const ready = results.every(([, res]) => res.ok);
        // Degraded still answers 200: the service works (lexicon-only), but someone should look.
        const status = !ready ? 'not_ready' : results.some(([, res]) => 'degraded' in res) ? 'degraded' : 'ready';
        return reply.status(ready ? 200 : 503).send({ status, mode: deps.mode, checks: Object.fromEntries(results) });
      },
    );

    r.get('/metrics', { config: probe, schema: { tags: ['system'], summary: 'Prometheus metrics' } }, async (_request, reply) =>
      reply.type('text/plain; version=0.0.4; charset=utf-8').send(deps.metrics ? await deps.metrics() : ''),
    );

    if (!deps.probesOnly) r.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => root.swagger());
  });
  if (deps.probesOnly) return app;

  app.register(
    async (v1) => {
      const r = v1.withTypeProvider<ZodTypeProvider>();

      r.get(
        '/alerts',
        {
          config: { access: 'viewer' },
          onSend: etag,
          schema: {
            tags: ['alerts'],
            summary: 'Alerts, newest update first, filtered and paged',
            querystring: alertListQuery,
            response: { 200: alertListResponse, 304: notModified, ...commonErrorResponses },
          },
        },
        async (request) => {
          const q = request.query;
          const page = await fromStore(deps.alerts.list({
            limit: q.limit,
            ...(q.status && { status: q.status }),
            ...(q.topic && { topic: q.topic }),
            ...(q.severity && { severity: q.severity }),
            ...(q.kind && { kind: q.kind }),
            ...(q.pipeline && { pipeline: q.pipeline }),
            ...(q.dimension && { dimension: q.dimension }),
            ...(q.since !== undefined && { sinceMs: q.since }),
            ...(q.until !== undefined && { untilMs: q.until }),
            ...(q.cursor && { cursor: q.cursor }),
          }));
          return { alerts: page.alerts, next_cursor: page.nextCursor };
        },
      );

      r.get(
        '/alerts/:id',
        {
          config: { access: 'viewer' },
          onSend: etag,
          schema: {
            tags: ['alerts'],
            summary: 'One alert',
            params: alertIdParams,
            response: { 200: alertSchema, 304: notModified, 404: errorBodySchema.describe('NOT_FOUND: no such alert'), ...commonErrorResponses },
          },
        },
        async (request) => {
          const alert = await fromStore(deps.alerts.get(request.params.id));
          if (!alert) throw new ApiError('NOT_FOUND', `no alert ${request.params.id}`);
          return alert;
        },
      );

      r.get(
        '/audit',
        {
          config: { access: 'admin' },
          schema: {
            tags: ['access'],
            summary: 'The audit log, newest first: who changed, revealed or acknowledged what',
            querystring: auditQuery,
            response: { 200: auditListResponse, ...commonErrorResponses },
          },
        },
        async (request) => {
          const q = request.query;
          const page = await deps.audit.list({ limit: q.limit, ...(q.cursor && { before: q.cursor }), ...(q.since !== undefined && { sinceMs: q.since }) });
          return { entries: page.entries, next_cursor: page.nextCursor };
        },
      );
    },
    { prefix: '/v1' },
  );
  if (deps.deliveries) registerDeliveryRoutes(app, deps.deliveries);
  registerSystemRoutes(app, { registries: deps.metricRegistries ?? [], checks: deps.checks });
  registerDashboard(app);
  registerAlertActionRoutes(app, { alerts: deps.alerts, audit: deps.audit, fromStore, ...deps.alertActions });
  if (deps.topics) registerTopicRoutes(app, { ...deps.topics, audit: deps.audit });
  if (deps.detail) registerAlertDetailRoutes(app, { alerts: deps.alerts, audit: deps.audit, storeTimeoutMs, ...deps.detail });

  return app;
}
