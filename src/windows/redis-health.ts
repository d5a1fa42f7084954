import { ReplyError, type Redis } from 'ioredis';
import { SurgewatchError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/** Redis could not be reached (down, restarting, too slow): retriable, and an API answers 503. */
export class RedisUnavailableError extends SurgewatchError {
  constructor(cause?: unknown) {
    super('REDIS_UNAVAILABLE', 'Redis is unavailable', { retriable: true, cause });
    this.name = 'RedisUnavailableError';
  }
}

/** ioredis's own wording for a command that could not reach Redis. */
const CONNECTION_MESSAGES = /^(Connection is closed|Command timed out|Stream isn't writeable|Reached the max retries per request limit)/;

/**
 * An error from a Redis call, as surgewatch reports it: a failure to reach Redis (connection
 * refused or closed, retries or command timeout exhausted) becomes RedisUnavailableError, which
 * hides the client's wording; anything else (an answer from Redis such as a script error, a bug)
 * stays what it is.
 */
export function redisError(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof ReplyError || err instanceof SurgewatchError) return err;
  const code = (err as { code?: unknown }).code;
  const unreachable = err.name === 'MaxRetriesPerRequestError' || CONNECTION_MESSAGES.test(err.message) || (typeof code === 'string' && /^E[A-Z]+$/.test(code));
  return unreachable ? new RedisUnavailableError(err) : err;
}

/** Runs a Redis call, reporting a connection failure as RedisUnavailableError. */
export async function redisCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw redisError(err);
  }
}

/**
 * Logs a Redis client's connection trouble as structured lines, once per outage (the client
 * reconnects by itself), and the recovery; without a listener ioredis writes every error to
 * stderr as "[ioredis] Unhandled error event".
 */
export function watchRedis(redis: Redis, logger: Logger, name = 'redis'): void {
  let down = false;
  redis.on('error', (err: Error & { code?: string }) => {
    if (down) return;
    down = true;
    logger.warn({ client: name, code: err.code, reason: err.message }, 'Redis connection lost; reconnecting');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info({ client: name }, 'Redis connection restored');
  });
}
