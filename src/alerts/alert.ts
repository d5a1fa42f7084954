import type { SeverityTier } from '../config/topic-schema.js';
import type { RelatedScope } from '../detect/grouping.js';

export const alertStatuses = ['open', 'acknowledged', 'resolved'] as const;
export type AlertStatus = (typeof alertStatuses)[number];
export type AlertKind = 'spike' | 'emerging_term';

export interface AlertFigures {
  observed: number;
  expected: number;
  ratio: number;
  z: number;
  /** P(count >= observed) under the series' baseline. */
  p: number;
  /** The p-value adjusted for the series of its false-discovery family tested in the tick (Benjamini-Hochberg). */
  q: number;
}

/** An alert as stored, published and served (snake_case: it is a wire format). */
export interface Alert {
  id: string;
  kind: AlertKind;
  pipeline: string;
  topic: string;
  topic_name: string;
  /** "all" for the topic as a whole, else e.g. "region=US-TX". */
  dimension: string;
  series: string;
  status: AlertStatus;
  /** The topic's tier, raised one step each time the volume doubles over the opening window's. */
  severity: SeverityTier;
  /** The topic's tier, before any escalation. */
  base_severity: SeverityTier;
  /** Volume high but from few accounts: distinct authors at most `coordinatedShare` of the signals. */
  coordinated: boolean;
  opened_at: string;
  updated_at: string;
  resolved_at: string | null;
  window: AlertFigures & { start: string; end: string; seconds: number };
  peak: AlertFigures & { at: string };
  /** seasonal_factor: how much busier this hour usually is than the baseline's (1 without seasonality). */
  baseline: { seconds: number; mean_per_bucket: number; bucket_seconds: number; seasonal_factor: number };
  /** null when the window's signals carry no author ids (unknown, not zero). */
  distinct_authors: number | null;
  top_terms: { term: string; count: number }[];
  sample_signal_ids: string[];
  summary: string;
  list_version: string;
  /** For an emerging-term alert: the hashtag to consider adding to the topic's list. */
  suggested_term: string | null;
  /** The observed count of the window that opened the alert (escalation is relative to it). */
  opened_observed: number;
  /**
   * Other scopes of the topic the same surge shows in (the topic as a whole, the wider region,
   * a language...): one incident, not one alert per scope. Those of the last significant tick
   * come first with their current figures, then those seen earlier in the incident. Missing on
   * alerts stored before scopes were grouped.
   */
  related?: RelatedScope[];
  /** Consecutive significant ticks while open; quiet ticks count towards resolution. */
  significant_ticks: number;
  quiet_ticks: number;
  // What people did with the alert (see alert-actions.ts). Detection never changes these, and a
  // detection save keeps the stored values (a tick cannot erase an acknowledgement or a note).
  /** The first acknowledgement; null until someone acknowledges. */
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  /** Who works on it now; null when nobody is assigned. */
  assignee: string | null;
  /** Every (re)assignment, oldest first: the history behind `assignee`. */
  assignments: AlertAssignment[];
  /** Who resolved it; null while open and when detection resolved it (volume back to baseline). */
  resolved_by: string | null;
  notes: AlertNote[];
  feedback: AlertFeedback[];
  /** Severity rises written by detection, oldest first (at most one per tier). */
  escalations: AlertEscalation[];
}

export interface AlertNote {
  at: string;
  by: string;
  text: string;
}

export const feedbackVerdicts = ['true_trend', 'false_alarm'] as const;
export type FeedbackVerdict = (typeof feedbackVerdicts)[number];

export interface AlertFeedback {
  at: string;
  by: string;
  verdict: FeedbackVerdict;
  note: string | null;
}

export interface AlertAssignment {
  at: string;
  by: string;
  /** null: unassigned. */
  assignee: string | null;
}

export interface AlertEscalation {
  at: string;
  from: SeverityTier;
  to: SeverityTier;
}

/** The people fields of a new alert. */
export function noActions(): Pick<Alert, 'acknowledged_at' | 'acknowledged_by' | 'assignee' | 'assignments' | 'resolved_by' | 'notes' | 'feedback' | 'escalations'> {
  return { acknowledged_at: null, acknowledged_by: null, assignee: null, assignments: [], resolved_by: null, notes: [], feedback: [], escalations: [] };
}

/**
 * An alert as read from storage: alerts stored before the people fields existed get their
 * defaults (nobody acknowledged, assigned, resolved, noted or judged them).
 */
export function readAlert(stored: unknown): Alert {
  const a = stored as Partial<Alert> & Omit<Alert, keyof ReturnType<typeof noActions>>;
  return { ...noActions(), ...a } as Alert;
}

/** The verdict that counts for an alert: the latest feedback, or null without any. */
export function latestVerdict(a: Pick<Alert, 'feedback'>): FeedbackVerdict | null {
  return a.feedback.length > 0 ? a.feedback[a.feedback.length - 1]!.verdict : null;
}

export type AlertEventType = 'opened' | 'updated' | 'resolved';

export interface AlertEvent {
  type: AlertEventType;
  alert: Alert;
}

/**
 * A stable id for one alert event: the same on every retry and from every process, so that
 * consumers of the alerts topic can drop a copy they already have.
 */
export function alertEventId(alert: Pick<Alert, 'id' | 'updated_at'>, type: AlertEventType): string {
  return `${alert.id}:${type}:${Date.parse(alert.updated_at)}`;
}

/** Series id <-> topic and dimension. */
export function parseSeries(series: string): { topic: string; dimension: string } {
  const bar = series.indexOf('|');
  return bar < 0 ? { topic: series, dimension: 'all' } : { topic: series.slice(0, bar), dimension: series.slice(bar + 1) };
}

export function seriesId(topic: string, dimension?: { name: string; value: string }): string {
  return dimension ? `${topic}|${dimension.name}=${dimension.value}` : topic;
}
