import { randomUUID } from 'node:crypto';
import type { DeliveryContent } from './webhook-payload.js';

/** A delivery as the queue keeps it. */
export interface DeliveryRecord extends DeliveryContent {
  /** Attempts made (a claim counts as one, so a worker that dies mid-attempt uses one up). */
  attempts: number;
  lastError: string | null;
  /** Set once it is a dead letter. */
  deadAtMs: number | null;
}

/** A delivery taken by one worker until it settles it or its lease runs out. */
export interface ClaimedDelivery extends DeliveryRecord {
  /** Proves the claim when settling: a worker whose lease ran out cannot settle. */
  token: string;
}

export type EnqueueResult = 'queued' | 'duplicate' | 'full';

export interface DeadPage {
  deliveries: DeliveryRecord[];
  nextCursor: string | null;
}

export interface DeliveryQueueLimits {
  /** Pending deliveries at most; beyond it new ones are refused ('full'). */
  maxPending: number;
  /** Dead letters kept at most; the oldest go first. */
  maxDead: number;
  /** How long a pending delivery or a dead letter is kept. */
  retentionSec: number;
  /** How long a delivered one is remembered, so that the same alert version is not queued again. */
  doneTtlSec: number;
}

export const defaultQueueLimits: DeliveryQueueLimits = { maxPending: 10_000, maxDead: 10_000, retentionSec: 7 * 86_400, doneTtlSec: 7 * 86_400 };

/**
 * Webhook deliveries waiting for their due time, in flight, or dead. Several workers may share
 * one queue: a claim gives a delivery to one worker for a lease; one that is not settled within
 * it (the worker died) is due again for the others.
 */
export interface DeliveryQueue {
  /** Adds a delivery due at dueAtMs; a no-op for one already queued, dead, or delivered recently. */
  enqueue(delivery: DeliveryContent, dueAtMs: number): Promise<EnqueueResult>;
  /** Takes up to `limit` deliveries due at nowMs (earliest first) for leaseMs. */
  claim(nowMs: number, limit: number, leaseMs: number): Promise<ClaimedDelivery[]>;
  /** Delivered: forgotten but for the dedupe marker. False when the claim was lost. */
  complete(d: ClaimedDelivery): Promise<boolean>;
  /** Failed, to be tried again at dueAtMs. False when the claim was lost. */
  retry(d: ClaimedDelivery, dueAtMs: number, error: string): Promise<boolean>;
  /** Failed for good: a dead letter. False when the claim was lost. */
  kill(d: ClaimedDelivery, nowMs: number, error: string): Promise<boolean>;
  /** Dead letters, newest first. */
  listDead(query: { limit: number; cursor?: string }): Promise<DeadPage>;
  /** Moves a dead letter back to the queue, due at nowMs with its attempts reset. */
  replay(id: string, nowMs: number): Promise<DeliveryRecord | undefined>;
  counts(): Promise<{ pending: number; dead: number }>;
  close(): Promise<void>;
}

/** Dead-letter cursor: "<dead at ms>:<id>" of the last one on the previous page. */
export function encodeDeadCursor(d: { deadAtMs: number | null; id: string }): string {
  return Buffer.from(`${d.deadAtMs ?? 0}:${d.id}`).toString('base64url');
}

export function decodeDeadCursor(cursor: string): { ms: number; id: string } | undefined {
  const m = /^(\d+):(dl_[0-9a-f]+)$/.exec(Buffer.from(cursor, 'base64url').toString());
  return m ? { ms: Number(m[1]), id: m[2]! } : undefined;
}

/** Newest dead letter first; ties by id, descending, as Redis orders equal scores in reverse. */
export function isAfterDeadCursor(d: { deadAtMs: number | null; id: string }, c: { ms: number; id: string }): boolean {
  const ms = d.deadAtMs ?? 0;
  return ms < c.ms || (ms === c.ms && d.id < c.id);
}

interface MemoryEntry {
  record: DeliveryRecord;
  dueAtMs: number;
  token: string | null;
  /** Dead letters and pending deliveries are dropped after retentionSec. */
  keepUntilMs: number;
}

/** In-process queue (embedded mode, tests): the same behaviour, lost with the process. */
export class MemoryDeliveryQueue implements DeliveryQueue {
  private readonly entries = new Map<string, MemoryEntry>();
  private readonly done = new Map<string, number>();
  private readonly limits: DeliveryQueueLimits;
  private pendingCount = 0;
  private nextExpiryMs = -Infinity;

  constructor(limits: Partial<DeliveryQueueLimits> = {}) {
    this.limits = { ...defaultQueueLimits, ...limits };
  }

  /** Drops what outlived its retention; a full pass at most once a second (of the caller's time). */
  private expire(nowMs: number): void {
    if (nowMs < this.nextExpiryMs) return;
    this.nextExpiryMs = nowMs + 1000;
    for (const [id, e] of this.entries) if (e.keepUntilMs <= nowMs) this.remove(id);
    for (const [id, until] of this.done) if (until <= nowMs) this.done.delete(id);
  }

  private remove(id: string): void {
    const e = this.entries.get(id);
    if (e && e.record.deadAtMs === null) this.pendingCount--;
    this.entries.delete(id);
  }

  private pending(): MemoryEntry[] {
    return [...this.entries.values()].filter((e) => e.record.deadAtMs === null);
  }

  private dead(): MemoryEntry[] {
    return [...this.entries.values()].filter((e) => e.record.deadAtMs !== null);
  }

  async enqueue(delivery: DeliveryContent, dueAtMs: number): Promise<EnqueueResult> {
    this.expire(delivery.createdAtMs);
    if (this.entries.has(delivery.id) || this.done.has(delivery.id)) return 'duplicate';
    if (this.pendingCount >= this.limits.maxPending) return 'full';
    this.pendingCount++;
    this.entries.set(delivery.id, {
      record: { ...delivery, attempts: 0, lastError: null, deadAtMs: null },
      dueAtMs,
      token: null,
      keepUntilMs: delivery.createdAtMs + this.limits.retentionSec * 1000,
    });
    return 'queued';
  }

  async claim(nowMs: number, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    this.expire(nowMs);
    const due = this.pending()
      .filter((e) => e.dueAtMs <= nowMs)
      .sort((a, b) => a.dueAtMs - b.dueAtMs)
      .slice(0, limit);
    const token = randomUUID();
    return due.map((e) => {
      e.record.attempts += 1;
      e.token = token;
      e.dueAtMs = nowMs + leaseMs;
      return { ...e.record, token };
    });
  }

  private owned(d: ClaimedDelivery): MemoryEntry | undefined {
    const e = this.entries.get(d.id);
    return e && e.token === d.token ? e : undefined;
  }

  async complete(d: ClaimedDelivery): Promise<boolean> {
    if (!this.owned(d)) return false;
    this.remove(d.id);
    this.done.set(d.id, d.createdAtMs + this.limits.doneTtlSec * 1000);
    return true;
  }

  async retry(d: ClaimedDelivery, dueAtMs: number, error: string): Promise<boolean> {
    const e = this.owned(d);
    if (!e) return false;
    Object.assign(e, { dueAtMs, token: null });
    e.record.lastError = error;
    return true;
  }

  async kill(d: ClaimedDelivery, nowMs: number, error: string): Promise<boolean> {
    const e = this.owned(d);
    if (!e) return false;
    this.pendingCount--;
    Object.assign(e, { token: null, keepUntilMs: nowMs + this.limits.retentionSec * 1000 });
    Object.assign(e.record, { lastError: error, deadAtMs: nowMs });
    const dead = this.dead().sort((a, b) => a.record.deadAtMs! - b.record.deadAtMs!);
    for (const old of dead.slice(0, Math.max(0, dead.length - this.limits.maxDead))) this.entries.delete(old.record.id);
    return true;
  }

  async listDead(query: { limit: number; cursor?: string }): Promise<DeadPage> {
    const cursor = query.cursor ? decodeDeadCursor(query.cursor) : undefined;
    const all = this.dead()
      .map((e) => ({ ...e.record }))
      .filter((r) => !cursor || isAfterDeadCursor(r, cursor))
      .sort((a, b) => b.deadAtMs! - a.deadAtMs! || (a.id < b.id ? 1 : -1));
    const page = all.slice(0, query.limit);
    return { deliveries: page, nextCursor: all.length > query.limit ? encodeDeadCursor(page[page.length - 1]!) : null };
  }

  async replay(id: string, nowMs: number): Promise<DeliveryRecord | undefined> {
    const e = this.entries.get(id);
    if (!e || e.record.deadAtMs === null) return undefined;
    Object.assign(e, { dueAtMs: nowMs, token: null, keepUntilMs: nowMs + this.limits.retentionSec * 1000 });
    Object.assign(e.record, { attempts: 0, deadAtMs: null });
    this.pendingCount++;
    return { ...e.record };
  }

  async counts(): Promise<{ pending: number; dead: number }> {
    return { pending: this.pendingCount, dead: this.entries.size - this.pendingCount };
  }

  async close(): Promise<void> {}
}
