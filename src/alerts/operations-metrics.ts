import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import { counter, histogram, readMetric, type MetricsRegistry } from '../shared/metrics.js';
import type { Alert } from './alert.js';
import type { AlertStore } from './alert-store.js';
import { alertsOpenedIn, operationsFigures, timeToAcknowledgeSec, timeToResolveSec, type OperationsGroup } from './operations.js';

/** 30 s to a day: people take minutes to hours, detection resolves within hours. */
const workflowBuckets = [30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400];

const ackSeconds = histogram({
  name: 'surgewatch_alert_time_to_acknowledge_seconds',
  help: 'Seconds from an alert opening to its first acknowledgement, by topic and severity (observed when acknowledged).',
  labelNames: ['pipeline', 'topic', 'severity'],
  buckets: workflowBuckets,
});
const resolveSeconds = histogram({
  name: 'surgewatch_alert_time_to_resolve_seconds',
  help: 'Seconds from an alert opening to its resolution, by topic, severity and who resolved it (person or detection).',
  labelNames: ['pipeline', 'topic', 'severity', 'resolved_by'],
  buckets: workflowBuckets,
});
const feedbackTotal = counter({
  name: 'surgewatch_alert_feedback_total',
  help: 'Feedback given on alerts, by topic and verdict (true_trend, false_alarm).',
  labelNames: ['pipeline', 'topic', 'verdict'],
});

const labels = (a: Alert) => ({ pipeline: a.pipeline, topic: a.topic, severity: a.severity });

/** Records what an action changed: a first acknowledgement, a resolve, new feedback. */
export function recordAction(before: Alert, after: Alert): void {
  if (before.acknowledged_at === null && after.acknowledged_at !== null) ackSeconds.observe(labels(after), timeToAcknowledgeSec(after)!);
  if (before.status !== 'resolved' && after.status === 'resolved') recordResolved(after);
  for (const f of after.feedback.slice(before.feedback.length)) feedbackTotal.inc({ pipeline: after.pipeline, topic: after.topic, verdict: f.verdict });
}

/** Records a resolve, by a person or by detection. */
export function recordResolved(a: Alert): void {
  const sec = timeToResolveSec(a);
  if (sec !== undefined) resolveSeconds.observe({ ...labels(a), resolved_by: a.resolved_by === null ? 'detection' : 'person' }, sec);
}

export interface OperationsMetricsOptions {
  alerts: Pick<AlertStore, 'list'>;
  clock: Clock;
  logger: Logger;
  /** The trailing period the gauges cover (default 24 h). */
  windowMs?: number;
}

/**
 * Gauges over the alerts opened in the trailing window, read from the store at scrape time
 * (computed once per scrape, whichever gauge asks first): escalations, false-alarm share, and
 * the median and p90 times to acknowledge and resolve. The histograms above count what this
 * process saw; these gauges are the same for every process (they come from the shared store).
 */
export function registerOperationsMetrics(registry: MetricsRegistry, opts: OperationsMetricsOptions): void {
  const windowMs = opts.windowMs ?? 86_400_000;
  let cached: { atMs: number; groups: Promise<OperationsGroup[]> } | undefined;
  const groups = (): Promise<OperationsGroup[]> => {
    const now = opts.clock.now();
    if (!cached || now - cached.atMs > 5000) {
      const groups = alertsOpenedIn(opts.alerts, { sinceMs: now - windowMs, untilMs: now + 1 }).then(
        ({ alerts }) => operationsFigures(alerts),
        (err: unknown) => {
          // The other figures are still worth serving while the store does not answer.
          opts.logger.warn({ err }, 'alert operations figures could not be read for /metrics');
          return [];
        },
      );
      cached = { atMs: now, groups };
    }
    return cached.groups;
  };
  const hours = Math.round(windowMs / 3_600_000);
  const key = (g: OperationsGroup) => ({ pipeline: g.pipeline, topic: g.topic, severity: g.severity });
  readMetric(registry, {
    type: 'gauge',
    name: 'surgewatch_alerts_escalated',
    help: `Alerts opened in the last ${hours} h whose severity rose above the topic's tier, by topic and severity.`,
    labelNames: ['pipeline', 'topic', 'severity'],
    read: async () => (await groups()).map((g) => [key(g), g.escalated]),
  });
  readMetric(registry, {
    type: 'gauge',
    name: 'surgewatch_alert_false_alarm_share',
    help: `Share of the alerts opened in the last ${hours} h with feedback whose latest verdict is false_alarm, by topic and severity.`,
    labelNames: ['pipeline', 'topic', 'severity'],
    read: async () => (await groups()).filter((g) => g.false_alarm_share !== null).map((g) => [key(g), g.false_alarm_share!]),
  });
  for (const [name, what, pick] of [
    ['surgewatch_alert_acknowledge_seconds_recent', 'opening to first acknowledgement', (g: OperationsGroup) => g.time_to_acknowledge_sec],
    ['surgewatch_alert_resolve_seconds_recent', 'opening to resolution', (g: OperationsGroup) => g.time_to_resolve_sec],
  ] as const) {
    readMetric(registry, {
      type: 'gauge',
      name,
      help: `Seconds from ${what} of the alerts opened in the last ${hours} h: median (quantile 0.5) and p90, by topic and severity.`,
      labelNames: ['pipeline', 'topic', 'severity', 'quantile'],
      read: async () =>
        (await groups()).flatMap((g) => {
          const s = pick(g);
          return s.median === null ? [] : ([[{ ...key(g), quantile: '0.5' }, s.median], [{ ...key(g), quantile: '0.9' }, s.p90!]] as [Record<string, string>, number][]);
        }),
    });
  }
}
