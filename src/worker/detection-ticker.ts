import { randomUUID } from 'node:crypto';
import type { AlertStore } from '../alerts/alert-store.js';
import type { Alert, AlertEventType } from '../alerts/alert.js';
import { parseSeries } from '../alerts/alert.js';
import { stepAlert } from '../alerts/lifecycle.js';
import { recordResolved } from '../alerts/operations-metrics.js';
import { bucketRanges, incidentLeadMs, incidentsSince } from '../alerts/incidents.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { Fence, Lease } from '../windows/lease.js';
import { MemoryStreakStore, type StreakStore } from '../windows/streak-store.js';
import { LeaseLostError } from '../shared/errors.js';
import type { TopicDefinition } from '../config/topic-schema.js';
import { sparseOf, type BucketRange } from '../detect/stats.js';
import { authoredShare, guardsFor, passesAuthorGuard, type BucketCounts, type Decision, type ScopeTraffic, type SparseWindowInput, type Guards, type WindowFigures } from '../detect/detector.js';
import { bucketStart, HOUR_MS, TRAFFIC_TOPIC, trafficSeriesOf, type WindowStore } from '../windows/window-store.js';
import { seasonalFactor } from '../detect/seasonality.js';
import { groupScopes, incidentPeriods, openIncidentOf, overlapKey, tailOf, type Grouping, type PastIncident } from '../detect/grouping.js';
import type { PipelineRuntime } from './pipeline-runtime.js';
import { gauge, histogram, latencyBuckets } from '../shared/metrics.js';
import { SeriesCache } from './series-cache.js';

const tickSeconds = histogram({ name: 'surgewatch_tick_seconds', help: 'Duration of a detection tick of one pipeline (lease, reads, decision, saves).', labelNames: ['pipeline'], buckets: latencyBuckets });
const lastTick = gauge({ name: 'surgewatch_last_tick_timestamp_seconds', help: 'When this process last ran a detection tick of the pipeline (as the lease holder), in Unix seconds.', labelNames: ['pipeline'] });

export interface TickerOptions {
  runtimes: readonly PipelineRuntime[];
  windows: WindowStore;
  alerts: AlertStore;
  /** Told when a tick wrote events into the outbox (the relay that publishes them). */
  outbox?: { wake(): void };
  lease: Lease;
  /** Where the significant-tick streaks are kept (default: this process's memory). */
  streaks?: StreakStore;
  clock: Clock;
  logger: Logger;
  /** Sees every series' decision of each tick (backtests explain what they missed with it). */
  onDecisions?: (pipeline: string, nowMs: number, decisions: readonly { series: string; decision: Decision }[]) => void;
}

export interface TickReport {
  pipeline: string;
  ran: boolean;
  series: number;
  events: { type: AlertEventType; alert: Alert }[];
}

/** Series per step of the first pass (seasonal factors and counts are read a chunk at a time). */
const READ_CHUNK = 500;

const trafficSeries = trafficSeriesOf;
const TOP_TERMS = 10;

/**
 * Everything a series' figures and judgement at a tick come from besides the configuration:
 * while none of it changes (the same newest bucket, no new counts in the series or its scope's
 * traffic, the same tier), the next tick's are the same.
 */
interface SeriesInputs {
  toBucketMs: number;
  sinceMs: number;
  seasonal: number;
  /** SeriesCache versions of the series' counts and of its scope's traffic. */
  version: number | undefined;
  trafficVersion: number | undefined;
  tier: TopicDefinition['severity'];
  /** The incident periods its baselines leave out (ms), as a key: "" for none. */
  excludedKey: string;
}

/**
 * What a tick keeps of one tested series: its id parsed, and its last judgement (its figures and
 * decision before the tick-wide correction) with the inputs it was made from. Updated in place:
 * a tick within a bucket touches the series that changed, not every series.
 */
interface SeriesRecord extends SeriesInputs {
  topicId: string;
  dimension: string;
  /** The traffic series of its scope. */
  scope: string;
  /** Undefined until judged (and when its inputs changed: judged again in this tick). */
  judged: Decision | undefined;
  /** The periods behind excludedKey (ms). */
  periods: readonly { from: number; to: number }[];
  /** Its topic's incidents the periods were found from (see incidentsKey): found again when they change. */
  incidents: string;
}

/** What a ticker keeps of one pipeline between its ticks, for one configuration and detector. */
interface PipelineState {
  config: PipelineRuntime['config'];
  detector: PipelineRuntime['detector'];
  series: SeriesCache;
  records: Map<string, SeriesRecord>;
}

/** The buckets a tick at nowMs reads and tests. */
function rangeOf(rt: PipelineRuntime, nowMs: number) {
  const { windows: w, detect: cfg } = rt.config;
  const bucketMs = rt.layout.bucketMs;
  const currentBuckets = w.currentSec / w.bucketSec;
  const longWindows = cfg.longWindowsSec.map((sec) => sec / w.bucketSec);
  const longest = Math.max(currentBuckets, ...longWindows);
  const baselineBuckets = w.baselineSec / w.bucketSec;
  const toBucket = bucketStart(nowMs, bucketMs);
  const gapBuckets = w.baselineGapSec / w.bucketSec;
  // Counts are read from the start of the longest window's baseline.
  const fromBucket = toBucket - (longest - 1 + baselineBuckets + gapBuckets) * bucketMs;
  // A series without data in its longest window cannot be significant: only open alerts need it.
  const activeFrom = toBucket - (longest - 1) * bucketMs;
  return { bucketMs, currentBuckets, longWindows, baselineBuckets, gapBuckets, toBucket, fromBucket, activeFrom };
}

/** The incident periods a series' baselines leave out, and their key (see SeriesInputs.excludedKey). */
interface Exclusion {
  key: string;
  periods: readonly { from: number; to: number }[];
}
const NO_EXCLUSION: Exclusion = { key: '', periods: [] };

/** A topic's incidents as a key: the same key, the same incidents ("" for none). */
const incidentsKey = (incidents: readonly PastIncident[] | undefined) => (incidents ? incidents.map((i) => `${i.dimension}@${i.openedMs}-${i.resolvedMs ?? ''}`).join(';') : '');

/**
 * The periodic detection step: per pipeline, only the lease holder evaluates every live series
 * (current window vs. baseline) and moves alerts through their lifecycle. The lease is renewed
 * while a tick runs, and every alert write carries its fencing token: a holder that lost the
 * lease (paused, cut off) cannot write once another process holds it.
 */
export class DetectionTicker {
  private readonly owner = `${process.pid}-${randomUUID()}`;
  private timers: NodeJS.Timeout[] = [];
  private running = new Set<string>();
  private stopped = false;
  private readonly streaks: StreakStore;
  private readonly authorShareLogged = new Set<string>();
  private readonly seasonal = new Map<string, { key: string; factors: Map<string, number> }>();
  private readonly states = new Map<string, PipelineState>();
  /** Where a series' non-zero counts are written to be evaluated (one series at a time). */
  private readonly own = { at: new Int32Array(0), values: new Float64Array(0), count: 0 };

  constructor(private readonly opts: TickerOptions) {
    this.streaks = opts.streaks ?? new MemoryStreakStore(() => true);
  }

  start(): void {
    for (const rt of this.opts.runtimes) {
      const ms = rt.config.detect.tickSec * 1000;
      const timer = setInterval(() => void this.runScheduled(rt), ms);
      this.timers.push(timer);
      void this.runPrepare(rt);
    }
  }

  /**
   * Reads what this process's first tick of the pipeline needs (see prepare) right at its
   * start, instead of in that tick; the first tick waits for it to end (runScheduled does not
   * overlap).
   */
  private async runPrepare(rt: PipelineRuntime): Promise<void> {
    if (this.stopped || this.running.has(rt.config.id)) return;
    this.running.add(rt.config.id);
    const started = performance.now();
    try {
      await this.prepare(rt, this.opts.clock.now());
      const from = this.stateOf(rt).series.startedFrom;
      this.opts.logger.info({ pipeline: rt.config.id, from, ms: Math.round(performance.now() - started) }, `detection state read (from ${from})`);
    } catch (err) {
      this.opts.logger.warn({ err, pipeline: rt.config.id }, 'reading the detection state failed; the first tick reads it');
    } finally {
      this.running.delete(rt.config.id);
    }
  }

  /**
   * Brings what this process holds of the pipeline's series up to date, as a tick without the
   * lease does: at a process's start that is the held series another process stored, and the
   * counts of the series changed since (every series' counts when none were stored).
   */
  async prepare(rt: PipelineRuntime, nowMs: number): Promise<void> {
    await this.follow(rt, nowMs);
  }

  private async runScheduled(rt: PipelineRuntime): Promise<void> {
    if (this.stopped || this.running.has(rt.config.id)) return; // a slow tick is not overlapped
    this.running.add(rt.config.id);
    const started = performance.now();
    try {
      const now = this.opts.clock.now();
      const report = await this.tickPipeline(rt, now);
      if (report.ran) lastTick.set({ pipeline: rt.config.id }, now / 1000);
      const ms = Math.round(performance.now() - started);
      tickSeconds.observe({ pipeline: rt.config.id }, (performance.now() - started) / 1000);
      const level = ms > rt.config.detect.tickSec * 1000 ? 'warn' : 'debug';
      this.opts.logger[level]({ pipeline: rt.config.id, ms, ran: report.ran, series: report.series, events: report.events.length }, 'detection tick');
    } catch (err) {
      this.opts.logger.error({ err, pipeline: rt.config.id }, 'detection tick failed');
    } finally {
      this.running.delete(rt.config.id);
    }
  }

  /** One tick of every pipeline at nowMs (replays call this directly on event time). */
  async tick(nowMs: number): Promise<TickReport[]> {
    const reports: TickReport[] = [];
    for (const rt of this.opts.runtimes) reports.push(await this.tickPipeline(rt, nowMs));
    return reports;
  }

  async tickPipeline(rt: PipelineRuntime, nowMs: number): Promise<TickReport> {
    const { id: pipeline, detect: cfg } = rt.config;
    // One list version for the whole tick, even if new lists are swapped in meanwhile.
    const lists = rt.lists;
    const report: TickReport = { pipeline, ran: false, series: 0, events: [] };
    const leaseMs = Math.max(3 * cfg.tickSec * 1000, 5000);
    const leaseName = `tick:${pipeline}`;
    const token = await this.opts.lease.acquire(leaseName, this.owner, leaseMs);
    if (token === undefined) {
      await this.follow(rt, nowMs);
      return report;
    }
    report.ran = true;
    const fence: Fence = { lease: leaseName, token };
    const renewal = setInterval(() => {
      void this.opts.lease.renew(leaseName, this.owner, token, leaseMs).then(
        (held) => held || this.opts.logger.warn({ pipeline, token }, 'detection lease lost during a tick; its remaining writes are refused'),
        (err: unknown) => this.opts.logger.warn({ err, pipeline }, 'renewing the detection lease failed'),
      );
    }, leaseMs / 3);
    try {
      await this.evaluate(rt, nowMs, lists, fence, report);
    } catch (err) {
      if (!(err instanceof LeaseLostError)) throw err;
      this.opts.logger.warn({ pipeline, token }, 'detection tick stopped: the lease moved to another process');
    } finally {
      clearInterval(renewal);
      if (report.events.length > 0) this.opts.outbox?.wake();
    }
    return report;
  }

  private async evaluate(rt: PipelineRuntime, nowMs: number, lists: PipelineRuntime['lists'], fence: Fence, report: TickReport): Promise<void> {
    const { id: pipeline, windows: w, detect: cfg } = rt.config;
    const { bucketMs, currentBuckets, longWindows, baselineBuckets, gapBuckets, toBucket, fromBucket, activeFrom } = rangeOf(rt, nowMs);

    const state = this.stateOf(rt);
    const open = new Map((await this.opts.alerts.listOpen(pipeline)).map((a) => [a.series, a]));
    // Incidents whose periods the baselines leave out (and whose tails do not alert again).
    const incidents = await incidentsSince(this.opts.alerts, pipeline, fromBucket, open.values());
    const leadMs = incidentLeadMs(rt.config);
    const live = await state.series.live(fromBucket, cfg.maxSeries);
    // The series tested (in the live series' order, then the open alerts' series not among
    // them), with when each was first seen (an open alert's series gone quiet: the range's
    // start) and its version; the topics' own series' first sightings; the live traffic's versions.
    const all: string[] = [];
    const allSince: number[] = [];
    const allVersion: (number | undefined)[] = [];
    const topicSince = new Map<string, number>();
    const liveTraffic = new Map<string, number>();
    for (const { info, version } of live) {
      if (info.series.startsWith(TRAFFIC_TOPIC)) {
        if (cfg.relativeToTraffic) liveTraffic.set(info.series, version);
        continue;
      }
      if (info.lastBucketMs < activeFrom) continue;
      all.push(info.series);
      allSince.push(info.firstSeenMs);
      allVersion.push(version);
      if (!info.series.includes('|')) topicSince.set(info.series, info.firstSeenMs);
    }
    for (const series of open.keys()) {
      const held = state.series.held(series);
      if (held && !series.startsWith(TRAFFIC_TOPIC) && held.info.lastBucketMs >= activeFrom) continue; // tested already
      all.push(series);
      allSince.push(fromBucket);
      allVersion.push(held?.version);
      if (!series.includes('|')) topicSince.set(series, fromBucket);
    }
    report.series = all.length;

    // Pass 1: every live series' figures and judgement (the last tick's, for a series whose
    // inputs did not change since). Pass 2: the tick's decision (false-discovery rate across
    // them, per family). Pass 3: the lifecycle of the series that are or were alerting.
    const testedSeries: string[] = [];
    const testedTopics: TopicDefinition[] = [];
    const records: SeriesRecord[] = [];
    const judged: Decision[] = [];
    const guards: Guards[] = [];
    /** Indexes (into the tested) of the series judged again in this tick. */
    const stale: number[] = [];
    // One per tier, shared by its series; the topics' totals get their own when they are a
    // false-discovery family apart.
    const tierGuards = new Map<TopicDefinition['severity'], Guards>();
    const totalGuards = new Map<TopicDefinition['severity'], Guards>();
    const totalsApart = cfg.fdrFamilies === 'totals-apart';
    // The periods a series' baselines leave out depend on which of its topic's incidents
    // overlap its scope: found once per topic and overlap in a tick, and kept by each series
    // while its topic's incidents stay the same.
    const buckets = (toBucket - fromBucket) / bucketMs + 1;
    const topicIncidentsKeys = new Map<string, string>();
    const exclusions = new Map<string, Exclusion>();
    const exclusionOf = (topicId: string, dimension: string, topicIncidents: readonly PastIncident[]): Exclusion => {
      const key = `${topicId}\0${overlapKey(dimension, topicIncidents)}`;
      let exclusion = exclusions.get(key);
      if (!exclusion) {
        const periods = incidentPeriods(dimension, topicIncidents, leadMs);
        exclusion = periods.length === 0 ? NO_EXCLUSION : { key: periods.map((p) => `${p.from}-${p.to}`).join(','), periods };
        exclusions.set(key, exclusion);
      }
      return exclusion;
    };
    /** Periods as this tick's buckets, once per key. */
    const ranges = new Map<string, BucketRange[] | undefined>();
    const rangesOf = (record: SeriesRecord): BucketRange[] | undefined => {
      if (record.periods.length === 0) return undefined;
      if (!ranges.has(record.excludedKey)) {
        const r = bucketRanges(record.periods, fromBucket, bucketMs, buckets);
        ranges.set(record.excludedKey, r.length > 0 ? r : undefined);
      }
      return ranges.get(record.excludedKey);
    };
    for (let i = 0; i < all.length; i += READ_CHUNK) {
      const chunk = all.slice(i, i + READ_CHUNK);
      const seasonals = await this.seasonalFactors(rt, chunk, nowMs, fromBucket + (baselineBuckets * bucketMs) / 2);
      for (let k = 0; k < chunk.length; k++) {
        const series = chunk[k]!;
        let record = state.records.get(series);
        if (!record) {
          const { topic: topicId, dimension } = parseSeries(series);
          record = { topicId, dimension, scope: trafficSeries(dimension), judged: undefined, toBucketMs: NaN, sinceMs: NaN, seasonal: NaN, version: undefined, trafficVersion: undefined, tier: 'low', excludedKey: '', periods: [], incidents: '' };
          state.records.set(series, record);
        }
        const topic = lists.topics.get(record.topicId);
        if (!topic) continue; // a topic removed from the lists: its series age out
        const total = totalsApart && record.dimension === 'all';
        const byTier = total ? totalGuards : tierGuards;
        let tier = byTier.get(topic.severity);
        if (!tier) {
          tier = guardsFor(cfg, topic.severity);
          if (total) tier.family = 'totals';
          byTier.set(topic.severity, tier);
        }
        // A co-occurring tag is judged on the topic's history: one never seen before is the
        // point of emerging terms, so its own newness is not a cold start.
        const since = record.dimension.startsWith('term=') ? Math.min(topicSince.get(record.topicId) ?? Infinity, allSince[i + k]!) : allSince[i + k]!;
        // A scope without live traffic has none.
        const trafficVersion = liveTraffic.get(record.scope);
        const version = allVersion[i + k];
        const seasonal = seasonals.get(series) ?? 1;
        const topicIncidents = incidents.get(record.topicId);
        let incidentsNow = topicIncidentsKeys.get(record.topicId);
        if (incidentsNow === undefined) topicIncidentsKeys.set(record.topicId, (incidentsNow = incidentsKey(topicIncidents)));
        if (record.incidents !== incidentsNow) {
          const exclusion = topicIncidents ? exclusionOf(record.topicId, record.dimension, topicIncidents) : NO_EXCLUSION;
          if (exclusion.key !== record.excludedKey) record.judged = undefined; // judged again below
          record.excludedKey = exclusion.key;
          record.periods = exclusion.periods;
          record.incidents = incidentsNow;
        }
        const index = judged.length;
        testedSeries.push(series);
        testedTopics.push(topic);
        records.push(record);
        guards.push(tier);
        // A kept judgement stands while it was made from the same inputs (a series not held is never reused).
        if (
          record.judged === undefined ||
          version === undefined ||
          record.version !== version ||
          record.trafficVersion !== trafficVersion ||
          record.toBucketMs !== toBucket ||
          record.sinceMs !== since ||
          record.seasonal !== seasonal ||
          record.tier !== topic.severity
        ) {
          record.judged = undefined;
          record.toBucketMs = toBucket;
          record.sinceMs = since;
          record.seasonal = seasonal;
          record.version = version;
          record.trafficVersion = trafficVersion;
          record.tier = topic.severity;
          stale.push(index);
        }
        judged.push(record.judged!); // a stale one's is computed below
      }
    }
    // The stale series' counts (non-zero only, in one reused buffer), and their scopes' traffic,
    // prepared once per scope for all of its series.
    const scopeNames = [...new Set(stale.flatMap((i) => (liveTraffic.has(records[i]!.scope) ? [records[i]!.scope] : [])))];
    const scopes = await state.series.ensure(scopeNames, fromBucket, toBucket, bucketMs);
    const scopeTraffic = new Map<string, ScopeTraffic>();
    for (const scope of scopeNames) {
      let read: BucketCounts | undefined = scopes.get(scope);
      if (!read) {
        const into = new Float64Array(buckets);
        if (state.series.fill(scope, fromBucket, toBucket, bucketMs, into)) read = into;
      }
      if (read) scopeTraffic.set(scope, rt.detector.scopeTraffic(read, bucketMs));
    }
    const own = this.own;
    // One input, its series' fields set in turn (evaluation keeps none of it).
    const input: SparseWindowInput = { length: buckets, nonZero: own, currentBuckets, longWindows, gapBuckets, bucketMs, fromBucketMs: fromBucket, firstSeenMs: 0, seasonal: 1, traffic: undefined, excluded: undefined };
    for (let c = 0; c < stale.length; c += READ_CHUNK) {
      const chunk = stale.slice(c, c + READ_CHUNK);
      const notHeld = await state.series.ensure(
        chunk.map((i) => testedSeries[i]!),
        fromBucket,
        toBucket,
        bucketMs,
      );
      for (const i of chunk) {
        const series = testedSeries[i]!;
        const record = records[i]!;
        const dense = notHeld.get(series);
        if (dense) sparseOf(dense, own);
        else if (!state.series.sparse(series, fromBucket, toBucket, bucketMs, own)) throw new Error(`counts of ${series} were not read`);
        input.firstSeenMs = record.sinceMs;
        input.seasonal = record.seasonal;
        input.traffic = liveTraffic.has(record.scope) ? scopeTraffic.get(record.scope) : undefined;
        input.excluded = rangesOf(record);
        const evaluation = rt.detector.evaluateSparse(input);
        judged[i] = record.judged = rt.detector.judge(evaluation, guards[i]!);
      }
    }
    // Series no longer tested are forgotten (evaluated afresh if they come back).
    if (state.records.size > testedSeries.length) {
      const testedNow = new Set(testedSeries);
      for (const series of state.records.keys()) if (!testedNow.has(series)) state.records.delete(series);
    }
    // Pass 2: q values and discoveries; decisions are built for the series acted on only.
    const correction = rt.detector.correction(judged, guards);
    /** Decisions built (or changed) in this tick, by index. */
    const built = new Map<number, Decision>();
    const decisionAt = (i: number): Decision => {
      let d = built.get(i);
      if (!d) built.set(i, (d = rt.detector.decisionOf(judged[i]!, correction, i)));
      return d;
    };
    /** The significant series and those with an open alert, in the tick's order. */
    const acted: number[] = [];
    for (let i = 0; i < testedSeries.length; i++) if (correction.discovered[i] === 1 || open.has(testedSeries[i]!)) acted.push(i);
    const before = await this.streaks.read(pipeline);
    const streaks = new Map<string, number>();
    let share: number | undefined;
    const grouping = this.groupSignificant(
      acted.filter((i) => correction.discovered[i] === 1).map((i) => ({ series: testedSeries[i]!, decision: decisionAt(i) })),
      open,
      cfg.groupExplainShare,
      w.dimensions,
    );
    // The open spike alerts of a topic with their series' windows in this tick.
    const openIncidents = (topicId: string) => {
      const list: { dimension: string; windows: readonly WindowFigures[] }[] = [];
      for (const i of acted) {
        const a = open.get(testedSeries[i]!);
        if (a && a.kind === 'spike' && a.topic === topicId) list.push({ dimension: a.dimension, windows: decisionAt(i).windows ?? [] });
      }
      return list;
    };
    // Series with an alert after this tick's step: what an explained series' incident needs.
    const alerting = new Set<string>();
    // The most specific scopes first, so that the series they explain know whether they alert.
    // (A stable partition rather than a sort: the explained last, each part in the tick's order.)
    // (Only the acted on: a series neither significant nor alerting has no step.)
    const explained = acted.filter((i) => grouping.explainedBy.has(testedSeries[i]!));
    const order = explained.length === 0 ? acted : acted.filter((i) => !grouping.explainedBy.has(testedSeries[i]!)).concat(explained);

    for (const i of order) {
      const series = testedSeries[i]!;
      const topic = testedTopics[i]!;
      let decision = decisionAt(i);
      const existing = open.get(series);
      const streak = decision.significant ? (before.get(series) ?? 0) + 1 : 0;
      if (streak > 0) streaks.set(series, streak);
      if (!existing && !decision.significant) continue;
      // The window whose figures stand (its length does not change below).
      const windowBuckets = decision.windowBuckets ?? currentBuckets;
      const windowStartMs = toBucket - (windowBuckets - 1) * bucketMs;
      // Part of a more specific scope's incident: listed on that alert instead of its own.
      const primary = grouping.explainedBy.get(series);
      if (!existing && primary !== undefined && alerting.has(primary)) continue;
      // A new alert needs k significant ticks in a row, or one very strong one.
      if (!existing && streak < cfg.openAfterTicks && !decision.strong) continue;
      // Part of an incident still open whose own series is not significant in this tick.
      if (!existing && decision.windows !== undefined) {
        const own = decision.windows.find((x) => x.buckets === windowBuckets);
        if (own && openIncidentOf(records[i]!.dimension, own, openIncidents(topic.id), cfg.groupExplainShare)) continue;
      }
      // The tail of an incident that resolved: its window holds that incident's surge.
      if (!existing && tailOf(records[i]!.dimension, windowStartMs, toBucket + bucketMs, incidents.get(topic.id) ?? [])) continue;
      const inCooldown = !existing && (await this.opts.alerts.inCooldown(pipeline, series, nowMs));
      const details =
        decision.significant && !inCooldown
          ? await this.opts.windows.readDetails(pipeline, series, windowStartMs, toBucket, bucketMs, {
              topTerms: TOP_TERMS,
              samples: rt.config.alerts.sampleSize,
            })
          : undefined;
      if (details && !passesAuthorGuard(details.distinctAuthors, guards[i]!.minAuthors, (share ??= await this.authoredShare(rt)))) {
        decision = { ...decision, significant: false, reason: 'below_min_authors' };
        built.set(i, decision);
      }
      // Hysteresis: an open alert stays open while the series is at half the opening bars.
      const g = guards[i]!;
      const elevated = !decision.significant && decision.ratio >= Math.max(1.5, g.minRatio / 2) && decision.observed >= g.minCount / 2;
      const step = stepAlert({
        open: existing,
        inCooldown,
        decision,
        elevated,
        details,
        related: grouping.related.get(series) ?? [],
        ctx: {
          pipeline,
          series,
          topic,
          listVersion: lists.set.version,
          nowMs,
          windowStartMs,
          windowEndMs: toBucket + bucketMs,
          currentSec: windowBuckets * w.bucketSec,
          baselineSec: w.baselineSec,
          bucketSec: w.bucketSec,
          cfg,
        },
      });
      if (!step) {
        if (existing) alerting.add(series);
        continue;
      }
      // Not saved: the alert was opened already (a retried tick, or another process).
      if (!(await this.opts.alerts.save(step.alert, step.event, cfg.cooldownSec, fence))) continue;
      if (step.alert.status !== 'resolved') alerting.add(series);
      // The samples an alert shows keep their text for the configured time, the others only as long as their bucket's details.
      const textTtlSec = rt.layout.sampleTextTtlSec ?? 0;
      if (textTtlSec > 0 && step.alert.sample_signal_ids.length > 0) await this.opts.windows.keepSamples(pipeline, step.alert.sample_signal_ids, textTtlSec);
      if (step.event) report.events.push({ type: step.event, alert: step.alert });
      if (step.event === 'resolved') recordResolved(step.alert);
    }
    this.opts.onDecisions?.(
      pipeline,
      nowMs,
      testedSeries.map((series, i) => ({ series, decision: decisionAt(i) })),
    );
    // Only what changed is written; a series no longer significant (or no longer live) loses its streak.
    const changes = new Map<string, number>();
    for (const [series, n] of streaks) if (before.get(series) !== n) changes.set(series, n);
    for (const series of before.keys()) if (!streaks.has(series)) changes.set(series, 0);
    if (changes.size > 0) await this.streaks.write(pipeline, changes, fence);
    // What this tick held, for the next process that starts or takes the tick over: reading it
    // saves that process's first tick reading every series' counts. Only an optimisation: a
    // failed save is tried again at the next tick.
    await state.series.save(cfg.maxSeries, rt.layout.retentionSec).catch((err: unknown) => this.opts.logger.warn({ err, pipeline }, 'storing the held series failed; the next tick tries again'));
    await this.opts.windows.pruneSeries(pipeline, nowMs - w.retentionSec * 1000);
  }

  /**
   * What a process that does not hold the lease does at a tick: it brings the counts it would
   * read up to date (the series counted since its last tick), so that taking the lease over,
   * when the holder stops or is cut off, does not begin with reading every live series.
   */
  private async follow(rt: PipelineRuntime, nowMs: number): Promise<void> {
    const { fromBucket, toBucket, activeFrom, bucketMs } = rangeOf(rt, nowMs);
    const state = this.stateOf(rt);
    const read: string[] = [];
    for (const { info } of await state.series.live(fromBucket, rt.config.detect.maxSeries)) {
      if (info.series.startsWith(TRAFFIC_TOPIC) ? rt.config.detect.relativeToTraffic : info.lastBucketMs >= activeFrom) read.push(info.series);
    }
    for (let i = 0; i < read.length; i += READ_CHUNK) await state.series.ensure(read.slice(i, i + READ_CHUNK), fromBucket, toBucket, bucketMs);
  }

  /**
   * The pipeline's state kept between ticks; started over when the pipeline's configuration or
   * detector is replaced, since every figure kept was computed with them.
   */
  private stateOf(rt: PipelineRuntime): PipelineState {
    let state = this.states.get(rt.config.id);
    if (!state || state.config !== rt.config || state.detector !== rt.detector) {
      state = { config: rt.config, detector: rt.detector, series: new SeriesCache(this.opts.windows, rt.config.id), records: new Map() };
      this.states.set(rt.config.id, state);
    }
    return state;
  }

  /** Groups each topic's significant series into incidents (see detect/grouping.ts). */
  private groupSignificant(significant: readonly { series: string; decision: Decision }[], open: ReadonlyMap<string, Alert>, explainShare: number, dimensionOrder: readonly string[]): Grouping {
    const grouping: Grouping = { explainedBy: new Map(), related: new Map() };
    if (explainShare <= 0) return grouping;
    const byTopic = new Map<string, { series: string; dimension: string; observed: number; expected: number; ratio: number }[]>();
    for (const { series, decision: d } of significant) {
      const { topic, dimension } = parseSeries(series);
      const list = byTopic.get(topic) ?? [];
      list.push({ series, dimension, observed: d.observed, expected: d.expected, ratio: d.ratio });
      byTopic.set(topic, list);
    }
    const leaders = new Set([...open.values()].filter((a) => a.status !== 'resolved').map((a) => a.series));
    for (const candidates of byTopic.values()) {
      if (candidates.length < 2) continue;
      const g = groupScopes(candidates, leaders, explainShare, dimensionOrder);
      for (const [k, v] of g.explainedBy) grouping.explainedBy.set(k, v);
      for (const [k, v] of g.related) grouping.related.set(k, v);
    }
    return grouping;
  }

  /**
   * Seasonal factors of a chunk of series, from their hourly rollups. A factor depends only on
   * the current hour and the baseline's, so it is cached until either changes.
   */
  private async seasonalFactors(rt: PipelineRuntime, series: readonly string[], nowMs: number, baselineMidMs: number): Promise<Map<string, number>> {
    const { seasonality, seasonalHistoryDays } = rt.config.detect;
    if (seasonality === 'none') return new Map();
    const currentHour = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
    const key = `${currentHour}:${Math.floor(baselineMidMs / HOUR_MS)}`;
    let cache = this.seasonal.get(rt.config.id);
    if (!cache || cache.key !== key) this.seasonal.set(rt.config.id, (cache = { key, factors: new Map() }));
    const missing = series.filter((s) => !cache.factors.has(s));
    if (missing.length > 0) {
      const from = currentHour - seasonalHistoryDays * 24 * HOUR_MS;
      const hourly = await this.opts.windows.readHourly(rt.config.id, missing, from, currentHour - HOUR_MS);
      for (const s of missing) cache.factors.set(s, seasonalFactor(hourly.get(s) ?? [], from, seasonality, nowMs, baselineMidMs));
    }
    return cache.factors;
  }

  /**
   * Share of the pipeline's signals that carry an author id. Logged once it is first known, so
   * that a stream without them is noticed: its alerts say distinct_authors null.
   */
  private async authoredShare(rt: PipelineRuntime): Promise<number> {
    const totals = await this.opts.windows.totals(rt.config.id);
    const share = authoredShare(totals);
    if ((totals.signals ?? 0) > 0 && !this.authorShareLogged.has(rt.config.id)) {
      this.authorShareLogged.add(rt.config.id);
      const withoutAuthor = Math.round((1 - share) * 1000) / 1000;
      this.opts.logger[withoutAuthor > 0 ? 'warn' : 'info'](
        { pipeline: rt.config.id, signals: totals.signals, withoutAuthorShare: withoutAuthor },
        withoutAuthor > 0 ? 'signals without author ids: the min-authors guard applies only to those that have one' : 'every signal carries an author id',
      );
    }
    return share;
  }

  async close(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    while (this.running.size > 0) await new Promise((r) => setTimeout(r, 20));
    for (const rt of this.opts.runtimes) await this.opts.lease.release(`tick:${rt.config.id}`, this.owner).catch(() => undefined);
  }
}
