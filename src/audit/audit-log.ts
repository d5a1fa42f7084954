import type { Role } from '../config/api-keys.js';
import type { Clock } from '../shared/clock.js';

/** Who did something: an API key (by name and role) or the system itself ("system:<what>"). */
export interface AuditActor {
  name: string;
  role: Role | null;
}

/** One audit record (snake_case: it is served as is). */
export interface AuditEntry {
  /** "<ms>-<seq>", increasing: the Redis stream id, or the same form in memory. */
  id: string;
  at: string;
  actor: AuditActor;
  /** What was done, e.g. "lists.publish", "alert.acknowledge", "signal.reveal". */
  action: string;
  /** What it was done to, e.g. an alert id or a topic id. */
  target: string;
  details: Record<string, unknown>;
}

export type AuditRecord = Omit<AuditEntry, 'id' | 'at'>;

export interface AuditQuery {
  limit: number;
  /** Entries strictly older than this id (the previous page's next_cursor). */
  before?: string;
  /** Entries at or after this time (ms). */
  sinceMs?: number;
}

export interface AuditPage {
  entries: AuditEntry[];
  nextCursor: string | null;
}

/**
 * Append-only record of who changed or revealed what. Nothing edits or deletes an entry; the
 * Redis implementation only drops entries past the retention period.
 */
export interface AuditLog {
  append(record: AuditRecord): Promise<AuditEntry>;
  /** Newest first. */
  list(query: AuditQuery): Promise<AuditPage>;
  close(): Promise<void>;
}

export const AUDIT_ID = /^\d{1,15}-\d{1,15}$/;

/** Orders two "<ms>-<seq>" ids. */
export function compareAuditIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am - bm || as - bs;
}

/** In-process audit log (embedded mode, tests); keeps the newest maxEntries. */
export class MemoryAuditLog implements AuditLog {
  private readonly entries: AuditEntry[] = [];
  private last = { ms: 0, seq: 0 };

  constructor(
    private readonly clock: Clock,
    private readonly maxEntries = 100_000,
  ) {}

  async append(record: AuditRecord): Promise<AuditEntry> {
    const ms = Math.max(this.clock.now(), this.last.ms);
    this.last = { ms, seq: ms === this.last.ms ? this.last.seq + 1 : 0 };
    const entry: AuditEntry = { id: `${ms}-${this.last.seq}`, at: new Date(ms).toISOString(), ...structuredClone(record) };
    this.entries.push(entry);
    if (this.entries.length > this.maxEntries) this.entries.splice(0, this.entries.length - this.maxEntries);
    return structuredClone(entry);
  }

  async list(q: AuditQuery): Promise<AuditPage> {
    const out: AuditEntry[] = [];
    for (let i = this.entries.length - 1; i >= 0 && out.length <= q.limit; i--) {
      const e = this.entries[i]!;
      if (q.before !== undefined && compareAuditIds(e.id, q.before) >= 0) continue;
      if (q.sinceMs !== undefined && Date.parse(e.at) < q.sinceMs) break;
      out.push(structuredClone(e));
    }
    const page = out.slice(0, q.limit);
    return { entries: page, nextCursor: out.length > q.limit ? page[page.length - 1]!.id : null };
  }

  async close(): Promise<void> {}
}
