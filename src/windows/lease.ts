import type { Redis } from 'ioredis';
import type { Clock } from '../shared/clock.js';

/**
 * A named, expiring lease: only its holder runs the guarded work (e.g. the detection tick).
 * Each new holder gets a fencing token, larger than any earlier holder's: writes made under the
 * lease carry it, and a store refuses them once the lease has moved (see `FenceCheck`).
 */
export interface Lease {
  /**
   * Takes the lease when free (with a new fencing token), or extends it when this owner holds
   * it (same token). Returns the token while held, undefined when another owner holds it.
   */
  acquire(name: string, owner: string, ttlMs: number): Promise<number | undefined>;
  /** Extends the lease only while this owner still holds it under `token`. True when extended. */
  renew(name: string, owner: string, token: number, ttlMs: number): Promise<boolean>;
  release(name: string, owner: string): Promise<void>;
}

/** A write made under a lease: the store applies it only while the lease holds this token. */
export interface Fence {
  lease: string;
  token: number;
}

/**
 * The lease stored as a hash { owner, token } that expires; the token comes from a counter kept
 * next to it (it outlives the lease, so that tokens keep growing across holders).
 * KEYS[1] lease hash  KEYS[2] token counter
 * ARGV[1] owner  ARGV[2] ttl (ms)  ARGV[3] counter ttl (s)
 * Returns the token while held by ARGV[1], 0 when another owner holds it.
 */
const ACQUIRE_LUA = `
if redis.call('TYPE', KEYS[1]).ok == 'string' then return 0 end
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('HGET', KEYS[1], 'token'))
end
if owner then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'token', token)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return token`;

/* KEYS[1] lease hash; ARGV[1] owner, ARGV[2] token, ARGV[3] ttl (ms). Returns 1 when extended. */
const RENEW_LUA = `
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
local cur = redis.call('HMGET', KEYS[1], 'owner', 'token')
if cur[1] == ARGV[1] and cur[2] == ARGV[2] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0`;

const RELEASE_LUA = `
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Tokens must keep growing while leases come and go; a month without any holder may reset them. */
const COUNTER_TTL_SEC = 30 * 86_400;

export class RedisLease implements Lease {
  constructor(
    private readonly redis: Redis,
    private readonly keyOf: (name: string) => string,
  ) {}

  async acquire(name: string, owner: string, ttlMs: number): Promise<number | undefined> {
    const key = this.keyOf(name);
    const token = (await this.redis.eval(ACQUIRE_LUA, 2, key, `${key}:token`, owner, Math.max(1, Math.round(ttlMs)), COUNTER_TTL_SEC)) as number;
    return token > 0 ? token : undefined;
  }

  async renew(name: string, owner: string, token: number, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(RENEW_LUA, 1, this.keyOf(name), owner, String(token), Math.max(1, Math.round(ttlMs)))) === 1;
  }

  async release(name: string, owner: string): Promise<void> {
    await this.redis.eval(RELEASE_LUA, 1, this.keyOf(name), owner);
  }
}

/** Whether a fence still holds: its lease is held, under its token. */
export type FenceCheck = (fence: Fence) => boolean;

export class MemoryLease implements Lease {
  private readonly held = new Map<string, { owner: string; token: number; untilMs: number }>();
  private readonly tokens = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  async acquire(name: string, owner: string, ttlMs: number): Promise<number | undefined> {
    const now = this.clock.now();
    const cur = this.live(name, now);
    if (cur && cur.owner !== owner) return undefined;
    const token = cur?.token ?? (this.tokens.get(name) ?? 0) + 1;
    this.tokens.set(name, token);
    this.held.set(name, { owner, token, untilMs: now + ttlMs });
    return token;
  }

  async renew(name: string, owner: string, token: number, ttlMs: number): Promise<boolean> {
    const now = this.clock.now();
    const cur = this.live(name, now);
    if (!cur || cur.owner !== owner || cur.token !== token) return false;
    cur.untilMs = now + ttlMs;
    return true;
  }

  async release(name: string, owner: string): Promise<void> {
    if (this.held.get(name)?.owner === owner) this.held.delete(name);
  }

  /** For stores in the same process: a write fenced by this lease may go ahead. */
  readonly holds: FenceCheck = (fence) => this.live(fence.lease, this.clock.now())?.token === fence.token;

  private live(name: string, now: number) {
    const cur = this.held.get(name);
    return cur && cur.untilMs > now ? cur : undefined;
  }
}
