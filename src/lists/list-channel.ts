import type { Clock } from '../shared/clock.js';
import { systemClock } from '../shared/clock.js';
import type { TopicDefinition } from '../config/topic-schema.js';
import { isNewerSet, topicHash, type ListError, type ListSet, type ListSetDraft, type ListSetRef, type TopicVersion, type WorkerListState } from './list-set.js';

export interface PublishResult {
  /** The list set in force after the call. */
  set: ListSet;
  /** False when the draft's version was already current, or (with onlyIfNotOlder) older: no new revision, no notification. */
  published: boolean;
  /** The draft was not published because the set in force was edited later (onlyIfNotOlder). */
  superseded?: boolean;
  /** The draft was not published because the set in force is not the one it was built on (ifVersion). */
  stale?: boolean;
}

export interface PublishOptions {
  /**
   * Publish only when the set in force is not newer than the draft (both carry editedAt and the
   * current one is later: it stays). For processes starting on files that may be stale.
   */
  onlyIfNotOlder?: boolean;
  /**
   * Publish only when the set in force has this version (compare-and-set): a change built on
   * one set does not undo a change another process published meanwhile.
   */
  ifVersion?: string;
  /** Who publishes, recorded in each changed topic's version history (default: the draft's source). */
  actor?: string;
}

/** What is in force, read in one step: the set and the latest version of each topic. */
export interface ListSnapshot {
  set: ListSet | undefined;
  /** By topic id; a topic of the set without an entry has no recorded version yet. */
  heads: Map<string, TopicVersion>;
}

/** How much topic history a channel keeps. */
export const DEFAULT_TOPIC_VERSIONS_KEPT = 100;

/**
 * Where validated topic lists are published and every worker process picks them up, and where
 * workers say which version they run. One Redis-backed implementation for service mode (many
 * processes) and one in memory for embedded mode (one process).
 */
export interface ListChannel {
  /** The list set in force, or undefined before the first publish (or after it expired). */
  current(): Promise<ListSet | undefined>;
  /** Version and revision of the list set in force, without its content. */
  currentRef(): Promise<ListSetRef | undefined>;
  /**
   * Makes a validated list set current under the next revision and notifies every subscriber,
   * in one atomic step. A draft whose version is already current is not republished, so that
   * several processes publishing the same files create one revision.
   */
  publish(draft: ListSetDraft, options?: PublishOptions): Promise<PublishResult>;
  /**
   * Calls onPublished for every revision published from now on, in this or another process.
   * A notification may repeat or be lost (e.g. across a reconnect): receivers read current()
   * and compare. Resolves once subscribed; the returned function unsubscribes.
   */
  subscribe(onPublished: (ref: ListSetRef) => void): Promise<() => Promise<void>>;
  /** The set in force and each topic's latest version, consistent with each other. */
  snapshot(): Promise<ListSnapshot>;
  /** A topic's recorded versions, oldest first (the newest `topicVersionsKept`). */
  topicVersions(topicId: string): Promise<TopicVersion[]>;
  /** One recorded version's definition, or undefined when it was never recorded or is no longer kept. */
  topicDefinition(topicId: string, version: number): Promise<TopicDefinition | undefined>;
  /** Records the list set a worker process runs; also keeps the current set from expiring. */
  reportActive(state: WorkerListState): Promise<void>;
  /** Each worker process's last report, newest reports only (older than the TTL are gone). */
  activeWorkers(): Promise<WorkerListState[]>;
  /** Forgets a worker process that stopped. */
  removeWorker(workerId: string): Promise<void>;
  /** Records a rejected change (kept for a while, for status pages and operators). */
  reportError(error: ListError): Promise<void>;
  lastError(): Promise<ListError | undefined>;
  /** Clears the last error, once the lists load cleanly again. */
  clearError(): Promise<void>;
  close(): Promise<void>;
}

export interface ListChannelOptions {
  clock?: Clock;
  /** Versions kept per topic (older ones are dropped, their definitions too). */
  topicVersionsKept?: number;
  /** A worker's report counts for this long; workers report well within it. */
  workerTtlSec?: number;
}

export const DEFAULT_WORKER_TTL_SEC = 60;

/** The embedded-mode channel: one process, nothing shared. */
export class MemoryListChannel implements ListChannel {
  private set: ListSet | undefined;
  private revision = 0;
  private readonly workers = new Map<string, WorkerListState>();
  private error: ListError | undefined;
  private readonly listeners = new Set<(ref: ListSetRef) => void>();
  private readonly clock: Clock;
  private readonly workerTtlMs: number;
  private readonly versionsKept: number;
  private readonly history = new Map<string, { versions: TopicVersion[]; definitions: Map<number, TopicDefinition> }>();

  constructor(options: ListChannelOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.workerTtlMs = (options.workerTtlSec ?? DEFAULT_WORKER_TTL_SEC) * 1000;
    this.versionsKept = options.topicVersionsKept ?? DEFAULT_TOPIC_VERSIONS_KEPT;
  }

  async current(): Promise<ListSet | undefined> {
    return this.set && structuredClone(this.set);
  }

  async currentRef(): Promise<ListSetRef | undefined> {
    return this.set && { version: this.set.version, revision: this.set.revision };
  }

  async publish(draft: ListSetDraft, options: PublishOptions = {}): Promise<PublishResult> {
    if (this.set?.version === draft.version) return { set: structuredClone(this.set), published: false };
    if (options.ifVersion !== undefined && this.set?.version !== options.ifVersion) return { set: structuredClone(this.set!), published: false, stale: true };
    if (options.onlyIfNotOlder && isNewerSet(this.set, draft)) return { set: structuredClone(this.set!), published: false, superseded: true };
    this.set = structuredClone({ ...draft, revision: ++this.revision, publishedAt: new Date(this.clock.now()).toISOString() });
    this.recordVersions(this.set, options.actor ?? draft.source);
    const ref = { version: this.set.version, revision: this.set.revision };
    // Asynchronous, as over Redis: a listener never runs inside publish().
    for (const l of this.listeners) queueMicrotask(() => l({ ...ref }));
    return { set: structuredClone(this.set), published: true };
  }

  /** Gives each topic whose content changed its next version (as the Redis script does). */
  private recordVersions(set: ListSet, by: string): void {
    for (const topic of set.topics) {
      const hash = topicHash(topic);
      let h = this.history.get(topic.id);
      if (!h) this.history.set(topic.id, (h = { versions: [], definitions: new Map() }));
      const head = h.versions[h.versions.length - 1];
      if (head?.hash === hash) continue;
      const version = (head?.version ?? 0) + 1;
      h.versions.push({ topic: topic.id, version, hash, at: set.publishedAt, by, revision: set.revision });
      h.definitions.set(version, structuredClone(topic));
      if (h.versions.length > this.versionsKept) h.definitions.delete(h.versions.shift()!.version);
    }
  }

  async snapshot(): Promise<ListSnapshot> {
    const heads = new Map<string, TopicVersion>();
    for (const [id, h] of this.history) if (h.versions.length > 0) heads.set(id, { ...h.versions[h.versions.length - 1]! });
    return { set: await this.current(), heads };
  }

  async topicVersions(topicId: string): Promise<TopicVersion[]> {
    return (this.history.get(topicId)?.versions ?? []).map((v) => ({ ...v }));
  }

  async topicDefinition(topicId: string, version: number): Promise<TopicDefinition | undefined> {
    const def = this.history.get(topicId)?.definitions.get(version);
    return def && structuredClone(def);
  }

  async subscribe(onPublished: (ref: ListSetRef) => void): Promise<() => Promise<void>> {
    const listener = (ref: ListSetRef) => onPublished(ref);
    this.listeners.add(listener);
    return async () => void this.listeners.delete(listener);
  }

  async reportActive(state: WorkerListState): Promise<void> {
    this.workers.set(state.workerId, { ...state });
  }

  async activeWorkers(): Promise<WorkerListState[]> {
    const cutoff = this.clock.now() - this.workerTtlMs;
    for (const [id, w] of this.workers) if (Date.parse(w.at) < cutoff) this.workers.delete(id);
    return [...this.workers.values()].map((w) => ({ ...w })).sort((a, b) => (a.workerId < b.workerId ? -1 : 1));
  }

  async removeWorker(workerId: string): Promise<void> {
    this.workers.delete(workerId);
  }

  async reportError(error: ListError): Promise<void> {
    this.error = structuredClone(error);
  }

  async lastError(): Promise<ListError | undefined> {
    return this.error && structuredClone(this.error);
  }

  async clearError(): Promise<void> {
    this.error = undefined;
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
