import { LeaseLostError } from '../shared/errors.js';
import type { Fence, FenceCheck } from '../windows/lease.js';
import { alertEventId, readAlert, type Alert, type AlertEventType } from './alert.js';
import { mergeDetection, type ActionOutcome, type AlertAction } from './alert-actions.js';
import {
  compareAlerts,
  decodeCursor,
  encodeCursor,
  isAfterCursor,
  matchesQuery,
  type AlertPage,
  type AlertQuery,
  type AlertStore,
  type OutboxEvent,
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
  /** Every saved version with its event, oldest first, for replays and tests. */
  readonly events: { type: AlertEventType; alert: Alert }[] = [];
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
      this.events.push({ type: event, alert });
      if (this.events.length > this.maxEvents) this.events.splice(0, this.events.length - this.maxEvents);
      this.outbox.push({ eventId: alertEventId(alert, event), type: event, alert, entry: String(this.nextEntry++) });
      if (this.outbox.length > this.maxEvents) this.outbox.splice(0, this.outbox.length - this.maxEvents);
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

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
