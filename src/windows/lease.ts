import type { Redis } from 'ioredis';
import type { Clock } from '../shared/clock.js';

/** A named, expiring lease: only its holder runs the guarded work (e.g. the detection tick). */
export interface Lease {
  /** Takes the lease, or extends it when already held by this owner. True when held. */
  acquire(name: string, owner: string, ttlMs: number): Promise<boolean>;
  release(name: string, owner: string): Promise<void>;
}

// Take when free, extend when ours; one round trip, atomic.
const ACQUIRE_LUA = `
local cur = redis.call('GET', KEYS[1])
if (not cur) or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export class RedisLease implements Lease {
  constructor(
    private readonly redis: Redis,
    private readonly keyOf: (name: string) => string,
  ) {}

  async acquire(name: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(ACQUIRE_LUA, 1, this.keyOf(name), owner, Math.max(1, Math.round(ttlMs)))) === 1;
  }

  async release(name: string, owner: string): Promise<void> {
    await this.redis.eval(RELEASE_LUA, 1, this.keyOf(name), owner);
  }
}

export class MemoryLease implements Lease {
  private readonly held = new Map<string, { owner: string; untilMs: number }>();

  constructor(private readonly clock: Clock) {}

  async acquire(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = this.clock.now();
    const cur = this.held.get(name);
    if (cur && cur.owner !== owner && cur.untilMs > now) return false;
    this.held.set(name, { owner, untilMs: now + ttlMs });
    return true;
  }

  async release(name: string, owner: string): Promise<void> {
    if (this.held.get(name)?.owner === owner) this.held.delete(name);
  }
}
