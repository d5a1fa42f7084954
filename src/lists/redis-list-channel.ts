import type { Redis } from 'ioredis';
import { systemClock, type Clock } from '../shared/clock.js';
import { closeOnce } from '../shared/once.js';
import { createListKeys, type ListKeys } from '../windows/keys.js';
import { DEFAULT_WORKER_TTL_SEC, type ListChannel, type ListChannelOptions, type PublishOptions, type PublishResult } from './list-channel.js';
import {
  listErrorSchema,
  listSetTopicsSchema,
  workerListStateSchema,
  type ListError,
  type ListSet,
  type ListSetDraft,
  type ListSetRef,
  type WorkerListState,
} from './list-set.js';

export interface RedisListChannelOptions extends ListChannelOptions {
  /** The current set and the revision counter live this long after the last publish or report. */
  setTtlSec?: number;
  errorTtlSec?: number;
}

const DEFAULT_SET_TTL_SEC = 30 * 86_400;
const DEFAULT_ERROR_TTL_SEC = 7 * 86_400;

/*
 * Publishes a list set unless its version is already current.
 * KEYS[1] current set (hash)   KEYS[2] revision counter
 * ARGV[1] version  ARGV[2] published_at  ARGV[3] source  ARGV[4] topics (JSON)
 * ARGV[5] ttl (s)  ARGV[6] pub/sub channel
 * ARGV[7] edited at (ms, "" when unknown)  ARGV[8] "1": not over a set edited later
 * Returns {1, revision} when published (and announced), {0, revision} when already current,
 * {2, revision} when the current set was edited later and stays.
 */
const PUBLISH_LUA = `
local cur = redis.call('HMGET', KEYS[1], 'version', 'edited_at')
if cur[1] == ARGV[1] then
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  redis.call('EXPIRE', KEYS[2], ARGV[5])
  return {0, tonumber(redis.call('HGET', KEYS[1], 'revision'))}
end
if ARGV[8] == '1' and cur[1] and cur[2] and cur[2] ~= '' and ARGV[7] ~= '' and tonumber(cur[2]) > tonumber(ARGV[7]) then
  return {2, tonumber(redis.call('HGET', KEYS[1], 'revision'))}
end
local rev = redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'revision', rev, 'published_at', ARGV[2], 'source', ARGV[3], 'topics', ARGV[4], 'edited_at', ARGV[7])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('PUBLISH', ARGV[6], cjson.encode({version = ARGV[1], revision = rev}))
return {1, rev}`;

/**
 * The service-mode channel: the current list set in a Redis hash, a revision counter (INCR),
 * a pub/sub channel announcing revisions, a hash of worker reports and the last error.
 * Subscribing takes a second connection (a subscribed connection can do nothing else).
 */
export class RedisListChannel implements ListChannel {
  private readonly keys: ListKeys;
  private readonly clock: Clock;
  private readonly workerTtlSec: number;
  private readonly setTtlSec: number;
  private readonly errorTtlSec: number;
  private subscriber: Redis | undefined;
  private subscribed: Promise<void> | undefined;
  private readonly listeners = new Set<(ref: ListSetRef) => void>();

  constructor(
    private readonly redis: Redis,
    prefix: string,
    options: RedisListChannelOptions = {},
  ) {
    this.keys = createListKeys(prefix);
    this.clock = options.clock ?? systemClock;
    this.workerTtlSec = options.workerTtlSec ?? DEFAULT_WORKER_TTL_SEC;
    this.setTtlSec = options.setTtlSec ?? DEFAULT_SET_TTL_SEC;
    this.errorTtlSec = options.errorTtlSec ?? DEFAULT_ERROR_TTL_SEC;
  }

  async current(): Promise<ListSet | undefined> {
    const h = await this.redis.hgetall(this.keys.current);
    if (!h.version || !h.topics) return undefined;
    return {
      version: h.version,
      revision: Number(h.revision),
      publishedAt: h.published_at ?? '',
      ...(h.edited_at && { editedAt: new Date(Number(h.edited_at)).toISOString() }),
      source: h.source ?? '',
      // Validated again: what is in Redis may have been written by another version of surgewatch.
      topics: listSetTopicsSchema.parse(JSON.parse(h.topics)),
    };
  }

  async currentRef(): Promise<ListSetRef | undefined> {
    const [version, revision] = await this.redis.hmget(this.keys.current, 'version', 'revision');
    return version && revision ? { version, revision: Number(revision) } : undefined;
  }

  async publish(draft: ListSetDraft, options: PublishOptions = {}): Promise<PublishResult> {
    const publishedAt = new Date(this.clock.now()).toISOString();
    const [published, revision] = (await this.redis.eval(
      PUBLISH_LUA,
      2,
      this.keys.current,
      this.keys.revision,
      draft.version,
      publishedAt,
      draft.source,
      JSON.stringify(draft.topics),
      this.setTtlSec,
      this.keys.channel,
      draft.editedAt ? Date.parse(draft.editedAt) : '',
      options.onlyIfNotOlder ? '1' : '',
    )) as [number, number];
    if (published === 1) return { set: { ...structuredClone(draft), revision, publishedAt }, published: true };
    const set = await this.current();
    if (!set) throw new Error('list set vanished while publishing');
    return { set, published: false, ...(published === 2 && { superseded: true }) };
  }

  async subscribe(onPublished: (ref: ListSetRef) => void): Promise<() => Promise<void>> {
    const listener = (ref: ListSetRef) => onPublished(ref);
    this.listeners.add(listener);
    this.subscribed ??= this.openSubscriber();
    await this.subscribed;
    return async () => void this.listeners.delete(listener);
  }

  private async openSubscriber(): Promise<void> {
    const sub = this.redis.duplicate({ connectionName: 'surgewatch-lists', lazyConnect: true });
    this.subscriber = sub;
    sub.on('message', (_channel: string, message: string) => {
      let ref: ListSetRef;
      try {
        const parsed = JSON.parse(message) as { version?: unknown; revision?: unknown };
        if (typeof parsed.version !== 'string' || typeof parsed.revision !== 'number') return;
        ref = { version: parsed.version, revision: parsed.revision };
      } catch {
        return;
      }
      for (const l of this.listeners) l({ ...ref });
    });
    let connectedBefore = false;
    // After a reconnect, announcements made while disconnected are lost: announce what is current.
    sub.on('ready', () => {
      if (connectedBefore) void this.currentRef().then((ref) => ref && this.listeners.forEach((l) => l({ ...ref })), () => undefined);
      connectedBefore = true;
    });
    sub.on('error', () => undefined); // ioredis reconnects; readers see a delayed version, not a crash
    await sub.connect();
    await sub.subscribe(this.keys.channel);
  }

  async reportActive(state: WorkerListState): Promise<void> {
    await this.redis
      .multi()
      .hset(this.keys.workers, state.workerId, JSON.stringify(state))
      .expire(this.keys.workers, this.workerTtlSec * 2)
      .expire(this.keys.current, this.setTtlSec)
      .expire(this.keys.revision, this.setTtlSec)
      .exec();
  }

  async activeWorkers(): Promise<WorkerListState[]> {
    const raw = await this.redis.hgetall(this.keys.workers);
    const cutoff = this.clock.now() - this.workerTtlSec * 1000;
    const live: WorkerListState[] = [];
    const stale: string[] = [];
    for (const [id, json] of Object.entries(raw)) {
      const parsed = workerListStateSchema.safeParse(safeJson(json));
      if (parsed.success && Date.parse(parsed.data.at) >= cutoff) live.push(parsed.data);
      else stale.push(id);
    }
    // The hash as a whole expires only when every worker is gone; dead workers are pruned here.
    if (stale.length > 0) await this.redis.hdel(this.keys.workers, ...stale);
    return live.sort((a, b) => (a.workerId < b.workerId ? -1 : 1));
  }

  async removeWorker(workerId: string): Promise<void> {
    await this.redis.hdel(this.keys.workers, workerId);
  }

  async reportError(error: ListError): Promise<void> {
    await this.redis.set(this.keys.error, JSON.stringify(error), 'EX', this.errorTtlSec);
  }

  async lastError(): Promise<ListError | undefined> {
    const raw = await this.redis.get(this.keys.error);
    if (!raw) return undefined;
    const parsed = listErrorSchema.safeParse(safeJson(raw));
    return parsed.success ? parsed.data : undefined;
  }

  async clearError(): Promise<void> {
    await this.redis.del(this.keys.error);
  }

  /** Closes the subscriber connection; the shared connection belongs to the caller. */
  close = closeOnce(async () => {
    this.listeners.clear();
    const sub = this.subscriber;
    if (!sub) return;
    if (sub.status === 'ready') await sub.quit().catch(() => sub.disconnect());
    else sub.disconnect();
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
