import type { Redis } from 'ioredis';
import { auditKey } from '../windows/keys.js';
import type { AuditEntry, AuditLog, AuditPage, AuditQuery, AuditRecord } from './audit-log.js';

/**
 * The audit log as one Redis stream: XADD appends (the stream id orders entries), XREVRANGE
 * reads newest first. Each append trims entries older than the retention period (exact MINID: audit writes are few), so
 * memory stays bounded without ever rewriting an entry.
 */
export class RedisAuditLog implements AuditLog {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly opts: { retentionDays: number },
  ) {
    this.key = auditKey(prefix);
  }

  async append(record: AuditRecord): Promise<AuditEntry> {
    const id = await this.redis.xadd(this.key, '*', 'entry', JSON.stringify(record));
    if (id === null) throw new Error('XADD returned no id');
    // Ids carry Redis's own clock: retention is measured on it, from the entry just written.
    const ms = Number(id.split('-')[0]);
    await this.redis.xtrim(this.key, 'MINID', String(Math.max(0, ms - this.opts.retentionDays * 86_400_000)));
    return { id, at: new Date(ms).toISOString(), ...record };
  }

  async list(q: AuditQuery): Promise<AuditPage> {
    const end = q.before === undefined ? '+' : `(${q.before}`;
    const start = q.sinceMs === undefined ? '-' : String(q.sinceMs);
    const rows = await this.redis.xrevrange(this.key, end, start, 'COUNT', q.limit + 1);
    const entries = rows.map(([id, fields]): AuditEntry => {
      const json = fields[fields.indexOf('entry') + 1] ?? '{}';
      return { id, at: new Date(Number(id.split('-')[0])).toISOString(), ...(JSON.parse(json) as AuditRecord) };
    });
    const page = entries.slice(0, q.limit);
    return { entries: page, nextCursor: entries.length > q.limit ? page[page.length - 1]!.id : null };
  }

  async close(): Promise<void> {}
}
