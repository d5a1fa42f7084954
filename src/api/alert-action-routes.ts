import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { feedbackVerdicts, type Alert } from '../alerts/alert.js';
import { acknowledge, actionLimits, addNote, assign, giveFeedback, resolve, type AlertAction } from '../alerts/alert-actions.js';
import type { AlertStore } from '../alerts/alert-store.js';
import { alertsUpdatedSince, feedbackLines } from '../alerts/feedback-export.js';
import { incidentMarkdown, incidentReport, timelineEvents } from '../alerts/incident-report.js';
import { recordAction } from '../alerts/operations-metrics.js';
import { alertsOpenedIn, operationsFigures } from '../alerts/operations.js';
import type { AuditLog } from '../audit/audit-log.js';
import { severityTiers } from '../config/topic-schema.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { audit } from './auth.js';
import { ApiError, commonErrorResponses, errorBodySchema } from './errors.js';
import { alertIdParams, alertSchema, timeParam } from './schemas.js';

/** What the alert action routes need besides the alert store and the audit log. */
export interface AlertActionOptions {
  /** The time of actions (default: the system clock). */
  clock?: Clock;
  /** A pipeline's cooldown after a resolve, as its detector applies it (default 0: none). */
  cooldownSecByPipeline?: ReadonlyMap<string, number>;
  /** Told when an action put an event in the outbox (the relay publishes it now rather than at its next poll). */
  onEvent?: () => void;
}

export interface AlertActionDeps extends AlertActionOptions {
  alerts: AlertStore;
  audit: AuditLog;
  /** Bounds a store call (the API's timeout for the alert store). */
  fromStore: <T>(p: Promise<T>) => Promise<T>;
}

type FastifyZod = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

const DAY_MS = 86_400_000;
const MAX_RANGE_MS = 366 * DAY_MS;

const noteText = z.string().trim().min(1).max(actionLimits.noteChars);
const person = z.string().trim().min(1).max(128).regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters');
/** A body that may be left out altogether. */
const optionalNote = z.strictObject({ note: noteText.optional() }).nullish();
const pipelineParam = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be a pipeline id');
const rangeQuery = z
  .strictObject({
    since: timeParam.optional().describe('start of the range, inclusive (ISO-8601 or epoch ms); default: until minus 7 days'),
    until: timeParam.optional().describe('end of the range, exclusive (ISO-8601 or epoch ms); default: now'),
    pipeline: pipelineParam.optional(),
  })
  .refine((q) => q.since === undefined || q.until === undefined || q.since < q.until, { message: 'since must be before until', path: ['since'] })
  .refine((q) => q.since === undefined || q.until === undefined || q.until - q.since <= MAX_RANGE_MS, { message: 'the range may span at most 366 days', path: ['until'] });

const spreadSchema = z.object({ count: z.number().int(), median: z.number().nullable(), p90: z.number().nullable() });
const operationsResponse = z.object({
  since: z.string(),
  until: z.string(),
  alerts: z.number().int(),
  truncated: z.boolean().describe('true when the range held more alerts than one report takes (20,000): narrow it'),
  groups: z.array(
    z.object({
      pipeline: z.string(),
      topic: z.string(),
      severity: z.enum(severityTiers),
      alerts: z.number().int(),
      acknowledged: z.number().int(),
      resolved: z.number().int(),
      resolved_by_person: z.number().int(),
      time_to_acknowledge_sec: spreadSchema,
      time_to_resolve_sec: spreadSchema,
      escalated: z.number().int().describe("alerts whose severity rose above the topic's tier"),
      feedback: z.object({ true_trend: z.number().int(), false_alarm: z.number().int() }).describe('alerts by their latest verdict'),
      false_alarm_share: z.number().nullable().describe('false_alarm / alerts with feedback; null without any'),
    }),
  ),
});

const figures = z.object({ observed: z.number(), expected: z.number(), ratio: z.number(), z: z.number(), p: z.number(), q: z.number() });
const reportResponse = z
  .object({
    alert_id: z.string(),
    kind: z.enum(['spike', 'emerging_term']),
    pipeline: z.string(),
    topic: z.string(),
    topic_name: z.string(),
    dimension: z.string(),
    status: z.enum(['open', 'acknowledged', 'resolved']),
    severity: z.enum(severityTiers),
    base_severity: z.enum(severityTiers),
    summary: z.string(),
    list_version: z.string(),
    opened_at: z.string(),
    resolved_at: z.string().nullable(),
    resolved_by: z.string().nullable(),
    assignee: z.string().nullable(),
    verdict: z.enum(feedbackVerdicts).nullable(),
    figures: z.object({
      opened_observed: z.number(),
      window: figures.extend({ start: z.string(), end: z.string(), seconds: z.number() }),
      peak: figures.extend({ at: z.string() }),
      baseline: z.object({ seconds: z.number(), mean_per_bucket: z.number(), bucket_seconds: z.number(), seasonal_factor: z.number() }),
      distinct_authors: z.number().nullable(),
      coordinated: z.boolean(),
      significant_ticks: z.number(),
      time_to_acknowledge_sec: z.number().nullable(),
      time_to_resolve_sec: z.number().nullable(),
    }),
    top_terms: z.array(z.object({ term: z.string(), count: z.number() })),
    suggested_term: z.string().nullable(),
    sample_signal_ids: z.array(z.string()).describe('by id only: sample text is never part of the record'),
    timeline: z.array(z.object({ at: z.string(), event: z.enum(timelineEvents), by: z.string().describe('a key name, or "detection"'), detail: z.string() })),
    generated_at: z.string(),
  })
  .meta({ id: 'IncidentReport' });

const notFound = errorBodySchema.describe('NOT_FOUND: no such alert');
const conflict = errorBodySchema.describe("CONFLICT: the action does not apply in the alert's state (e.g. acknowledging a resolved alert)");

/**
 * The people-facing alert workflow (acknowledge, assign, resolve, notes, feedback) and what is
 * read from it (feedback export, operations report, incident record). Actions need the analyst
 * role; each is audited and emits an alert event through the outbox.
 */
export function registerAlertActionRoutes(app: FastifyInstance, deps: AlertActionDeps): void {
  void app.register(
    async (v1) => {
      routes(v1.withTypeProvider<ZodTypeProvider>(), deps);
    },
    { prefix: '/v1' },
  );
}

function routes(r: FastifyZod, deps: AlertActionDeps): void {
  const clock = deps.clock ?? systemClock;
  const cooldownOf = (pipeline: string) => deps.cooldownSecByPipeline?.get(pipeline) ?? 0;

  /** Runs an action on the latest version of the alert; audits it; wakes the outbox. */
  async function act(request: FastifyRequest, id: string, make: (by: string, nowMs: number) => AlertAction, auditAction: string, details: Record<string, unknown>): Promise<Alert> {
    const by = request.principal!.name;
    const current = await deps.fromStore(deps.alerts.get(id));
    if (!current) throw new ApiError('NOT_FOUND', `no alert ${id}`);
    let before: Alert | undefined;
    const action = make(by, clock.now());
    const result = await deps.fromStore(
      deps.alerts.act(
        id,
        (latest) => {
          before = latest;
          return action(latest);
        },
        cooldownOf(current.pipeline),
      ),
    );
    if (!result) throw new ApiError('NOT_FOUND', `no alert ${id}`);
    if (result.outcome.kind === 'refused') throw new ApiError('CONFLICT', result.outcome.reason);
    const changed = result.outcome.kind === 'changed';
    if (changed) {
      recordAction(before!, result.alert);
      deps.onEvent?.();
    }
    await audit(deps.audit, request, { action: auditAction, target: id, details: { pipeline: result.alert.pipeline, topic: result.alert.topic, changed, ...details } });
    return result.alert;
  }

  const actionSchema = (summary: string, description: string, body: z.ZodType) => ({
    tags: ['alert actions'],
    summary,
    description,
    params: alertIdParams,
    body,
    response: { 200: alertSchema, 404: notFound, 409: conflict, ...commonErrorResponses },
  });
  const analyst = { access: 'analyst' as const };

  r.post(
    '/alerts/:id/ack',
    {
      config: analyst,
      schema: actionSchema(
        'Acknowledge an alert',
        'Status becomes acknowledged; the first acknowledgement (who, when) is kept. Acknowledging again changes nothing, unless a note is given. A resolved alert cannot be acknowledged (409 CONFLICT).',
        optionalNote,
      ),
    },
    async (request) => {
      const note = (request.body as { note?: string } | null | undefined)?.note;
      return act(request, request.params.id, (by, now) => acknowledge(by, now, note), 'alert.acknowledge', note === undefined ? {} : { note });
    },
  );

  r.post(
    '/alerts/:id/assign',
    {
      config: analyst,
      schema: actionSchema('Assign an alert', 'Sets who works on it (null: nobody); every assignment is kept in `assignments`.', z.strictObject({ assignee: person.nullable() })),
    },
    async (request) => {
      const { assignee } = request.body as { assignee: string | null };
      return act(request, request.params.id, (by, now) => assign(by, now, assignee), 'alert.assign', { assignee });
    },
  );

  r.post(
    '/alerts/:id/resolve',
    {
      config: analyst,
      schema: actionSchema(
        'Resolve an alert by hand',
        "Status becomes resolved with resolved_by; detection will not reopen or change it, and the series' cooldown starts (a new alert on the series waits for it). 409 CONFLICT when resolved already.",
        optionalNote,
      ),
    },
    async (request) => {
      const note = (request.body as { note?: string } | null | undefined)?.note;
      return act(request, request.params.id, (by, now) => resolve(by, now, note), 'alert.resolve', note === undefined ? {} : { note });
    },
  );

  r.post(
    '/alerts/:id/notes',
    { config: analyst, schema: actionSchema('Add a note to an alert', `At most ${actionLimits.notes} notes per alert, ${actionLimits.noteChars} characters each.`, z.strictObject({ text: noteText })) },
    async (request) => {
      const { text } = request.body as { text: string };
      return act(request, request.params.id, (by, now) => addNote(by, now, text), 'alert.note', { text });
    },
  );

  r.post(
    '/alerts/:id/feedback',
    {
      config: analyst,
      schema: actionSchema(
        'Judge an alert: true_trend or false_alarm',
        'Feedback is kept in order; the latest verdict counts (operations report, /metrics, GET /v1/feedback/export).',
        z.strictObject({ verdict: z.enum(feedbackVerdicts), note: noteText.nullable().optional() }),
      ),
    },
    async (request) => {
      const { verdict, note } = request.body as { verdict: (typeof feedbackVerdicts)[number]; note?: string | null };
      return act(request, request.params.id, (by, now) => giveFeedback(by, now, verdict, note ?? null), 'alert.feedback', { verdict, note: note ?? null });
    },
  );

  const rangeOf = (q: { since?: number; until?: number }) => {
    // "now" is included: what was done this millisecond is in the range.
    const untilMs = q.until ?? clock.now() + 1;
    const sinceMs = q.since ?? untilMs - 7 * DAY_MS;
    if (sinceMs >= untilMs) throw new ApiError('VALIDATION', 'invalid querystring.since: must be before until');
    return { sinceMs, untilMs };
  };

  r.get(
    '/feedback/export',
    {
      config: { access: 'analyst' },
      schema: {
        tags: ['alert actions'],
        summary: 'Feedback as labelled JSON lines for `surgewatch calibrate` and `train`',
        description: [
          'application/x-ndjson, one line per sample signal of each alert whose latest verdict was given in [since, until):',
          '`{"id":<signal id>,"topic":<label>,"dataset":"surgewatch-feedback","label_raw":"true_trend"|"false_alarm","source":"alert:<id>","alert_id","pipeline","dimension","judged_at"}`.',
          'The label is the alert\'s topic id for a true trend and "benign" for a false alarm.',
          'Alerts keep signal ids, never text: join the lines with your signal archive to add `text`',
          '(`surgewatch feedback-labels <export.jsonl> --signals <signals.jsonl> --out <labelled.jsonl>`), then pass the result to calibrate or train.',
          'A signal sampled by several alerts of one topic appears once, with the latest judgement.',
          'At most 20,000 judged alerts are read; the header `x-surgewatch-truncated: true` says when there were more (narrow the range).',
        ].join(' '),
        querystring: rangeQuery,
        response: { 200: z.string().describe('JSON lines'), ...commonErrorResponses },
      },
    },
    async (request, reply) => {
      const range = rangeOf(request.query);
      const { alerts, truncated } = await deps.fromStore(alertsUpdatedSince(deps.alerts, range.sinceMs, request.query.pipeline));
      const lines = feedbackLines(alerts, range);
      if (truncated) reply.header('x-surgewatch-truncated', 'true');
      return reply.type('application/x-ndjson; charset=utf-8').send(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    },
  );

  r.get(
    '/reports/operations',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['alert actions'],
        summary: 'Operational figures per topic and severity for the alerts opened in a time range',
        description:
          'Time to acknowledge and to resolve (median and p90, seconds, nearest rank), alerts escalated above their topic\'s tier, and the false-alarm share of the judged alerts (latest verdict). Severity is the one an alert ended up with.',
        querystring: rangeQuery,
        response: { 200: operationsResponse, ...commonErrorResponses },
      },
    },
    async (request) => {
      const range = rangeOf(request.query);
      const { alerts, truncated } = await deps.fromStore(alertsOpenedIn(deps.alerts, { ...range, ...(request.query.pipeline && { pipeline: request.query.pipeline }) }));
      return { since: new Date(range.sinceMs).toISOString(), until: new Date(range.untilMs).toISOString(), alerts: alerts.length, truncated, groups: operationsFigures(alerts) };
    },
  );

  r.get(
    '/alerts/:id/report',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['alert actions'],
        summary: 'The incident record of an alert (JSON or Markdown)',
        description:
          'Timeline (opened, escalations, peak, acknowledgement, assignments, notes, feedback, resolve, with who), figures, list version and top terms. Sample signals appear by id only: their text is never part of the record. format=markdown answers text/markdown.',
        params: alertIdParams,
        querystring: z.strictObject({ format: z.enum(['json', 'markdown']).default('json') }),
        response: { 200: reportResponse, 404: notFound, ...commonErrorResponses },
      },
    },
    async (request, reply) => {
      const alert = await deps.fromStore(deps.alerts.get(request.params.id));
      if (!alert) throw new ApiError('NOT_FOUND', `no alert ${request.params.id}`);
      const report = incidentReport(alert, clock.now());
      // A string is sent as it is (the JSON schema describes the default format only).
      if (request.query.format === 'markdown') return reply.type('text/markdown; charset=utf-8').send(incidentMarkdown(report) as never);
      return report;
    },
  );
}
