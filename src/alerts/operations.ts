import { severityTiers, type SeverityTier } from '../config/topic-schema.js';
import { latestVerdict, type Alert } from './alert.js';
import type { AlertStore } from './alert-store.js';

/**
 * Operational figures of the alert workflow, from stored alerts: how fast people acknowledge
 * and resolve, how often alerts escalate, and how often feedback calls them false alarms.
 * Pure: the caller picks the alerts (those opened in a time range).
 */

export interface Spread {
  /** Alerts the figure is taken over. */
  count: number;
  median: number | null;
  p90: number | null;
}

export interface OperationsGroup {
  pipeline: string;
  topic: string;
  /** The alert's severity as it ended up (escalation raises it, never lowers it). */
  severity: SeverityTier;
  alerts: number;
  acknowledged: number;
  resolved: number;
  /** Resolved by a person rather than by detection. */
  resolved_by_person: number;
  /** Seconds from opening to the first acknowledgement. */
  time_to_acknowledge_sec: Spread;
  /** Seconds from opening to resolution (by a person or by detection). */
  time_to_resolve_sec: Spread;
  /** Alerts whose severity rose above the topic's tier. */
  escalated: number;
  /** Alerts by their latest verdict. */
  feedback: { true_trend: number; false_alarm: number };
  /** false_alarm / alerts with feedback; null without any. */
  false_alarm_share: number | null;
}

const r1 = (x: number) => Math.round(x * 10) / 10;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** Nearest-rank quantile of sorted values. */
function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => {
    const v = quantile(sorted, q);
    return v === null ? null : r1(v);
  };
  return { count: sorted.length, median: at(0.5), p90: at(0.9) };
}

const seconds = (from: string, to: string | null) => (to === null ? undefined : Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000));

export function timeToAcknowledgeSec(a: Alert): number | undefined {
  return seconds(a.opened_at, a.acknowledged_at);
}

export function timeToResolveSec(a: Alert): number | undefined {
  return a.status === 'resolved' ? seconds(a.opened_at, a.resolved_at) : undefined;
}

/** Groups per pipeline, topic and severity, ordered by pipeline, topic, then severity (critical first). */
export function operationsFigures(alerts: readonly Alert[]): OperationsGroup[] {
  const groups = new Map<string, { alerts: Alert[] }>();
  for (const a of alerts) {
    const key = `${a.pipeline}\0${a.topic}\0${a.severity}`;
    const g = groups.get(key) ?? { alerts: [] };
    g.alerts.push(a);
    groups.set(key, g);
  }
  const out: OperationsGroup[] = [];
  for (const { alerts: list } of groups.values()) {
    const first = list[0]!;
    const verdicts = list.map(latestVerdict);
    const trueTrend = verdicts.filter((v) => v === 'true_trend').length;
    const falseAlarm = verdicts.filter((v) => v === 'false_alarm').length;
    out.push({
      pipeline: first.pipeline,
      topic: first.topic,
      severity: first.severity,
      alerts: list.length,
      acknowledged: list.filter((a) => a.acknowledged_at !== null).length,
      resolved: list.filter((a) => a.status === 'resolved').length,
      resolved_by_person: list.filter((a) => a.status === 'resolved' && a.resolved_by !== null).length,
      time_to_acknowledge_sec: spread(list.map(timeToAcknowledgeSec).filter((x): x is number => x !== undefined)),
      time_to_resolve_sec: spread(list.map(timeToResolveSec).filter((x): x is number => x !== undefined)),
      escalated: list.filter((a) => a.severity !== a.base_severity).length,
      feedback: { true_trend: trueTrend, false_alarm: falseAlarm },
      false_alarm_share: trueTrend + falseAlarm > 0 ? r3(falseAlarm / (trueTrend + falseAlarm)) : null,
    });
  }
  return out.sort((a, b) => a.pipeline.localeCompare(b.pipeline) || a.topic.localeCompare(b.topic) || severityTiers.indexOf(a.severity) - severityTiers.indexOf(b.severity));
}

/** At most this many alerts go into one set of figures (the report says when it was cut). */
export const MAX_REPORT_ALERTS = 20_000;
const PAGE = 500;

/**
 * Alerts opened in [sinceMs, untilMs), of one pipeline or all. The index is by update time and an
 * alert is updated at or after it opened, so the walk starts at sinceMs and filters on opening.
 */
export async function alertsOpenedIn(
  store: Pick<AlertStore, 'list'>,
  range: { sinceMs: number; untilMs: number; pipeline?: string },
  max = MAX_REPORT_ALERTS,
): Promise<{ alerts: Alert[]; truncated: boolean }> {
  const out: Alert[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list({ limit: PAGE, sinceMs: range.sinceMs, ...(range.pipeline && { pipeline: range.pipeline }), ...(cursor && { cursor }) });
    for (const a of page.alerts) {
      const opened = Date.parse(a.opened_at);
      if (opened >= range.sinceMs && opened < range.untilMs) out.push(a);
      if (out.length >= max) return { alerts: out, truncated: true };
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return { alerts: out, truncated: false };
}
