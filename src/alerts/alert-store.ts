import type { SeverityTier } from '../config/topic-schema.js';
import type { Alert, AlertEventType, AlertKind, AlertStatus } from './alert.js';

export interface AlertQuery {
  pipeline?: string;
  status?: AlertStatus;
  topic?: string;
  severity?: SeverityTier;
  kind?: AlertKind;
  dimension?: string;
  /** Only alerts updated at or after this time (ms). */
  sinceMs?: number;
  /** Only alerts updated before this time (ms). */
  untilMs?: number;
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface AlertPage {
  alerts: Alert[];
  nextCursor: string | null;
}

/** Alert state, index and event stream. */
export interface AlertStore {
  get(id: string): Promise<Alert | undefined>;
  /** Newest update first. */
  list(query: AlertQuery): Promise<AlertPage>;
  /** A pipeline's alerts that are not resolved (open or acknowledged). */
  listOpen(pipeline: string): Promise<Alert[]>;
  /** True while a resolved alert's cooldown (in event time) covers nowMs. */
  inCooldown(pipeline: string, series: string, nowMs: number): Promise<boolean>;
  /** Saves the alert; a resolve starts the series' cooldown, cooldownSec from resolved_at. */
  save(alert: Alert, event: AlertEventType | undefined, cooldownSec: number): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Where alert events go besides the store (Kafka "alerts" topic, logs, webhooks). */
export interface AlertPublisher {
  publish(topic: string, event: { type: AlertEventType; alert: Alert }): Promise<void>;
  close(): Promise<void>;
}

/** Cursor = "<updated ms>:<id>" of the last alert on the previous page. */
export function encodeCursor(a: Alert): string {
  return Buffer.from(`${Date.parse(a.updated_at)}:${a.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { ms: number; id: string } | undefined {
  const raw = Buffer.from(cursor, 'base64url').toString();
  const m = /^(\d+):(al_[0-9a-f]+)$/.exec(raw);
  return m ? { ms: Number(m[1]), id: m[2]! } : undefined;
}

export function matchesQuery(a: Alert, q: AlertQuery): boolean {
  return (
    (q.pipeline === undefined || a.pipeline === q.pipeline) &&
    (q.status === undefined || a.status === q.status) &&
    (q.topic === undefined || a.topic === q.topic) &&
    (q.severity === undefined || a.severity === q.severity) &&
    (q.kind === undefined || a.kind === q.kind) &&
    (q.dimension === undefined || a.dimension === q.dimension) &&
    (q.sinceMs === undefined || Date.parse(a.updated_at) >= q.sinceMs) &&
    (q.untilMs === undefined || Date.parse(a.updated_at) < q.untilMs)
  );
}

/** Newest first; ties broken by id so that paging is stable. */
export function compareAlerts(a: Alert, b: Alert): number {
  return Date.parse(b.updated_at) - Date.parse(a.updated_at) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

export function isAfterCursor(a: Alert, c: { ms: number; id: string }): boolean {
  const ms = Date.parse(a.updated_at);
  return ms < c.ms || (ms === c.ms && a.id < c.id);
}
