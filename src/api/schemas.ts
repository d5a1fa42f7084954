import { z } from 'zod';
import { alertStatuses, feedbackVerdicts, type Alert } from '../alerts/alert.js';
import { decodeCursor } from '../alerts/alert-store.js';
import { AUDIT_ID } from '../audit/audit-log.js';
import { roles } from '../config/api-keys.js';
import { severityTiers } from '../config/topic-schema.js';

/** Wire schemas of the API: request parameters are checked with them, responses described. */

export const alertKinds = ['spike', 'emerging_term'] as const;
export const slug = (what: string) => z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, `must be a ${what} id`);
const isoTime = z.string().describe('ISO-8601 time');

/** ISO-8601 or epoch milliseconds, read as epoch milliseconds. */
export const timeParam = z
  .string()
  .max(40)
  .transform((s, ctx) => {
    const ms = /^\d{1,15}$/.test(s) ? Number(s) : Date.parse(s);
    if (!Number.isFinite(ms)) ctx.addIssue({ code: 'custom', message: 'must be an ISO-8601 time or epoch milliseconds' });
    return ms;
  });

const figures = {
  observed: z.number(),
  expected: z.number(),
  ratio: z.number(),
  z: z.number(),
  p: z.number().describe("P(count >= observed) under the series' baseline"),
  q: z.number().describe("p adjusted (Benjamini-Hochberg) for the series of its false-discovery family tested in the tick: the topics' totals, or their breakdowns"),
};

export const alertSchema = z
  .object({
    id: z.string(),
    kind: z.enum(alertKinds),
    pipeline: z.string(),
    topic: z.string(),
    topic_name: z.string(),
    dimension: z.string().describe('"all", or e.g. "region=US-TX"'),
    series: z.string(),
    status: z.enum(alertStatuses),
    severity: z.enum(severityTiers),
    base_severity: z.enum(severityTiers),
    coordinated: z.boolean(),
    opened_at: isoTime,
    updated_at: isoTime,
    resolved_at: isoTime.nullable(),
    window: z.object({ ...figures, start: isoTime, end: isoTime, seconds: z.number() }),
    peak: z.object({ ...figures, at: isoTime }),
    baseline: z.object({ seconds: z.number(), mean_per_bucket: z.number(), bucket_seconds: z.number(), seasonal_factor: z.number() }),
    distinct_authors: z.number().nullable().describe("Accounts behind the current window; null when the signals carry no author ids (unknown, not zero)"),
    top_terms: z.array(z.object({ term: z.string(), count: z.number() })),
    sample_signal_ids: z.array(z.string()),
    summary: z.string(),
    list_version: z.string(),
    suggested_term: z.string().nullable(),
    related: z
      .array(z.object({ series: z.string(), dimension: z.string(), observed: z.number(), expected: z.number(), ratio: z.number() }))
      .optional()
      .describe('Other scopes of the topic the same surge shows in (one incident, not one alert per scope): those of the last significant tick first, then those seen earlier in the incident'),
    opened_observed: z.number(),
    significant_ticks: z.number(),
    quiet_ticks: z.number(),
    acknowledged_at: isoTime.nullable().describe('The first acknowledgement; null until someone acknowledges'),
    acknowledged_by: z.string().nullable().describe('The key name that acknowledged first'),
    assignee: z.string().nullable().describe('Who works on it now; null when nobody is assigned'),
    assignments: z.array(z.object({ at: isoTime, by: z.string(), assignee: z.string().nullable() })).describe('Every (re)assignment, oldest first'),
    resolved_by: z.string().nullable().describe('The key name that resolved it; null while open and when detection resolved it'),
    notes: z.array(z.object({ at: isoTime, by: z.string(), text: z.string() })),
    feedback: z.array(z.object({ at: isoTime, by: z.string(), verdict: z.enum(feedbackVerdicts), note: z.string().nullable() })).describe('Verdicts, oldest first; the latest one counts'),
    escalations: z.array(z.object({ at: isoTime, from: z.enum(severityTiers), to: z.enum(severityTiers) })).describe('Severity rises, oldest first'),
  })
  .meta({ id: 'Alert' });

/** Fails to compile when Alert gains a field the wire schema does not describe (it would be dropped). */
type Undescribed = Exclude<keyof Alert, keyof z.output<typeof alertSchema>>;
export const alertFieldsDescribed: [Undescribed] extends [never] ? true : Undescribed = true;

export const alertListQuery = z.strictObject({
  status: z.enum(alertStatuses).optional(),
  topic: slug('topic').optional(),
  severity: z.enum(severityTiers).optional(),
  kind: z.enum(alertKinds).optional(),
  pipeline: slug('pipeline').optional(),
  dimension: z.string().min(1).max(160).optional().describe('"all", or name=value such as region=US-TX'),
  since: timeParam.optional().describe('alerts updated at or after this time (ISO-8601 or epoch ms)'),
  until: timeParam.optional().describe('alerts updated before this time (ISO-8601 or epoch ms)'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z
    .string()
    .max(200)
    .refine((c) => decodeCursor(c) !== undefined, 'is not a cursor this API returned')
    .optional()
    .describe("the previous page's next_cursor"),
});

export const alertListResponse = z.object({
  alerts: z.array(alertSchema),
  next_cursor: z.string().nullable().describe('pass as cursor for the next page; null on the last'),
});

export const alertIdParams = z.strictObject({ id: z.string().regex(/^al_[0-9a-f]{1,64}$/, 'must be an alert id (al_...)') });

export const auditEntrySchema = z
  .object({
    id: z.string(),
    at: isoTime,
    actor: z.object({ name: z.string(), role: z.enum(roles).nullable() }),
    action: z.string(),
    target: z.string(),
    details: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditEntry' });

export const auditQuery = z.strictObject({
  since: timeParam.optional().describe('entries at or after this time (ISO-8601 or epoch ms)'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().regex(AUDIT_ID, 'is not a cursor this API returned').optional().describe("the previous page's next_cursor"),
});

export const auditListResponse = z.object({ entries: z.array(auditEntrySchema), next_cursor: z.string().nullable() });

export const healthResponse = z.object({ status: z.literal('ok') });

export const readyResponse = z.object({
  status: z.enum(['ready', 'degraded', 'not_ready']),
  mode: z.enum(['embedded', 'service']),
  checks: z.record(
    z.string(),
    z.object({
      ok: z.boolean(),
      degraded: z.string().optional(),
      error: z.string().optional(),
      /** Per consumer (pipeline): its state, since when, and how many times it failed so far. */
      details: z.record(z.string(), z.object({ state: z.string(), since: z.string(), failures: z.number().int() })).optional(),
    }),
  ),
});
