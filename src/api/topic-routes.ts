import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.js';
import { severityTiers, type TopicDefinition } from '../config/topic-schema.js';
import { signalLimits, validateSignal, type Signal } from '../ingest/signal.js';
import { TopicEditError, type DefinitionIssue, type TopicAtVersion, type TopicChangeResult, type TopicEditor } from '../lists/topic-editor.js';
import { diffTopics } from '../lists/topic-diff.js';
import type { DryRunService } from '../scoring/dry-run.js';
import type { ExplainedScore } from '../scoring/explain.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { audit } from './auth.js';
import { ApiError, commonErrorResponses, errorBodySchema, type ErrorDetail } from './errors.js';

/** Emerging-term candidates counted by a pipeline (GET /v1/emerging). */
export interface EmergingTermsSource {
  pipelines(): string[];
  read(pipeline: string, minutes: number, limit: number): Promise<{ fromMs: number; toMs: number; terms: { topic: string; term: string; count: number; firstSeenMs: number; listed: boolean }[] }>;
}

export interface TopicRoutesOptions {
  editor: TopicEditor;
  audit: AuditLog;
  /** POST /v1/dry-run (absent: the route answers 404). */
  dryRun?: DryRunService;
  /** GET /v1/emerging (absent: the route answers 404). */
  emerging?: EmergingTermsSource;
  clock?: Clock;
  /** Largest body of a topic change (a definition may list up to 50,000 terms); default 4 MiB. */
  definitionBodyLimitBytes?: number;
  /** Most signals in one dry run; default 500. */
  maxDryRunSignals?: number;
}

type FastifyZod = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

const DEFAULT_DEFINITION_LIMIT = 4 * 1024 * 1024;
const DEFAULT_MAX_SIGNALS = 500;
/** Changes listed in one audit entry: enough to read what happened, bounded whatever the edit. */
const AUDIT_CHANGES = 50;

const topicId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be a topic id (lowercase slug)');
const versionNumber = z.coerce.number().int().min(0).max(1e9);
const idParams = z.strictObject({ id: topicId });
const definitionSchema = z.record(z.string(), z.unknown()).describe('the topic definition, as in its file under config/topics/ (JSON)');
const issueSchema = z.object({ path: z.string(), message: z.string(), kind: z.string().optional() });

const topicAtVersion = z.object({
  id: z.string(),
  version: z.number().int().describe("the topic's version: 1, 2, ... (0: published before versions were recorded)"),
  definition: definitionSchema,
  updated_at: z.string().nullable(),
  updated_by: z.string().nullable(),
});
const changeResponse = topicAtVersion.extend({
  changed: z.boolean().describe('false: the definition equals the one in force; nothing was published'),
  warnings: z.array(issueSchema).describe('list checks that do not refuse the change (false-positive risk, duplicates, ...)'),
});

const explained = z.object({
  topic: z.string(),
  hit: z.boolean(),
  stage: z.enum(['keyword', 'hashtag', 'head', 'exemplar']),
  stages: z.array(z.enum(['keyword', 'hashtag', 'head', 'exemplar'])),
  score: z.number().describe('lexicon score: the sum of the matched terms\' weights'),
  probability: z.number().nullable().describe("the head's probability, else the nearest exemplar's similarity"),
  threshold: z.number().nullable(),
  matched: z.array(z.string()),
  exemplar: z.string().nullable(),
  why: z.array(z.record(z.string(), z.unknown())),
});

const dryRunBody = z
  .strictObject({
    pipeline: z.string().min(1).max(64).optional().describe('whose lists and scoring (default: the first pipeline)'),
    text: z.string().max(signalLimits.maxRecordBytes).optional().describe(`one text (cut to ${signalLimits.maxTextChars} characters, as ingest does)`),
    hashtags: z.array(z.string()).max(signalLimits.maxHashtags).optional().describe('with text: its hashtags'),
    lang: z.string().max(35).optional().describe('with text: its language'),
    signals: z.array(z.unknown()).optional().describe('signals in the ingest format; each is validated as ingest does'),
    topic: z.strictObject({ id: topicId, definition: z.unknown() }).optional().describe('an unsaved definition to try instead of (or besides) the lists in force'),
  })
  .refine((b) => (b.text === undefined) !== (b.signals === undefined), { message: 'give either text or signals', path: ['text'] })
  .refine((b) => b.text !== undefined || (b.hashtags === undefined && b.lang === undefined), { message: 'hashtags and lang go with text (signals carry their own)', path: ['hashtags'] });

/** The error a client gets for an editor's refusal. */
function toApiError(err: unknown): unknown {
  if (!(err instanceof TopicEditError)) return err;
  if (err.reason === 'not_found') return new ApiError('NOT_FOUND', err.message);
  if (err.reason === 'conflict') return new ApiError('CONFLICT', err.message);
  if (err.reason === 'no_lists') return new ApiError('UNAVAILABLE', err.message);
  return new ApiError('VALIDATION', err.message, { status: 422, details: err.details.map(({ path, message }) => ({ path, message })) });
}

async function editing<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toApiError(err);
  }
}

const wire = (t: TopicAtVersion) => ({ id: t.id, version: t.version, definition: t.definition as Record<string, unknown>, updated_at: t.updatedAt, updated_by: t.updatedBy });
const wireChange = (r: TopicChangeResult) => ({ ...wire(r), changed: r.changed, warnings: r.warnings });
const wireScore = (e: ExplainedScore) => ({ ...e, why: e.why as unknown as Record<string, unknown>[] });

/**
 * Topics and lists: read definitions and their versions, change them (validated, versioned,
 * audited, hot-reloaded by every worker through the list channel), and dry-run signals against
 * the lists in force or a draft. In their own plugin scope.
 */
export function registerTopicRoutes(app: FastifyInstance, opts: TopicRoutesOptions): void {
  void app.register(
    async (scope) => {
      scope.setValidatorCompiler(validatorCompiler);
      scope.setSerializerCompiler(serializerCompiler);
      topicRoutes(scope.withTypeProvider<ZodTypeProvider>(), opts);
    },
    { prefix: '/v1' },
  );
}

function topicRoutes(r: FastifyZod, opts: TopicRoutesOptions): void {
  const { editor } = opts;
  const clock = opts.clock ?? systemClock;
  const definitionLimit = opts.definitionBodyLimitBytes ?? DEFAULT_DEFINITION_LIMIT;
  const maxSignals = opts.maxDryRunSignals ?? DEFAULT_MAX_SIGNALS;
  const notFound = errorBodySchema.describe('NOT_FOUND: no such topic (or version)');
  const unprocessable = errorBodySchema.describe('VALIDATION: the definition is not acceptable; error.details locates each problem ({path, message}, paths into the definition)');
  const conflictBody = errorBodySchema.describe('CONFLICT: base_version is not the version in force; reload and apply the change again');

  /** Audits a change that published something (an unchanged definition is not a change). */
  const audited = async (request: FastifyRequest, action: string, result: TopicChangeResult, extra: Record<string, unknown> = {}) => {
    if (!result.changed) return;
    const changes = diffTopics(result.previous.definition, result.definition);
    await audit(opts.audit, request, {
      action,
      target: result.id,
      details: { version: result.version, from_version: result.previous.version, changes: changes.slice(0, AUDIT_CHANGES), changes_total: changes.length, ...extra },
    });
  };
  const actor = (request: FastifyRequest) => request.principal?.name ?? `address:${request.ip}`;

  r.get(
    '/topics',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['topics'],
        summary: 'Every topic in force with its version and list sizes',
        response: {
          200: z.object({
            topics: z.array(
              z.object({
                id: z.string(),
                name: z.string(),
                severity: z.enum(severityTiers),
                version: z.number().int(),
                updated_at: z.string().nullable(),
                updated_by: z.string().nullable(),
                counts: z.object({ keywords: z.number().int(), hashtags: z.number().int(), exemplars: z.number().int() }),
              }),
            ),
            list_version: z.string().describe('content hash of the whole list set in force'),
            revision: z.number().int(),
          }),
          ...commonErrorResponses,
        },
      },
    },
    async () => {
      const { topics, listVersion, revision } = await editing(() => editor.list());
      return {
        topics: topics.map((t) => ({ id: t.id, name: t.name, severity: t.severity, version: t.version, updated_at: t.updatedAt, updated_by: t.updatedBy, counts: t.counts })),
        list_version: listVersion,
        revision,
      };
    },
  );

  r.get(
    '/topics/:id',
    { config: { access: 'viewer' }, schema: { tags: ['topics'], summary: "A topic's definition in force, with its version", params: idParams, response: { 200: topicAtVersion, 404: notFound, ...commonErrorResponses } } },
    async (request) => wire(await editing(() => editor.get(request.params.id))),
  );

  r.get(
    '/topics/:id/versions',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['topics'],
        summary: "A topic's versions, newest first (the newest 100 are kept)",
        params: idParams,
        response: { 200: z.object({ versions: z.array(z.object({ version: z.number().int(), at: z.string(), by: z.string(), revision: z.number().int() })) }), 404: notFound, ...commonErrorResponses },
      },
    },
    async (request) => {
      const versions = await editing(() => editor.versions(request.params.id));
      return { versions: versions.reverse().map((v) => ({ version: v.version, at: v.at, by: v.by, revision: v.revision })) };
    },
  );

  r.get(
    '/topics/:id/versions/:version',
    {
      config: { access: 'viewer' },
      schema: { tags: ['topics'], summary: "One version of a topic's definition", params: z.strictObject({ id: topicId, version: versionNumber }), response: { 200: topicAtVersion, 404: notFound, ...commonErrorResponses } },
    },
    async (request) => wire(await editing(() => editor.version(request.params.id, request.params.version))),
  );

  r.get(
    '/topics/:id/diff',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['topics'],
        summary: 'What changed between two versions: terms, hashtags, exemplars added or removed, fields changed',
        params: idParams,
        querystring: z.strictObject({ from: versionNumber, to: versionNumber.optional().describe('default: the version in force') }),
        response: {
          200: z.object({
            from: z.number().int(),
            to: z.number().int(),
            changes: z.array(z.object({ path: z.string(), kind: z.enum(['added', 'removed', 'changed']), before: z.unknown().optional(), after: z.unknown().optional() })),
          }),
          404: notFound,
          ...commonErrorResponses,
        },
      },
    },
    async (request) => editing(() => editor.diff(request.params.id, request.query.from, request.query.to)),
  );

  r.put(
    '/topics/:id',
    {
      config: { access: 'editor' },
      bodyLimit: definitionLimit,
      schema: {
        tags: ['topics'],
        summary: "Replace a topic's definition (validated, versioned, audited, hot-reloaded by every worker)",
        params: idParams,
        body: z.strictObject({
          definition: z.unknown().refine((d) => d !== undefined, 'is required'),
          base_version: versionNumber.describe('the version the change was made on (GET /v1/topics/:id)'),
        }),
        response: { 200: changeResponse, 404: notFound, 409: conflictBody, 422: unprocessable, ...commonErrorResponses },
      },
    },
    async (request) => {
      const result = await editing(() => editor.update(request.params.id, request.body.definition, request.body.base_version, actor(request)));
      await audited(request, 'topic.update', result, { base_version: request.body.base_version });
      return wireChange(result);
    },
  );

  r.post(
    '/topics/:id/rollback',
    {
      config: { access: 'editor' },
      schema: {
        tags: ['topics'],
        summary: 'Make an earlier version current again, as a new version',
        params: idParams,
        body: z.strictObject({ version: versionNumber, base_version: versionNumber.optional().describe('refuse (409) unless this version is in force') }),
        response: { 200: changeResponse, 404: notFound, 409: conflictBody, 422: unprocessable, ...commonErrorResponses },
      },
    },
    async (request) => {
      const result = await editing(() => editor.rollback(request.params.id, request.body.version, actor(request), request.body.base_version));
      await audited(request, 'topic.rollback', result, { to_version: request.body.version });
      return wireChange(result);
    },
  );

  r.post(
    '/topics/:id/terms',
    {
      config: { access: 'editor' },
      schema: {
        tags: ['topics'],
        summary: "Accept a term or hashtag (e.g. an emerging one) into a topic's lists",
        params: idParams,
        body: z.strictObject({
          term: z.string().trim().min(1).max(200),
          kind: z.enum(['keyword', 'hashtag']),
          weight: z.number().positive().max(10).optional(),
          base_version: versionNumber.optional(),
        }),
        response: { 200: changeResponse.extend({ added: z.boolean().describe('false: already listed; nothing changed') }), 404: notFound, 409: conflictBody, 422: unprocessable, ...commonErrorResponses },
      },
    },
    async (request) => {
      const { term, kind, weight, base_version } = request.body;
      const result = await editing(() => editor.addTerm(request.params.id, { term, kind, ...(weight !== undefined && { weight }) }, actor(request), base_version));
      await audited(request, 'topic.term.add', result, { term, kind });
      return { ...wireChange(result), added: result.added };
    },
  );

  r.get(
    '/emerging',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['topics'],
        summary: "Terms and hashtags riding with a topic's hits that its lists lack: candidates to accept (POST /v1/topics/:id/terms)",
        querystring: z.strictObject({
          pipeline: z.string().min(1).max(64).optional().describe('default: the first pipeline'),
          minutes: z.coerce.number().int().min(1).max(7 * 1440).default(60).describe('how far back to count (bounded by the windows kept)'),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
        response: {
          200: z.object({
            pipeline: z.string(),
            from: z.string(),
            to: z.string(),
            terms: z.array(
              z.object({
                topic: z.string(),
                term: z.string().describe('"#tag" for hashtags'),
                count: z.number().int().describe("signals hitting the topic that carried it, in the period"),
                first_seen_at: z.string(),
                listed: z.boolean().describe('the lists in force have it now (accepted since)'),
              }),
            ),
          }),
          404: errorBodySchema.describe('NOT_FOUND: no such pipeline, or not available in this process'),
          ...commonErrorResponses,
        },
      },
    },
    async (request) => {
      const source = opts.emerging;
      if (!source) throw new ApiError('NOT_FOUND', 'emerging terms are not available in this process');
      const pipeline = request.query.pipeline ?? source.pipelines()[0];
      if (!pipeline || !source.pipelines().includes(pipeline)) throw new ApiError('NOT_FOUND', `unknown pipeline "${request.query.pipeline}" (have: ${source.pipelines().join(', ')})`);
      const read = await source.read(pipeline, request.query.minutes, request.query.limit);
      const iso = (ms: number) => new Date(ms).toISOString();
      return {
        pipeline,
        from: iso(read.fromMs),
        to: iso(read.toMs),
        terms: read.terms.map((t) => ({ topic: t.topic, term: t.term, count: t.count, first_seen_at: iso(t.firstSeenMs), listed: t.listed })),
      };
    },
  );

  r.post(
    '/dry-run',
    {
      config: { access: 'analyst' },
      schema: {
        tags: ['topics'],
        summary: 'Score a text or signals against the lists in force, or a draft topic, as the pipeline would; counts nothing',
        body: dryRunBody,
        response: {
          200: z.object({
            pipeline: z.string(),
            list_version: z.string(),
            draft: z.string().nullable(),
            draft_warnings: z.array(issueSchema),
            model: z.object({ loaded: z.string().nullable(), reason: z.string().nullable() }),
            results: z.array(
              z.object({
                index: z.number().int(),
                signal_id: z.string().nullable(),
                truncated: z.boolean(),
                dead_letter: z.object({ code: z.string(), reason: z.string() }).nullable().describe('why ingest would dead-letter this signal (then it is not scored)'),
                hits: z.array(explained),
                near_misses: z.array(explained),
              }),
            ),
          }),
          404: errorBodySchema.describe('NOT_FOUND: dry runs are not available in this process'),
          422: unprocessable,
          ...commonErrorResponses,
        },
      },
    },
    async (request) => {
      const dryRun = opts.dryRun;
      if (!dryRun) throw new ApiError('NOT_FOUND', 'dry runs are not available in this process');
      const body = request.body;
      const problems: ErrorDetail[] = [];
      if (body.pipeline !== undefined && !dryRun.pipelines().includes(body.pipeline))
        problems.push({ path: 'pipeline', message: `unknown pipeline "${body.pipeline}" (have: ${dryRun.pipelines().join(', ')})` });
      if (body.signals && body.signals.length > maxSignals) problems.push({ path: 'signals', message: `at most ${maxSignals} signals per dry run (got ${body.signals.length})` });
      if (problems.length > 0) throw new ApiError('VALIDATION', problems.map((p) => `${p.path}: ${p.message}`).join('; '), { status: 422, details: problems });

      // Validated as ingest validates them: a bad signal is reported as ingest would dead-letter it.
      const entries: { index: number; id: string | null; signal?: Signal; dead?: { code: string; reason: string } }[] = [];
      if (body.text !== undefined) {
        const decoded = validateSignal({ id: 'text', ts: clock.now(), text: body.text, surface: 'post', ...(body.hashtags && { hashtags: body.hashtags }), ...(body.lang && { lang: body.lang }) });
        if (!decoded.ok) throw new ApiError('VALIDATION', decoded.reason, { status: 422, details: [{ path: '', message: decoded.reason }] });
        entries.push({ index: 0, id: 'text', signal: decoded.signal });
      } else {
        body.signals!.forEach((raw, index) => {
          const id = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'string' ? ((raw as { id: string }).id.slice(0, 128)) : null;
          if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return entries.push({ index, id, dead: { code: 'invalid', reason: 'record must be a JSON object' } });
          const decoded = validateSignal(raw);
          entries.push(decoded.ok ? { index, id, signal: decoded.signal } : { index, id, dead: { code: decoded.code, reason: decoded.reason } });
        });
      }

      let draft: { definition: TopicDefinition; warnings: DefinitionIssue[] } | undefined;
      if (body.topic) {
        const topic = body.topic;
        draft = await editing(() => editor.checkDraft(topic.definition));
        if (draft.definition.id !== topic.id) throw new ApiError('VALIDATION', 'the draft is invalid (1 problem)', { status: 422, details: [{ path: 'id', message: `must be "${topic.id}", the id given with the draft` }] });
      }

      const signals = entries.flatMap((e) => (e.signal ? [e.signal] : []));
      const run = await dryRun.run({ signals, ...(body.pipeline !== undefined && { pipeline: body.pipeline }), ...(draft && { draft: draft.definition }) });
      let k = 0;
      return {
        pipeline: run.pipeline,
        list_version: run.listVersion,
        draft: run.draft,
        draft_warnings: draft?.warnings ?? [],
        model: run.model,
        results: entries.map((e) => {
          if (!e.signal) return { index: e.index, signal_id: e.id, truncated: false, dead_letter: e.dead!, hits: [], near_misses: [] };
          const res = run.results[k++]!;
          return { index: e.index, signal_id: res.signalId, truncated: res.truncated, dead_letter: null, hits: res.hits.map(wireScore), near_misses: res.nearMisses.map(wireScore) };
        }),
      };
    },
  );
}
