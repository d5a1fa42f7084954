import type { Clock } from '../shared/clock.js';
import { systemClock } from '../shared/clock.js';
import { isNewerSet, type ListError, type ListSet, type ListSetDraft, type ListSetRef, type WorkerListState } from './list-set.js';

export interface PublishResult {
  /** The list set in force after the call. */
  set: ListSet;
  /** False when the draft's version was already current, or (with onlyIfNotOlder) older: no new revision, no notification. */
  published: boolean;
  /** The draft was not published because the set in force was edited later (onlyIfNotOlder). */
  superseded?: boolean;
}

export interface PublishOptions {
  /**
   * Publish only when the set in force is not newer than the draft (both carry editedAt and the
   * current one is later: it stays). For processes starting on files that may be stale.
   */
  onlyIfNotOlder?: boolean;
}

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

  constructor(options: ListChannelOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.workerTtlMs = (options.workerTtlSec ?? DEFAULT_WORKER_TTL_SEC) * 1000;
  }

  async current(): Promise<ListSet | undefined> {
    return this.set && structuredClone(this.set);
  }

  async currentRef(): Promise<ListSetRef | undefined> {
    return this.set && { version: this.set.version, revision: this.set.revision };
  }

  async publish(draft: ListSetDraft, options: PublishOptions = {}): Promise<PublishResult> {
    if (this.set?.version === draft.version) return { set: structuredClone(this.set), published: false };
    if (options.onlyIfNotOlder && isNewerSet(this.set, draft)) return { set: structuredClone(this.set!), published: false, superseded: true };
    this.set = structuredClone({ ...draft, revision: ++this.revision, publishedAt: new Date(this.clock.now()).toISOString() });
    const ref = { version: this.set.version, revision: this.set.revision };
    // Asynchronous, as over Redis: a listener never runs inside publish().
    for (const l of this.listeners) queueMicrotask(() => l({ ...ref }));
    return { set: structuredClone(this.set), published: true };
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
