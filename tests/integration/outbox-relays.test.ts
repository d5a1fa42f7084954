import { afterAll, describe, expect, it } from 'vitest';
import { alertEventId } from '../../src/alerts/alert.js';
import type { AlertPublisher } from '../../src/alerts/alert-store.js';
import { OutboxRelay } from '../../src/alerts/outbox-relay.js';
import { RedisAlertStore } from '../../src/alerts/redis-alert-store.js';
import { silentLogger } from '../../src/shared/logger.js';
import { leaseKey } from '../../src/windows/keys.js';
import { RedisLease } from '../../src/windows/lease.js';
import { makeAlert } from '../_util/alerts.js';
import { createTestRedis, deleteKeys, uniqueId, waitFor } from '../_util/services.js';

/**
 * Every worker process runs an outbox relay over the one outbox in Redis. They must not each
 * send every event: each event goes out once, and when the relaying process dies another one
 * carries on.
 */
describe('outbox relays of several processes over one Redis', () => {
  const redis = createTestRedis();
  const prefix = uniqueId('relays');
  const store = new RedisAlertStore(redis, prefix, ['high-harm'], new Map([['high-harm', 86_400]]));
  const sent: string[] = [];
  /** Each acknowledgement takes 20 ms, as a broker's would. */
  const publisher: AlertPublisher = {
    async publish(_topic, event) {
      await new Promise((r) => setTimeout(r, 20));
      sent.push(event.eventId);
    },
    async close() {},
  };
  const relays: OutboxRelay[] = [];
  const relay = () => {
    const r = new OutboxRelay({
      store,
      publisher,
      pipelines: [{ id: 'high-harm', topic: 'alerts' }],
      logger: silentLogger,
      idleMs: 100,
      publishTimeoutMs: 1000,
      lease: new RedisLease(redis, (name) => leaseKey(prefix, name)),
    });
    relays.push(r);
    return r;
  };

  afterAll(async () => {
    for (const r of relays) await r.close();
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  async function write(regions: string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const region of regions) {
      const a = makeAlert({ series: `self-harm|region=${region}` });
      expect(await store.save(a, 'opened', 60)).toBe(true);
      ids.push(alertEventId(a, 'opened'));
    }
    return ids;
  }
  const drained = async () => ((await store.pendingEvents('high-harm', 1)).length === 0 ? true : undefined);

  it('publishes each event once, however many relays run', async () => {
    const ids = await write(['US-TX', 'GB', 'DE', 'FR', 'BR', 'IN', 'MX', 'JP', 'KR', 'AU']);
    const [a, b, c] = [relay(), relay(), relay()];
    a.start();
    b.start();
    c.start();
    await waitFor(drained, 30_000, 'the outbox to drain');
    expect(sent.sort()).toEqual(ids.sort());

    // Two of the processes stop (closing gives up a lease held): the one left publishes what comes next.
    sent.length = 0;
    await a.close();
    await b.close();
    const more = await write(['NG', 'ZA']);
    await waitFor(drained, 30_000, 'the next events to be published');
    expect(sent.sort()).toEqual(more.sort());
  });
});
