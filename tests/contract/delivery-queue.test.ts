import { beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { MemoryDeliveryQueue, type DeliveryQueue, type DeliveryQueueLimits } from '../../src/alerts/delivery-queue.js';
import { RedisDeliveryQueue } from '../../src/alerts/redis-delivery-queue.js';
import { deliveryId, type DeliveryContent } from '../../src/alerts/webhook-payload.js';
import { describeContract } from '../_util/contract.js';
import { createTestRedis, deleteKeys, uniqueId } from '../_util/services.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const LEASE = 30_000;
const LIMITS: Partial<DeliveryQueueLimits> = { maxPending: 5, maxDead: 3 };

function content(n: number, webhook = 'hook-a'): DeliveryContent {
  const key = `al_${n.toString(16).padStart(4, '0')}.opened.${T0}`;
  return { id: deliveryId('high-harm', webhook, key), pipeline: 'high-harm', webhook, alertId: `al_${n}`, event: 'opened', idempotencyKey: key, body: `{"n":${n}}`, createdAtMs: T0 };
}

/** The behaviour every DeliveryQueue must show; run once per implementation. */
function describeDeliveryQueueContract(name: string, factory: () => DeliveryQueue, hooks: { afterEach?: () => Promise<void>; afterAll?: () => Promise<void> } = {}): void {
  describeContract(`${name} (DeliveryQueue contract)`, factory, hooks, (current) => {
    let q: DeliveryQueue;
    beforeEach(() => {
      q = current();
    });

    it('hands a due delivery to one claim at a time, with its content and the attempt counted', async () => {
      expect(await q.enqueue(content(1), T0)).toBe('queued');
      const [claimed, ...rest] = await q.claim(T0, 10, LEASE);
      expect(rest).toEqual([]);
      expect(claimed).toMatchObject({ ...content(1), attempts: 1, lastError: null, deadAtMs: null });
      expect(await q.claim(T0 + 1000, 10, LEASE)).toEqual([]);
    });

    it('does not hand out a delivery before it is due, and hands out the earliest first, up to the limit', async () => {
      await q.enqueue(content(1), T0 + 3000);
      await q.enqueue(content(2), T0 + 1000);
      await q.enqueue(content(3), T0 + 2000);
      expect(await q.claim(T0, 10, LEASE)).toEqual([]);
      expect((await q.claim(T0 + 2500, 1, LEASE)).map((d) => d.id)).toEqual([content(2).id]);
      expect((await q.claim(T0 + 2500, 10, LEASE)).map((d) => d.id)).toEqual([content(3).id]);
    });

    it('hands a claimed delivery out again once its lease has run out (its worker died), and only the new claim settles it', async () => {
      await q.enqueue(content(1), T0);
      const [first] = await q.claim(T0, 10, LEASE);
      const [second] = await q.claim(T0 + LEASE, 10, LEASE);
      expect(second).toMatchObject({ id: content(1).id, attempts: 2 });
      expect(await q.complete(first!)).toBe(false);
      expect(await q.retry(first!, T0, 'late')).toBe(false);
      expect(await q.kill(first!, T0, 'late')).toBe(false);
      expect(await q.complete(second!)).toBe(true);
      expect(await q.counts()).toEqual({ pending: 0, dead: 0 });
    });

    it('queues each delivery once: again while pending, and after it was delivered', async () => {
      expect(await q.enqueue(content(1), T0)).toBe('queued');
      expect(await q.enqueue(content(1), T0)).toBe('duplicate');
      const [d] = await q.claim(T0, 10, LEASE);
      expect(await q.complete(d!)).toBe(true);
      expect(await q.enqueue(content(1), T0 + 5000)).toBe('duplicate');
      expect(await q.claim(T0 + 10_000, 10, LEASE)).toEqual([]);
      // The same alert version for another webhook is another delivery.
      expect(await q.enqueue(content(1, 'hook-b'), T0)).toBe('queued');
    });

    it('retries a failed delivery at the time given, keeping its last error', async () => {
      await q.enqueue(content(1), T0);
      const [d] = await q.claim(T0, 10, LEASE);
      expect(await q.retry(d!, T0 + 4000, 'HTTP 503')).toBe(true);
      expect(await q.claim(T0 + 3999, 10, LEASE)).toEqual([]);
      expect(await q.claim(T0 + 4000, 10, LEASE)).toMatchObject([{ id: d!.id, attempts: 2, lastError: 'HTTP 503' }]);
    });

    it('keeps a dead letter out of the queue, lists it, and replays it with its attempts reset', async () => {
      await q.enqueue(content(1), T0);
      await q.enqueue(content(2), T0);
      const claimed = await q.claim(T0, 10, LEASE);
      const one = claimed.find((d) => d.id === content(1).id)!;
      expect(await q.kill(one, T0 + 100, 'HTTP 500')).toBe(true);
      expect(await q.counts()).toEqual({ pending: 1, dead: 1 });
      expect(await q.claim(T0 + LEASE * 10, 10, LEASE)).toMatchObject([{ id: content(2).id }]);
      expect(await q.listDead({ limit: 10 })).toEqual({ deliveries: [{ ...content(1), attempts: 1, lastError: 'HTTP 500', deadAtMs: T0 + 100 }], nextCursor: null });
      expect(await q.enqueue(content(1), T0 + 200)).toBe('duplicate');

      expect(await q.replay(content(1).id, T0 + 1000)).toMatchObject({ id: content(1).id, attempts: 0, deadAtMs: null });
      expect(await q.listDead({ limit: 10 })).toEqual({ deliveries: [], nextCursor: null });
      expect(await q.claim(T0 + 1000, 10, LEASE)).toMatchObject([{ id: content(1).id, attempts: 1, lastError: 'HTTP 500' }]);
      expect(await q.replay(content(1).id, T0 + 2000)).toBeUndefined();
      expect(await q.replay(content(9).id, T0 + 2000)).toBeUndefined();
      expect(await q.replay('not-an-id', T0 + 2000)).toBeUndefined();
    });

    it('refuses new deliveries beyond maxPending, keeping the ones it has', async () => {
      for (let n = 1; n <= 5; n++) expect(await q.enqueue(content(n), T0)).toBe('queued');
      expect(await q.enqueue(content(6), T0)).toBe('full');
      expect(await q.counts()).toEqual({ pending: 5, dead: 0 });
      expect((await q.claim(T0, 10, LEASE)).map((d) => d.id).sort()).toEqual([1, 2, 3, 4, 5].map((n) => content(n).id).sort());
    });

    it('keeps the newest maxDead dead letters, listed newest first, page by page', async () => {
      for (let n = 1; n <= 5; n++) await q.enqueue(content(n), T0);
      const claimed = await q.claim(T0, 10, LEASE);
      for (const [i, d] of claimed.entries()) await q.kill(d, T0 + (i < 2 ? 0 : i) * 1000, `error ${i}`);
      const expected = claimed.slice(2).reverse().map((d) => d.id);
      const first = await q.listDead({ limit: 2 });
      expect(first.deliveries.map((d) => d.id)).toEqual(expected.slice(0, 2));
      expect(first.nextCursor).not.toBeNull();
      const second = await q.listDead({ limit: 2, cursor: first.nextCursor! });
      expect(second).toEqual({ deliveries: [expect.objectContaining({ id: expected[2] })], nextCursor: null });
      expect(await q.counts()).toEqual({ pending: 0, dead: 3 });
      expect(await q.replay(claimed[0]!.id, T0)).toBeUndefined();
    });

    it('pages dead letters that died at the same time without skipping or repeating one', async () => {
      for (let n = 1; n <= 3; n++) await q.enqueue(content(n), T0);
      for (const d of await q.claim(T0, 10, LEASE)) await q.kill(d, T0 + 1, 'HTTP 500');
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await q.listDead({ limit: 1, ...(cursor && { cursor }) });
        seen.push(...page.deliveries.map((d) => d.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toEqual([1, 2, 3].map((n) => content(n).id).sort().reverse());
    });
  });
}

describeDeliveryQueueContract('MemoryDeliveryQueue', () => new MemoryDeliveryQueue(LIMITS));

describe('RedisDeliveryQueue', () => {
  const redis: Redis = createTestRedis();
  let prefix = uniqueId('dq');
  describeDeliveryQueueContract(
    'RedisDeliveryQueue',
    () => {
      prefix = uniqueId('dq');
      return new RedisDeliveryQueue(redis, prefix, LIMITS);
    },
    {
      afterEach: () => deleteKeys(redis, prefix),
      afterAll: async () => void (await redis.quit()),
    },
  );
});
