import type { PipelineConfig } from '../config/pipeline-schema.js';
import type { BucketRange } from '../detect/stats.js';
import type { PastIncident } from '../detect/grouping.js';
import type { AlertStore } from './alert-store.js';
import type { Alert } from './alert.js';

/**
 * A pipeline's spike alerts that are open, or resolved at or after sinceMs (event time), by
 * topic: the incidents whose periods the baselines of that time leave out (see
 * incidentPeriods), and whose tails open nothing. `open` is the pipeline's open alerts.
 */
export async function incidentsSince(alerts: AlertStore, pipeline: string, sinceMs: number, open: Iterable<Alert>): Promise<Map<string, PastIncident[]>> {
  const byTopic = new Map<string, PastIncident[]>();
  const add = (a: Alert, incident: PastIncident) => {
    const list = byTopic.get(a.topic) ?? [];
    list.push(incident);
    byTopic.set(a.topic, list);
  };
  for (const a of open) if (a.kind === 'spike') add(a, { series: a.series, dimension: a.dimension, openedMs: Date.parse(a.opened_at) });
  let cursor: string | undefined;
  do {
    const page = await alerts.list({ pipeline, status: 'resolved', kind: 'spike', sinceMs, limit: 200, ...(cursor && { cursor }) });
    for (const a of page.alerts) {
      if (a.resolved_at === null || Date.parse(a.resolved_at) < sinceMs) continue;
      add(a, { series: a.series, dimension: a.dimension, openedMs: Date.parse(a.opened_at), resolvedMs: Date.parse(a.resolved_at) });
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return byTopic;
}

/**
 * How long before an incident opened its period begins (see incidentPeriods): the pipeline's
 * longest window, since the surge it alerted on began up to that long before it was significant.
 */
export function incidentLeadMs(cfg: Pick<PipelineConfig, 'windows' | 'detect'>): number {
  return Math.max(cfg.windows.currentSec, ...cfg.detect.longWindowsSec) * 1000;
}

/** Periods (ms) as the ranges of bucket indexes they touch, from the bucket starting at fromBucketMs, over `buckets` buckets. */
export function bucketRanges(periods: readonly { from: number; to: number }[], fromBucketMs: number, bucketMs: number, buckets: number): BucketRange[] {
  const ranges: BucketRange[] = [];
  for (const p of periods) {
    const from = Math.max(0, Math.floor((p.from - fromBucketMs) / bucketMs));
    const to = Math.min(buckets, p.to === Infinity ? buckets : Math.ceil((p.to - fromBucketMs) / bucketMs));
    if (to > from) ranges.push({ from, to });
  }
  return ranges;
}
