/**
 * Two-stage scoring with trained heads, on small hand-made heads and vectors: the static first
 * stage scores every signal, the transformer re-scores what it flags, and what the transformer
 * cannot re-score (budget spent, model failing) keeps the static decision.
 */
import { describe, expect, it } from 'vitest';
import { pipelineSchema } from '../../../src/config/pipeline-schema.js';
import { topicDefinitionSchema, type TopicDefinitionInput } from '../../../src/config/topic-schema.js';
import { EmbedderError, type Embedder } from '../../../src/scoring/embedder.js';
import { HEADS_FORMAT, HeadFileError, parseHeadSet, probeAgreement, serializeHeadSet, type HeadSet, type StageHead } from '../../../src/scoring/heads.js';
import { SemanticScorer } from '../../../src/scoring/semantic-scorer.js';
import { StaticEmbedder } from '../../../src/scoring/static-embedder.js';
import { WordPieceTokenizer } from '../../../src/scoring/wordpiece.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { scoreSignal, type LexiconScore } from '../../../src/scoring/score.js';
import { compileLexicon } from '../../../src/scoring/lexicon.js';

// Dimension 0 means "harmful", dimension 1 "anything else".
const words = ['[PAD]', '[UNK]', 'hopeless', 'gone', 'forever', 'pizza', 'tonight', 'sunny'];
const rows: Record<string, [number, number]> = { hopeless: [1, 0], gone: [0.8, 0.2], forever: [0.5, 0.5], pizza: [0, 1], tonight: [0.1, 0.9], sunny: [0, 1], '[UNK]': [0, 1] };
const tokenizer = WordPieceTokenizer.fromJson({ model: { type: 'WordPiece', unk_token: '[UNK]', vocab: Object.fromEntries(words.map((w, i) => [w, i])) } });
const table = new Float32Array(words.length * 2);
words.forEach((w, i) => table.set(rows[w] ?? [0, 0], i * 2));
const staticStage = new StaticEmbedder({ model: 'fake', dim: 2, vectors: table }, tokenizer);

/** The "transformer": harmful when the text says hopeless or gone, whatever else it says. */
function fakeTransformer(): Embedder & { seen: string[]; fail: boolean } {
  return {
    model: 'fake',
    dim: 2,
    seen: [],
    fail: false,
    async embed(texts) {
      if (this.fail) throw new EmbedderError('the model crashed');
      this.seen.push(...texts);
      return texts.map((t) => (/hopeless|gone/.test(t) ? Float32Array.from([1, 0]) : Float32Array.from([0, 1])));
    },
    async close() {},
  };
}

const linearHead = (b: number, threshold: number, flagThreshold?: number): StageHead => ({
  model: { kind: 'linear', dim: 2, w: Float32Array.from([8, -8]), b },
  calibration: { a: 1, b: 0 },
  threshold,
  ...(flagThreshold !== undefined && { flagThreshold }),
});

const headSet = (): HeadSet => ({
  format: HEADS_FORMAT,
  name: 'test',
  version: '2026-12-01.abcd',
  model: 'fake',
  staticDim: 2,
  transformerInput: 'transformer',
  createdAt: '2026-12-01T00:00:00Z',
  topics: [{ topic: 'self-harm', labels: ['self_harm'], transformer: linearHead(0, 0.9), static: linearHead(0, 0.95, 0.3) }],
  probes: { texts: ['hopeless'], transformer: [Float32Array.from([1, 0])], static: [Float32Array.from([1, 0])] },
});

const topic = (over: Partial<TopicDefinitionInput> = {}) =>
  topicDefinitionSchema.parse({ id: 'self-harm', name: 'Self-harm', severity: 'critical', terms: ['kill myself'], ...over } satisfies TopicDefinitionInput);

async function scorer(opts: { maxPerSec?: number; mode?: 'all' | 'candidates'; threshold?: number; embedder?: ReturnType<typeof fakeTransformer>; staticStage?: boolean } = {}) {
  const embedder = opts.embedder ?? fakeTransformer();
  const config = pipelineSchema.parse({ id: 'p', semantic: { mode: opts.mode ?? 'candidates', model: 'fake', maxPerSec: opts.maxPerSec ?? 0 } }).semantic;
  const s = new SemanticScorer(config, embedder, silentLogger, undefined, () => 0);
  s.useHeads({ set: headSet(), static: opts.staticStage === false ? undefined : staticStage });
  const topics = [topic(opts.threshold === undefined ? {} : { thresholds: { head: opts.threshold } })];
  const index = await s.index(topics);
  const lexicon = compileLexicon(topics);
  const score = (texts: string[]) =>
    s.score(
      texts.map((text, i) => ({ signal: { id: `s${i}`, text }, lexicon: scoreSignal(lexicon, new Map(topics.map((t) => [t.id, t])), { text, hashtags: [] }) as LexiconScore[] })),
      index,
    );
  return { s, embedder, score };
}

describe('two-stage scoring with trained heads', () => {
  it('re-scores with the transformer only what the static stage (or the lexicon) flags, and explains the hit by the head', async () => {
    const { s, embedder, score } = await scorer();
    const r = await score(['hopeless gone tonight', 'pizza tonight sunny', 'i will kill myself']);
    expect(embedder.seen).toEqual(['hopeless gone tonight', 'i will kill myself']);
    const [hopeless, pizza, lexical] = r.scores;
    expect(hopeless).toEqual([
      expect.objectContaining({
        topic: 'self-harm',
        hit: true,
        hitBy: 'head',
        head: { head: 'test@2026-12-01.abcd', stage: 'transformer', probability: 1, threshold: 0.9 },
        why: [{ kind: 'head', head: 'test@2026-12-01.abcd', stage: 'transformer', probability: 1, threshold: 0.9 }],
      }),
    ]);
    expect(pizza).toEqual([]);
    expect(lexical![0]).toEqual(expect.objectContaining({ hit: true, hitBy: 'lexicon' }));
    expect(s.stats.candidates).toEqual(expect.objectContaining({ static: 1, lexicon: 1 }));
    expect(s.stats.staticScored).toBe(3);
    expect(s.stats.skipped).toBe(1);
  });

  it("uses the topic's thresholds.head over the head's own threshold", async () => {
    // The transformer gives this text sigmoid(8) = 0.99966.
    const { score } = await scorer({ threshold: 0.999 });
    const entry = (await score(['hopeless gone tonight'])).scores[0]![0]!;
    expect(entry.head?.threshold).toBe(0.999);
    expect(entry.hit).toBe(true);
    const { score: strict } = await scorer({ threshold: 0.9999 });
    expect((await strict(['hopeless gone tonight'])).scores[0]![0]).toEqual(expect.objectContaining({ hit: false }));
  });

  it('keeps the static decision for flagged signals the budget sheds, and says the static stage decided', async () => {
    // A budget of 0.1/s saved up for 10 s: one signal goes to the transformer, the rest are shed.
    const { s, embedder, score } = await scorer({ maxPerSec: 0.1 });
    const r = await score(['hopeless hopeless gone', 'hopeless gone forever', 'forever sunny']);
    expect(embedder.seen).toHaveLength(1);
    expect(s.stats.shed).toBe(1);
    const shed = r.scores.find((x, i) => i < 2 && x[0]?.head?.stage === 'static')!;
    expect(shed[0]).toEqual(expect.objectContaining({ hit: true, hitBy: 'head', head: expect.objectContaining({ stage: 'static', threshold: 0.95 }) }));
    expect(s.stats.staticHits).toBe(1);
  });

  it('falls back to the static decisions, not to nothing, when the transformer fails on a batch', async () => {
    const embedder = fakeTransformer();
    const { s, score } = await scorer({ embedder });
    embedder.fail = true;
    const r = await score(['hopeless hopeless', 'sunny']);
    expect(r.failed).toBe(true);
    expect(r.scores[0]![0]).toEqual(expect.objectContaining({ hit: true, head: expect.objectContaining({ stage: 'static' }) }));
    expect(r.scores[1]).toEqual([]);
    expect(s.state).toBe('degraded');
    expect(s.reason).toMatch(/static first stage/);
  });

  it('feeds the transformer heads the static vector too when the head set says so', async () => {
    const embedder = fakeTransformer();
    const config = pipelineSchema.parse({ id: 'p', semantic: { mode: 'all', model: 'fake' } }).semantic;
    const s = new SemanticScorer(config, embedder, silentLogger);
    const set = headSet();
    // Reads only the static half: harmful words count even where the "transformer" disagrees.
    set.transformerInput = 'transformer+static';
    set.topics[0]!.transformer = { model: { kind: 'linear', dim: 4, w: Float32Array.from([0, 0, 8, -8]), b: 0 }, calibration: { a: 1, b: 0 }, threshold: 0.9 };
    s.useHeads({ set, static: staticStage });
    const index = await s.index([topic()]);
    const r = await s.score([{ signal: { id: 'a', text: 'hopeless' }, lexicon: [] }, { signal: { id: 'b', text: 'gone sunny' }, lexicon: [] }], index);
    expect(r.scores[0]![0]).toEqual(expect.objectContaining({ hit: true, head: expect.objectContaining({ stage: 'transformer' }) }));
    // The transformer calls "gone sunny" harmful; its static vector, which this head reads, does not.
    expect(embedder.seen).toContain('gone sunny');
    expect(r.scores[1]).toEqual([]);
  });

  it('without a static stage, the heads score what candidates mode picks (and everything in mode all)', async () => {
    const { embedder, score } = await scorer({ staticStage: false, mode: 'all' });
    const r = await score(['feeling hopeless', 'sunny']);
    expect(embedder.seen).toEqual(['feeling hopeless', 'sunny']);
    expect(r.scores[0]![0]).toEqual(expect.objectContaining({ hit: true, hitBy: 'head' }));
  });
});

describe('head files', () => {
  it('round-trip through their JSON form', () => {
    const set = headSet();
    const back = parseHeadSet(JSON.parse(serializeHeadSet(set)));
    expect(back.topics[0]!.transformer.model).toEqual(set.topics[0]!.transformer.model);
    expect(back.probes.transformer).toEqual(set.probes.transformer);
  });

  it('are refused with the field at fault when a weight array has the wrong size or a field is missing', () => {
    const json = JSON.parse(serializeHeadSet(headSet()));
    json.topics[0].transformer.model.dim = 3;
    expect(() => parseHeadSet(json, 'x.json')).toThrow(HeadFileError);
    expect(() => parseHeadSet(json, 'x.json')).toThrow(/x\.json: topic self-harm, transformer head: weight sizes do not match dim 3/);
    expect(() => parseHeadSet({ format: 1 }, 'y.json')).toThrow(/y\.json: name: .*version/s);
  });

  it('recognise their model by probe vectors', () => {
    const v = [Float32Array.from([1, 0]), Float32Array.from([0.6, 0.8])];
    expect(probeAgreement(v, v)).toBeCloseTo(1, 6);
    expect(probeAgreement(v, [Float32Array.from([0, 1]), Float32Array.from([0.6, 0.8])])).toBe(0);
    expect(probeAgreement(v, v.slice(1))).toBe(0);
  });
});
