import { noActions, parseSeries, type Alert, type AlertKind, type AlertStatus } from '../../src/alerts/alert.js';
import { alertId, summarize } from '../../src/alerts/lifecycle.js';
import type { SeverityTier } from '../../src/config/topic-schema.js';

/** Event time well away from the wall clock: the stores must not read the clock. */
export const T0 = Date.UTC(2024, 2, 1, 12);
export const MIN = 60_000;
export const iso = (ms: number) => new Date(ms).toISOString();

export interface AlertSpec {
  pipeline?: string;
  series?: string;
  openedMs?: number;
  updatedMs?: number;
  status?: AlertStatus;
  severity?: SeverityTier;
  kind?: AlertKind;
}

/** A valid alert as the lifecycle would write it. */
export function makeAlert({ pipeline = 'high-harm', series = 'self-harm', openedMs = T0, updatedMs = openedMs, status = 'open', severity = 'critical', kind = 'spike' }: AlertSpec = {}): Alert {
  const { topic, dimension } = parseSeries(series);
  const figures = { observed: 50, expected: 8, ratio: 6.25, z: 7.4 , p: 1e-12, q: 1e-10};
  const alert: Alert = {
    id: alertId(pipeline, series, openedMs),
    kind,
    pipeline,
    topic,
    topic_name: topic,
    dimension,
    series,
    status,
    severity,
    base_severity: severity,
    coordinated: false,
    suggested_term: null,
    opened_at: iso(openedMs),
    updated_at: iso(updatedMs),
    resolved_at: status === 'resolved' ? iso(updatedMs) : null,
    window: { ...figures, start: iso(updatedMs - 5 * MIN), end: iso(updatedMs), seconds: 300 },
    peak: { ...figures, at: iso(openedMs) },
    baseline: { seconds: 3600, mean_per_bucket: 0.267, bucket_seconds: 10, seasonal_factor: 1 },
    distinct_authors: 31,
    top_terms: [{ term: 'kys', count: 20 }],
    sample_signal_ids: ['s1', 's2'],
    summary: '',
    list_version: 'v1',
    opened_observed: figures.observed,
    significant_ticks: 1,
    quiet_ticks: 0,
    ...noActions(),
  };
  alert.summary = summarize(alert);
  return alert;
}

