import type { Redis } from 'ioredis';
import { LeaseLostError } from '../shared/errors.js';
import { createKeys, leaseKey } from './keys.js';
import type { Fence, FenceCheck } from './lease.js';

/**
 * The detection streaks: per series, how many ticks in a row it has been significant (an alert
 * opens after `openAfterTicks` of them). Kept next to the alerts rather than in the lease
 * holder's memory, so that a new holder (a restart, a scale-out, a failover) goes on counting
 * where the last one stopped, and several workers agree on it.
 */
export interface StreakStore {
  /** The pipeline's series with a streak (absent: none). */
  read(pipeline: string): Promise<Map<string, number>>;
  /**
   * Sets the given streaks (0 removes one), in one step, only while the fence's lease is held
   * under its token; otherwise throws LeaseLostError and writes nothing.
   */
  write(pipeline: string, changes: ReadonlyMap<string, number>, fence: Fence): Promise<void>;
}

export class MemoryStreakStore implements StreakStore {
  private readonly streaks = new Map<string, Map<string, number>>();

  constructor(private readonly fenceCheck: FenceCheck) {}

  async read(pipeline: string): Promise<Map<string, number>> {
    return new Map(this.streaks.get(pipeline));
  }

  async write(pipeline: string, changes: ReadonlyMap<string, number>, fence: Fence): Promise<void> {
    if (!this.fenceCheck(fence)) throw new LeaseLostError(fence.lease);
    let m = this.streaks.get(pipeline);
    if (!m) this.streaks.set(pipeline, (m = new Map()));
    for (const [series, n] of changes) {
      if (n > 0) m.set(series, n);
      else m.delete(series);
    }
  }
}

/*
 * KEYS[1] streaks hash  KEYS[2] lease hash
 * ARGV[1] fencing token  ARGV[2] ttl (s)  ARGV[3..] series, count pairs (count 0 = remove)
 * Returns 1 when written, -1 when the lease is no longer held under the token.
 */
const WRITE_LUA = `
if redis.call('TYPE', KEYS[2]).ok ~= 'hash' or redis.call('HGET', KEYS[2], 'token') ~= ARGV[1] then return -1 end
for i = 3, #ARGV, 2 do
  if ARGV[i + 1] == '0' then redis.call('HDEL', KEYS[1], ARGV[i]) else redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1`;

/** Streaks a pipeline does not touch for this long are forgotten (a pipeline removed, a long outage). */
const STREAK_TTL_SEC = 3600;
/** Series per script call: a tick that changes many streaks writes them in a few steps. */
const WRITE_CHUNK = 2000;

export class RedisStreakStore implements StreakStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async read(pipeline: string): Promise<Map<string, number>> {
    const raw = await this.redis.hgetall(createKeys(this.prefix, pipeline).streaks);
    return new Map(Object.entries(raw).map(([series, n]) => [series, Number(n)]));
  }

  async write(pipeline: string, changes: ReadonlyMap<string, number>, fence: Fence): Promise<void> {
    const entries = [...changes];
    const keys = [createKeys(this.prefix, pipeline).streaks, leaseKey(this.prefix, fence.lease)];
    for (let i = 0; i === 0 || i < entries.length; i += WRITE_CHUNK) {
      const args = entries.slice(i, i + WRITE_CHUNK).flatMap(([series, n]) => [series, String(Math.max(0, Math.round(n)))]);
      const res = await this.redis.eval(WRITE_LUA, keys.length, ...keys, String(fence.token), String(STREAK_TTL_SEC), ...args);
      if (res === -1) throw new LeaseLostError(fence.lease);
    }
  }
}
