import { createHash } from 'node:crypto';
import type { DetectConfig } from '../config/pipeline-schema.js';
import type { SeverityTier, TopicDefinition } from '../config/topic-schema.js';
import type { Decision } from '../detect/detector.js';
import type { RelatedScope } from '../detect/grouping.js';
import type { WindowDetails } from '../windows/window-store.js';
import { noActions, parseSeries, type Alert, type AlertEventType } from './alert.js';

export interface TickContext {
  pipeline: string;
  series: string;
  topic: Pick<TopicDefinition, 'id' | 'name' | 'severity'>;
  listVersion: string;
  nowMs: number;
  windowStartMs: number;
  windowEndMs: number;
  currentSec: number;
  baselineSec: number;
  bucketSec: number;
  cfg: Pick<DetectConfig, 'resolveAfterTicks' | 'coordinatedShare'>;
}

const TIERS_UP: readonly SeverityTier[] = ['low', 'medium', 'high', 'critical'];

/** The topic's tier raised one step per doubling of the peak over the opening window. */
export function escalatedSeverity(base: SeverityTier, openedObserved: number, peakObserved: number): SeverityTier {
  const doublings = openedObserved > 0 ? Math.floor(Math.log2(peakObserved / openedObserved)) : 0;
  const at = TIERS_UP.indexOf(base);
  return TIERS_UP[Math.min(TIERS_UP.length - 1, at + Math.max(0, doublings))]!;
}

export interface LifecycleInput {
  open: Alert | undefined;
  inCooldown: boolean;
  decision: Decision;
  /**
   * Not significant, but still clearly above the baseline (hysteresis): an open alert neither
   * updates nor counts the tick towards resolving.
   */
  elevated?: boolean;
  /** Read only for significant ticks (they are what an alert shows). */
  details: WindowDetails | undefined;
  /** The wider scopes this series' surge explains this tick (see detect/grouping.ts). */
  related?: RelatedScope[];
  ctx: TickContext;
}

/** The alert to save, and the event to publish (none for a quiet tick that changes nothing visible). */
export interface LifecycleStep {
  alert: Alert;
  event: AlertEventType | undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();
const fmt = (x: number) => (Math.abs(x) >= 10 ? x.toFixed(0) : x.toFixed(1));

/**
 * An alert's id: from its series and the start of the bucket it opened in, not from the tick's
 * time, so that a retried tick, or two processes ticking at once, name the same alert.
 */
export function alertId(pipeline: string, series: string, openedBucketMs: number): string {
  return `al_${createHash('sha256').update(`${pipeline}\0${series}\0${openedBucketMs}`).digest('hex').slice(0, 20)}`;
}

const accounts = (n: number | null) => (n === null ? 'accounts unknown (the signals carry no author ids)' : `from ${n} distinct account${n === 1 ? '' : 's'}`);

/** One-paragraph text a policy lead can read in ten seconds. */
export function summarize(
  a: Pick<Alert, 'topic_name' | 'dimension' | 'window' | 'distinct_authors' | 'top_terms' | 'status' | 'coordinated' | 'severity' | 'base_severity' | 'suggested_term' | 'related'>,
): string {
  if (a.suggested_term) {
    const w = a.window;
    const usual = w.expected < 0.5 ? 'it was not seen in the baseline' : `${fmt(w.ratio)}x its usual ${fmt(w.expected)}`;
    return [
      `Emerging term ${a.suggested_term} with ${a.topic_name}: it came with ${w.observed} matching signals in the last ${w.seconds} s (${usual}),`,
      `${accounts(a.distinct_authors)}.`,
      a.status === 'resolved' ? 'Its use is back near its baseline.' : `Consider adding ${a.suggested_term} to the ${a.topic_name} list.`,
    ].join(' ');
  }
  const where = a.dimension === 'all' ? 'across the platform' : `in ${a.dimension.replace('=', ' ')}`;
  const w = a.window;
  const terms = a.top_terms.slice(0, 3).map((t) => t.term);
  const parts = [
    `${a.topic_name}: ${w.observed} matching signals in the last ${w.seconds} s ${where},`,
    `${fmt(w.ratio)}x the expected ${fmt(w.expected)} (z ${fmt(w.z)}),`,
    `${accounts(a.distinct_authors)}.`,
  ];
  if (terms.length > 0) parts.push(`Top terms: ${terms.join(', ')}.`);
  const related = a.related ?? [];
  if (related.length > 0) {
    const scopes = related.slice(0, 3).map((r) => (r.dimension === 'all' ? 'the whole platform' : r.dimension.replace('=', ' ')));
    parts.push(`It also lifts ${scopes.join(', ')}${related.length > 3 ? ` and ${related.length - 3} more scope${related.length === 4 ? '' : 's'}` : ''}.`);
  }
  if (a.coordinated) parts.push(`Likely coordinated: few accounts produce most of the volume.`);
  if (a.severity !== a.base_severity) parts.push(`Escalated from ${a.base_severity} to ${a.severity} as volume grew.`);
  if (a.status === 'resolved') parts.push('Volume is back near its baseline.');
  return parts.join(' ');
}

/**
 * The scopes an incident has lifted so far: those of this tick with their current figures, then
 * those seen earlier with their last figures (a scope that calmed down is still part of the story).
 */
function mergeRelated(before: readonly RelatedScope[], now: readonly RelatedScope[]): RelatedScope[] {
  const seen = new Set(now.map((r) => r.series));
  return [...now, ...before.filter((r) => !seen.has(r.series))];
}

/**
 * Pure alert lifecycle for one series at one tick: open on a significant tick (unless in
 * cooldown), update while significant (keeping the peak), resolve after enough quiet ticks.
 */
export function stepAlert({ open, inCooldown, decision, elevated, details, related = [], ctx }: LifecycleInput): LifecycleStep | undefined {
  const figures = { observed: decision.observed, expected: decision.expected, ratio: decision.ratio, z: decision.z, p: decision.p, q: decision.q };
  const coordinated = (authors: number | null, observed: number) => authors !== null && observed > 0 && authors <= ctx.cfg.coordinatedShare * observed;
  const window = { ...figures, start: iso(ctx.windowStartMs), end: iso(ctx.windowEndMs), seconds: ctx.currentSec };

  if (!open) {
    if (!decision.significant || inCooldown || !details) return undefined;
    const { topic, dimension } = parseSeries(ctx.series);
    const term = dimension.startsWith('term=') ? dimension.slice('term='.length) : null;
    const alert: Alert = {
      id: alertId(ctx.pipeline, ctx.series, Math.floor(ctx.nowMs / (ctx.bucketSec * 1000)) * ctx.bucketSec * 1000),
      kind: term ? 'emerging_term' : 'spike',
      suggested_term: term,
      pipeline: ctx.pipeline,
      topic,
      topic_name: ctx.topic.name,
      dimension,
      series: ctx.series,
      status: 'open',
      severity: ctx.topic.severity,
      base_severity: ctx.topic.severity,
      coordinated: coordinated(details.distinctAuthors, decision.observed),
      opened_at: iso(ctx.nowMs),
      updated_at: iso(ctx.nowMs),
      resolved_at: null,
      window,
      peak: { ...figures, at: iso(ctx.nowMs) },
      baseline: {
        seconds: ctx.baselineSec,
        mean_per_bucket: ctx.currentSec > 0 ? Math.round((decision.expected / (ctx.currentSec / ctx.bucketSec)) * 1000) / 1000 : 0,
        bucket_seconds: ctx.bucketSec,
        seasonal_factor: decision.seasonal,
      },
      distinct_authors: details.distinctAuthors,
      top_terms: details.topTerms,
      sample_signal_ids: details.sampleIds,
      related,
      summary: '',
      list_version: ctx.listVersion,
      opened_observed: decision.observed,
      significant_ticks: 1,
      quiet_ticks: 0,
      ...noActions(),
    };
    alert.summary = summarize(alert);
    return { alert, event: 'opened' };
  }

  if (decision.significant && details) {
    const peak = decision.observed > open.peak.observed ? { ...figures, at: iso(ctx.nowMs) } : open.peak;
    const severity = escalatedSeverity(open.base_severity, open.opened_observed, peak.observed);
    // Kept for the incident record: when the alert went up a tier (it never goes down).
    const escalations = severity === open.severity ? open.escalations : [...open.escalations, { at: iso(ctx.nowMs), from: open.severity, to: severity }];
    const alert: Alert = {
      ...open,
      status: open.status === 'acknowledged' ? 'acknowledged' : 'open',
      updated_at: iso(ctx.nowMs),
      window,
      peak,
      severity,
      escalations,
      coordinated: coordinated(details.distinctAuthors, decision.observed),
      distinct_authors: details.distinctAuthors,
      top_terms: details.topTerms,
      sample_signal_ids: details.sampleIds,
      related: mergeRelated(open.related ?? [], related),
      list_version: ctx.listVersion,
      significant_ticks: open.significant_ticks + 1,
      quiet_ticks: 0,
    };
    alert.summary = summarize(alert);
    return { alert, event: 'updated' };
  }

  if (elevated) return open.quiet_ticks === 0 ? undefined : { alert: { ...open, quiet_ticks: 0 }, event: undefined };
  const quiet = open.quiet_ticks + 1;
  if (quiet >= ctx.cfg.resolveAfterTicks) {
    const alert: Alert = { ...open, status: 'resolved', updated_at: iso(ctx.nowMs), resolved_at: iso(ctx.nowMs), window, quiet_ticks: quiet };
    alert.summary = summarize(alert);
    return { alert, event: 'resolved' };
  }
  return { alert: { ...open, quiet_ticks: quiet }, event: undefined };
}
