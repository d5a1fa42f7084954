import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SurgewatchError } from '../shared/errors.js';

/** The closed set of error codes the API answers with; clients may branch on them. */
export const apiErrorCodes = [
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'VALIDATION',
  'CONFLICT',
  'UNSUPPORTED_MEDIA_TYPE',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  'UNAVAILABLE',
  'INTERNAL',
] as const;
export type ApiErrorCode = (typeof apiErrorCodes)[number];

const statusOf: Record<ApiErrorCode, number> = {
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  VALIDATION: 400,
  CONFLICT: 409,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** One located problem of a request body, for a client to show next to the field. */
export interface ErrorDetail {
  /** Dotted path of the problem, e.g. "terms.3.weight" (into the definition, for a topic change); "" for the whole. */
  path: string;
  message: string;
}

/** Every error response: `{"error":{"code","message"}}`, plus `details` where each problem is located. */
export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.enum(apiErrorCodes),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: 'Error', description: 'Every error response; `code` is stable, `message` is for people.' });
export type ErrorBody = z.output<typeof errorBodySchema>;

/** An error a route throws on purpose; its message is safe to show. */
export class ApiError extends Error {
  readonly status: number;
  readonly details: ErrorDetail[] | undefined;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    /** `status`: another status than the code's usual one (422 for a body that parses but is not acceptable). */
    options: { status?: number; details?: ErrorDetail[] } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = options.status ?? statusOf[code];
    this.details = options.details;
  }
}

export function errorBody(code: ApiErrorCode, message: string, details?: ErrorDetail[]): ErrorBody {
  return { error: { code, message, ...(details && { details }) } };
}

/** The responses every route may give besides its own, for the OpenAPI document. */
export const commonErrorResponses = {
  400: errorBodySchema.describe('VALIDATION: a parameter or the body is invalid; the message names each'),
  401: errorBodySchema.describe('UNAUTHORIZED: no API key, or not a known one'),
  403: errorBodySchema.describe("FORBIDDEN: the key's role may not use this route"),
  429: errorBodySchema.describe('RATE_LIMITED: too many requests from this key or address'),
  503: errorBodySchema.describe('UNAVAILABLE: a backing service (Redis, Kafka) does not answer; retry later'),
};

const REDIS_DOWN = /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|Command timed out|Reached the max retries/;

/**
 * True when a dependency is down rather than the request or the code wrong: a retriable
 * SurgewatchError (what the stores throw for Redis or Kafka trouble) or ioredis's own
 * connection errors.
 */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof SurgewatchError) return err.retriable || err.code === 'REDIS_UNAVAILABLE' || err.code === 'KAFKA_UNAVAILABLE';
  if (!(err instanceof Error)) return false;
  return err.name === 'MaxRetriesPerRequestError' || REDIS_DOWN.test(err.message) || REDIS_DOWN.test(String((err as NodeJS.ErrnoException).code ?? ''));
}

/** "querystring.limit: Too small: expected number to be >=1; ..." from a schema validation error. */
function validationMessage(err: FastifyError): string {
  const where = err.validationContext ?? 'request';
  if (hasZodFastifySchemaValidationErrors(err)) {
    return err.validation
      .map((v) => {
        const path = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
        return `${where}${path ? `.${path}` : ''}: ${v.message}`;
      })
      .join('; ');
  }
  return err.message;
}

/** Client errors Fastify raises itself, by status, with the code we answer with. */
function frameworkCode(status: number): ApiErrorCode | undefined {
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 415) return 'UNSUPPORTED_MEDIA_TYPE';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 404) return 'NOT_FOUND';
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status >= 400 && status < 500) return 'VALIDATION';
  return undefined;
}

/**
 * The one error handler. Client errors answer with their code and a message that names the
 * problem; everything else is logged in full and answered with a generic message, so that no
 * stack trace, Redis or Kafka error text reaches a client.
 */
export function handleError(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof ApiError) return reply.status(err.status).send(errorBody(err.code, err.message, err.details));
  const fastifyErr = err as FastifyError;
  if (fastifyErr.validation) return reply.status(400).send(errorBody('VALIDATION', `invalid ${validationMessage(fastifyErr)}`));
  if (isUnavailable(err)) {
    request.log.error({ err }, 'a backing service is unavailable');
    // Our own errors say which service in our words; a library's text stays in the log.
    const what = err instanceof SurgewatchError ? err.message : 'a backing service is unavailable';
    return reply.status(503).header('retry-after', '5').send(errorBody('UNAVAILABLE', `${what}; retry later`));
  }
  const status = typeof fastifyErr.statusCode === 'number' ? fastifyErr.statusCode : 500;
  const code = frameworkCode(status);
  if (code) {
    const message = code === 'VALIDATION' && fastifyErr.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ? 'body is not valid JSON' : err.message;
    return reply.status(status).send(errorBody(code, message));
  }
  request.log.error({ err }, 'request failed');
  return reply.status(500).send(errorBody('INTERNAL', 'internal error'));
}
