import type { SeverityTier } from '../config/topic-schema.js';
import type { Fence } from '../windows/lease.js';
import type { Alert, AlertEventType, AlertKind, AlertStatus } from './alert.js';
import type { ActionOutcome, AlertAction } from './alert-actions.js';

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
  /**
   * Saves the alert, and its event (when given) into the outbox, in one atomic step; a resolve
   * starts the series' cooldown, cooldownSec from resolved_at. Opening is idempotent: an
   * "opened" whose alert exists already, or whose series has another alert open, saves nothing
   * and returns false. With a fence, the write happens only while the fence's lease is held
   * under its token; otherwise it throws LeaseLostError and nothing is written.
   *
   * This is detection's write: over a stored version it keeps what people did (see
   * mergeDetection), and over a resolved alert it saves nothing and returns false.
   */
  save(alert: Alert, event: AlertEventType | undefined, cooldownSec: number, fence?: Fence): Promise<boolean>;
  /**
   * A person's action on the latest stored version, atomically: if the alert changes between the
   * read and the write (a detection tick, another person), the action runs again on the new
   * version. A changed alert is saved with its event in the outbox (a resolve starts the
   * cooldown, as in save). Undefined when there is no such alert.
   */
  act(id: string, action: AlertAction, cooldownSec: number): Promise<{ alert: Alert; outcome: ActionOutcome } | undefined>;
  /** The oldest alert events not yet acknowledged as published (the outbox), at most `limit`. */
  pendingEvents(pipeline: string, limit: number): Promise<OutboxEvent[]>;
  /** Removes published events from the outbox. */
  ackEvents(pipeline: string, events: readonly OutboxEvent[]): Promise<void>;
  /**
   * The position of each pipeline's newest event in the event stream (which, unlike the outbox,
   * keeps events after publishing, capped): where a reader that starts now begins.
   */
  eventHeads(pipelines: readonly string[]): Promise<EventCursor>;
  /**
   * Events after the cursor's position in each of the cursor's pipelines, oldest first, at most
   * `limit` in all. Events older than the stream keeps (capped, TTL) are gone.
   */
  readEvents(after: EventCursor, limit: number): Promise<StoredAlertEvent[]>;
  /**
   * Resolves true as soon as an event after the cursor may exist in one of its pipelines (at
   * once when one does already), false after timeoutMs or when the signal aborts. Never rejects.
   */
  waitForEvents(after: EventCursor, timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** An alert event waiting in the outbox to be published. */
export interface OutboxEvent {
  /** Stable across retries and processes (see alertEventId). */
  eventId: string;
  type: AlertEventType;
  alert: Alert;
  /** The event's place in the outbox. */
  entry: string;
}

/** An alert event as the event stream keeps it, with its place there. */
export interface StoredAlertEvent {
  pipeline: string;
  /** "<ms>-<seq>", increasing within the pipeline's stream. */
  position: string;
  /** Stable across retries and processes (see alertEventId), as in the outbox. */
  eventId: string;
  type: AlertEventType;
  alert: Alert;
}

/** Per pipeline, the position of the last event read ("0-0": before any). */
export type EventCursor = Record<string, string>;

export const EVENT_POSITION = /^\d{1,20}-\d{1,20}$/;

/** Orders two "<ms>-<seq>" stream positions. */
export function comparePositions(a: string, b: string): number {
  const [am, as] = a.split('-') as [string, string];
  const [bm, bs] = b.split('-') as [string, string];
  const byMs = BigInt(am) - BigInt(bm);
  const d = byMs !== 0n ? byMs : BigInt(as) - BigInt(bs);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/** Where alert events go besides the store (Kafka "alerts" topic, logs, webhooks). */
export interface AlertPublisher {
  /** Sends one event; `eventId` lets receivers drop a copy they already have. */
  publish(topic: string, event: { type: AlertEventType; alert: Alert; eventId: string }): Promise<void>;
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
