import { z } from 'zod';

export const surfaces = ['post', 'comment', 'caption', 'search', 'hashtag', 'live', 'bio', 'message'] as const;
export type Surface = (typeof surfaces)[number];

export const signalLimits = {
  /** A Kafka message or JSONL line larger than this is dead-lettered before parsing. */
  maxRecordBytes: 256 * 1024,
  /** Longer text is truncated to this many UTF-16 code units and flagged. */
  maxTextChars: 10_000,
  maxHashtags: 64,
  maxHashtagChars: 140,
  maxMetaBytes: 4096,
} as const;

// Event times before 2000 or after 2200 are almost certainly unit mistakes (seconds for ms).
const MIN_TS_MS = Date.UTC(2000, 0, 1);
const MAX_TS_MS = Date.UTC(2200, 0, 1);
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

const timestamp = z.union([
  z.number().int().min(MIN_TS_MS, 'epoch milliseconds too small (seconds given?)').max(MAX_TS_MS, 'epoch milliseconds too large'),
  z
    .string()
    .regex(ISO_8601, 'must be an ISO-8601 date-time with a time zone, e.g. 2026-05-01T12:00:00Z')
    .transform((s, ctx) => {
      const ms = Date.parse(s);
      if (Number.isNaN(ms) || ms < MIN_TS_MS || ms > MAX_TS_MS) {
        ctx.addIssue({ code: 'custom', message: 'is not a valid date-time between 2000 and 2200' });
        return z.NEVER;
      }
      return ms;
    }),
], {
  error: (iss) => {
    if (iss.code !== 'invalid_union') return undefined;
    return typeof iss.input === 'string'
      ? 'must be an ISO-8601 date-time with a time zone, e.g. 2026-05-01T12:00:00Z'
      : 'must be an ISO-8601 date-time string or epoch milliseconds';
  },
});

/**
 * A UTF-16 surrogate without its partner: valid in a JSON escape ("\ud800"), but not Unicode,
 * and refused by strict consumers downstream (Redis Lua's JSON decoder among them).
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Identifiers must be exact, so one with a lone surrogate is refused (text is normalised later). */
const identifier = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !LONE_SURROGATE.test(s), 'contains an unpaired UTF-16 surrogate (not valid Unicode)');

const hashtag = z
  .string()
  .max(signalLimits.maxHashtagChars + 1)
  .transform((s) => s.trim().replace(/^#+/, ''))
  .pipe(z.string().min(1, 'hashtag is empty').max(signalLimits.maxHashtagChars));

/** Wire format of one signal, as in DESIGN.md. Unknown fields are ignored. */
export const signalWireSchema = z
  .object({
    id: identifier(128),
    ts: timestamp,
    text: z.string().default(''),
    surface: z.enum(surfaces),
    lang: z
      .string()
      .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, 'must be a BCP-47 language tag, e.g. en or pt-BR')
      .max(35)
      .optional(),
    region: z
      .string()
      .regex(/^[A-Za-z]{2}(-[A-Za-z0-9]{1,3})?$/, 'must be an ISO-3166 code, e.g. US or US-CA')
      .transform((s) => s.toUpperCase())
      .optional(),
    hashtags: z.array(hashtag).max(signalLimits.maxHashtags).optional(),
    author: identifier(256).optional(),
    meta: z
      .record(z.string(), z.unknown())
      .refine((m) => {
        // Nesting deep enough to overflow JSON.stringify's stack is far over the limit anyway.
        try {
          return Buffer.byteLength(JSON.stringify(m)) <= signalLimits.maxMetaBytes;
        } catch {
          return false;
        }
      }, `meta must serialize to at most ${signalLimits.maxMetaBytes} bytes`)
      .optional(),
  })
  .refine((s) => s.text.length > 0 || (s.hashtags?.length ?? 0) > 0, { message: 'text is empty and no hashtags are given', path: ['text'] });

/** A validated signal, as the pipeline sees it. */
export interface Signal {
  id: string;
  tsMs: number;
  text: string;
  /** True when text was longer than the cap and was cut. */
  truncated: boolean;
  surface: Surface;
  lang?: string;
  region?: string;
  hashtags: string[];
  author?: string;
  meta?: Record<string, unknown>;
}

export type DecodeFailureCode = 'empty' | 'oversize' | 'not_utf8' | 'not_json' | 'invalid';

export type DecodeResult = { ok: true; signal: Signal } | { ok: false; code: DecodeFailureCode; reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Validates an already-parsed value against the signal contract. */
export function validateSignal(value: unknown): DecodeResult {
  const parsed = signalWireSchema.safeParse(value);
  if (!parsed.success) {
    const reason = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.length ? i.path.join('.') : '(record)'}: ${i.message}`)
      .join('; ');
    return { ok: false, code: 'invalid', reason };
  }
  const w = parsed.data;
  const truncated = w.text.length > signalLimits.maxTextChars;
  let text = truncated ? w.text.slice(0, signalLimits.maxTextChars) : w.text;
  // Do not leave half a surrogate pair at the cut.
  if (truncated && /[\uD800-\uDBFF]$/.test(text)) text = text.slice(0, -1);
  const signal: Signal = { id: w.id, tsMs: w.ts, text, truncated, surface: w.surface, hashtags: w.hashtags ?? [] };
  if (w.lang !== undefined) signal.lang = w.lang;
  if (w.region !== undefined) signal.region = w.region;
  if (w.author !== undefined) signal.author = w.author;
  if (w.meta !== undefined) signal.meta = w.meta;
  return { ok: true, signal };
}

/** Decodes one raw record (Kafka message value or JSONL line) into a signal or a reason. */
export function decodeSignal(bytes: Uint8Array | null | undefined): DecodeResult {
  if (!bytes || bytes.length === 0) return { ok: false, code: 'empty', reason: 'record has no value' };
  if (bytes.length > signalLimits.maxRecordBytes)
    return { ok: false, code: 'oversize', reason: `record is ${bytes.length} bytes, over the ${signalLimits.maxRecordBytes}-byte limit` };
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, code: 'not_utf8', reason: 'record is not valid UTF-8' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, code: 'not_json', reason: `record is not JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, code: 'invalid', reason: 'record must be a JSON object' };
  return validateSignal(value);
}
