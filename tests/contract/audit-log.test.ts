import { beforeEach, describe, expect, it } from 'vitest';
import { describeContract } from '../_util/contract.js';
import { MemoryAuditLog, type AuditLog, type AuditRecord } from '../../src/audit/audit-log.js';
import { RedisAuditLog } from '../../src/audit/redis-audit-log.js';
import { systemClock } from '../../src/shared/clock.js';
import { auditKey } from '../../src/windows/keys.js';
import { createTestRedis, deleteKeys, uniqueId } from '../_util/services.js';

const record = (n: number): AuditRecord => ({
  actor: { name: `key-${n % 3}`, role: 'editor' },
  action: n % 2 ? 'alert.acknowledge' : 'lists.publish',
  target: `al_${n.toString(16).padStart(4, '0')}`,
  details: { n, note: `entry ${n}` },
});

function describeAuditContract(name: string, factory: () => AuditLog, hooks: { afterEach?: () => Promise<void>; afterAll?: () => Promise<void> } = {}): void {
  describeContract(`${name} (AuditLog contract)`, factory, hooks, (current) => {
    let log: AuditLog;
    beforeEach(() => {
      log = current();
    });

    it('appends entries with increasing ids and the time of writing, and reads them newest first', async () => {
      const before = Date.now();
      const written = [];
      for (let n = 0; n < 5; n++) written.push(await log.append(record(n)));
      const ids = written.map((e) => e.id);
      expect([...new Set(ids)]).toHaveLength(5);
      const page = await log.list({ limit: 10 });
      expect(page.entries.map((e) => e.id)).toEqual([...ids].reverse());
      expect(page.entries[0]).toMatchObject({ ...record(4), id: ids[4] });
      expect(Date.parse(page.entries[0]!.at)).toBeGreaterThanOrEqual(before - 1000);
      expect(page.nextCursor).toBeNull();
    });

    it('pages through every entry exactly once', async () => {
      for (let n = 0; n < 23; n++) await log.append(record(n));
      const seen: number[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await log.list({ limit: 10, ...(cursor && { before: cursor }) });
        seen.push(...page.entries.map((e) => e.details.n as number));
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => 22 - i));
    });

    it('reads from a time on', async () => {
      await log.append(record(0));
      const since = Date.now() + 5;
      await new Promise((r) => setTimeout(r, 10));
      await log.append(record(1));
      expect((await log.list({ limit: 10, sinceMs: since })).entries.map((e) => e.details.n)).toEqual([1]);
    });

    it('keeps what was written even when the caller changes its objects afterwards', async () => {
      const r = record(7);
      const entry = await log.append(r);
      r.details.note = 'changed';
      entry.details.note = 'changed too';
      expect((await log.list({ limit: 1 })).entries[0]!.details.note).toBe('entry 7');
    });
  });
}

describeAuditContract('MemoryAuditLog', () => new MemoryAuditLog(systemClock));

const redis = createTestRedis();
let prefix = uniqueId('audit');
describeAuditContract(
  'RedisAuditLog',
  () => {
    prefix = uniqueId('audit');
    return new RedisAuditLog(redis, prefix, { retentionDays: 30 });
  },
  {
    afterEach: () => deleteKeys(redis, prefix),
    afterAll: async () => {
      await redis.quit();
    },
  },
);

describe('RedisAuditLog retention', () => {
  it('drops entries past the retention period as new ones are written, and no others', async () => {
    const r = createTestRedis();
    const p = uniqueId('audit');
    try {
      const log = new RedisAuditLog(r, p, { retentionDays: 1 });
      // Two entries written 25 and 23 hours ago (stream ids are their times).
      const hour = 3_600_000;
      const now = Date.now();
      await r.xadd(auditKey(p), `${now - 25 * hour}-0`, 'entry', JSON.stringify(record(1)));
      await r.xadd(auditKey(p), `${now - 23 * hour}-0`, 'entry', JSON.stringify(record(2)));
      await log.append(record(3));
      expect((await log.list({ limit: 10 })).entries.map((e) => e.details.n)).toEqual([3, 2]);
    } finally {
      await deleteKeys(r, p);
      await r.quit();
    }
  });
});
