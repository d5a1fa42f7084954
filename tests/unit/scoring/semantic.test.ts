/**
 * Semantic scoring with the default model (Universal Sentence Encoder Lite, from its npm
 * package) and the shipped topic lists.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { pipelineSchema } from '../../../src/config/pipeline-schema.js';
import { topicDefinitionSchema } from '../../../src/config/topic-schema.js';
import { startRuntime } from '../../../src/cli/commands.js';
import { EmbedderError, type Embedder } from '../../../src/scoring/embedder.js';
import { candidateReason } from '../../../src/scoring/semantic.js';
import { SemanticScorer } from '../../../src/scoring/semantic-scorer.js';
import type { TopicScore } from '../../../src/scoring/score.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { buildPipelineRuntime, type PipelineRuntime } from '../../../src/worker/pipeline-runtime.js';
import { scoreForRuntime } from '../../../src/worker/process-records.js';
import { indexLists, setupSemantic, type SemanticSetup } from '../../../src/worker/semantic-setup.js';
import type { Signal } from '../../../src/ingest/signal.js';
import { shippedPipelinesOn } from '../../_util/pipelines.js';

// The shipped pipelines and lists, on USE Lite (the shipped pipeline names a fetched model).
const pipelines = shippedPipelinesOn('use-lite');
const config = loadConfig({ env: { SURGEWATCH_PIPELINES_DIR: pipelines.dir } });
const labeled = readFileSync('config/corpus/labeled-semantic.jsonl', 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { text: string; topic: string });
const positives = labeled.filter((l) => l.topic !== 'benign');
const benign = labeled.filter((l) => l.topic === 'benign');

const signal = (text: string, id = text): Signal => ({ id, tsMs: Date.UTC(2026, 10, 1), text, surface: 'post', hashtags: [], truncated: false }) as Signal;

async function scoreAll(rt: PipelineRuntime, texts: string[]): Promise<TopicScore[][]> {
  const items = texts.map((t, i) => ({ signal: signal(t, `s${i}`), lexicon: scoreForRuntime(rt, signal(t)) }));
  return (await rt.semantic!.score(items, rt.lists.semantic)).scores;
}

let rt: PipelineRuntime;
let setup: SemanticSetup;
beforeAll(async () => {
  ({ rt, setup } = await startRuntime(config, { semantic: 'all' }));
});
afterAll(async () => {
  await setup?.close();
  pipelines.remove();
});

describe('paraphrases the lexicon misses (labeled fixture, shipped lists)', () => {
  it('the fixture is what it claims: the lexicon alone hits none of it', () => {
    expect(positives.length).toBeGreaterThanOrEqual(40);
    expect(benign.length).toBeGreaterThanOrEqual(40);
    for (const l of labeled) expect(scoreForRuntime(rt, signal(l.text)).filter((s) => s.hit), l.text).toEqual([]);
  });

  it('catches at least 85% of the paraphrases, each for its own topic, explained by one of its exemplars', async () => {
    const scores = await scoreAll(rt, positives.map((p) => p.text));
    let caught = 0;
    positives.forEach((p, i) => {
      const hit = scores[i]!.find((s) => s.topic === p.topic && s.hit);
      if (!hit) return;
      caught++;
      // The lexicon alone hits none of these; a near miss may add to the similarity.
      expect(['semantic', 'lexicon+semantic']).toContain(hit.hitBy);
      const reason = hit.why.find((w) => w.kind === 'semantic');
      expect(config.topics.find((t) => t.id === p.topic)!.exemplars).toContain(reason && 'exemplar' in reason ? reason.exemplar : undefined);
      const floor = hit.hitBy === 'semantic' ? hit.semantic!.threshold : hit.semantic!.threshold * rt.config.semantic.assist;
      expect(hit.semantic!.similarity).toBeGreaterThanOrEqual(floor);
    });
    expect(caught / positives.length).toBeGreaterThanOrEqual(0.85);
  });

  it('hits at most 1 in 10 benign sentences of the same shape', async () => {
    const scores = await scoreAll(rt, benign.map((b) => b.text));
    const hits = scores.filter((s) => s.some((t) => t.hit)).length;
    expect(hits / benign.length).toBeLessThanOrEqual(0.1);
  });

  it("catches the issue's own example, which has no listed term", async () => {
    const [scores] = await scoreAll(rt, ["honestly I don't want to wake up tomorrow"]);
    expect(scores!.find((s) => s.topic === 'self-harm')).toMatchObject({ hit: true, hitBy: 'semantic', semantic: { exemplar: "I don't want to wake up tomorrow" } });
  });

  it('a counter-exemplar at least as near as every exemplar vetoes the hit, and says so', async () => {
    const [scores] = await scoreAll(rt, ["I don't want to get up early for work on monday"]);
    const s = scores!.find((t) => t.topic === 'self-harm')!;
    expect(s.semantic!.similarity).toBeGreaterThanOrEqual(s.semantic!.threshold);
    expect(s.hit).toBe(false);
    expect(s.semantic!.counterExemplar?.exemplar).toBe("I don't want to get up early for work on monday");
  });
});

describe('combined decision and candidates (small lists)', () => {
  const topics = [
    topicDefinitionSchema.parse({
      id: 'self-harm',
      name: 'Self-harm',
      severity: 'critical',
      terms: ['kill myself', { term: 'goodbye forever', weight: 0.5 }],
      exemplars: ["I don't want to wake up tomorrow", 'I have a plan to end it tonight'],
      thresholds: { semantic: 0.7 },
    }),
  ];
  let small: PipelineRuntime;
  let smallSetup: SemanticSetup;
  beforeAll(async () => {
    small = buildPipelineRuntime(pipelineSchema.parse({ id: 'small', semantic: { mode: 'candidates', sampleRate: 0 } }), topics);
    smallSetup = await setupSemantic([small], { models: config.models, workers: 1, logger: silentLogger });
    await indexLists([small]);
  });
  afterAll(async () => smallSetup?.close());

  it('a lexicon near miss with a similarity in the assist band is a hit of both together', async () => {
    const [scores] = await scoreAll(small, ['goodbye forever, tonight I end it all']);
    const s = scores!.find((t) => t.topic === 'self-harm')!;
    expect(s.score).toBe(0.5);
    expect(s.semantic!.similarity).toBeLessThan(0.7);
    expect(s.semantic!.similarity).toBeGreaterThanOrEqual(0.7 * 0.85);
    expect(s).toMatchObject({ hit: true, hitBy: 'lexicon+semantic' });
  });

  it('picks candidates: lexicon match, shared uncommon word, sample; skips the rest', () => {
    const index = small.lists.semantic!;
    const cfg = { cueWords: true, sampleRate: 0 };
    expect(candidateReason({ id: 'a', text: 'goodbye forever' }, true, index, cfg)).toBe('lexicon');
    expect(candidateReason({ id: 'b', text: 'cannot sleep, will I even wake tomorrow' }, false, index, cfg)).toBe('cue_word');
    expect(candidateReason({ id: 'c', text: 'best pizza in town' }, false, index, cfg)).toBeUndefined();
    // Common words ("I", "want", "to", "tonight"?) are not cues on their own.
    expect(candidateReason({ id: 'd', text: 'I want to go' }, false, index, cfg)).toBeUndefined();
    expect(candidateReason({ id: 'c', text: 'best pizza in town' }, false, index, { cueWords: false, sampleRate: 1 })).toBe('sample');
  });

  it('never takes a common word as a cue, whatever its spelling folds to', () => {
    // Keys fold repeated letters ("good" -> "god", "will" -> "wil"): common words must be compared as keys too.
    const index = rt.lists.semantic!;
    const cfg = { cueWords: true, sampleRate: 0 };
    for (const text of ['good', 'will', 'school', 'need', 'message', 'all', 'want'])
      expect(candidateReason({ id: text, text }, false, index, cfg), text).toBeUndefined();
    expect(candidateReason({ id: 'p', text: 'pills' }, false, index, cfg)).toBe('cue_word');
  });

  it('beyond maxPerSec, keeps lexicon matches and sheds cue-word candidates, and the budget refills with time', async () => {
    let now = 0;
    const scorer = new SemanticScorer({ ...small.config.semantic, maxPerSec: 0.1 }, small.semantic!.embedder, silentLogger, undefined, () => now);
    const texts = ['will I wake tomorrow', 'goodbye forever my friends', 'wake me at noon'];
    const items = () => texts.map((t) => ({ signal: signal(t), lexicon: scoreForRuntime(small, signal(t)) }));
    // A budget of 0.1/s saves up 1 signal over 10 s: the lexicon match gets it.
    const first = await scorer.score(items(), small.lists.semantic);
    expect(first.embedded).toBe(1);
    expect(first.scores[1]!.find((s) => s.topic === 'self-harm')!.semantic).toBeDefined();
    expect(first.scores[0]!.every((s) => s.semantic === undefined)).toBe(true);
    expect(scorer.stats).toMatchObject({ shed: 2, candidates: { lexicon: 1, cue_word: 0 } });
    now += 5_000;
    expect((await scorer.score(items(), small.lists.semantic)).embedded).toBe(0);
    now += 10_000;
    expect((await scorer.score(items(), small.lists.semantic)).embedded).toBe(1);
  });

  it('samples by id: the same signals every run, close to the configured share', () => {
    const index = small.lists.semantic!;
    const pick = () => Array.from({ length: 10_000 }, (_, i) => candidateReason({ id: `sig-${i}`, text: 'best pizza in town' }, false, index, { cueWords: false, sampleRate: 0.05 }));
    const first = pick();
    expect(pick()).toEqual(first);
    const share = first.filter((r) => r === 'sample').length / first.length;
    expect(share).toBeGreaterThan(0.04);
    expect(share).toBeLessThan(0.06);
  });

  it('in candidates mode, embeds only the candidates and counts the rest as skipped', async () => {
    const before = { ...small.semantic!.stats.candidates, skipped: small.semantic!.stats.skipped };
    const items = ['kill myself', 'best pizza in town', 'will I wake tomorrow'].map((t) => ({ signal: signal(t), lexicon: scoreForRuntime(small, signal(t)) }));
    const out = await small.semantic!.score(items, small.lists.semantic);
    expect(out.embedded).toBe(2);
    expect(small.semantic!.stats.skipped - before.skipped).toBe(1);
    expect(out.scores[1]).toEqual([]);
  });
});

describe('when the model fails', () => {
  const failing: Embedder = {
    model: 'broken',
    dim: 0,
    embed: async () => Promise.reject(new EmbedderError('worker died')),
    close: async () => {},
  };

  it('a batch is scored lexicon-only, nothing is dropped, and the scorer reports degraded', async () => {
    const scorer = new SemanticScorer(rt.config.semantic, failing, silentLogger);
    const texts = ['I want to kill myself', 'nice weather'];
    const items = texts.map((t) => ({ signal: signal(t), lexicon: scoreForRuntime(rt, signal(t)) }));
    const out = await scorer.score(items, rt.lists.semantic);
    expect(out.failed).toBe(true);
    expect(out.scores.map((s) => s.filter((t) => t.hit).map((t) => t.topic))).toEqual([['self-harm'], []]);
    expect(scorer.state).toBe('degraded');
    expect(scorer.reason).toMatch(/worker died/);
    expect(scorer.stats.failedBatches).toBe(1);
  });

  it('on a fallback model, scores with it and stays degraded with the reason, also once a failed batch has passed', async () => {
    let fail = true;
    const fallback = rt.semantic!.embedder!;
    const flaky: Embedder = { model: fallback.model, dim: fallback.dim, embed: async (t) => (fail ? Promise.reject(new EmbedderError('worker died')) : fallback.embed(t)), close: async () => {} };
    const why = 'model "m" is not fetched; running on the fallback model "use-lite"';
    const scorer = new SemanticScorer(rt.config.semantic, flaky, silentLogger, why);
    expect(scorer.model).toBe('use-lite');
    expect(scorer).toMatchObject({ state: 'degraded', reason: why });
    const items = ["honestly I don't want to wake up tomorrow"].map((t) => ({ signal: signal(t), lexicon: scoreForRuntime(rt, signal(t)) }));
    expect((await scorer.score(items, rt.lists.semantic)).failed).toBe(true);
    expect(scorer.reason).toMatch(/worker died/);
    fail = false;
    const out = await scorer.score(items, rt.lists.semantic);
    expect(out.embedded).toBe(1);
    expect(out.scores[0]!.find((s) => s.topic === 'self-harm')).toMatchObject({ hit: true, hitBy: 'semantic' });
    expect(scorer).toMatchObject({ state: 'degraded', reason: why });
  });

  it('without a model (optional and missing), exemplars are not indexed and scoring is lexicon-only', async () => {
    const scorer = new SemanticScorer(rt.config.semantic, undefined, silentLogger, 'model "x" missing');
    expect(await scorer.index(config.topics)).toBeUndefined();
    expect(scorer).toMatchObject({ state: 'degraded', reason: 'model "x" missing' });
  });
});
