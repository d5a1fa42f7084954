import type { TopicScore } from './score.js';

/** Which stage of scoring decided (or came nearest to deciding) a topic. */
export type ScoreStage = 'keyword' | 'hashtag' | 'head' | 'exemplar';

/** One topic's score for one signal, in the words of a detection team. */
export interface ExplainedScore {
  topic: string;
  hit: boolean;
  /** The stage that made the hit (for a near miss: the strongest one). */
  stage: ScoreStage;
  /** Every stage that contributed. */
  stages: ScoreStage[];
  /** The lexicon score: the sum of the matched terms' weights. */
  score: number;
  /** The head's probability, else the nearest exemplar's similarity; null when the model did not score it. */
  probability: number | null;
  /** The threshold the deciding stage compares with. */
  threshold: number | null;
  /** Matched list entries: terms as listed, hashtags with '#'. */
  matched: string[];
  /** The nearest exemplar, when exemplar similarity was computed. */
  exemplar: string | null;
  /** The full explanation, as `surgewatch score` prints it. */
  why: TopicScore['why'];
}

/** Turns a topic score (lexicon, exemplars, heads combined) into an explained one. */
export function explainScore(s: TopicScore, lexiconThreshold: number): ExplainedScore {
  const terms = s.why.flatMap((w) => (w.kind === 'term' ? [w] : []));
  const lexStage: ScoreStage | undefined = terms.length === 0 ? undefined : terms.every((t) => t.mode === 'hashtag') ? 'hashtag' : 'keyword';
  const stages: ScoreStage[] = [];
  if (terms.some((t) => t.mode !== 'hashtag')) stages.push('keyword');
  if (terms.some((t) => t.mode === 'hashtag')) stages.push('hashtag');
  if (s.why.some((w) => w.kind === 'semantic')) stages.push('exemplar');
  if (s.why.some((w) => w.kind === 'head')) stages.push('head');
  let stage: ScoreStage;
  if (s.hitBy === 'head') stage = 'head';
  else if (s.hitBy === 'semantic' || s.hitBy === 'lexicon+semantic') stage = 'exemplar';
  else stage = lexStage ?? (s.head ? 'head' : 'exemplar');
  const threshold = stage === 'head' ? (s.head?.threshold ?? null) : stage === 'exemplar' ? (s.semantic?.threshold ?? null) : lexiconThreshold;
  return {
    topic: s.topic,
    hit: s.hit,
    stage,
    stages: stages.length > 0 ? stages : [stage],
    score: s.score,
    probability: s.head?.probability ?? s.semantic?.similarity ?? null,
    threshold,
    matched: terms.map((t) => (t.mode === 'hashtag' ? `#${t.term.replace(/^#+/, '')}` : t.term)),
    exemplar: s.semantic?.exemplar ?? null,
    why: s.why,
  };
}
