import type { TopicDefinition } from '../config/topic-schema.js';
import type { Lexicon, LexiconInput, LexiconMatch } from './lexicon.js';

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

export interface TopicScore {
  topic: string;
  score: number;
  hit: boolean;
  why: ScoreReason[];
}

/** Scores a signal against every topic of a lexicon; only topics with a non-zero score appear. */
export function scoreSignal(lexicon: Lexicon, topics: ReadonlyMap<string, TopicDefinition>, input: LexiconInput): TopicScore[] {
  const byTopic = new Map<string, Map<string, ScoreReason>>();
  for (const m of lexicon.match(input)) {
    let terms = byTopic.get(m.topic);
    if (!terms) byTopic.set(m.topic, (terms = new Map()));
    // A term counts once per signal, however often it is repeated; the plainest find explains it.
    const prev = terms.get(m.term);
    if (!prev || m.normalizations.length < prev.normalizations.length)
      terms.set(m.term, { kind: 'term', term: m.term, mode: m.mode, weight: m.weight, position: m.position, source: m.source, normalizations: m.normalizations });
  }
  const scores: TopicScore[] = [];
  for (const [topic, terms] of byTopic) {
    const why = [...terms.values()];
    const score = Math.round(why.reduce((s, r) => s + r.weight, 0) * 1000) / 1000;
    const threshold = topics.get(topic)?.thresholds.lexicon ?? 1;
    scores.push({ topic, score, hit: score >= threshold, why });
  }
  return scores.sort((a, b) => b.score - a.score || a.topic.localeCompare(b.topic));
}
