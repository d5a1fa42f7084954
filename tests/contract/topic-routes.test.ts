import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryAlertStore } from '../../src/alerts/memory-alert-store.js';
import { buildApi } from '../../src/api/app.js';
import { MemoryAuditLog, type AuditLog } from '../../src/audit/audit-log.js';
import { RedisAuditLog } from '../../src/audit/redis-audit-log.js';
import { topicLinter } from '../../src/cli/lint.js';
import { MemoryListChannel, type ListChannel } from '../../src/lists/list-channel.js';
import { RedisListChannel } from '../../src/lists/redis-list-channel.js';
import { TopicEditor } from '../../src/lists/topic-editor.js';
import type { Embedder } from '../../src/scoring/embedder.js';
import { SemanticScorer } from '../../src/scoring/semantic-scorer.js';
import { ManualClock, systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/logger.js';
import { DryRunner } from '../../src/worker/dry-runner.js';
import { ListSync } from '../../src/worker/list-sync.js';
import { swapLists, withExemplars, type PipelineRuntime } from '../../src/worker/pipeline-runtime.js';
import { testRuntime, testTopics } from '../_util/fixtures.js';
import { FUZZ_SEED, oddText } from '../_util/hostile.js';
import { createTestRedis, deleteKeys, uniqueId, waitFor } from '../_util/services.js';
import type { Role } from '../../src/config/api-keys.js';
import { auth, roleKeyring } from '../_util/role-keys.js';

const T0 = Date.UTC(2026, 11, 1, 7);
// A phrase no list has: a signal made of it is a hit only once an edited list is in force.
const NEW_TERM = 'moonlit exit plan';

/**
 * A bag-of-words embedder: texts sharing words are near. Stands in for the model so that the
 * dry run's model stage (exemplar similarity) can be seen deciding a hit.
 */
const wordsEmbedder: Embedder = {
  model: 'bag-of-words',
  dim: 64,
  async embed(texts) {
    return texts.map((t) => {
      const v = new Float32Array(64);
      for (const w of t.toLowerCase().match(/[a-z]+/g) ?? []) {
        let h = 7;
        for (let i = 0; i < w.length; i++) h = (h * 31 + w.charCodeAt(i)) >>> 0;
        v[h % 64]! += 1;
      }
      const n = Math.hypot(...v) || 1;
      return v.map((x) => x / n);
    });
  },
  close: async () => {},
};

interface Setup {
  /** The API's channel and the worker's (another connection on Redis). */
  api: ListChannel;
  worker: ListChannel;
  audit: AuditLog;
  cleanup(): Promise<void>;
}

function describeTopicRoutes(name: string, setup: () => Promise<Setup>): void {
  describe(`topic routes on ${name}`, () => {
    let s: Setup;
    let app: FastifyInstance;
    let runtime: PipelineRuntime;
    let sync: ListSync;
    const clock = new ManualClock(T0);

    beforeEach(async () => {
      s = await setup();
      runtime = testRuntime({ topics: 'all', semantic: { mode: 'all', threshold: 0.8 } });
      // The worker's model stage: dry runs must score with it too.
      runtime.semantic = new SemanticScorer(runtime.config.semantic, wordsEmbedder, silentLogger);
      // As a worker starts: lists compiled from its files, exemplars embedded, then the channel followed.
      const files = testTopics.map((t) => (t.id === 'self-harm' ? { ...t, exemplars: ['i cannot go on anymore tonight'] } : t));
      swapLists(runtime, files);
      runtime.lists = await withExemplars(runtime, runtime.lists);
      sync = new ListSync({ channel: s.worker, runtimes: [runtime], clock, logger: silentLogger, source: 'files:/srv/topics', heartbeatMs: 60_000 });
      await sync.start(files, T0 - 60_000);
      const keys = roleKeyring();
      const editor = new TopicEditor({ channel: s.api, clock: systemClock, logger: silentLogger, lint: topicLinter() });
      app = buildApi({
        alerts: new MemoryAlertStore(),
        audit: s.audit,
        keys,
        checks: {},
        mode: name === 'Redis' ? 'service' : 'embedded',
        logger: pino({ level: 'silent' }),
        topics: { editor, dryRun: new DryRunner([runtime], s.api), definitionBodyLimitBytes: 256 * 1024 },
      });
    });
    afterEach(async () => {
      await app.close();
      await sync.close();
      await s.cleanup();
    });

    const get = (url: string, role: Role = 'viewer') => app.inject({ url, headers: auth(role) });
    const send = (method: 'PUT' | 'POST', url: string, payload: unknown, role: Role = 'editor') => app.inject({ method, url, headers: auth(role), payload: payload as object });
    const selfHarm = async () => (await get('/v1/topics/self-harm')).json() as { version: number; definition: { terms: unknown[]; severity: string } & Record<string, unknown> };
    /** Whether the worker's runtime scores a text as a self-harm hit (its lexicon, as a batch would). */
    const workerHits = (text: string) => runtime.lexicon.match({ text, hashtags: [] }).some((m) => m.topic === 'self-harm');

    it('lists the topics in force with their versions, and serves a definition with its version', async () => {
      const list = await get('/v1/topics');
      expect(list.statusCode).toBe(200);
      expect(list.json().topics).toEqual([
        expect.objectContaining({ id: 'scams-fraud', version: 1, updated_by: 'files:/srv/topics', counts: { keywords: 2, hashtags: 0, exemplars: 0 } }),
        expect.objectContaining({ id: 'self-harm', name: 'Self-harm', severity: 'critical', version: 1, counts: { keywords: 3, hashtags: 1, exemplars: 1 } }),
      ]);
      const one = await get('/v1/topics/self-harm');
      expect(one.json()).toMatchObject({ id: 'self-harm', version: 1, definition: { id: 'self-harm', terms: ['kill myself', 'want to die', { term: 'goodbye forever', weight: 0.5 }], hashtags: ['wanttodie'] } });
      expect((await get('/v1/topics/no-such-topic')).json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no topic "no-such-topic"' } });
      expect((await get('/v1/topics/no-such-topic')).statusCode).toBe(404);
      expect((await get('/v1/topics/..%2Fetc')).statusCode).toBe(400);
    });

    it('changes a topic for an editor: a new version, audited, swapped into the running worker without a restart', async () => {
      expect(workerHits(`my ${NEW_TERM} is ready`)).toBe(false);
      const { definition } = await selfHarm();
      const res = await send('PUT', '/v1/topics/self-harm', { base_version: 1, definition: { ...definition, terms: [...definition.terms, NEW_TERM], severity: 'high' } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: 'self-harm', version: 2, changed: true, updated_by: 'editor-key', definition: { severity: 'high' } });

      // The worker picks the new version up through the channel, as from a file reload.
      await waitFor(async () => (workerHits(`my ${NEW_TERM} is ready`) ? true : undefined), 5000, 'the worker to score with the new list');
      expect(runtime.topics.get('self-harm')!.severity).toBe('high');

      const versions = (await get('/v1/topics/self-harm/versions')).json().versions as { version: number; by: string }[];
      expect(versions.map((v) => [v.version, v.by])).toEqual([
        [2, 'editor-key'],
        [1, 'files:/srv/topics'],
      ]);
      expect((await get('/v1/topics/self-harm/versions/1')).json().definition.terms).toHaveLength(3);
      const diff = (await get('/v1/topics/self-harm/diff?from=1')).json();
      expect(diff).toEqual({
        from: 1,
        to: 2,
        changes: [
          { path: 'severity', kind: 'changed', before: 'critical', after: 'high' },
          { path: 'terms', kind: 'added', after: NEW_TERM },
        ],
      });
      const audit = await s.audit.list({ limit: 10 });
      expect(audit.entries[0]).toMatchObject({
        actor: { name: 'editor-key', role: 'editor' },
        action: 'topic.update',
        target: 'self-harm',
        details: { version: 2, from_version: 1, base_version: 1, changes_total: 2, changes: diff.changes },
      });
    });

    it('refuses a change built on an older version (409) and keeps the newer one', async () => {
      const { definition } = await selfHarm();
      expect((await send('PUT', '/v1/topics/self-harm', { base_version: 1, definition: { ...definition, terms: [...definition.terms, NEW_TERM] } })).statusCode).toBe(200);
      const late = await send('PUT', '/v1/topics/self-harm', { base_version: 1, definition: { ...definition, severity: 'low' } });
      expect(late.statusCode).toBe(409);
      expect(late.json()).toEqual({ error: { code: 'CONFLICT', message: expect.stringMatching(/at version 2, not 1/) } });
      const now = await selfHarm();
      expect(now).toMatchObject({ version: 2, definition: { severity: 'critical' } });
      expect(now.definition.terms).toContain(NEW_TERM);
    });

    it('applies changes to two topics made at the same time, neither undoing the other', async () => {
      const [a, b] = await Promise.all([selfHarm(), get('/v1/topics/scams-fraud').then((r) => r.json() as { definition: { terms: string[] } })]);
      const results = await Promise.all([
        send('PUT', '/v1/topics/self-harm', { base_version: 1, definition: { ...a.definition, terms: [...a.definition.terms, NEW_TERM] } }),
        send('PUT', '/v1/topics/scams-fraud', { base_version: 1, definition: { ...b.definition, terms: [...b.definition.terms, 'double your bitcoin'] } }),
      ]);
      expect(results.map((r) => r.statusCode)).toEqual([200, 200]);
      expect((await selfHarm()).definition.terms).toContain(NEW_TERM);
      expect((await get('/v1/topics/scams-fraud')).json().definition.terms).toContain('double your bitcoin');
    });

    it('lets one of two changes made on the same version through, and refuses the other (409)', async () => {
      const { definition } = await selfHarm();
      const results = await Promise.all(
        ['low', 'high'].map((severity) => send('PUT', '/v1/topics/self-harm', { base_version: 1, definition: { ...definition, severity } })),
      );
      expect(results.map((r) => r.statusCode).sort()).toEqual([200, 409]);
      const winner = results.find((r) => r.statusCode === 200)!.json() as { definition: { severity: string } };
      expect(await selfHarm()).toMatchObject({ version: 2, definition: { severity: winner.definition.severity } });
    });

    it('answers an invalid definition with 422 and every problem located, and loses nothing in force', async () => {
      const { definition } = await selfHarm();
      const res = await send('PUT', '/v1/topics/self-harm', {
        base_version: 1,
        definition: { ...definition, severity: 'extreme', terms: [{ term: 'x', weight: -1 }, ''], colour: 'red' },
      });
      expect(res.statusCode).toBe(422);
      const error = res.json().error as { code: string; details: { path: string; message: string }[] };
      expect(error.code).toBe('VALIDATION');
      expect(error.details.map((d) => d.path).sort()).toEqual(['', 'severity', 'terms.0.weight', 'terms.1']);
      expect(error.details.find((d) => d.path === '')!.message).toMatch(/colour/);

      const renamed = await send('PUT', '/v1/topics/self-harm', { base_version: 1, definition: { ...definition, id: 'self-harm-2' } });
      expect(renamed.statusCode).toBe(422);
      expect(renamed.json().error.details).toEqual([{ path: 'id', message: expect.stringMatching(/must be "self-harm"/) }]);
      for (const bad of [[], 'terms', null, 42]) expect((await send('PUT', '/v1/topics/self-harm', { base_version: 1, definition: bad })).statusCode).toBe(422);

      expect(await selfHarm()).toMatchObject({ version: 1, definition });
      expect(workerHits('i want to die')).toBe(true);
      expect((await s.audit.list({ limit: 10 })).entries).toEqual([]);
    });

    it('returns the list checks\' warnings with a change (a term listed twice)', async () => {
      const { definition } = await selfHarm();
      const res = await send('PUT', '/v1/topics/self-harm', { base_version: 1, definition: { ...definition, terms: [...definition.terms, 'Kill myself'] } });
      expect(res.statusCode).toBe(200);
      expect(res.json().warnings).toEqual([expect.objectContaining({ path: 'terms.3', kind: 'duplicate-term' })]);
    });

    it('keeps editing for editors: viewers and analysts read only', async () => {
      const { definition } = await selfHarm();
      for (const role of ['viewer', 'analyst'] as const) {
        expect((await send('PUT', '/v1/topics/self-harm', { base_version: 1, definition }, role)).statusCode).toBe(403);
        expect((await send('POST', '/v1/topics/self-harm/rollback', { version: 1 }, role)).statusCode).toBe(403);
        expect((await send('POST', '/v1/topics/self-harm/terms', { term: 'x', kind: 'keyword' }, role)).statusCode).toBe(403);
      }
      expect((await app.inject({ url: '/v1/topics' })).statusCode).toBe(401);
      expect((await send('PUT', '/v1/topics/self-harm', { base_version: 1, definition }, 'admin')).json()).toMatchObject({ version: 1, changed: false });
    });

    it('rolls back to an earlier version as a new version, and the worker scores with it again', async () => {
      const { definition } = await selfHarm();
      await send('PUT', '/v1/topics/self-harm', { base_version: 1, definition: { ...definition, terms: [NEW_TERM] } });
      await waitFor(async () => (workerHits(NEW_TERM) && !workerHits('i want to die') ? true : undefined), 5000, 'the edited list');

      const res = await send('POST', '/v1/topics/self-harm/rollback', { version: 1 });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ version: 3, changed: true, definition });
      await waitFor(async () => (!workerHits(NEW_TERM) && workerHits('i want to die') ? true : undefined), 5000, 'the rolled-back list');
      expect((await get('/v1/topics/self-harm/diff?from=1&to=3')).json().changes).toEqual([]);
      expect((await s.audit.list({ limit: 1 })).entries[0]).toMatchObject({ action: 'topic.rollback', details: { version: 3, from_version: 2, to_version: 1 } });

      expect((await send('POST', '/v1/topics/self-harm/rollback', { version: 9 })).statusCode).toBe(404);
      expect((await send('POST', '/v1/topics/self-harm/rollback', { version: 1, base_version: 2 })).statusCode).toBe(409);
    });

    it('accepts an emerging term or hashtag into a list once', async () => {
      const tag = await send('POST', '/v1/topics/self-harm/terms', { term: '#MoonlitExit', kind: 'hashtag' });
      expect(tag.json()).toMatchObject({ version: 2, added: true, changed: true });
      expect(tag.json().definition.hashtags).toEqual(['wanttodie', 'MoonlitExit']);
      const again = await send('POST', '/v1/topics/self-harm/terms', { term: 'moonlitexit', kind: 'hashtag' });
      expect(again.json()).toMatchObject({ version: 2, added: false, changed: false });
      const word = await send('POST', '/v1/topics/self-harm/terms', { term: 'unalive', kind: 'keyword', weight: 0.5, base_version: 2 });
      expect(word.json()).toMatchObject({ version: 3, added: true });
      expect(word.json().definition.terms).toContainEqual({ term: 'unalive', weight: 0.5 });
      await waitFor(async () => (runtime.lexicon.match({ text: 'so tired', hashtags: ['moonlitexit'] }).length > 0 ? true : undefined), 5000, 'the accepted hashtag');
      expect((await s.audit.list({ limit: 5 })).entries.map((e) => e.action)).toEqual(['topic.term.add', 'topic.term.add']);
      expect((await send('POST', '/v1/topics/nope/terms', { term: 'x', kind: 'keyword' })).statusCode).toBe(404);
    });

    it('dry-runs a text and a batch of signals with the pipeline\'s stages and says why', async () => {
      const text = await send('POST', '/v1/dry-run', { text: 'I want to die, goodbye forever #wanttodie' }, 'analyst');
      expect(text.statusCode).toBe(200);
      const body = text.json();
      expect(body).toMatchObject({ pipeline: 'test', draft: null, model: { loaded: 'bag-of-words' } });
      expect(body.results).toEqual([expect.objectContaining({ index: 0, signal_id: 'text', dead_letter: null })]);
      expect(body.results[0].hits).toEqual([
        expect.objectContaining({ topic: 'self-harm', hit: true, stage: 'keyword', stages: ['keyword', 'hashtag'], score: 2.5, matched: ['want to die', 'goodbye forever', '#wanttodie'] }),
      ]);

      const batch = await send(
        'POST',
        '/v1/dry-run',
        {
          signals: [
            { id: 's1', ts: T0, text: 'guaranteed returns on this crypto giveaway', surface: 'post' },
            { id: 's2', ts: 'yesterday', text: 'x', surface: 'post' },
            'not an object',
            { id: 's4', ts: T0, text: 'I cannot go on anymore tonight', surface: 'comment' },
            { id: 's5', ts: T0, text: 'best pizza in town', surface: 'post' },
          ],
        },
        'analyst',
      );
      expect(batch.statusCode).toBe(200);
      const results = batch.json().results as { signal_id: string | null; dead_letter: { code: string; reason: string } | null; hits: { topic: string; stage: string; probability: number | null }[] }[];
      expect(results.map((r) => [r.signal_id, r.dead_letter?.code ?? null, r.hits.map((h) => `${h.topic}:${h.stage}`)])).toEqual([
        ['s1', null, ['scams-fraud:keyword']],
        ['s2', 'invalid', []],
        [null, 'invalid', []],
        // The model stage alone: near an exemplar, no listed term.
        ['s4', null, ['self-harm:exemplar']],
        ['s5', null, []],
      ]);
      expect(results[1]!.dead_letter!.reason).toMatch(/^ts: /);
      expect(results[3]!.hits[0]!.probability).toBeGreaterThanOrEqual(0.8);
      // The stream's figures are untouched: dry runs have a scorer of their own.
      expect(runtime.semantic!.stats.candidates.all).toBe(0);
      expect(runtime.signalStats).toEqual({ signals: 0, withoutAuthor: 0 });
    });

    it('dry-runs an unsaved draft topic without publishing it', async () => {
      const draft = { id: 'self-harm', name: 'Self-harm', severity: 'critical', terms: [NEW_TERM] };
      const res = await send('POST', '/v1/dry-run', { text: `my ${NEW_TERM}; I want to die`, topic: { id: 'self-harm', definition: draft } }, 'analyst');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ draft: 'self-harm', results: [{ hits: [{ topic: 'self-harm', matched: [NEW_TERM] }] }] });
      const added = await send('POST', '/v1/dry-run', { text: 'free vbucks here', topic: { id: 'game-scams', definition: { id: 'game-scams', name: 'Game scams', severity: 'low', terms: ['free vbucks'] } } }, 'analyst');
      expect(added.json().results[0].hits).toEqual([expect.objectContaining({ topic: 'game-scams', stage: 'keyword' })]);
      // Nothing was published: the lists in force and the worker are as they were.
      expect(await selfHarm()).toMatchObject({ version: 1 });
      expect(workerHits(NEW_TERM)).toBe(false);

      const invalid = await send('POST', '/v1/dry-run', { text: 'x', topic: { id: 'self-harm', definition: { ...draft, severity: 'extreme' } } }, 'analyst');
      expect(invalid.statusCode).toBe(422);
      expect(invalid.json().error.details).toEqual([{ path: 'severity', message: expect.any(String) }]);
    });

    it('answers bad dry-run requests clearly', async () => {
      const cases: [unknown, number, RegExp][] = [
        [{}, 400, /give either text or signals/],
        [{ text: 'a', signals: [] }, 400, /give either text or signals/],
        [{ text: 'a', pipeline: 'nope' }, 422, /unknown pipeline "nope"/],
        [{ signals: Array.from({ length: 501 }, () => ({})) }, 422, /at most 500 signals/],
        [{ text: 'a', lang: 'not a language!' }, 422, /lang/],
        [{ text: 'x'.repeat(1100 * 1024) }, 413, /./],
      ];
      for (const [payload, status, message] of cases) {
        const res = await send('POST', '/v1/dry-run', payload, 'analyst');
        expect(res.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(status);
        expect(res.json().error.message).toMatch(message);
      }
      expect((await send('POST', '/v1/dry-run', { text: 'a' }, 'viewer')).statusCode).toBe(403);
    });

    it('never answers 5xx to hostile bodies, and changes nothing in force', async () => {
      const { definition } = await selfHarm();
      const hostile = fc.oneof(fc.jsonValue({ maxDepth: 4 }), oddText(6), fc.constantFrom(-1, 1e309, Number.MAX_SAFE_INTEGER, '', null, [], {}, '__proto__'));
      // A valid definition with one field made hostile, or anything at all.
      const mutated = fc.tuple(fc.constantFrom(...Object.keys(definition), 'colour', 'constructor'), hostile).map(([k, v]) => ({ ...definition, [k]: v }));
      const requests = fc.oneof(
        // base_version 0 is never in force: a mutation that happens to be valid gets 409, so nothing changes.
        mutated.map((d) => ({ method: 'PUT' as const, url: '/v1/topics/self-harm', payload: { base_version: 0, definition: d } })),
        hostile.map((v) => ({ method: 'PUT' as const, url: '/v1/topics/self-harm', payload: v })),
        hostile.map((v) => ({ method: 'POST' as const, url: '/v1/topics/self-harm/terms', payload: { term: v, kind: 'keyword', base_version: 0 } })),
        hostile.map((v) => ({ method: 'POST' as const, url: '/v1/topics/self-harm/rollback', payload: { version: v, base_version: 0 } })),
        fc.oneof(mutated, hostile).map((d) => ({ method: 'POST' as const, url: '/v1/dry-run', payload: { text: 'i want to die', topic: { id: 'self-harm', definition: d } } })),
        fc.tuple(oddText(), hostile).map(([text, v]) => ({ method: 'POST' as const, url: '/v1/dry-run', payload: { signals: [{ id: 'f', ts: T0, text: text || 'x', surface: 'post' }, v] } })),
      );
      await fc.assert(
        fc.asyncProperty(requests, async ({ method, url, payload }) => {
          const res = await app.inject({ method, url, headers: { ...auth('admin'), 'content-type': 'application/json' }, payload: JSON.stringify(payload) ?? 'null' });
          expect(res.statusCode, `${method} ${url} ${res.body.slice(0, 200)}`).toBeLessThan(500);
          expect(res.json()).toBeTypeOf('object');
        }),
        { numRuns: 150, seed: FUZZ_SEED },
      );
      expect(await selfHarm()).toMatchObject({ version: 1, definition });
    });

    it('describes every topic route in the OpenAPI document, with its role', async () => {
      const doc = (await app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { description?: string }>> };
      expect(doc.paths['/v1/topics/{id}']!.put!.description).toBe('Role: editor or above.');
      expect(doc.paths['/v1/topics/{id}/diff']!.get!.description).toBe('Role: viewer or above.');
      expect(doc.paths['/v1/dry-run']!.post!.description).toBe('Role: analyst or above.');
      expect(Object.keys(doc.paths).filter((p) => p.startsWith('/v1/topics')).length).toBe(7);
    });

    it('scores hostile text without harm and takes no huge definition', async () => {
      const hostile = ['k\u200Bi\u200Bl\u200Bl m\u0443self', '\u202Ewant to die\u202C', '\uD800 lone surrogate', 'ｗａｎｔ ｔｏ ｄｉｅ', '🙂'.repeat(5000), 'a'.repeat(20_000)];
      const res = await send('POST', '/v1/dry-run', { signals: hostile.map((text, i) => ({ id: `h${i}`, ts: T0, text, surface: 'post' })) }, 'analyst');
      expect(res.statusCode).toBe(200);
      const results = res.json().results as { truncated: boolean; hits: { topic: string }[] }[];
      expect(results[3]!.hits.map((h) => h.topic)).toEqual(['self-harm']);
      expect(results[5]!.truncated).toBe(true);

      const { definition } = await selfHarm();
      const huge = { ...definition, terms: Array.from({ length: 20_000 }, (_, i) => `term number ${i}`) };
      const big = await send('PUT', '/v1/topics/self-harm', { base_version: 1, definition: huge });
      expect(big.statusCode).toBe(413);
      expect(big.json().error.code).toBe('PAYLOAD_TOO_LARGE');
      expect((await app.inject({ method: 'PUT', url: '/v1/topics/self-harm', headers: { ...auth('editor'), 'content-type': 'application/json' }, payload: '{"base_version":1,"definition":{"__proto__":{"x":1}}}' })).statusCode).toBe(400);
      expect(await selfHarm()).toMatchObject({ version: 1 });
    });
  });
}

describeTopicRoutes('memory', async () => {
  const channel = new MemoryListChannel();
  return { api: channel, worker: channel, audit: new MemoryAuditLog(systemClock), cleanup: async () => channel.close() };
});

const redis: Redis = createTestRedis();
afterAll(async () => {
  await redis.quit();
});

describeTopicRoutes('Redis', async () => {
  const prefix = uniqueId('topics');
  const workerConn = redis.duplicate();
  const api = new RedisListChannel(redis, prefix);
  const worker = new RedisListChannel(workerConn, prefix);
  return {
    api,
    worker,
    audit: new RedisAuditLog(redis, prefix, { retentionDays: 30 }),
    cleanup: async () => {
      await worker.close();
      await api.close();
      await workerConn.quit();
      await deleteKeys(redis, prefix);
    },
  };
});
