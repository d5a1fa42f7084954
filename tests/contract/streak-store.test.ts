import { afterAll, describe, expect, it } from 'vitest';
import { LeaseLostError } from '../../src/shared/errors.js';
import { ManualClock } from '../../src/shared/clock.js';
import { leaseKey } from '../../src/windows/keys.js';
import { MemoryLease, RedisLease, type Lease } from '../../src/windows/lease.js';
import { MemoryStreakStore, RedisStreakStore, type StreakStore } from '../../src/windows/streak-store.js';
import { createTestRedis, deleteKeys, uniqueId } from '../_util/services.js';

const TICK = 'tick:high-harm';
const HELD_MS = 30_000;

/** The behaviour every StreakStore must show; run once per implementation. */
function describeStreakContract(name: string, factory: () => { store: StreakStore; lease: Lease }, cleanup?: () => Promise<void>): void {
  describe(`${name} (StreakStore contract)`, () => {
    if (cleanup) afterAll(cleanup);

    it('keeps each series streak for whoever holds the lease next, and forgets a streak set to 0', async () => {
      const { store, lease } = factory();
      const token = (await lease.acquire(TICK, 'worker-a', HELD_MS))!;
      await store.write('high-harm', new Map([['self-harm', 3], ['self-harm|region=GB', 1], ['scams', 2]]), { lease: TICK, token });
      await store.write('high-harm', new Map([['self-harm', 4], ['scams', 0]]), { lease: TICK, token });
      expect(await store.read('high-harm')).toEqual(new Map([['self-harm', 4], ['self-harm|region=GB', 1]]));
      // Another pipeline's streaks are its own.
      expect(await store.read('other')).toEqual(new Map());
    });

    it('refuses the write of a holder whose lease has moved, and keeps what was there', async () => {
      const { store, lease } = factory();
      const old = (await lease.acquire(TICK, 'worker-a', HELD_MS))!;
      await store.write('high-harm', new Map([['self-harm', 2]]), { lease: TICK, token: old });
      await lease.release(TICK, 'worker-a');
      const current = (await lease.acquire(TICK, 'worker-b', HELD_MS))!;
      await expect(store.write('high-harm', new Map([['self-harm', 9]]), { lease: TICK, token: old })).rejects.toBeInstanceOf(LeaseLostError);
      expect(await store.read('high-harm')).toEqual(new Map([['self-harm', 2]]));
      await store.write('high-harm', new Map([['self-harm', 3]]), { lease: TICK, token: current });
      expect((await store.read('high-harm')).get('self-harm')).toBe(3);
    });

    it('writes a tick of thousands of changed series whole', async () => {
      const { store, lease } = factory();
      const token = (await lease.acquire(TICK, 'worker-a', HELD_MS))!;
      const many = new Map(Array.from({ length: 5000 }, (_, i) => [`self-harm|term=#t${i}`, 1 + (i % 7)] as const));
      await store.write('high-harm', many, { lease: TICK, token });
      expect(await store.read('high-harm')).toEqual(many);
    });
  });
}

describeStreakContract('MemoryStreakStore', () => {
  const lease = new MemoryLease(new ManualClock(Date.UTC(2026, 10, 21)));
  return { lease, store: new MemoryStreakStore(lease.holds) };
});

const redis = createTestRedis();
const prefixes: string[] = [];
describeStreakContract(
  'RedisStreakStore',
  () => {
    const prefix = uniqueId('streaks');
    prefixes.push(prefix);
    return { lease: new RedisLease(redis, (name) => leaseKey(prefix, name)), store: new RedisStreakStore(redis, prefix) };
  },
  async () => {
    for (const p of prefixes) await deleteKeys(redis, p);
    await redis.quit();
  },
);
