import { parseSeries, seriesId, type Alert } from '../alerts/alert.js';
import type { RelatedScope as GroupedScope } from '../detect/grouping.js';
import type { AlertStore } from '../alerts/alert-store.js';
import { redactText } from '../alerts/redaction.js';
import type { PipelineConfig } from '../config/pipeline-schema.js';
import { bucketBands, createDetector } from '../detect/detector.js';
import { incidentPeriods } from '../detect/grouping.js';
import type { BucketRange } from '../detect/stats.js';
import { bucketRanges, incidentLeadMs, incidentsSince } from '../alerts/incidents.js';
import { bucketStart, TRAFFIC_TOPIC, trafficSeriesOf, type StoredSample, type WindowStore } from '../windows/window-store.js';

/** What the detail and series routes read: the stores and each pipeline's configuration. */
export interface AlertDetailSources {
  alerts: AlertStore;
  windows: WindowStore;
  pipelines: readonly PipelineConfig[];
}

const HOUR_MS = 3_600_000;
const READ_CHUNK = 500;
const RELATED_MAX = 25;
const TOP_TERMS = 25;

export interface SeriesPoint {
  start: string;
  observed: number;
  expected: number;
  lower: number;
  upper: number;
}

/** Another scope of the alert's topic in its window, with its open alert if it has one. */
export interface RelatedScope extends GroupedScope {
  alert_id: string | null;
}

export interface SampleView {
  id: string;
  ts: string;
  surface: string;
  region: string | null;
  lang: string | null;
  text: string;
  redacted: boolean;
}

export interface AlertDetail {
  alert: Alert;
  bucket_seconds: number;
  series: SeriesPoint[];
  top_terms: { term: string; count: number }[];
  distinct_authors: number | null;
  related: RelatedScope[];
  samples: SampleView[];
  /** Sample ids whose text is no longer kept (sampleTextTtlHours passed). */
  samples_expired: number;
}

export function pipelineOf(sources: AlertDetailSources, id: string): PipelineConfig | undefined {
  return sources.pipelines.find((p) => p.id === id);
}

/** A sample as served: redacted (the terms that hit stay readable) unless revealed. */
export function sampleView(s: StoredSample, reveal: boolean, alsoKeep: readonly string[] = []): SampleView {
  return {
    id: s.id,
    ts: new Date(s.tsMs).toISOString(),
    surface: s.surface,
    region: s.region,
    lang: s.lang,
    text: reveal ? s.text : redactText(s.text, [...s.terms, ...alsoKeep]),
    redacted: !reveal,
  };
}

/**
 * Where an alert's chart ends: now, while the alert's window is within the chart's span;
 * else (an old alert, a replay) a quarter span after its window, so that the window shows.
 */
function chartEnd(alert: Alert, spanMs: number, nowMs: number): number {
  const windowEnd = Date.parse(alert.window.end);
  // windowEnd is exclusive: its last bucket starts before it.
  return nowMs - windowEnd <= spanMs * 0.75 ? Math.max(nowMs, windowEnd - 1) : windowEnd + spanMs / 4;
}

/** The sample ids an alert may show: its own, and those kept in its window's buckets. */
export async function sampleIdsOf(sources: AlertDetailSources, alert: Alert, cfg: PipelineConfig): Promise<string[]> {
  const bucketMs = cfg.windows.bucketSec * 1000;
  const details = await sources.windows.readDetails(alert.pipeline, alert.series, ...windowBuckets(alert, bucketMs), bucketMs, { topTerms: 0, samples: Math.max(1, cfg.alerts.sampleSize * 2) });
  return [...new Set([...details.sampleIds, ...alert.sample_signal_ids])];
}

/** First and last bucket of the alert's (latest) window. */
function windowBuckets(alert: Alert, bucketMs: number): [number, number] {
  const last = bucketStart(Date.parse(alert.window.end) - 1, bucketMs);
  const first = Math.min(last, bucketStart(Date.parse(alert.window.start), bucketMs));
  return [first, last];
}

/**
 * Everything an analyst needs next to an alert: its series bucket by bucket with what the
 * baseline expected, the terms and accounts behind its window, the other scopes of the topic in
 * that window, and redacted samples.
 */
export async function buildAlertDetail(sources: AlertDetailSources, alert: Alert, cfg: PipelineConfig, hours: number, nowMs: number): Promise<AlertDetail> {
  const { windows: w, detect: d } = cfg;
  const bucketMs = w.bucketSec * 1000;
  // Counts are kept for retentionSec: a longer chart would only add zeros.
  const spanMs = Math.min(hours * HOUR_MS, w.retentionSec * 1000);
  const toBucket = bucketStart(chartEnd(alert, spanMs, nowMs), bucketMs);
  const chartBuckets = Math.max(1, Math.floor(spanMs / bucketMs));
  const fromChart = toBucket - (chartBuckets - 1) * bucketMs;
  const baselineBuckets = w.baselineSec / w.bucketSec;
  const gapBuckets = w.baselineGapSec / w.bucketSec;
  const readFrom = fromChart - (baselineBuckets + gapBuckets) * bucketMs;
  const [windowFrom, windowTo] = windowBuckets(alert, bucketMs);
  const relatedFrom = windowFrom - (baselineBuckets + gapBuckets) * bucketMs;

  const live = await sources.windows.liveSeries(alert.pipeline, Math.min(readFrom, relatedFrom), d.maxSeries);
  const firstSeen = new Map(live.map((s) => [s.series, s.firstSeenMs]));
  // As the ticker does: an emerging term is judged on its topic's history.
  const firstSeenOf = (series: string, from: number) => {
    const { topic, dimension } = parseSeries(series);
    const own = firstSeen.get(series) ?? from;
    return dimension.startsWith('term=') ? Math.min(firstSeen.get(topic) ?? own, own) : own;
  };
  // With seasonality (and expectations not relative to traffic) the factor of the alert's
  // current window is applied throughout: the chart's hours are few next to the daily profile.
  const seasonal = d.seasonality === 'none' ? 1 : alert.baseline.seasonal_factor;
  // As the ticker does: the topic's incidents are left out of the baselines of the scopes they
  // overlap, from the longest window's length before each opened until it resolved.
  const open = await sources.alerts.listOpen(alert.pipeline);
  const incidents = (await incidentsSince(sources.alerts, alert.pipeline, Math.min(readFrom, relatedFrom), open)).get(alert.topic) ?? [];
  const leadMs = incidentLeadMs(cfg);
  const excludedOf = (dimension: string, fromMs: number, buckets: number) => bucketRanges(incidentPeriods(dimension, incidents, leadMs), fromMs, bucketMs, buckets);

  // The chart: each bucket against a one-bucket window of the detector's model (bucketBands).
  const own = [alert.series, ...(d.relativeToTraffic ? [trafficSeriesOf(alert.dimension)] : [])];
  const counts = await sources.windows.readCounts(alert.pipeline, own, readFrom, toBucket, bucketMs);
  const observed = counts.get(alert.series)!;
  const traffic = d.relativeToTraffic ? counts.get(own[1]!) : undefined;
  const bands = bucketBands(
    {
      counts: observed,
      currentBuckets: 1,
      gapBuckets,
      bucketMs,
      fromBucketMs: readFrom,
      firstSeenMs: firstSeenOf(alert.series, readFrom),
      seasonal,
      ...(traffic && { traffic }),
      excluded: excludedOf(alert.dimension, readFrom, observed.length),
    },
    baselineBuckets + gapBuckets,
    baselineBuckets,
    d,
  );
  const series = bands.map((b, i) => ({ start: new Date(fromChart + i * bucketMs).toISOString(), observed: observed[baselineBuckets + gapBuckets + i]!, ...b }));

  // Terms and accounts of the alert's window; past the details' TTL, the figures the alert kept.
  const details = await sources.windows.readDetails(alert.pipeline, alert.series, windowFrom, windowTo, bucketMs, { topTerms: TOP_TERMS, samples: Math.max(1, cfg.alerts.sampleSize * 2) });
  const fresh = details.topTerms.length > 0 || details.sampleIds.length > 0;

  const related = await relatedScopes(sources, alert, cfg, live.map((s) => s.series), windowFrom, windowTo, relatedFrom, firstSeenOf, seasonal, open, excludedOf);

  const ids = [...new Set([...details.sampleIds, ...alert.sample_signal_ids])];
  const stored = await sources.windows.readSamples(alert.pipeline, ids);
  const keep = alert.top_terms.map((t) => t.term);
  const samples = ids.flatMap((id) => {
    const s = stored.get(id);
    return s ? [sampleView(s, false, keep)] : [];
  });

  return {
    alert,
    bucket_seconds: w.bucketSec,
    series,
    top_terms: fresh ? details.topTerms : alert.top_terms,
    distinct_authors: fresh ? details.distinctAuthors : alert.distinct_authors,
    related,
    samples,
    samples_expired: ids.length - samples.length,
  };
}

/**
 * The topic's other scopes (the topic as a whole, its regions, surfaces, languages, terms) in
 * the alert's window, each against its own baseline as the detector computes it, busiest first.
 */
async function relatedScopes(
  sources: AlertDetailSources,
  alert: Alert,
  cfg: PipelineConfig,
  live: readonly string[],
  windowFrom: number,
  windowTo: number,
  readFrom: number,
  firstSeenOf: (series: string, from: number) => number,
  seasonal: number,
  openAlerts: readonly Alert[],
  excludedOf: (dimension: string, fromMs: number, buckets: number) => BucketRange[],
): Promise<RelatedScope[]> {
  const { windows: w, detect: d } = cfg;
  const bucketMs = w.bucketSec * 1000;
  const names = live.filter((s) => s !== alert.series && !s.startsWith(TRAFFIC_TOPIC) && parseSeries(s).topic === alert.topic);
  if (names.length === 0) return [];
  const open = new Map(openAlerts.map((a) => [a.series, a.id]));
  const detector = createDetector(d);
  const size = (windowTo - windowFrom) / bucketMs + 1;
  const out: RelatedScope[] = [];
  for (let i = 0; i < names.length; i += READ_CHUNK) {
    const chunk = names.slice(i, i + READ_CHUNK);
    const scopes = d.relativeToTraffic ? [...new Set(chunk.map((s) => trafficSeriesOf(parseSeries(s).dimension)))] : [];
    const counts = await sources.windows.readCounts(alert.pipeline, [...chunk, ...scopes], readFrom, windowTo, bucketMs);
    for (const s of chunk) {
      const c = counts.get(s)!;
      const traffic = d.relativeToTraffic ? counts.get(trafficSeriesOf(parseSeries(s).dimension)) : undefined;
      const e = detector.evaluate({
        counts: c,
        currentBuckets: size,
        gapBuckets: w.baselineGapSec / w.bucketSec,
        bucketMs,
        fromBucketMs: readFrom,
        firstSeenMs: firstSeenOf(s, readFrom),
        seasonal,
        ...(traffic && { traffic }),
        excluded: excludedOf(parseSeries(s).dimension, readFrom, c.length),
      });
      if (e.observed === 0) continue;
      out.push({ series: s, dimension: parseSeries(s).dimension, observed: e.observed, expected: e.expected, ratio: e.ratio, alert_id: open.get(s) ?? null });
    }
  }
  return out.sort((a, b) => b.observed - a.observed || b.ratio - a.ratio || (a.series < b.series ? -1 : 1)).slice(0, RELATED_MAX);
}

/** Bucket counts of one series over a time range (bucket-aligned, both ends included). */
export async function readSeries(
  sources: AlertDetailSources,
  cfg: PipelineConfig,
  topic: string,
  dimension: string,
  sinceMs: number,
  untilMs: number,
): Promise<{ series: string; bucket_seconds: number; buckets: { start: string; count: number }[] }> {
  const bucketMs = cfg.windows.bucketSec * 1000;
  const from = bucketStart(sinceMs, bucketMs);
  const to = bucketStart(untilMs - 1, bucketMs);
  const eq = dimension.indexOf('=');
  const series = dimension === 'all' ? topic : seriesId(topic, { name: dimension.slice(0, eq), value: dimension.slice(eq + 1) });
  const counts = to < from ? [] : ((await sources.windows.readCounts(cfg.id, [series], from, to, bucketMs)).get(series) ?? []);
  return { series, bucket_seconds: cfg.windows.bucketSec, buckets: counts.map((count, i) => ({ start: new Date(from + i * bucketMs).toISOString(), count })) };
}
