import type { Redis } from 'ioredis';
import { createKeys, type Keys } from '../windows/keys.js';
import type { Alert, AlertEventType } from './alert.js';
import {
  compareAlerts,
  decodeCursor,
  encodeCursor,
  isAfterCursor,
  matchesQuery,
  type AlertPage,
  type AlertQuery,
  type AlertStore,
} from './alert-store.js';

const SCAN_CHUNK = 200;
const EVENTS_MAXLEN = 10_000;

/**
 * Alerts in Redis, per pipeline: one JSON string per alert (TTL = retention), a sorted index by
 * update time, a hash of open alerts by series, cooldown markers and a capped event stream.
 */
export class RedisAlertStore implements AlertStore {
  private readonly keys: Map<string, Keys>;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    pipelines: readonly string[],
    private readonly retentionSecByPipeline: ReadonlyMap<string, number>,
  ) {
    this.keys = new Map(pipelines.map((p) => [p, createKeys(prefix, p)]));
  }

  private k(pipeline: string): Keys {
    const k = this.keys.get(pipeline);
    if (!k) throw new Error(`unknown pipeline "${pipeline}"`);
    return k;
  }

  async get(id: string): Promise<Alert | undefined> {
    if (!/^al_[0-9a-f]{1,64}$/.test(id)) return undefined;
    const pipe = this.redis.pipeline();
    for (const k of this.keys.values()) pipe.get(k.alert(id));
    const replies = (await pipe.exec()) ?? [];
    for (const [err, v] of replies) {
      if (err) throw err;
      if (typeof v === 'string') return JSON.parse(v) as Alert;
    }
    return undefined;
  }

  async list(q: AlertQuery): Promise<AlertPage> {
    const cursor = q.cursor ? decodeCursor(q.cursor) : undefined;
    const pipelines = q.pipeline === undefined ? [...this.keys.keys()] : this.keys.has(q.pipeline) ? [q.pipeline] : [];
    const found: Alert[] = [];
    for (const p of pipelines) found.push(...(await this.scanPipeline(p, q, cursor, q.limit + 1)));
    found.sort(compareAlerts);
    const page = found.slice(0, q.limit);
    return { alerts: page, nextCursor: found.length > q.limit ? encodeCursor(page[page.length - 1]!) : null };
  }

  /** Walks one pipeline's index newest-first from the cursor until `want` alerts match. */
  private async scanPipeline(pipeline: string, q: AlertQuery, cursor: { ms: number; id: string } | undefined, want: number): Promise<Alert[]> {
    const k = this.k(pipeline);
    const out: Alert[] = [];
    // The index is scored by update time: the time range and the cursor bound the walk.
    const max = cursor && (q.untilMs === undefined || cursor.ms < q.untilMs) ? String(cursor.ms) : q.untilMs !== undefined ? `(${q.untilMs}` : '+inf';
    const min = q.sinceMs === undefined ? '-inf' : String(q.sinceMs);
    for (let offset = 0; ; offset += SCAN_CHUNK) {
      const ids = await this.redis.zrevrangebyscore(k.alertIndex, max, min, 'LIMIT', offset, SCAN_CHUNK);
      if (ids.length === 0) return out;
      const values = await this.redis.mget(ids.map((id) => k.alert(id)));
      const expired: string[] = [];
      values.forEach((v, i) => {
        if (v === null) return void expired.push(ids[i]!);
        const a = JSON.parse(v) as Alert;
        if (matchesQuery(a, q) && (!cursor || isAfterCursor(a, cursor))) out.push(a);
      });
      if (expired.length > 0) {
        await this.redis.zrem(k.alertIndex, ...expired);
        offset -= expired.length;
      }
      if (out.length >= want || ids.length < SCAN_CHUNK) return out;
    }
  }

  async listOpen(pipeline: string): Promise<Alert[]> {
    const k = this.k(pipeline);
    const ids = await this.redis.hvals(k.openAlerts);
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map((id) => k.alert(id)));
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as Alert);
  }

  async inCooldown(pipeline: string, series: string, nowMs: number): Promise<boolean> {
    const until = await this.redis.get(this.k(pipeline).cooldown(series));
    return until !== null && Number(until) > nowMs;
  }

  async save(alert: Alert, event: AlertEventType | undefined, cooldownSec: number): Promise<void> {
    const k = this.k(alert.pipeline);
    const ttl = (this.retentionSecByPipeline.get(alert.pipeline) ?? 30 * 86_400);
    const json = JSON.stringify(alert);
    const tx = this.redis.multi();
    tx.set(k.alert(alert.id), json, 'EX', ttl);
    tx.zadd(k.alertIndex, Date.parse(alert.updated_at), alert.id);
    tx.expire(k.alertIndex, ttl);
    if (alert.status === 'resolved') {
      tx.hdel(k.openAlerts, alert.series);
      const until = Date.parse(alert.resolved_at ?? alert.updated_at) + cooldownSec * 1000;
      // The value is event time (replays run faster than the wall clock); the TTL only bounds memory.
      if (cooldownSec > 0) tx.set(k.cooldown(alert.series), String(until), 'EX', Math.max(cooldownSec, 60));
    } else {
      tx.hset(k.openAlerts, alert.series, alert.id);
    }
    tx.expire(k.openAlerts, ttl);
    if (event) {
      tx.xadd(k.alertEvents, 'MAXLEN', '~', EVENTS_MAXLEN, '*', 'type', event, 'id', alert.id, 'alert', json);
      tx.expire(k.alertEvents, ttl);
    }
    const results = (await tx.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {}
}
