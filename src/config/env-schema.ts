import { z } from 'zod';

const list = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each broker must be host:port')).min(1));

const port = z.coerce.number().int().min(0).max(65_535);
const kafkaTopic = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a valid Kafka topic name');

/**
 * Every environment variable surgewatch reads. Names here are the contract shared with
 * docker-compose.yml and the README's configuration table.
 */
export const envSchema = z
  .object({
    KAFKA_BROKERS: list.optional(),
    KAFKA_CLIENT_ID: z.string().min(1).default('surgewatch'),
    KAFKA_GROUP_ID: z.string().min(1).default('surgewatch-worker'),
    /** A worker that stops heartbeating loses its partitions after this long. */
    KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(1000).max(300_000).default(30_000),
    KAFKA_DEAD_LETTER_TOPIC: kafkaTopic.default('signals.dlq'),
    REDIS_URL: z.string().regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL').optional(),
    REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/).default('sw'),
    /** Unset: 0.0.0.0 when SURGEWATCH_API_KEYS is set, else 127.0.0.1 (see loadConfig). */
    HTTP_HOST: z.string().min(1).optional(),
    HTTP_PORT: port.default(8080),
    /** SURGEWATCH_ROLE=worker: serve /healthz, /readyz and /metrics on this port (no listener when unset). */
    SURGEWATCH_PROBES_PORT: port.optional(),
    HTTP_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
    /** Requests per minute per API key (or per address without one); 0 turns the limit off. */
    HTTP_RATE_LIMIT_PER_MIN: z.coerce.number().int().min(0).max(1_000_000).default(600),
    /** Origins browsers may call the API from: comma-separated, or * for any; unset: none. */
    HTTP_CORS_ORIGINS: z
      .string()
      .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
      .pipe(z.array(z.union([z.literal('*'), z.url({ protocol: /^https?$/, message: 'each origin must be * or an http(s) URL' })])))
      .optional(),
    /** API keys: name:role:key entries (or name:role:sha256:<hex>), or the path of a file of them. */
    SURGEWATCH_API_KEYS: z.string().min(1).optional(),
    /** Embedded mode without SURGEWATCH_API_KEYS: where the generated admin key is kept. */
    SURGEWATCH_ADMIN_KEY_FILE: z.string().min(1).default('.surgewatch/admin-key'),
    /** How long the audit log keeps entries (service mode; trimmed as new ones are written). */
    SURGEWATCH_AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(400),
    SURGEWATCH_ROLE: z.enum(['all', 'worker', 'api']).default('all'),
    SURGEWATCH_PIPELINES_DIR: z.string().min(1).default('pipelines'),
    SURGEWATCH_TOPICS_DIR: z.string().min(1).default('config/topics'),
    SURGEWATCH_SAMPLE_STREAM: z.enum(['on', 'off']).default('on'),
    /** The embedding models pipelines may name. */
    SURGEWATCH_MODELS_FILE: z.string().min(1).default('models/manifest.yaml'),
    /** The Maven command `surgewatch models fetch` runs: a path, or a name looked up on PATH (default mvn). */
    SURGEWATCH_MVN: z.string().min(1).optional(),
    /** Overrides every pipeline's semantic.mode (e.g. off as a kill switch). */
    SURGEWATCH_SEMANTIC_MODE: z.enum(['off', 'all', 'candidates']).optional(),
    /** Embedding worker threads per model; 0 = one per core but one. */
    SURGEWATCH_EMBED_WORKERS: z.coerce.number().int().min(0).max(64).default(0),
    /** A batch the model does not answer within this long is scored without it, and its worker replaced. */
    SURGEWATCH_EMBED_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
    /** Key for hashing author ids; authors are never stored raw. Required in service mode. */
    AUTHOR_HASH_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
    /**
     * How long SIGTERM/SIGINT may take: the batch in hand finishes and commits, alert events are
     * flushed, clients close; past it the process exits regardless.
     */
    SURGEWATCH_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(1000).max(600_000).default(10_000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((env, ctx) => {
    const hasKafka = env.KAFKA_BROKERS !== undefined;
    const hasRedis = env.REDIS_URL !== undefined;
    if (hasKafka !== hasRedis) {
      ctx.addIssue({
        code: 'custom',
        path: [hasKafka ? 'REDIS_URL' : 'KAFKA_BROKERS'],
        message: 'service mode needs both KAFKA_BROKERS and REDIS_URL; set neither for embedded mode',
      });
    }
    if (hasKafka && hasRedis && env.AUTHOR_HASH_KEY === undefined) {
      ctx.addIssue({ code: 'custom', path: ['AUTHOR_HASH_KEY'], message: 'is required in service mode (a secret of 16+ characters)' });
    }
    if (hasKafka && hasRedis && env.SURGEWATCH_ROLE !== 'worker' && env.SURGEWATCH_API_KEYS === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['SURGEWATCH_API_KEYS'],
        message: 'is required in service mode when the API runs (name:role:key entries, or a file of them); SURGEWATCH_ROLE=worker runs without the API',
      });
    }
  }, {
    // Run even when another variable is invalid, so that every problem is listed at once.
    when: (payload) => typeof payload.value === 'object' && payload.value !== null,
  });

export type Env = z.output<typeof envSchema>;
export const envNames = Object.keys(envSchema.shape) as (keyof Env)[];
