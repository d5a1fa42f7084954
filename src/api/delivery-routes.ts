import type { FastifyBaseLogger, FastifyInstance, preHandlerHookHandler, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { alertEventTypes } from '../config/webhook-schema.js';
import { decodeDeadCursor, type DeadPage, type DeliveryRecord } from '../alerts/delivery-queue.js';

/** What the delivery routes need: the dead letters and their replay. */
export interface DeliveryAdmin {
  listDead(query: { limit: number; cursor?: string }): Promise<DeadPage>;
  replay(id: string): Promise<DeliveryRecord | undefined>;
}

export interface DeliveryRoutesOptions {
  deliveries: DeliveryAdmin;
  /** Runs before each handler of these routes (e.g. admin-only access). */
  preHandler?: preHandlerHookHandler;
}

const deliverySchema = z.object({
  id: z.string(),
  pipeline: z.string(),
  webhook: z.string(),
  alert_id: z.string(),
  event: z.enum(alertEventTypes),
  idempotency_key: z.string(),
  attempts: z.number().int(),
  last_error: z.string().nullable(),
  created_at: z.string(),
  dead_at: z.string().nullable(),
});

type FastifyZod = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/** The wire form: no body (it is the alert, served by /v1/alerts), never the URL or the secret. */
function wire(d: DeliveryRecord): z.output<typeof deliverySchema> {
  return {
    id: d.id,
    pipeline: d.pipeline,
    webhook: d.webhook,
    alert_id: d.alertId,
    event: d.event,
    idempotency_key: d.idempotencyKey,
    attempts: d.attempts,
    last_error: d.lastError,
    created_at: new Date(d.createdAtMs).toISOString(),
    dead_at: d.deadAtMs === null ? null : new Date(d.deadAtMs).toISOString(),
  };
}

/**
 * GET /v1/deliveries/dead and POST /v1/deliveries/dead/:id/replay, in their own plugin scope
 * (zod validation and serialization apply to these routes only).
 */
export function registerDeliveryRoutes(app: FastifyInstance, opts: DeliveryRoutesOptions): void {
  void app.register(async (scope) => {
    scope.setValidatorCompiler(validatorCompiler);
    scope.setSerializerCompiler(serializerCompiler);
    deliveryRoutes(scope.withTypeProvider<ZodTypeProvider>(), opts);
  });
}

function deliveryRoutes(r: FastifyZod, opts: DeliveryRoutesOptions): void {
  const common = opts.preHandler ? { preHandler: opts.preHandler } : {};

  r.route({
    method: 'GET',
    url: '/v1/deliveries/dead',
    config: { access: 'admin' },
    ...common,
    schema: {
      summary: 'Webhook deliveries that failed for good, newest first',
      querystring: z.strictObject({
        limit: z.coerce.number().int().min(1).max(500).default(50),
        cursor: z.string().max(200).refine((c) => decodeDeadCursor(c) !== undefined, 'is not a cursor this API returned').optional(),
      }),
      response: { 200: z.object({ deliveries: z.array(deliverySchema), next_cursor: z.string().nullable() }) },
    },
    handler: async (request) => {
      const { limit, cursor } = request.query;
      const page = await opts.deliveries.listDead({ limit, ...(cursor && { cursor }) });
      return { deliveries: page.deliveries.map(wire), next_cursor: page.nextCursor };
    },
  });

  r.route({
    method: 'POST',
    url: '/v1/deliveries/dead/:id/replay',
    config: { access: 'admin' },
    ...common,
    schema: {
      summary: 'Queue a dead letter again, with fresh attempts',
      params: z.strictObject({ id: z.string().regex(/^dl_[0-9a-f]{1,64}$/, 'must be a delivery id (dl_...)') }),
      response: { 202: z.object({ delivery: deliverySchema }), 404: errorSchema },
    },
    handler: async (request, reply) => {
      const replayed = await opts.deliveries.replay(request.params.id);
      if (!replayed) return reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no dead letter ${request.params.id}` } });
      return reply.status(202).send({ delivery: wire(replayed) });
    },
  });
}
