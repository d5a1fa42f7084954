import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis, Result } from 'ioredis';
import { createDeliveryKeys, type DeliveryKeys } from '../windows/keys.js';
import {
  decodeDeadCursor,
  defaultQueueLimits,
  encodeDeadCursor,
  isAfterDeadCursor,
  type ClaimedDelivery,
  type DeadPage,
  type DeliveryQueue,
  type DeliveryQueueLimits,
  type DeliveryRecord,
  type EnqueueResult,
} from './delivery-queue.js';
import type { DeliveryContent } from './webhook-payload.js';

const lua = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
const SCAN_CHUNK = 200;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    surgewatchEnqueueDelivery(k1: string, k2: string, k3: string, ...args: (string | number)[]): Result<number, Context>;
    surgewatchClaimDeliveries(k1: string, ...args: (string | number)[]): Result<(string | number)[], Context>;
    surgewatchSettleDelivery(k1: string, k2: string, k3: string, k4: string, ...args: (string | number)[]): Result<number, Context>;
    surgewatchReplayDelivery(k1: string, k2: string, k3: string, ...args: (string | number)[]): Result<[string, string] | null, Context>;
  }
}

/**
 * The delivery queue in Redis: a sorted set of due times (a claim pushes the score to the end
 * of its lease), a hash per delivery, a sorted set of dead letters and dedupe markers. Every
 * step that touches several keys is one Lua script (src/alerts/lua/).
 */
export class RedisDeliveryQueue implements DeliveryQueue {
  private readonly k: DeliveryKeys;
  private readonly limits: DeliveryQueueLimits;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    limits: Partial<DeliveryQueueLimits> = {},
  ) {
    this.k = createDeliveryKeys(prefix);
    this.limits = { ...defaultQueueLimits, ...limits };
    redis.defineCommand('surgewatchEnqueueDelivery', { numberOfKeys: 3, lua: lua('enqueue-delivery') });
    redis.defineCommand('surgewatchClaimDeliveries', { numberOfKeys: 1, lua: lua('claim-deliveries') });
    redis.defineCommand('surgewatchSettleDelivery', { numberOfKeys: 4, lua: lua('settle-delivery') });
    redis.defineCommand('surgewatchReplayDelivery', { numberOfKeys: 3, lua: lua('replay-delivery') });
  }

  async enqueue(d: DeliveryContent, dueAtMs: number): Promise<EnqueueResult> {
    const r = await this.redis.surgewatchEnqueueDelivery(this.k.due, this.k.job(d.id), this.k.done(d.id), d.id, dueAtMs, JSON.stringify(d), this.limits.maxPending, this.limits.retentionSec);
    return r === 1 ? 'queued' : r === 0 ? 'duplicate' : 'full';
  }

  async claim(nowMs: number, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const token = randomUUID();
    const flat = await this.redis.surgewatchClaimDeliveries(this.k.due, nowMs, limit, Math.round(leaseMs), token, this.k.jobPrefix);
    const out: ClaimedDelivery[] = [];
    for (let i = 0; i < flat.length; i += 4) {
      const content = JSON.parse(String(flat[i + 1])) as DeliveryContent;
      out.push({ ...content, attempts: Number(flat[i + 2]), lastError: String(flat[i + 3]) || null, deadAtMs: null, token });
    }
    return out;
  }

  private settle(d: ClaimedDelivery, outcome: 'done' | 'retry' | 'dead', ms: number, error: string, ttlSec: number): Promise<number> {
    return this.redis.surgewatchSettleDelivery(this.k.due, this.k.dead, this.k.job(d.id), this.k.done(d.id), d.id, d.token, outcome, ms, error, ttlSec, this.limits.maxDead, this.k.jobPrefix);
  }

  async complete(d: ClaimedDelivery): Promise<boolean> {
    return (await this.settle(d, 'done', 0, '', this.limits.doneTtlSec)) === 1;
  }

  async retry(d: ClaimedDelivery, dueAtMs: number, error: string): Promise<boolean> {
    return (await this.settle(d, 'retry', dueAtMs, error, this.limits.retentionSec)) === 1;
  }

  async kill(d: ClaimedDelivery, nowMs: number, error: string): Promise<boolean> {
    return (await this.settle(d, 'dead', nowMs, error, this.limits.retentionSec)) === 1;
  }

  async listDead(query: { limit: number; cursor?: string }): Promise<DeadPage> {
    const cursor = query.cursor ? decodeDeadCursor(query.cursor) : undefined;
    const max = cursor ? String(cursor.ms) : '+inf';
    const found: DeliveryRecord[] = [];
    for (let offset = 0; found.length <= query.limit; offset += SCAN_CHUNK) {
      const ids = await this.redis.zrevrangebyscore(this.k.dead, max, '-inf', 'LIMIT', offset, SCAN_CHUNK);
      if (ids.length === 0) break;
      const pipe = this.redis.pipeline();
      for (const id of ids) pipe.hmget(this.k.job(id), 'data', 'attempts', 'last_error', 'dead_at');
      const replies = (await pipe.exec()) ?? [];
      const expired: string[] = [];
      replies.forEach(([err, v], i) => {
        if (err) throw err;
        const [data, attempts, lastError, deadAt] = v as (string | null)[];
        if (!data) return void expired.push(ids[i]!);
        const record: DeliveryRecord = { ...(JSON.parse(data) as DeliveryContent), attempts: Number(attempts), lastError: lastError || null, deadAtMs: Number(deadAt) };
        if (!cursor || isAfterDeadCursor(record, cursor)) found.push(record);
      });
      if (expired.length > 0) {
        await this.redis.zrem(this.k.dead, ...expired);
        offset -= expired.length;
      }
      if (ids.length < SCAN_CHUNK) break;
    }
    const page = found.slice(0, query.limit);
    return { deliveries: page, nextCursor: found.length > query.limit ? encodeDeadCursor(page[page.length - 1]!) : null };
  }

  async replay(id: string, nowMs: number): Promise<DeliveryRecord | undefined> {
    if (!/^dl_[0-9a-f]{1,64}$/.test(id)) return undefined;
    const r = await this.redis.surgewatchReplayDelivery(this.k.due, this.k.dead, this.k.job(id), id, nowMs, this.limits.retentionSec);
    if (!r) return undefined;
    return { ...(JSON.parse(r[0]) as DeliveryContent), attempts: 0, lastError: r[1] || null, deadAtMs: null };
  }

  async counts(): Promise<{ pending: number; dead: number }> {
    const [pending, dead] = await Promise.all([this.redis.zcard(this.k.due), this.redis.zcard(this.k.dead)]);
    return { pending, dead };
  }

  /** The Redis client belongs to the caller. */
  async close(): Promise<void> {}
}
