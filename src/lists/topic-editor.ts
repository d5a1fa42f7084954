import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { termObject, topicDefinitionSchema, type TopicDefinition } from '../config/topic-schema.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { ListChannel, ListSnapshot } from './list-channel.js';
import { createListSetDraft, topicHash, type ListSet, type TopicVersion } from './list-set.js';
import { diffTopics, type TopicChange } from './topic-diff.js';
import { topicFileText } from './topic-file.js';

/** A located problem or remark about a definition ("terms.3.weight"), as `lists lint` reports them. */
export interface DefinitionIssue {
  path: string;
  message: string;
  /** The lint finding's kind, e.g. "corpus-hits"; absent for schema problems. */
  kind?: string;
}

/**
 * Checks a whole proposed set for one changed topic: errors refuse the change, warnings are
 * shown with it. Given by the composition root (the list linter), so that lists/ does not
 * depend on the command line.
 */
export type TopicLinter = (topics: readonly TopicDefinition[], changed: string) => { errors: DefinitionIssue[]; warnings: DefinitionIssue[] };

export type TopicEditFailure = 'not_found' | 'conflict' | 'invalid' | 'no_lists';

/** A change or read that cannot be done; `reason` says which answer a client gets. */
export class TopicEditError extends Error {
  constructor(
    readonly reason: TopicEditFailure,
    message: string,
    readonly details: DefinitionIssue[] = [],
    /** For a conflict: the version in force. */
    readonly liveVersion?: number,
  ) {
    super(message);
    this.name = 'TopicEditError';
  }
}

/** A topic as listed. */
export interface TopicSummary {
  id: string;
  name: string;
  severity: TopicDefinition['severity'];
  version: number;
  updatedAt: string | null;
  updatedBy: string | null;
  counts: { keywords: number; hashtags: number; exemplars: number };
}

/** A topic's definition at one version. */
export interface TopicAtVersion {
  id: string;
  version: number;
  definition: TopicDefinition;
  updatedAt: string | null;
  updatedBy: string | null;
}

export interface TopicChangeResult extends TopicAtVersion {
  /** False when the definition equals the one in force: nothing was published. */
  changed: boolean;
  /** Lint remarks on the new definition (false-positive risk, duplicates, ...). */
  warnings: DefinitionIssue[];
  /** The version the change replaced (for the audit trail). */
  previous: { version: number; definition: TopicDefinition };
}

export interface TopicEditorOptions {
  channel: ListChannel;
  clock: Clock;
  logger: Logger;
  lint?: TopicLinter;
  /**
   * Embedded mode: each change is also written to the topic's file in this folder, so that it
   * outlives the process (the history itself is kept in memory only).
   */
  filesDir?: string;
}

/** Attempts at a change while other topics keep changing under it. */
const MAX_ATTEMPTS = 5;

/**
 * Reads and changes topic definitions through the list channel: every change is validated
 * (the schema, then the list linter), built on the set in force and published with a
 * compare-and-set, so that two editors never undo each other's changes, and every worker swaps
 * it in as it does a file reload. Versions are the channel's per-topic history.
 */
export class TopicEditor {
  constructor(private readonly opts: TopicEditorOptions) {}

  private async snapshot(): Promise<ListSnapshot & { set: ListSet }> {
    const snap = await this.opts.channel.snapshot();
    if (!snap.set) throw new TopicEditError('no_lists', 'no topic lists are in force yet (no worker has published them)');
    return snap as ListSnapshot & { set: ListSet };
  }

  private static live(snap: ListSnapshot & { set: ListSet }, id: string): { topic: TopicDefinition; head: TopicVersion | undefined; version: number } {
    const topic = snap.set.topics.find((t) => t.id === id);
    if (!topic) throw new TopicEditError('not_found', `no topic "${id}"`);
    const head = snap.heads.get(id);
    // Lists published before versions were recorded have none yet: version 0.
    return { topic, head, version: head?.version ?? 0 };
  }

  async list(): Promise<{ topics: TopicSummary[]; listVersion: string; revision: number }> {
    const snap = await this.snapshot();
    const topics = snap.set.topics.map((t): TopicSummary => {
      const head = snap.heads.get(t.id);
      return {
        id: t.id,
        name: t.name,
        severity: t.severity,
        version: head?.version ?? 0,
        updatedAt: head?.at ?? null,
        updatedBy: head?.by ?? null,
        counts: { keywords: t.terms.length, hashtags: t.hashtags.length, exemplars: t.exemplars.length },
      };
    });
    return { topics, listVersion: snap.set.version, revision: snap.set.revision };
  }

  async get(id: string): Promise<TopicAtVersion> {
    const { topic, head, version } = TopicEditor.live(await this.snapshot(), id);
    return { id, version, definition: topic, updatedAt: head?.at ?? null, updatedBy: head?.by ?? null };
  }

  async versions(id: string): Promise<TopicVersion[]> {
    TopicEditor.live(await this.snapshot(), id);
    return this.opts.channel.topicVersions(id);
  }

  async version(id: string, version: number): Promise<TopicAtVersion> {
    const snap = await this.snapshot();
    const live = TopicEditor.live(snap, id);
    if (version === live.version) return { id, version, definition: live.topic, updatedAt: live.head?.at ?? null, updatedBy: live.head?.by ?? null };
    const [definition, versions] = await Promise.all([this.opts.channel.topicDefinition(id, version), this.opts.channel.topicVersions(id)]);
    const meta = versions.find((v) => v.version === version);
    if (!definition || !meta) throw new TopicEditError('not_found', `topic "${id}" has no version ${version}${version < live.version ? ' kept (only the newest versions are)' : ''}`);
    return { id, version, definition, updatedAt: meta.at, updatedBy: meta.by };
  }

  /** Changes from version `from` to version `to` (default: the one in force). */
  async diff(id: string, from: number, to?: number): Promise<{ from: number; to: number; changes: TopicChange[] }> {
    const [a, b] = await Promise.all([this.version(id, from), to === undefined ? this.get(id) : this.version(id, to)]);
    return { from: a.version, to: b.version, changes: diffTopics(a.definition, b.definition) };
  }

  /**
   * Checks an unsaved definition as a change would (schema, then the list checks within the set
   * in force) without publishing it: for a dry run.
   */
  async checkDraft(definition: unknown): Promise<{ definition: TopicDefinition; warnings: DefinitionIssue[] }> {
    const parsed = parseDefinition(definition);
    const snap = await this.snapshot();
    const topics = [...snap.set.topics.filter((t) => t.id !== parsed.id), parsed];
    const lint = this.opts.lint?.(topics, parsed.id) ?? { errors: [], warnings: [] };
    if (lint.errors.length > 0) throw refused(lint.errors);
    return { definition: parsed, warnings: lint.warnings };
  }

  /** Replaces a topic's definition; `baseVersion` is the version the editor started from. */
  async update(id: string, definition: unknown, baseVersion: number, actor: string): Promise<TopicChangeResult> {
    const parsed = parseDefinition(definition);
    if (parsed.id !== id) throw invalid([{ path: 'id', message: `must be "${id}", the topic being changed (topics are not renamed)` }]);
    return this.change(id, actor, (live) => {
      if (live.version !== baseVersion) throw conflict(id, baseVersion, live.version);
      return parsed;
    });
  }

  /** Makes an earlier version current again, as a new version. */
  async rollback(id: string, version: number, actor: string, baseVersion?: number): Promise<TopicChangeResult> {
    const old = await this.version(id, version);
    return this.change(id, actor, (live) => {
      if (baseVersion !== undefined && live.version !== baseVersion) throw conflict(id, baseVersion, live.version);
      return old.definition;
    });
  }

  /** Adds a term or hashtag (e.g. an emerging one) to a topic's lists; a listed one is left as it is. */
  async addTerm(id: string, entry: { term: string; kind: 'keyword' | 'hashtag'; weight?: number }, actor: string, baseVersion?: number): Promise<TopicChangeResult & { added: boolean }> {
    let added = false;
    const result = await this.change(id, actor, (live) => {
      if (baseVersion !== undefined && live.version !== baseVersion) throw conflict(id, baseVersion, live.version);
      const t = live.topic;
      if (entry.kind === 'hashtag') {
        const tag = entry.term.trim().replace(/^#+/, '');
        added = !t.hashtags.some((h) => h.replace(/^#+/, '').toLowerCase() === tag.toLowerCase());
        return added ? { ...t, hashtags: [...t.hashtags, tag] } : t;
      }
      const term = entry.term.trim();
      added = !t.terms.some((e) => termObject(e).term.toLowerCase() === term.toLowerCase());
      const listed = entry.weight === undefined || entry.weight === 1 ? term : { term, weight: entry.weight };
      return added ? { ...t, terms: [...t.terms, listed] } : t;
    });
    return { ...result, added };
  }

  /**
   * Builds the new definition from the one in force, validates it and publishes it over the set
   * it was built on; when another topic changed meanwhile, starts again from the new set.
   */
  private async change(
    id: string,
    actor: string,
    build: (live: { topic: TopicDefinition; version: number }) => TopicDefinition,
  ): Promise<TopicChangeResult> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const snap = await this.snapshot();
      const live = TopicEditor.live(snap, id);
      // Parsed again: defaults filled in as the workers will have them, and entries re-checked.
      const next = parseDefinition(build(live));
      const topics = snap.set.topics.map((t) => (t.id === id ? next : t));
      const lint = this.opts.lint?.(topics, id) ?? { errors: [], warnings: [] };
      if (lint.errors.length > 0) throw refused(lint.errors);
      if (topicHash(next) === topicHash(live.topic)) {
        const previous = { version: live.version, definition: live.topic };
        return { id, version: live.version, definition: live.topic, updatedAt: live.head?.at ?? null, updatedBy: live.head?.by ?? null, changed: false, warnings: lint.warnings, previous };
      }
      const draft = createListSetDraft(topics, 'api', this.opts.clock.now());
      const res = await this.opts.channel.publish(draft, { ifVersion: snap.set.version, actor });
      if (res.stale) continue;
      const head = (await this.opts.channel.snapshot()).heads.get(id);
      this.opts.logger.info({ topic: id, version: head?.version, by: actor, listVersion: res.set.version, revision: res.set.revision }, `topic "${id}" changed through the API`);
      this.persist(next);
      const previous = { version: live.version, definition: live.topic };
      return { id, version: head?.version ?? live.version + 1, definition: next, updatedAt: head?.at ?? null, updatedBy: head?.by ?? actor, changed: true, warnings: lint.warnings, previous };
    }
    throw new TopicEditError('conflict', `the topic lists kept changing while "${id}" was being changed; try again`);
  }

  /**
   * Embedded mode: writes the definition to the topic's file (a new file renamed over the old
   * one), editing a YAML file in place so that its comments stay with the entries they describe.
   */
  private persist(topic: TopicDefinition): void {
    const dir = this.opts.filesDir;
    if (!dir) return;
    const existing = ['.yaml', '.yml', '.json'].map((ext) => join(dir, `${topic.id}${ext}`)).find((f) => existsSync(f));
    const file = existing ?? join(dir, `${topic.id}.yaml`);
    try {
      const text = topicFileText(topic, existing ? { text: readFileSync(existing, 'utf8'), json: existing.endsWith('.json') } : undefined);
      // Not a data file name while half written: the topic watcher ignores it.
      const tmp = join(dir, `.${topic.id}.${process.pid}.tmp`);
      writeFileSync(tmp, text);
      renameSync(tmp, file);
    } catch (err) {
      // The change is in force; only its copy on disk is missing: said loudly, not undone.
      this.opts.logger.error({ err, topic: topic.id, file }, `topic "${topic.id}" changed, but its file could not be written: a restart would start from the old file`);
    }
  }
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

function invalid(details: DefinitionIssue[]): TopicEditError {
  return new TopicEditError('invalid', `the definition is invalid (${plural(details.length, 'problem')})`, details);
}

function refused(details: DefinitionIssue[]): TopicEditError {
  return new TopicEditError('invalid', `the definition is refused by the list checks (${plural(details.length, 'problem')})`, details);
}

/** Validates a definition with the schema the files are read with; every problem located. */
function parseDefinition(definition: unknown): TopicDefinition {
  const parsed = topicDefinitionSchema.safeParse(definition);
  if (parsed.success) return parsed.data;
  throw invalid(parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })));
}

function conflict(id: string, base: number, live: number): TopicEditError {
  return new TopicEditError('conflict', `topic "${id}" is at version ${live}, not ${base}: reload it and apply the change again`, [], live);
}
