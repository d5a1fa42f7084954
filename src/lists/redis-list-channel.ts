import type { Redis } from 'ioredis';
import { systemClock, type Clock } from '../shared/clock.js';
import { closeOnce } from '../shared/once.js';
import { createListKeys, type ListKeys } from '../windows/keys.js';
import { topicDefinitionSchema, type TopicDefinition } from '../config/topic-schema.js';
import {
  DEFAULT_TOPIC_VERSIONS_KEPT,
  DEFAULT_WORKER_TTL_SEC,
  type ListChannel,
  type ListChannelOptions,
  type ListSnapshot,
  type PublishOptions,
  type PublishResult,
} from './list-channel.js';
import {
  listErrorSchema,
  listSetTopicsSchema,
  topicHash,
  topicVersionSchema,
  workerListStateSchema,
  type TopicVersion,
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
  /** Topic version history lives this long after the topic's last publish. */
  historyTtlSec?: number;
}

const DEFAULT_SET_TTL_SEC = 30 * 86_400;
const DEFAULT_ERROR_TTL_SEC = 7 * 86_400;
const DEFAULT_HISTORY_TTL_SEC = 365 * 86_400;

/*
 * Publishes a list set unless its version is already current, and records the next version of
 * every topic whose content changed, in the same step (a topic's version always matches the set).
 * KEYS[1] current set (hash)   KEYS[2] revision counter   KEYS[3] topic heads (hash id -> JSON)
 * KEYS[3+i] topic i's versions (list of JSON)   KEYS[3+n+i] topic i's definitions (hash version -> JSON)
 * ARGV[1] version  ARGV[2] published_at  ARGV[3] source  ARGV[4] topics (JSON)
 * ARGV[5] ttl (s)  ARGV[6] pub/sub channel
 * ARGV[7] edited at (ms, "" when unknown)  ARGV[8] "1": not over a set edited later
 * ARGV[9] only over this version ("" = any)  ARGV[10] actor  ARGV[11] versions kept per topic
 * ARGV[12] history ttl (s)  ARGV[13] n topics; per topic i: ARGV[13+2i-1] hash, ARGV[13+2i] definition
 * (JSON, passed as is: cjson would turn empty arrays into objects), and ARGV[13+2n+i] its id.
 * Returns {1, revision} when published (and announced), {0, revision} when already current,
 * {2, revision} when the current set was edited later and stays, {3, revision or 0} when the
 * set in force is not ARGV[9].
 */
const PUBLISH_LUA = `
local cur = redis.call('HMGET', KEYS[1], 'version', 'edited_at', 'revision')
if cur[1] == ARGV[1] then
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  redis.call('EXPIRE', KEYS[2], ARGV[5])
  return {0, tonumber(cur[3])}
end
if ARGV[9] ~= '' and cur[1] ~= ARGV[9] then
  return {3, tonumber(cur[3] or '0')}
end
if ARGV[8] == '1' and cur[1] and cur[2] and cur[2] ~= '' and ARGV[7] ~= '' and tonumber(cur[2]) > tonumber(ARGV[7]) then
  return {2, tonumber(cur[3])}
end
local rev = redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'revision', rev, 'published_at', ARGV[2], 'source', ARGV[3], 'topics', ARGV[4], 'edited_at', ARGV[7])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
local n = tonumber(ARGV[13])
local kept = tonumber(ARGV[11])
for i = 1, n do
  local hash = ARGV[13 + 2 * i - 1]
  local id = ARGV[13 + 2 * n + i]
  local versions = KEYS[3 + i]
  local defs = KEYS[3 + n + i]
  local head = redis.call('HGET', KEYS[3], id)
  local version = 0
  local same = false
  if head then
    local h = cjson.decode(head)
    version = tonumber(h.version)
    same = h.hash == hash
  end
  if not same then
    version = version + 1
    local entry = cjson.encode({topic = id, version = version, hash = hash, at = ARGV[2], by = ARGV[10], revision = rev})
    redis.call('HSET', KEYS[3], id, entry)
    redis.call('RPUSH', versions, entry)
    redis.call('LTRIM', versions, -kept, -1)
    redis.call('HSET', defs, tostring(version), ARGV[13 + 2 * i])
    if version > kept then redis.call('HDEL', defs, tostring(version - kept)) end
  end
  redis.call('EXPIRE', versions, ARGV[12])
  redis.call('EXPIRE', defs, ARGV[12])
end
redis.call('EXPIRE', KEYS[3], ARGV[12])
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
  private readonly historyTtlSec: number;
  private readonly versionsKept: number;
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
    this.historyTtlSec = options.historyTtlSec ?? DEFAULT_HISTORY_TTL_SEC;
    this.versionsKept = options.topicVersionsKept ?? DEFAULT_TOPIC_VERSIONS_KEPT;
  }

  async current(): Promise<ListSet | undefined> {
    return this.parseSet(await this.redis.hgetall(this.keys.current));
  }

  async snapshot(): Promise<ListSnapshot> {
    // One MULTI: the heads match the set (both are written by one script).
    const res = await this.redis.multi().hgetall(this.keys.current).hgetall(this.keys.topicHeads).exec();
    if (!res) throw new Error('reading the list set was aborted');
    for (const [err] of res) if (err) throw err;
    const heads = new Map<string, TopicVersion>();
    for (const [id, json] of Object.entries(res[1]![1] as Record<string, string>)) {
      const parsed = topicVersionSchema.safeParse(safeJson(json));
      if (parsed.success) heads.set(id, parsed.data);
    }
    return { set: this.parseSet(res[0]![1] as Record<string, string>), heads };
  }

  async topicVersions(topicId: string): Promise<TopicVersion[]> {
    const rows = await this.redis.lrange(this.keys.topicVersions(topicId), 0, -1);
    return rows.flatMap((json) => {
      const parsed = topicVersionSchema.safeParse(safeJson(json));
      return parsed.success ? [parsed.data] : [];
    });
  }

  async topicDefinition(topicId: string, version: number): Promise<TopicDefinition | undefined> {
    const json = await this.redis.hget(this.keys.topicDefinitions(topicId), String(version));
    if (json === null) return undefined;
    const parsed = topicDefinitionSchema.safeParse(safeJson(json));
    return parsed.success ? parsed.data : undefined;
  }

  private parseSet(h: Record<string, string>): ListSet | undefined {
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
    const ids = draft.topics.map((t) => t.id);
    const [published, revision] = (await this.redis.eval(
      PUBLISH_LUA,
      3 + 2 * ids.length,
      this.keys.current,
      this.keys.revision,
      this.keys.topicHeads,
      ...ids.map((id) => this.keys.topicVersions(id)),
      ...ids.map((id) => this.keys.topicDefinitions(id)),
      draft.version,
      publishedAt,
      draft.source,
      JSON.stringify(draft.topics),
      this.setTtlSec,
      this.keys.channel,
      draft.editedAt ? Date.parse(draft.editedAt) : '',
      options.onlyIfNotOlder ? '1' : '',
      options.ifVersion ?? '',
      options.actor ?? draft.source,
      this.versionsKept,
      this.historyTtlSec,
      ids.length,
      ...draft.topics.flatMap((t) => [topicHash(t), JSON.stringify(t)]),
      ...ids,
    )) as [number, number];
    if (published === 1) return { set: { ...structuredClone(draft), revision, publishedAt }, published: true };
    const set = await this.current();
    if (!set) throw new Error('list set vanished while publishing');
    return { set, published: false, ...(published === 2 && { superseded: true }), ...(published === 3 && { stale: true }) };
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
