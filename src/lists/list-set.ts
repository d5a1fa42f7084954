import { createHash } from 'node:crypto';
import { z } from 'zod';
import { topicDefinitionSchema, type TopicDefinition } from '../config/topic-schema.js';
import type { ConfigProblem } from '../shared/errors.js';

/** Names one published list set. */
export interface ListSetRef {
  /** Content hash of every topic definition: equal content, equal version. */
  version: string;
  /** Publication counter: grows with every publish of a new version. */
  revision: number;
}

/** A validated list set ready to publish (its revision is given by the channel). */
export interface ListSetDraft {
  version: string;
  /** Every topic definition, sorted by id. */
  topics: TopicDefinition[];
  /** Where it came from, e.g. "files:/srv/surgewatch/config/topics". */
  source: string;
  /**
   * ISO-8601 time of the newest change to what it came from (the files' last modification):
   * at start, a process does not replace a set in force that was edited later.
   */
  editedAt?: string;
}

/**
 * One version of one topic's definition. Every publish that changes a topic's content gives it
 * the next version number (1, 2, ...), recorded with the publish that made it; the definition
 * itself is kept next to it (the newest versions, see the channels' limits).
 */
export interface TopicVersion {
  topic: string;
  version: number;
  /** Content hash of the definition (equal content, equal hash). */
  hash: string;
  /** ISO-8601 time of the publish. */
  at: string;
  /** Who published it: an API key's name, or where files came from ("files:/srv/.../topics"). */
  by: string;
  /** The list set revision that brought it in. */
  revision: number;
}

/** The list set in force: what every worker process compiles and runs. */
export interface ListSet extends ListSetDraft, ListSetRef {
  /** ISO-8601. */
  publishedAt: string;
}

/** Which list set a worker process runs, as it last reported. */
export interface WorkerListState extends ListSetRef {
  workerId: string;
  pid: number;
  host: string;
  /** ISO-8601 time of the report; reports older than the channel's worker TTL are not listed. */
  at: string;
}

/** A list change that was rejected: the active version stayed. */
export interface ListError {
  /** ISO-8601. */
  at: string;
  /** The folder or set that was rejected, e.g. "files:/srv/.../topics" or "revision 7". */
  source: string;
  /** Every problem, located by file and path. */
  problems: ConfigProblem[];
  /** The list set that stays active. */
  active?: ListSetRef;
  reportedBy: string;
}

// Keys sorted at every level, so that the hash does not depend on how a definition was built.
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The version of a set of topic definitions: a hash of their whole content (terms, hashtags,
 * exclusions, thresholds, and also severity, names and exemplars, which change alerts too).
 */
export function listSetVersion(topics: readonly TopicDefinition[]): string {
  const sorted = [...topics].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return createHash('sha256').update(canonicalJson(sorted)).digest('hex').slice(0, 12);
}

/** The content hash of one topic definition (a TopicVersion's hash). */
export function topicHash(topic: TopicDefinition): string {
  return createHash('sha256').update(canonicalJson(topic)).digest('hex').slice(0, 12);
}

export function createListSetDraft(topics: readonly TopicDefinition[], source: string, editedAtMs?: number): ListSetDraft {
  const sorted = [...topics].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { version: listSetVersion(sorted), topics: sorted, source, ...(editedAtMs !== undefined && { editedAt: new Date(editedAtMs).toISOString() }) };
}

/** True when `current` is known to have been edited after `draft`: a start must not replace it. */
export function isNewerSet(current: { editedAt?: string | undefined } | undefined, draft: { editedAt?: string | undefined }): boolean {
  return !!current?.editedAt && !!draft.editedAt && Date.parse(current.editedAt) > Date.parse(draft.editedAt);
}

export const listSetTopicsSchema = z.array(topicDefinitionSchema);

const refSchema = z.object({ version: z.string().min(1), revision: z.number().int().min(0) });

export const listErrorSchema = z.object({
  at: z.string(),
  source: z.string(),
  problems: z.array(z.object({ source: z.string(), path: z.string(), message: z.string() })),
  active: refSchema.optional(),
  reportedBy: z.string(),
});

export const topicVersionSchema = z.object({
  topic: z.string(),
  version: z.number().int().min(1),
  hash: z.string(),
  at: z.string(),
  by: z.string(),
  revision: z.number().int().min(0),
});

export const workerListStateSchema = refSchema.extend({
  workerId: z.string(),
  pid: z.number().int(),
  host: z.string(),
  at: z.string(),
});
