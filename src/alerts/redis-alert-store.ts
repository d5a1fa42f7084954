import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { LeaseLostError } from '../shared/errors.js';
import { createKeys, type Keys } from '../windows/keys.js';
import { redisCall } from '../windows/redis-health.js';
import type { Fence } from '../windows/lease.js';
import { SurgewatchError } from '../shared/errors.js';
import { alertEventId, alertStatuses, readAlert, type Alert, type AlertEventType } from './alert.js';
import { mergeDetection, type ActionOutcome, type AlertAction } from './alert-actions.js';
import {
  compareAlerts,
  decodeCursor,
  encodeCursor,
  isAfterCursor,
  matchesQuery,
  type AlertPage,
  type AlertQuery,
  type AlertStore,
  type EventCursor,
  type OutboxEvent,
  type StoredAlertEvent,
} from './alert-store.js';

const SCAN_CHUNK = 200;
const EVENTS_MAXLEN = 10_000;
/** Bounds Redis memory if Kafka stays away for very long; far above any tick's events. */
const OUTBOX_MAXLEN = 100_000;
/** Compare-and-set attempts before giving up (each lost race means another write landed). */
const MAX_CAS_ATTEMPTS = 20;
const saveAlertLua = readFileSync(new URL('./lua/save-alert.lua', import.meta.url), 'utf8');

type SaveAlertCommand = (...args: (string | number)[]) => Promise<number>;

/** How long the event watcher's XREAD blocks (below any command timeout of the client). */
const WATCH_BLOCK_MS = 5000;
const WATCH_RETRY_MS = 1000;

function fieldsOf(f: string[]): Map<string, string> {
  return new Map(Array.from({ length: f.length / 2 }, (_, i) => [f[2 * i]!, f[2 * i + 1]!]));
}

/**
 * Alerts in Redis, per pipeline: one JSON string per alert (TTL = retention), a sorted index by
 * update time, a hash of open alerts by series, cooldown markers, a capped event stream and an
 * outbox stream of events not yet published.
 */
const sha1 = (s: string) => createHash('sha1').update(s, 'utf8').digest('hex');

export class RedisAlertStore implements AlertStore {
  private readonly keys: Map<string, Keys>;
  /** Pipelines whose filter indexes are known to be complete. */
  private readonly indexed = new Set<string>();
  /**
   * Readers waiting for events. One blocking XREAD, on a connection of its own, follows every
   * pipeline's event stream and wakes them all; each reader then reads its own range (XRANGE),
   * so that any number of streaming clients cost one connection.
   */
  private readonly waiters = new Set<() => void>();
  private watcher: { conn: Redis; loop: Promise<void> } | undefined;
  private closed = false;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    pipelines: readonly string[],
    private readonly retentionSecByPipeline: ReadonlyMap<string, number>,
  ) {
    this.keys = new Map(pipelines.map((p) => [p, createKeys(prefix, p)]));
    if (!('surgewatchSaveAlert' in redis)) redis.defineCommand('surgewatchSaveAlert', { lua: saveAlertLua, numberOfKeys: 13 });
  }

  private k(pipeline: string): Keys {
    const k = this.keys.get(pipeline);
    if (!k) throw new Error(`unknown pipeline "${pipeline}"`);
    return k;
  }

  get(id: string): Promise<Alert | undefined> {
    return redisCall(async () => {
      if (!/^al_[0-9a-f]{1,64}$/.test(id)) return undefined;
      const pipe = this.redis.pipeline();
      for (const k of this.keys.values()) pipe.get(k.alert(id));
      const replies = (await pipe.exec()) ?? [];
      for (const [err, v] of replies) {
        if (err) throw err;
        if (typeof v === 'string') return readAlert(JSON.parse(v));
      }
      return undefined;
    });
  }

  /** The stored JSON of an alert and its pipeline. */
  private async getRaw(id: string, pipeline?: string): Promise<{ raw: string; pipeline: string } | undefined> {
    if (!/^al_[0-9a-f]{1,64}$/.test(id)) return undefined;
    const names = pipeline === undefined ? [...this.keys.keys()] : [pipeline];
    const pipe = this.redis.pipeline();
    for (const p of names) pipe.get(this.k(p).alert(id));
    const replies = (await pipe.exec()) ?? [];
    for (const [i, [err, v]] of replies.entries()) {
      if (err) throw err;
      if (typeof v === 'string') return { raw: v, pipeline: names[i]! };
    }
    return undefined;
  }

  list(q: AlertQuery): Promise<AlertPage> {
    return redisCall(async () => {
      const cursor = q.cursor ? decodeCursor(q.cursor) : undefined;
      const pipelines = q.pipeline === undefined ? [...this.keys.keys()] : this.keys.has(q.pipeline) ? [q.pipeline] : [];
      const found: Alert[] = [];
      for (const p of pipelines) found.push(...(await this.scanPipeline(p, q, cursor, q.limit + 1)));
      found.sort(compareAlerts);
      const page = found.slice(0, q.limit);
      return { alerts: page, nextCursor: found.length > q.limit ? encodeCursor(page[page.length - 1]!) : null };
    });
  }

  /**
   * The index a query walks: with filters, the smallest of its topic, status and dimension
   * indexes (every alert in it matches that filter), else the pipeline's whole index.
   */
  private async indexFor(pipeline: string, q: AlertQuery): Promise<string> {
    const k = this.k(pipeline);
    const candidates = [
      ...(q.topic !== undefined ? [k.alertsByTopic(q.topic)] : []),
      ...(q.status !== undefined ? [k.alertsByStatus(q.status)] : []),
      ...(q.dimension !== undefined ? [k.alertsByDimension(q.dimension)] : []),
    ];
    if (candidates.length === 0) return k.alertIndex;
    await this.ensureIndexes(pipeline);
    if (candidates.length === 1) return candidates[0]!;
    const sizes = await Promise.all(candidates.map((key) => this.redis.zcard(key)));
    return candidates[sizes.indexOf(Math.min(...sizes))]!;
  }

  /**
   * Alerts saved before the filter indexes existed are added to them once, from the main index;
   * a marker records that they are complete (saves keep them so, and keep the marker alive).
   */
  private async ensureIndexes(pipeline: string): Promise<void> {
    const k = this.k(pipeline);
    if (this.indexed.has(pipeline) || (await this.redis.exists(k.alertIndexesReady)) === 1) return void this.indexed.add(pipeline);
    for (let offset = 0; ; offset += SCAN_CHUNK) {
      const entries = await this.redis.zrange(k.alertIndex, String(offset), String(offset + SCAN_CHUNK - 1), 'WITHSCORES');
      if (entries.length === 0) break;
      const ids = entries.filter((_, i) => i % 2 === 0);
      const values = await this.redis.mget(ids.map((id) => k.alert(id)));
      const tx = this.redis.multi();
      values.forEach((v, i) => {
        if (v === null) return;
        const a = JSON.parse(v) as Alert;
        const score = Number(entries[2 * i + 1]);
        for (const key of [k.alertsByTopic(a.topic), k.alertsByStatus(a.status), k.alertsByDimension(a.dimension)]) tx.zadd(key, score, a.id).expire(key, this.ttlOf(pipeline));
      });
      await tx.exec();
      if (ids.length < SCAN_CHUNK) break;
    }
    await this.redis.set(k.alertIndexesReady, '1', 'EX', this.ttlOf(pipeline));
    this.indexed.add(pipeline);
  }

  private ttlOf(pipeline: string): number {
    return this.retentionSecByPipeline.get(pipeline) ?? 30 * 86_400;
  }

  /** Walks one pipeline's alerts newest-first from the cursor until `want` alerts match. */
  private async scanPipeline(pipeline: string, q: AlertQuery, cursor: { ms: number; id: string } | undefined, want: number): Promise<Alert[]> {
    const k = this.k(pipeline);
    const index = await this.indexFor(pipeline, q);
    const out: Alert[] = [];
    // The index is scored by update time: the time range and the cursor bound the walk.
    const max = cursor && (q.untilMs === undefined || cursor.ms < q.untilMs) ? String(cursor.ms) : q.untilMs !== undefined ? `(${q.untilMs}` : '+inf';
    const min = q.sinceMs === undefined ? '-inf' : String(q.sinceMs);
    for (let offset = 0; ; offset += SCAN_CHUNK) {
      const ids = await this.redis.zrevrangebyscore(index, max, min, 'LIMIT', offset, SCAN_CHUNK);
      if (ids.length === 0) return out;
      const values = await this.redis.mget(ids.map((id) => k.alert(id)));
      const expired: string[] = [];
      values.forEach((v, i) => {
        if (v === null) return void expired.push(ids[i]!);
        const a = readAlert(JSON.parse(v));
        if (matchesQuery(a, q) && (!cursor || isAfterCursor(a, cursor))) out.push(a);
      });
      if (expired.length > 0) {
        await this.redis.zrem(index, ...expired);
        if (index !== k.alertIndex) await this.redis.zrem(k.alertIndex, ...expired);
        offset -= expired.length;
      }
      if (out.length >= want || ids.length < SCAN_CHUNK) return out;
    }
  }

  listOpen(pipeline: string): Promise<Alert[]> {
    return redisCall(async () => {
      const k = this.k(pipeline);
      const ids = await this.redis.hvals(k.openAlerts);
      if (ids.length === 0) return [];
      const values = await this.redis.mget(ids.map((id) => k.alert(id)));
      return values.filter((v): v is string => v !== null).map((v) => readAlert(JSON.parse(v)));
    });
  }

  inCooldown(pipeline: string, series: string, nowMs: number): Promise<boolean> {
    return redisCall(async () => {
      const until = await this.redis.get(this.k(pipeline).cooldown(series));
      return until !== null && Number(until) > nowMs;
    });
  }

  save(alert: Alert, event: AlertEventType | undefined, cooldownSec: number, fence?: Fence): Promise<boolean> {
    return redisCall(async () => {
      alert = readAlert(alert);
      if (event === 'opened') return (await this.write(alert, event, cooldownSec, fence, '')) === 1;
      // Over a stored version, detection keeps what people did: merge, then write only if that
      // version is still the stored one.
      for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
        const stored = await this.getRaw(alert.id, alert.pipeline);
        const merged = mergeDetection(stored && readAlert(JSON.parse(stored.raw)), alert, event !== undefined);
        if (!merged) return false;
        const r = await this.write(merged, event, cooldownSec, fence, stored ? sha1(stored.raw) : '-');
        if (r !== -2) return r === 1;
      }
      throw new SurgewatchError('UNAVAILABLE', `alert ${alert.id} kept changing while it was saved`, { retriable: true });
    });
  }

  act(id: string, action: AlertAction, cooldownSec: number): Promise<{ alert: Alert; outcome: ActionOutcome } | undefined> {
    return redisCall(async () => {
      for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
        const stored = await this.getRaw(id);
        if (!stored) return undefined;
        const current = readAlert(JSON.parse(stored.raw));
        const outcome = action(current);
        if (outcome.kind !== 'changed') return { alert: current, outcome };
        const r = await this.write(outcome.alert, outcome.event, cooldownSec, undefined, sha1(stored.raw));
        if (r === 1) return { alert: outcome.alert, outcome };
        if (r === 0) return undefined; // gone meanwhile (expired)
      }
      throw new SurgewatchError('UNAVAILABLE', `alert ${id} kept changing while an action was saved`, { retriable: true });
    });
  }

  /** One run of save-alert.lua: 1 saved, 0 not saved (opening), -2 the stored version moved. */
  private async write(alert: Alert, event: AlertEventType | undefined, cooldownSec: number, fence: Fence | undefined, expected: string): Promise<number> {
    const k = this.k(alert.pipeline);
    const ttl = this.ttlOf(alert.pipeline);
    // The value is event time (replays run faster than the wall clock); the TTL only bounds memory.
    const cooldownUntil = alert.status === 'resolved' && cooldownSec > 0 ? String(Date.parse(alert.resolved_at ?? alert.updated_at) + cooldownSec * 1000) : '';
    const save = (this.redis as unknown as { surgewatchSaveAlert: SaveAlertCommand }).surgewatchSaveAlert;
    const r = await save.call(
      this.redis,
      k.alert(alert.id),
      k.alertIndex,
      k.openAlerts,
      k.cooldown(alert.series),
      k.alertEvents,
      k.alertOutbox,
      k.lease(fence?.lease ?? ''),
      k.alertsByTopic(alert.topic),
      k.alertsByDimension(alert.dimension),
      ...alertStatuses.map((s) => k.alertsByStatus(s)),
      k.alertIndexesReady,
      alert.id,
      JSON.stringify(alert),
      Date.parse(alert.updated_at),
      alert.status,
      alert.series,
      ttl,
      event ?? '',
      cooldownUntil,
      Math.max(cooldownSec, 60),
      fence ? String(fence.token) : '',
      event ? alertEventId(alert, event) : '',
      EVENTS_MAXLEN,
      OUTBOX_MAXLEN,
      k.alert(''),
      expected,
    );
    if (r === -1) throw new LeaseLostError(fence!.lease);
    return r;
  }

  pendingEvents(pipeline: string, limit: number): Promise<OutboxEvent[]> {
    return redisCall(async () => {
      const entries = await this.redis.xrange(this.k(pipeline).alertOutbox, '-', '+', 'COUNT', limit);
      return entries.map(([entry, f]) => {
        const fields = new Map(Array.from({ length: f.length / 2 }, (_, i) => [f[2 * i]!, f[2 * i + 1]!]));
        return { entry, eventId: fields.get('event_id')!, type: fields.get('type') as AlertEventType, alert: readAlert(JSON.parse(fields.get('alert')!)) };
      });
    });
  }

  ackEvents(pipeline: string, events: readonly OutboxEvent[]): Promise<void> {
    return redisCall(async () => {
      if (events.length > 0) await this.redis.xdel(this.k(pipeline).alertOutbox, ...events.map((e) => e.entry));
    });
  }

  eventHeads(pipelines: readonly string[]): Promise<EventCursor> {
    return redisCall(async () => {
      const known = pipelines.filter((p) => this.keys.has(p));
      const pipe = this.redis.pipeline();
      for (const p of known) pipe.xrevrange(this.k(p).alertEvents, '+', '-', 'COUNT', 1);
      const replies = (await pipe.exec()) ?? [];
      const heads: EventCursor = {};
      known.forEach((p, i) => {
        const [err, entries] = replies[i]!;
        if (err) throw err;
        heads[p] = (entries as [string, string[]][])[0]?.[0] ?? '0-0';
      });
      return heads;
    });
  }

  readEvents(after: EventCursor, limit: number): Promise<StoredAlertEvent[]> {
    return redisCall(async () => {
      const pipelines = Object.keys(after).filter((p) => this.keys.has(p));
      const pipe = this.redis.pipeline();
      for (const p of pipelines) pipe.xrange(this.k(p).alertEvents, `(${after[p]!}`, '+', 'COUNT', limit);
      const replies = (await pipe.exec()) ?? [];
      const out: StoredAlertEvent[] = [];
      pipelines.forEach((pipeline, i) => {
        const [err, entries] = replies[i]!;
        if (err) throw err;
        for (const [position, f] of entries as [string, string[]][]) {
          const fields = fieldsOf(f);
          out.push({ pipeline, position, eventId: fields.get('event_id')!, type: fields.get('type') as AlertEventType, alert: JSON.parse(fields.get('alert')!) as Alert });
        }
      });
      // Pipelines' streams interleaved by time; each one's order is kept (a stable sort).
      out.sort((a, b) => Number(a.position.split('-')[0]) - Number(b.position.split('-')[0]));
      return out.slice(0, limit);
    });
  }

  async waitForEvents(after: EventCursor, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted || this.closed) return false;
    this.watch();
    const deadline = Date.now() + timeoutMs;
    let wake: () => void = () => undefined;
    const waiter = () => wake();
    this.waiters.add(waiter);
    try {
      for (;;) {
        let timer: NodeJS.Timeout | undefined;
        let stop: () => void = () => undefined;
        // Armed before looking: an event saved while the range is read wakes this reader.
        const woken = new Promise<boolean>((resolve) => {
          wake = () => resolve(true);
          stop = () => resolve(false);
          timer = setTimeout(stop, Math.max(0, deadline - Date.now()));
          signal?.addEventListener('abort', stop, { once: true });
        });
        try {
          // A wake-up means "maybe": the reader's own range says whether there is something for it.
          if ((await this.readEvents(after, 1).catch(() => [])).length > 0) return true;
          if (!(await woken) || signal?.aborted || this.closed) return false;
        } finally {
          clearTimeout(timer);
          signal?.removeEventListener('abort', stop);
        }
      }
    } finally {
      this.waiters.delete(waiter);
    }
  }

  /** Starts the blocking reader that wakes waiting readers, once. */
  private watch(): void {
    if (this.watcher || this.closed) return;
    const conn = this.redis.duplicate({ connectionName: 'surgewatch-alert-events' });
    conn.on('error', () => undefined); // reported by the main client's health watch
    const keys = [...this.keys.values()].map((k) => k.alertEvents);
    const wakeAll = () => {
      for (const wake of [...this.waiters]) wake();
    };
    const loop = async () => {
      while (!this.closed) {
        try {
          const heads = await Promise.all(keys.map(async (key) => (await conn.xrevrange(key, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0'));
          // An event saved before these heads were read may have been missed by a reader that looked just before.
          wakeAll();
          while (!this.closed) {
            const reply = await conn.xread('COUNT', 100, 'BLOCK', WATCH_BLOCK_MS, 'STREAMS', ...keys, ...heads);
            if (!reply) continue;
            for (const [key, entries] of reply) {
              const last = entries[entries.length - 1];
              if (last) heads[keys.indexOf(key)] = last[0];
            }
            wakeAll();
          }
        } catch {
          if (this.closed) return;
          await new Promise((r) => setTimeout(r, WATCH_RETRY_MS));
        }
      }
    };
    this.watcher = { conn, loop: loop() };
  }

  ping(): Promise<void> {
    return redisCall(async () => {
      await this.redis.ping();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (!this.watcher) return;
    // Ends the blocking read at once; the loop sees `closed` and stops.
    this.watcher.conn.disconnect();
    await this.watcher.loop;
  }
}
