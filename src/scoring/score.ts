import type { TopicDefinition } from '../config/topic-schema.js';
import type { SemanticConfig } from '../config/pipeline-schema.js';
import type { Lexicon, LexiconInput, LexiconMatch } from './lexicon.js';
import type { SemanticMatch } from './semantic.js';

/** Why a topic scored: one entry per distinct term found. */
export interface ScoreReason {
  kind: 'term';
  term: string;
  mode: LexiconMatch['mode'];
  weight: number;
  /** Token index in the text; -1 when found in a hashtag. */
  position: number;
  source: LexiconMatch['source'];
  /** Evasion folding the match needed, e.g. ["leetspeak", "spaced_letters"]. */
  normalizations: LexiconMatch['normalizations'];
}

/** Why a topic scored semantically: the nearest exemplar and how close the signal came. */
export interface SemanticReason {
  kind: 'semantic';
  exemplar: string;
  similarity: number;
  threshold: number;
  /** A benign look-alike at least as near: it vetoes the semantic hit. */
  counterExemplar?: { exemplar: string; similarity: number };
}

/** Why a topic scored by its trained head: which head, which stage, what probability. */
export interface HeadReason {
  kind: 'head';
  /** The head set and version, e.g. "default@2026-12-01.1a2b3c4d". */
  head: string;
  /** static: the first stage decided (the transformer did not re-score the signal). */
  stage: 'transformer' | 'static';
  probability: number;
  threshold: number;
}

export interface TopicScore {
  topic: string;
  /** The lexicon score: the sum of the distinct matched terms' weights. */
  score: number;
  hit: boolean;
  why: (ScoreReason | SemanticReason | HeadReason)[];
  /** Present when the signal was embedded and the topic has exemplars. */
  semantic?: { similarity: number; exemplar: string; threshold: number; counterExemplar?: { exemplar: string; similarity: number } };
  /** Present when the topic has a trained head and the signal was scored by it. */
  head?: Omit<HeadReason, 'kind'>;
  /**
   * What made the hit: the lexicon, the exemplar similarity, both weak signals together, or the
   * topic's trained head.
   */
  hitBy?: 'lexicon' | 'semantic' | 'lexicon+semantic' | 'head';
}

/**
 * Joins head probabilities with lexicon (and exemplar) scores. A topic is a hit when its
 * lexicon hits or its head's probability reaches the threshold. A head result is shown (in
 * `head` and `why`) when it hits or comes within half of the threshold.
 */
export type HeadResult = Omit<HeadReason, 'kind'> & { topic: string };

export function combineHeads(scores: readonly TopicScore[], heads: readonly HeadResult[]): TopicScore[] {
  const byTopic = new Map<string, TopicScore>(scores.map((s) => [s.topic, s]));
  for (const h of heads) {
    const near = h.probability >= h.threshold / 2;
    const prev = byTopic.get(h.topic);
    if (!prev && !near) continue;
    // Decided on the exact probability, shown to 3 decimals.
    const { topic, ...exact } = h;
    const head = { ...exact, probability: Math.round(exact.probability * 1000) / 1000 };
    const entry: TopicScore = { ...(prev ?? { topic, score: 0, hit: false, why: [] }) };
    entry.head = head;
    if (near) entry.why = [...entry.why, { kind: 'head', ...head }];
    if (entry.hit && entry.hitBy === undefined) entry.hitBy = 'lexicon';
    if (!entry.hit && h.probability >= h.threshold) {
      entry.hit = true;
      entry.hitBy = 'head';
    }
    byTopic.set(topic, entry);
  }
  return [...byTopic.values()].sort(
    (a, b) => Number(b.hit) - Number(a.hit) || (b.head?.probability ?? b.semantic?.similarity ?? 0) + b.score - ((a.head?.probability ?? a.semantic?.similarity ?? 0) + a.score) || a.topic.localeCompare(b.topic),
  );
}

/** The matched terms of a score (what windows count as top terms). */
export function matchedTerms(score: TopicScore): string[] {
  return score.why.flatMap((w) => (w.kind === 'term' ? [w.term] : []));
}

/**
 * Joins lexicon scores with semantic matches. A topic is a hit when its lexicon score reaches
 * its lexicon threshold, when its similarity reaches its semantic threshold, or when a lexicon
 * near miss (score above 0) comes with a similarity of at least `assist` x the threshold. A
 * counter-exemplar at least as near as the nearest exemplar vetoes both semantic routes.
 * Topics appear when they have a lexicon score or a similarity within that assist band.
 */
export function combineScores(lexicon: readonly TopicScore[], semantic: readonly SemanticMatch[], config: Pick<SemanticConfig, 'assist'>): TopicScore[] {
  const byTopic = new Map<string, TopicScore>(lexicon.map((s) => [s.topic, { ...s, hitBy: s.hit ? 'lexicon' : undefined }]));
  for (const m of semantic) {
    const near = m.similarity >= m.threshold * config.assist;
    const prev = byTopic.get(m.topic);
    if (!prev && !near) continue;
    const entry: TopicScore = prev ?? { topic: m.topic, score: 0, hit: false, why: [] };
    const reason = { similarity: m.similarity, exemplar: m.exemplar, threshold: m.threshold, ...(m.counter && { counterExemplar: m.counter }) };
    entry.semantic = reason;
    if (near) entry.why = [...entry.why, { kind: 'semantic', ...reason }];
    if (!entry.hit && !m.counter) {
      if (m.similarity >= m.threshold) entry.hitBy = 'semantic';
      else if (near && entry.score > 0) entry.hitBy = 'lexicon+semantic';
      entry.hit = entry.hitBy !== undefined;
    }
    byTopic.set(m.topic, entry);
  }
  return [...byTopic.values()]
    .map((s) => (s.hitBy === undefined ? (({ hitBy: _, ...rest }) => rest)(s) : s))
    .sort((a, b) => Number(b.hit) - Number(a.hit) || (b.semantic?.similarity ?? 0) + b.score - ((a.semantic?.similarity ?? 0) + a.score) || a.topic.localeCompare(b.topic));
}

/** Scores a signal against every topic of a lexicon; only topics with a non-zero score appear. */
/** A lexicon-only score: every reason is a matched term. */
export type LexiconScore = Omit<TopicScore, 'why'> & { why: ScoreReason[] };

export function scoreSignal(lexicon: Lexicon, topics: ReadonlyMap<string, TopicDefinition>, input: LexiconInput): LexiconScore[] {
  const byTopic = new Map<string, Map<string, ScoreReason>>();
  for (const m of lexicon.match(input)) {
    let terms = byTopic.get(m.topic);
    if (!terms) byTopic.set(m.topic, (terms = new Map()));
    // A term counts once per signal, however often it is repeated; the plainest find explains it.
    const prev = terms.get(m.term);
    if (!prev || m.normalizations.length < prev.normalizations.length)
      terms.set(m.term, { kind: 'term', term: m.term, mode: m.mode, weight: m.weight, position: m.position, source: m.source, normalizations: m.normalizations });
  }
  const scores: LexiconScore[] = [];
  for (const [topic, terms] of byTopic) {
    const why = [...terms.values()];
    const score = Math.round(why.reduce((s, r) => s + r.weight, 0) * 1000) / 1000;
    const threshold = topics.get(topic)?.thresholds.lexicon ?? 1;
    scores.push({ topic, score, hit: score >= threshold, why });
  }
  return scores.sort((a, b) => b.score - a.score || a.topic.localeCompare(b.topic));
}
