/**
 * Labelled text for training, calibration and quality figures: one JSON object per line,
 * `{"text","topic"}` plus optional `id`, `dataset`, `lang`, `source`, `label_raw`, `theme` (the
 * layout of ../shared/data/text/labelled-dev.jsonl). `topic` is a label: a topic id, a label a
 * topic definition lists in `labels`, "benign", or "offensive" (crude but not harmful).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { TopicDefinition } from '../config/topic-schema.js';

export const BENIGN = 'benign';
export const OFFENSIVE = 'offensive';

export const labelledRowSchema = z.object({
  id: z.string().min(1).max(128).optional(),
  text: z.string().min(1).max(10_000),
  topic: z.string().min(1).max(64),
  dataset: z.string().min(1).max(128).optional(),
  lang: z.string().max(35).optional(),
  source: z.string().max(512).optional(),
  label_raw: z.string().max(512).optional(),
  theme: z.string().max(128).optional(),
});

export type LabelledRow = z.output<typeof labelledRowSchema> & { id: string };

/** A row's id, or a content hash when it has none (so splits repeat run after run). */
export function rowId(row: { id?: string | undefined; text: string }): string {
  return row.id ?? `sha1:${createHash('sha1').update(row.text).digest('hex').slice(0, 16)}`;
}

export type Split = 'train' | 'calibration' | 'test';

/** FNV-1a over the id, as a fraction in [0, 1). */
function unitHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) / 0x1_0000_0000;
}

/**
 * The split a row belongs to, from its id alone: 60% train, 20% calibration (probabilities and
 * thresholds), 20% test. Every command that trains, calibrates or backtests uses this one
 * function, so that test rows never reach training.
 */
export function splitOf(id: string): Split {
  const u = unitHash(id);
  return u < 0.6 ? 'train' : u < 0.8 ? 'calibration' : 'test';
}

/**
 * Maps data labels to topic ids: each topic's `labels`, plus its id and its id with
 * underscores ("scams-fraud" also answers to "scams_fraud"). Labels that name no topic
 * ("benign", "offensive", a topic not configured) map to nothing.
 */
export function labelMap(topics: Iterable<Pick<TopicDefinition, 'id' | 'labels'>>): Map<string, string> {
  const map = new Map<string, string>();
  for (const t of topics) for (const label of [t.id, t.id.replace(/-/g, '_'), ...t.labels]) map.set(label, t.id);
  return map;
}
