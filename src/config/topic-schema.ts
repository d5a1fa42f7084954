import { z } from 'zod';

export const severityTiers = ['critical', 'high', 'medium', 'low'] as const;
export type SeverityTier = (typeof severityTiers)[number];

/**
 * How a term matches:
 * - word / phrase: whole tokens, after evasion folding (word boundaries respected);
 * - prefix: a single token that starts with the term ("suicid" matches "suicidal");
 * - hashtag: the whole hashtag (from the signal's list or written inline as #tag);
 * - aggressive: anywhere in the separator-stripped view ("k i l l m y s e l f"), ignoring word
 *   boundaries: catches more evasion, at a higher false-positive risk (see `lists lint`).
 */
export const matchModes = ['word', 'phrase', 'prefix', 'hashtag', 'aggressive'] as const;
export type MatchMode = (typeof matchModes)[number];

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be a lowercase slug (a-z, 0-9, -), at most 64 chars');
const langTag = z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, 'must be a BCP-47 language tag, e.g. en or pt-BR');

export const termObjectSchema = z.strictObject({
  term: z.string().trim().min(1).max(200),
  weight: z.number().positive().max(10).default(1),
  mode: z.enum(matchModes).optional(),
  /** Only signals in this language (or with no language) match; unset = every language. */
  lang: langTag.optional(),
});

const termEntry = z.union([z.string().trim().min(1).max(200), termObjectSchema], {
  error: () => 'must be a term string or { term, weight?, mode?, lang? }',
});

const exclusionEntry = z.union(
  [
    z.string().trim().min(1).max(200),
    z.strictObject({
      phrase: z.string().trim().min(1).max(200),
      /** Only these terms are cancelled; unset = every term of the topic. */
      terms: z.array(z.string().min(1)).min(1).optional(),
    }),
  ],
  { error: () => 'must be a phrase string or { phrase, terms? }' },
);

/** A harm topic's definition, one file per topic under config/topics/. */
export const topicDefinitionSchema = z.strictObject({
  id: slug,
  name: z.string().min(1).max(120),
  severity: z.enum(severityTiers),
  description: z.string().max(2000).optional(),
  terms: z.array(termEntry).max(50_000).default([]),
  hashtags: z.array(z.string().trim().min(1).max(140)).max(50_000).default([]),
  /** Phrases that cancel a term's match when they overlap it ("suicide squad" for "suicide"). */
  exclusions: z.array(exclusionEntry).max(10_000).default([]),
  /** Example sentences for semantic scoring. */
  exemplars: z.array(z.string().min(1).max(1000)).max(1000).default([]),
  /**
   * Benign sentences that look like the exemplars ("I don't want to wake up early"): a signal
   * nearer to one of these than to every exemplar is not a semantic hit.
   */
  counterExemplars: z.array(z.string().min(1).max(1000)).max(1000).default([]),
  /**
   * Labels in labelled data (`surgewatch train`, `calibrate`, `synth`) that mean this topic,
   * besides its id and its id with underscores, e.g. [scam_fraud] for scams-fraud.
   */
  labels: z.array(z.string().trim().min(1).max(64)).max(50).default([]),
  thresholds: z
    .strictObject({
      /** A signal is a hit when the sum of its distinct matched terms' weights reaches this. */
      lexicon: z.number().positive().max(100).default(1),
      /** Similarity to the nearest exemplar(s) that makes a semantic hit; unset = the pipeline's. */
      semantic: z.number().gt(0).max(1).optional(),
      /** Probability of the topic's trained head that makes a hit; unset = the threshold the head was trained with. */
      head: z.number().gt(0).max(1).optional(),
    })
    .prefault({}),
});

export type TopicDefinitionInput = z.input<typeof topicDefinitionSchema>;
export type TopicDefinition = z.output<typeof topicDefinitionSchema>;
export type TermObject = z.output<typeof termObjectSchema>;

/** A term entry in its object form. */
export function termObject(entry: TopicDefinition['terms'][number]): TermObject {
  return typeof entry === 'string' ? { term: entry, weight: 1 } : entry;
}
