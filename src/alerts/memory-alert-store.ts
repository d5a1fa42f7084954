import type { Alert, AlertEventType } from './alert.js';
import {
  compareAlerts,
  decodeCursor,
  encodeCursor,
  isAfterCursor,
  matchesQuery,
  type AlertPage,
  type AlertQuery,
  type AlertStore,
} from './alert-store.js';

/** In-process alert store (embedded mode, replays, tests); keeps the newest maxAlerts. */
export class MemoryAlertStore implements AlertStore {
  private readonly alerts = new Map<string, Alert>();
  private readonly open = new Map<string, string>();
  private readonly cooldownUntil = new Map<string, number>();
  /** Every saved version with its event, oldest first, for replays and tests. */
  readonly events: { type: AlertEventType; alert: Alert }[] = [];

  constructor(private readonly maxAlerts = 10_000, private readonly maxEvents = 100_000) {}

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

  async save(alert: Alert, event: AlertEventType | undefined, cooldownSec: number): Promise<void> {
    const key = `${alert.pipeline}\0${alert.series}`;
    this.alerts.delete(alert.id); // re-insert so Map order tracks recency for eviction
    this.alerts.set(alert.id, alert);
    if (alert.status === 'resolved') {
      if (this.open.get(key) === alert.id) this.open.delete(key);
      this.cooldownUntil.set(key, Date.parse(alert.resolved_at ?? alert.updated_at) + cooldownSec * 1000);
    } else {
      this.open.set(key, alert.id);
    }
    if (event) {
      this.events.push({ type: event, alert });
      if (this.events.length > this.maxEvents) this.events.splice(0, this.events.length - this.maxEvents);
    }
    while (this.alerts.size > this.maxAlerts) {
      const oldest = this.alerts.keys().next().value as string;
      this.alerts.delete(oldest);
    }
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
