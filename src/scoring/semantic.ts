import type { SemanticConfig } from '../config/pipeline-schema.js';
import type { TopicDefinition } from '../config/topic-schema.js';
import { termObject } from '../config/topic-schema.js';
import { normalizeText } from '../normalize/text.js';
import { isCommonKey } from './common-words.js';
import { dot, type Embedder } from './embedder.js';
import type { TopicHead } from './heads.js';
import type { StaticEmbedder } from './static-embedder.js';

/** A topic's exemplar sentences and their vectors, for one list version. */
export interface TopicExemplars {
  topic: string;
  /** Similarity that makes a semantic hit for this topic. */
  threshold: number;
  exemplars: readonly string[];
  vectors: readonly Float32Array[];
  counterExemplars: readonly string[];
  counterVectors: readonly Float32Array[];
}

/** A topic scored by its trained head, with the hit threshold this list version gives it. */
export interface HeadTopic {
  head: TopicHead;
  /** The topic's `thresholds.head`, else the head's own. */
  threshold: number;
}

/** The trained heads a list version uses, and the static first stage that feeds them. */
export interface HeadIndex {
  /** "name@version" of the head set, for `why`. */
  label: string;
  topics: ReadonlyMap<string, HeadTopic>;
  /** Absent: the model has no static stage, so heads score only what the transformer embeds. */
  static?: StaticEmbedder | undefined;
  /** The transformer heads read the transformer vector followed by the static one. */
  joinStatic?: boolean;
}

/** The exemplar vectors of one list version under one model; rebuilt on every list change. */
export interface SemanticIndex {
  model: string;
  /** Topics scored by exemplar similarity: those without a trained head. */
  topics: readonly TopicExemplars[];
  heads?: HeadIndex | undefined;
  /** Uncommon words of the topics' exemplars and terms: sharing one makes a signal a candidate. */
  cues: ReadonlySet<string>;
}

/** The nearest exemplar of one topic for one text. */
export interface SemanticMatch {
  topic: string;
  /** Cosine similarity (max, or mean of the top k), rounded to 3 decimals. */
  similarity: number;
  /** The nearest exemplar, which explains the score. */
  exemplar: string;
  threshold: number;
  /** The nearest counter-exemplar when it is at least as near as the exemplar(s): no semantic hit. */
  counter?: { exemplar: string; similarity: number };
}

/** Normalized word keys of a text that can serve as cue words (3+ letters, not common). */
function cueKeys(text: string): string[] {
  return normalizeText(text)
    .tokens.map((t) => t.key)
    .filter((k) => k.length >= 3 && !k.startsWith('@') && !isCommonKey(k));
}

/**
 * Embeds the exemplars of the topics scored by similarity (those `heads` does not cover);
 * topics without exemplars or a head take no part in semantic scoring. Cue words come from the
 * exemplars and terms of the topics scored by similarity (for a topic with a head, the static
 * first stage picks what the transformer sees), or of every topic when the heads have no
 * static stage.
 */
export async function buildSemanticIndex(embedder: Embedder, topics: Iterable<TopicDefinition>, config: SemanticConfig, heads?: HeadIndex): Promise<SemanticIndex> {
  const all = [...topics];
  const withExemplars = all.filter((t) => t.exemplars.length > 0 && !heads?.topics.has(t.id));
  const vectors = await embedder.embed(withExemplars.flatMap((t) => [...t.exemplars, ...t.counterExemplars]));
  const cues = new Set<string>();
  const cueTopics = heads?.static ? all.filter((t) => !heads.topics.has(t.id)) : all;
  for (const t of cueTopics) for (const text of [...t.exemplars, ...t.terms.map((e) => termObject(e).term)]) for (const k of cueKeys(text)) cues.add(k);
  let at = 0;
  const out: TopicExemplars[] = withExemplars.map((t) => {
    const v = vectors.slice(at, (at += t.exemplars.length));
    const counter = vectors.slice(at, (at += t.counterExemplars.length));
    return {
      topic: t.id,
      threshold: t.thresholds.semantic ?? config.threshold,
      exemplars: t.exemplars,
      vectors: v,
      counterExemplars: t.counterExemplars,
      counterVectors: counter,
    };
  });
  return { model: embedder.model, topics: out, cues, ...(heads && heads.topics.size > 0 && { heads }) };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Per topic: the similarity of a text's vector to its nearest exemplar(s). */
export function nearestExemplars(index: SemanticIndex, vector: Float32Array, config: Pick<SemanticConfig, 'aggregate' | 'topK'>): SemanticMatch[] {
  return index.topics.map((t) => {
    const sims = t.vectors.map((v) => dot(v, vector));
    let best = 0;
    for (let i = 1; i < sims.length; i++) if (sims[i]! > sims[best]!) best = i;
    let similarity = sims[best]!;
    if (config.aggregate === 'top-k-mean') {
      const top = [...sims].sort((a, b) => b - a).slice(0, config.topK);
      similarity = top.reduce((s, x) => s + x, 0) / top.length;
    }
    const match: SemanticMatch = { topic: t.topic, similarity: round3(similarity), exemplar: t.exemplars[best]!, threshold: t.threshold };
    let counter = -1;
    let counterSim = -Infinity;
    t.counterVectors.forEach((v, i) => {
      const s = dot(v, vector);
      if (s > counterSim) [counter, counterSim] = [i, s];
    });
    if (counter >= 0 && counterSim >= sims[best]!) match.counter = { exemplar: t.counterExemplars[counter]!, similarity: round3(counterSim) };
    return match;
  });
}

/** FNV-1a over the id: the same signal is always in (or out of) the sample, run after run. */
function sampled(id: string, rate: number): boolean {
  if (rate <= 0) return false;
  if (rate >= 1) return true;
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 0x1_0000_0000 < rate;
}

/** Why a signal was embedded: a lexicon match, the static first stage's flag, a cue word, the sample. */
export type CandidateReason = 'lexicon' | 'static' | 'cue_word' | 'sample';

/**
 * Why a signal is worth embedding in candidates mode, or undefined when it is not: a lexicon
 * match on any topic (a hit or a near miss), an uncommon word shared with a topic's exemplars
 * or terms, or the random sample.
 */
export function candidateReason(
  signal: { id: string; text: string },
  lexiconMatched: boolean,
  index: SemanticIndex,
  config: Pick<SemanticConfig, 'cueWords' | 'sampleRate'>,
): CandidateReason | undefined {
  if (lexiconMatched) return 'lexicon';
  if (config.cueWords && index.cues.size > 0 && signal.text.length > 0) {
    for (const t of normalizeText(signal.text).tokens) if (index.cues.has(t.key)) return 'cue_word';
  }
  return sampled(signal.id, config.sampleRate) ? 'sample' : undefined;
}
