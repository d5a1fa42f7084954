import { LeaseLostError } from '../shared/errors.js';
import type { Fence, FenceCheck } from '../windows/lease.js';
import { alertEventId, readAlert, type Alert, type AlertEventType } from './alert.js';
import { mergeDetection, type ActionOutcome, type AlertAction } from './alert-actions.js';
import {
  compareAlerts,
  comparePositions,
  decodeCursor,
  encodeCursor,
  isAfterCursor,
  matchesQuery,
  type AlertPage,
  type AlertQuery,
  type AlertStore,
  type EventCursor,
  type OutboxEvent,
  type StoredAlertEvent,
} from './alert-store.js';

export interface MemoryAlertStoreOptions {
  maxAlerts?: number;
  maxEvents?: number;
  /** Tells whether a fenced write's lease still holds (the in-memory lease's `holds`). */
  fenceCheck?: FenceCheck;
}

/** In-process alert store (embedded mode, replays, tests); keeps the newest maxAlerts. */
export class MemoryAlertStore implements AlertStore {
  private readonly alerts = new Map<string, Alert>();
  private readonly open = new Map<string, string>();
  private readonly cooldownUntil = new Map<string, number>();
  /** Every saved version with its event, oldest first: the event stream (positions "0-<seq>"). */
  readonly events: StoredAlertEvent[] = [];
  private nextEvent = 1;
  /** Readers waiting for the next event. */
  private readonly waiters = new Set<() => void>();
  private readonly outbox: OutboxEvent[] = [];
  private nextEntry = 0;
  private readonly maxAlerts: number;
  private readonly maxEvents: number;

  constructor(private readonly options: MemoryAlertStoreOptions = {}) {
    this.maxAlerts = options.maxAlerts ?? 10_000;
    this.maxEvents = options.maxEvents ?? 100_000;
  }

  async get(id: string): Promise<Alert | undefined> {
    return this.alerts.get(id);
  }

  async list(q: AlertQuery): Promise<AlertPage> {
    const cursor = q.cursor ? decodeCursor(q.cursor) : undefined;
    const all = [...this.alerts.values()].filter((a) => matchesQuery(a, q) && (!cursor || isAfterCursor(a, cursor))).sort(compareAlerts);
    const page = all.slice(0, q.limit);
    return { alerts: page, nextCursor: all.length > q.limit ? encodeCursor(page[page.length - 1]!) : null };
  }

  async listOpen(pipeline: string): Promise<Alert[]> {
    const out: Alert[] = [];
    for (const [key, id] of this.open) {
      const a = this.alerts.get(id);
      if (a && key.startsWith(`${pipeline}\0`)) out.push(a);
    }
    return out;
  }

  async inCooldown(pipeline: string, series: string, nowMs: number): Promise<boolean> {
    return (this.cooldownUntil.get(`${pipeline}\0${series}`) ?? -Infinity) > nowMs;
  }

  async save(alert: Alert, event: AlertEventType | undefined, cooldownSec: number, fence?: Fence): Promise<boolean> {
    if (fence && !(this.options.fenceCheck?.(fence) ?? false)) throw new LeaseLostError(fence.lease);
    alert = readAlert(alert);
    const key = `${alert.pipeline}\0${alert.series}`;
    if (event === 'opened') {
      const other = this.open.get(key);
      if (this.alerts.has(alert.id) || (other !== undefined && other !== alert.id && this.alerts.has(other))) return false;
    } else {
      const merged = mergeDetection(this.alerts.get(alert.id), alert, event !== undefined);
      if (!merged) return false;
      alert = merged;
    }
    this.write(alert, event, cooldownSec);
    return true;
  }

  async act(id: string, action: AlertAction, cooldownSec: number): Promise<{ alert: Alert; outcome: ActionOutcome } | undefined> {
    const current = this.alerts.get(id);
    if (!current) return undefined;
    // Nothing runs between this read and the write: the action sees the latest version.
    const outcome = action(current);
    if (outcome.kind !== 'changed') return { alert: current, outcome };
    this.write(outcome.alert, outcome.event, cooldownSec);
    return { alert: outcome.alert, outcome };
  }

  private write(alert: Alert, event: AlertEventType | undefined, cooldownSec: number): void {
    const key = `${alert.pipeline}\0${alert.series}`;
    this.alerts.delete(alert.id); // re-insert so Map order tracks recency for eviction
    this.alerts.set(alert.id, alert);
    if (alert.status === 'resolved') {
      if (this.open.get(key) === alert.id) this.open.delete(key);
      if (cooldownSec > 0) this.cooldownUntil.set(key, Date.parse(alert.resolved_at ?? alert.updated_at) + cooldownSec * 1000);
    } else {
      this.open.set(key, alert.id);
    }
    if (event) {
      const eventId = alertEventId(alert, event);
      this.events.push({ pipeline: alert.pipeline, position: `0-${this.nextEvent++}`, eventId, type: event, alert });
      if (this.events.length > this.maxEvents) this.events.splice(0, this.events.length - this.maxEvents);
      this.outbox.push({ eventId, type: event, alert, entry: String(this.nextEntry++) });
      if (this.outbox.length > this.maxEvents) this.outbox.splice(0, this.outbox.length - this.maxEvents);
      for (const wake of [...this.waiters]) wake();
    }
    while (this.alerts.size > this.maxAlerts) {
      const oldest = this.alerts.keys().next().value as string;
      this.alerts.delete(oldest);
    }
  }

  async pendingEvents(pipeline: string, limit: number): Promise<OutboxEvent[]> {
    return this.outbox.filter((e) => e.alert.pipeline === pipeline).slice(0, limit);
  }

  async ackEvents(_pipeline: string, events: readonly OutboxEvent[]): Promise<void> {
    const done = new Set(events.map((e) => e.entry));
    for (let i = this.outbox.length - 1; i >= 0; i--) if (done.has(this.outbox[i]!.entry)) this.outbox.splice(i, 1);
  }

  async eventHeads(pipelines: readonly string[]): Promise<EventCursor> {
    const heads: EventCursor = Object.fromEntries(pipelines.map((p) => [p, '0-0']));
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i]!;
      if (heads[e.pipeline] === '0-0') heads[e.pipeline] = e.position;
    }
    return heads;
  }

  async readEvents(after: EventCursor, limit: number): Promise<StoredAlertEvent[]> {
    return this.readEventsNow(after, limit);
  }

  private readEventsNow(after: EventCursor, limit: number): StoredAlertEvent[] {
    const out: StoredAlertEvent[] = [];
    for (let i = this.firstAfter(after); i < this.events.length && out.length < limit; i++) {
      const e = this.events[i]!;
      const from = after[e.pipeline];
      if (from !== undefined && comparePositions(e.position, from) > 0) out.push(e);
    }
    return out;
  }

  /** Index of the first event past the cursor's oldest position (positions grow with the index). */
  private firstAfter(after: EventCursor): number {
    const positions = Object.values(after);
    if (positions.length === 0) return this.events.length;
    const oldest = positions.reduce((a, b) => (comparePositions(a, b) <= 0 ? a : b));
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (comparePositions(this.events[mid]!.position, oldest) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  async waitForEvents(after: EventCursor, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const pending = () => this.readEventsNow(after, 1).length > 0;
    if (pending()) return true;
    if (signal?.aborted) return false;
    return new Promise<boolean>((resolve) => {
      const done = (found: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        signal?.removeEventListener('abort', aborted);
        resolve(found);
      };
      const wake = () => {
        if (pending()) done(true);
      };
      const aborted = () => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(wake);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
