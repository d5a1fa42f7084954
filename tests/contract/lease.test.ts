import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.js';
import { sleep } from '../../src/shared/once.js';
import { leaseKey } from '../../src/windows/keys.js';
import { MemoryLease, RedisLease, type Lease } from '../../src/windows/lease.js';
import { createTestRedis, deleteKeys, uniqueId } from '../_util/services.js';

interface LeaseHarness {
  lease: Lease;
  /** Lets ms of lease time pass: a manual clock for memory, real waiting for Redis. */
  elapse(ms: number): Promise<void>;
}

interface ContractHooks {
  afterEach?: () => Promise<void>;
  afterAll?: () => Promise<void>;
}

const TICK = 'tick:high-harm';
/** Long enough that no pause of the test process lets a held lease lapse. */
const HELD_MS = 30_000;
/** Short enough for Redis tests to wait out. */
const SHORT_MS = 200;

/** The behaviour every Lease must show; run once per implementation. */
function describeLeaseContract(name: string, factory: () => LeaseHarness, hooks: ContractHooks = {}): void {
  describe(`${name} (Lease contract)`, () => {
    let lease: Lease;
    let elapse: (ms: number) => Promise<void>;
    beforeEach(() => {
      ({ lease, elapse } = factory());
    });
    if (hooks.afterEach) afterEach(hooks.afterEach);
    if (hooks.afterAll) afterAll(hooks.afterAll);

    it('is held by one owner at a time, and its owner can extend it', async () => {
      expect(await lease.acquire(TICK, 'worker-a', HELD_MS)).toBeDefined();
      expect(await lease.acquire(TICK, 'worker-b', HELD_MS)).toBeUndefined();
      expect(await lease.acquire(TICK, 'worker-a', HELD_MS)).toBeDefined();
      expect(await lease.acquire(TICK, 'worker-b', HELD_MS)).toBeUndefined();
    });

    it('passes to another owner once it expires', async () => {
      expect(await lease.acquire(TICK, 'worker-a', SHORT_MS)).toBeDefined();
      await elapse(SHORT_MS + 100);
      expect(await lease.acquire(TICK, 'worker-b', HELD_MS)).toBeDefined();
      expect(await lease.acquire(TICK, 'worker-a', HELD_MS)).toBeUndefined();
    });

    it('runs its ttl again from each extension', async () => {
      // A short lease, extended with a long one, outlives the short ttl.
      expect(await lease.acquire(TICK, 'worker-a', SHORT_MS)).toBeDefined();
      expect(await lease.acquire(TICK, 'worker-a', HELD_MS)).toBeDefined();
      await elapse(SHORT_MS + 100);
      expect(await lease.acquire(TICK, 'worker-b', HELD_MS)).toBeUndefined();
    });

    it('ignores a release by someone who does not hold it', async () => {
      await lease.acquire(TICK, 'worker-a', HELD_MS);
      await lease.release(TICK, 'worker-b');
      expect(await lease.acquire(TICK, 'worker-b', HELD_MS)).toBeUndefined();
    });

    it('is free for anyone once its owner releases it', async () => {
      await lease.acquire(TICK, 'worker-a', HELD_MS);
      await lease.release(TICK, 'worker-a');
      expect(await lease.acquire(TICK, 'worker-b', HELD_MS)).toBeDefined();
    });

    it('gives each new holder a larger fencing token; an extension keeps the token', async () => {
      const first = await lease.acquire(TICK, 'worker-a', SHORT_MS);
      expect(await lease.acquire(TICK, 'worker-a', SHORT_MS)).toBe(first);
      await elapse(SHORT_MS + 100);
      const second = await lease.acquire(TICK, 'worker-b', HELD_MS);
      expect(second).toBeGreaterThan(first!);
      await lease.release(TICK, 'worker-b');
      const third = await lease.acquire(TICK, 'worker-a', HELD_MS);
      expect(third).toBeGreaterThan(second!);
    });

    it('is renewed only by its holder under its token, and renewing keeps it held past its ttl', async () => {
      const token = (await lease.acquire(TICK, 'worker-a', SHORT_MS))!;
      expect(await lease.renew(TICK, 'worker-b', token, HELD_MS)).toBe(false);
      expect(await lease.renew(TICK, 'worker-a', token + 1, HELD_MS)).toBe(false);
      expect(await lease.renew(TICK, 'worker-a', token, HELD_MS)).toBe(true);
      await elapse(SHORT_MS + 100);
      expect(await lease.acquire(TICK, 'worker-b', HELD_MS)).toBeUndefined();
    });

    it('cannot be renewed once it expired or moved: the old holder stays out', async () => {
      const token = (await lease.acquire(TICK, 'worker-a', SHORT_MS))!;
      await elapse(SHORT_MS + 100);
      expect(await lease.renew(TICK, 'worker-a', token, HELD_MS)).toBe(false);
      expect(await lease.acquire(TICK, 'worker-b', HELD_MS)).toBeDefined();
      expect(await lease.renew(TICK, 'worker-a', token, HELD_MS)).toBe(false);
      expect(await lease.acquire(TICK, 'worker-a', HELD_MS)).toBeUndefined();
    });

    it('keeps leases of different names apart', async () => {
      expect(await lease.acquire(TICK, 'worker-a', HELD_MS)).toBeDefined();
      expect(await lease.acquire('tick:scams', 'worker-b', HELD_MS)).toBeDefined();
      await lease.release('tick:scams', 'worker-a');
      expect(await lease.acquire('tick:scams', 'worker-a', HELD_MS)).toBeUndefined();
      expect(await lease.acquire(TICK, 'worker-b', HELD_MS)).toBeUndefined();
    });
  });
}

describeLeaseContract('MemoryLease', () => {
  const clock = new ManualClock(Date.UTC(2024, 2, 1));
  return {
    lease: new MemoryLease(clock),
    elapse: async (ms) => clock.advance(ms),
  };
});

{
  const redis = createTestRedis();
  let prefixes: string[] = [];
  describeLeaseContract(
    'RedisLease',
    () => {
      const prefix = uniqueId('swl');
      prefixes.push(prefix);
      // As the context builds it: the pipeline id is the part after "tick:".
      return {
        lease: new RedisLease(redis, (name) => leaseKey(prefix, name)),
        elapse: (ms) => sleep(ms),
      };
    },
    {
      afterEach: async () => {
        for (const p of prefixes) await deleteKeys(redis, p);
        prefixes = [];
      },
      afterAll: async () => {
        await redis.quit();
      },
    },
  );
}
