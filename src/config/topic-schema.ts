import { z } from 'zod';

export const severityTiers = ['critical', 'high', 'medium', 'low'] as const;
export type SeverityTier = (typeof severityTiers)[number];

export const matchModes = ['word', 'phrase', 'prefix', 'hashtag'] as const;
export type MatchMode = (typeof matchModes)[number];

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be a lowercase slug (a-z, 0-9, -), at most 64 chars');

const termEntry = z.union([
  z.string().min(1).max(200),
  z.strictObject({
    term: z.string().min(1).max(200),
    weight: z.number().positive().max(10).default(1),
    mode: z.enum(matchModes).optional(),
    lang: z.string().min(2).max(35).optional(),
  }),
]);

/** A harm topic's definition, one file per topic under config/topics/. */
export const topicDefinitionSchema = z.strictObject({
  id: slug,
  name: z.string().min(1).max(120),
  severity: z.enum(severityTiers),
  description: z.string().max(2000).optional(),
  terms: z.array(termEntry).max(50_000).default([]),
  hashtags: z.array(z.string().min(1).max(140)).max(50_000).default([]),
  exemplars: z.array(z.string().min(1).max(1000)).max(1000).default([]),
  /** A signal is a hit for this topic when its lexicon score reaches this value. */
  threshold: z.number().positive().max(100).default(1),
});

export type TopicDefinitionInput = z.input<typeof topicDefinitionSchema>;
export type TopicDefinition = z.output<typeof topicDefinitionSchema>;
