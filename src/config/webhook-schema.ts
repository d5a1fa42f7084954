import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { inspect } from 'node:util';
import { z } from 'zod';
import { severityTiers, type SeverityTier } from './topic-schema.js';

/**
 * A value that must not reach a log, an API response or a serialized config: it prints as
 * "[redacted]" however it is logged; `reveal()` gives the value to the code that needs it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return '[redacted]';
  }
}

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name');

/** Where a secret comes from: an environment variable or a file (e.g. a mounted Kubernetes secret). */
export const secretRefSchema = z.union([z.strictObject({ env: envName }), z.strictObject({ file: z.string().min(1).max(4096) })], {
  error: (issue) =>
    typeof issue.input === 'string'
      ? 'must not be written inline: use { env: VARIABLE_NAME } or { file: /path/to/secret }'
      : 'must be { env: VARIABLE_NAME } or { file: /path/to/secret }',
});
export type SecretRef = z.output<typeof secretRefSchema>;

const httpUrl = z.string().refine((s) => isHttpUrl(s), 'must be an http:// or https:// URL');

export const webhookFormats = ['json', 'slack'] as const;
export const alertKinds = ['spike', 'emerging_term'] as const;
export const alertEventTypes = ['opened', 'updated', 'resolved'] as const;

/** One webhook route of a pipeline: which alert events go where, in which form. */
export const webhookSchema = z
  .strictObject({
    /** Names the route in logs, metrics and dead letters; unique within the pipeline. */
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be a lowercase slug (a-z, 0-9, -), at most 64 chars'),
    /** The receiver: a URL, or a reference to one (Slack webhook URLs carry their own token). */
    url: z.union([httpUrl, secretRefSchema], { error: 'must be an http(s) URL, { env: VARIABLE_NAME } or { file: /path/to/url }' }),
    /** json: the alert event as JSON; slack: a Slack-compatible message ({ text, blocks }). */
    format: z.enum(webhookFormats).default('json'),
    /** Key of the HMAC-SHA256 signature; required for json (optional for slack, whose URL is the secret). */
    secret: secretRefSchema.optional(),
    /** Topic ids, or "all". */
    topics: z.union([z.literal('all'), z.array(z.string().min(1)).min(1)]).default('all'),
    /** Alerts at this severity or above. */
    minSeverity: z.enum(severityTiers).default('low'),
    kinds: z.array(z.enum(alertKinds)).min(1).default([...alertKinds]),
    events: z.array(z.enum(alertEventTypes)).min(1).default([...alertEventTypes]),
    /** One attempt gives up after this long. */
    timeoutMs: z.number().int().min(100).max(120_000).default(5000),
    /** Attempts before the delivery becomes a dead letter. */
    maxAttempts: z.number().int().min(1).max(100).default(8),
    /** Delay before retry n: initialMs * 2^(n-1), capped at maxMs, with jitter (half to all of it). */
    backoff: z
      .strictObject({
        initialMs: z.number().int().min(1).max(3_600_000).default(1000),
        maxMs: z.number().int().min(1).max(86_400_000).default(300_000),
      })
      .prefault({}),
  })
  .superRefine((w, ctx) => {
    if (w.format === 'json' && w.secret === undefined)
      ctx.addIssue({ code: 'custom', path: ['secret'], message: 'is required for format json: receivers check the signature with it' });
    if (w.backoff.maxMs < w.backoff.initialMs) ctx.addIssue({ code: 'custom', path: ['backoff', 'maxMs'], message: 'must be at least initialMs' });
  });

export const webhooksSchema = z
  .array(webhookSchema)
  .max(50)
  .superRefine(
    (hooks, ctx) => {
      const seen = new Set<unknown>();
      hooks.forEach((h: { id?: unknown } | undefined, i) => {
        if (typeof h?.id !== 'string') return;
        if (seen.has(h.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate webhook id "${h.id}"` });
        seen.add(h.id);
      });
    },
    // Also when a route is invalid otherwise, so that every problem is listed at once.
    { when: (payload) => Array.isArray(payload.value) },
  )
  .default([]);

export type WebhookConfig = z.output<typeof webhookSchema>;

/** A webhook route ready to use: its pipeline, and its URL and secret read from where they live. */
export interface WebhookRoute extends Omit<WebhookConfig, 'url' | 'secret'> {
  pipeline: string;
  url: Secret;
  secret: Secret | undefined;
  minSeverity: SeverityTier;
}

export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Reads a secret from the environment (the raw variables given to the loader) or a file
 * (relative paths against baseDir; one trailing newline dropped). Errors name the source,
 * never the value.
 */
export function resolveSecret(ref: SecretRef, env: Record<string, string | undefined>, baseDir: string): { secret?: Secret; problem?: string } {
  if ('env' in ref) {
    const v = env[ref.env];
    return v ? { secret: new Secret(v) } : { problem: `environment variable ${ref.env} is not set` };
  }
  const file = isAbsolute(ref.file) ? ref.file : resolve(baseDir, ref.file);
  try {
    const v = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    return v ? { secret: new Secret(v) } : { problem: `secret file ${file} is empty` };
  } catch (err) {
    return { problem: `cannot read secret file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
}
