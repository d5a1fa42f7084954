import { z } from 'zod';
import { webhooksSchema } from './webhook-schema.js';

export const dimensionNames = ['region', 'surface', 'lang'] as const;
export type DimensionName = (typeof dimensionNames)[number];

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be a lowercase slug (a-z, 0-9, -), at most 64 chars');
const kafkaTopic = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a valid Kafka topic name');

const windowsSchema = z
  .strictObject({
    bucketSec: z.number().int().min(1).max(3600).default(10),
    currentSec: z.number().int().min(1).max(86_400).default(60),
    baselineSec: z.number().int().min(60).max(7 * 86_400).default(1800),
    /**
     * Time left out between the baseline and the current window, so that a slow ramp does not
     * become its own baseline before it is noticed.
     */
    baselineGapSec: z.number().int().min(0).max(86_400).default(300),
    /** Buckets older than this are expired by Redis TTL; must cover current + baseline. */
    retentionSec: z.number().int().min(60).max(30 * 86_400).default(7200),
    /** Signals whose event time is further behind the newest seen than this are not counted. */
    latenessSec: z.number().int().min(0).max(86_400).default(3600),
    /**
     * A signal id counted in the last dedupSec (by the signal's event-time slice) is not counted
     * again, whichever batch or partition brings it back (a producer's retry); 0 turns this off.
     */
    dedupSec: z.number().int().min(0).max(86_400).default(300),
    dimensions: z.array(z.enum(dimensionNames)).default(['region', 'surface', 'lang']),
    /** Count the hashtags that hits carry and their topic does not list, for emerging-term alerts. */
    emergingTerms: z.boolean().default(true),
    /**
     * A candidate term is counted once this many distinct authors used it within retentionSec,
     * so that one account's junk hashtags cannot use up maxValuesPerDimension.
     */
    emergingMinAuthors: z.number().int().min(1).max(1000).default(3),
    /** Distinct values per dimension (regions, languages) counted per worker; later ones count as "other". */
    maxValuesPerDimension: z.number().int().min(1).max(100_000).default(1000),
  })
  .superRefine((w, ctx) => {
    if (w.currentSec % w.bucketSec !== 0) ctx.addIssue({ code: 'custom', path: ['currentSec'], message: 'must be a multiple of bucketSec' });
    if (w.baselineSec % w.bucketSec !== 0) ctx.addIssue({ code: 'custom', path: ['baselineSec'], message: 'must be a multiple of bucketSec' });
    if (w.baselineGapSec % w.bucketSec !== 0) ctx.addIssue({ code: 'custom', path: ['baselineGapSec'], message: 'must be a multiple of bucketSec' });
    if (w.retentionSec < w.currentSec + w.baselineSec + w.baselineGapSec)
      ctx.addIssue({ code: 'custom', path: ['retentionSec'], message: 'must be at least currentSec + baselineSec + baselineGapSec' });
  });

/** Guards that a severity tier may set stricter or looser than the pipeline's. */
const tierGuardsSchema = z.strictObject({
  minCount: z.number().int().min(1).optional(),
  minRatio: z.number().min(1).optional(),
  minAuthors: z.number().int().min(0).optional(),
  fdr: z.number().gt(0).max(0.5).optional(),
});

const detectSchema = z.strictObject({
  tickSec: z.number().min(0.1).max(3600).default(5),
  /** Minimum observed count in the current window before anything can fire. */
  minCount: z.number().int().min(1).default(10),
  /** Minimum observed / expected ratio. */
  minRatio: z.number().min(1).default(3),
  /**
   * Longer windows tested besides windows.currentSec (each a multiple of windows.bucketSec):
   * a small or slow surge that a one-minute window cannot tell from noise adds up over 5-30
   * minutes. A series' p-value is its best window's, times the number of windows (Bonferroni).
   */
  longWindowsSec: z.array(z.number().int().min(1).max(86_400)).max(8).default([300, 900, 1800]),
  /** Minimum observed / expected ratio in a long window (minRatio applies to the short one). */
  longMinRatio: z.number().min(1).default(1.6),
  /**
   * Minimum expected count in a long window: in a sparser series the baseline is a handful of
   * signals, and one burst of posts from a few accounts looks like a surge (short window only).
   */
  longMinExpected: z.number().min(0).default(20),
  /**
   * Judge a topic's volume against the traffic of its scope (all signals, hit or not): the
   * expected count follows the scope's traffic now against during the baseline, so that a
   * benign wave that lifts every topic (a big live event) does not alert, and the daily rhythm
   * needs no seasonal profile.
   */
  relativeToTraffic: z.boolean().default(true),
  /** Minimum z score of the observed count against the baseline's (floored) variance. */
  zThreshold: z.number().min(0).default(3),
  /** Minimum distinct authors in the current window (a few accounts posting a lot is not a trend). */
  minAuthors: z.number().int().min(0).default(3),
  /** Expected counts below this are raised to it before testing (no alert on 0 vs 0). */
  minExpected: z.number().min(0.1).default(1),
  /** Half-life of the exponentially weighted baseline mean and variance. */
  halfLifeSec: z.number().min(1).max(30 * 86_400).default(900),
  /** False-discovery rate across the series tested in a tick (Benjamini-Hochberg), per family (fdrFamilies). */
  fdr: z.number().gt(0).max(0.5).default(0.01),
  /**
   * The families the false-discovery rate is held over in a tick. one: every series of the tick
   * in one family. totals-apart: the topics' totals (scope all) form one family and their
   * breakdowns (regions, surfaces, languages, terms) another, so that a topic-wide surge is not
   * held to the bar that thousands of breakdowns set; sooner and smaller surges on the totals,
   * and more false alerts on them (see pipelines/README.md for the measured trade-off).
   */
  fdrFamilies: z.enum(['one', 'totals-apart']).default('one'),
  /**
   * Consecutive significant ticks before an alert opens (ticks overlap: a chance cluster of
   * signals rarely stays significant for long)...
   */
  openAfterTicks: z.number().int().min(1).max(1000).default(6),
  /** ...unless one tick is this improbable under the baseline (p-value). */
  strongP: z.number().gt(0).max(0.5).default(1e-9),
  /** Share of baseline buckets that must lie after the series' first data (cold start guard). */
  minBaselineCoverage: z.number().min(0).max(1).default(0.5),
  /**
   * Daily (hour-of-day) or weekly (hour-of-week) rhythm: the expected count is scaled by the
   * series' usual level at this hour against its level during the baseline, learned from hourly
   * rollups kept for seasonalHistoryDays.
   */
  seasonality: z.enum(['none', 'hour-of-day', 'hour-of-week']).default('none'),
  seasonalHistoryDays: z.number().int().min(2).max(60).default(14),
  /**
   * One surge, one incident: a significant series is listed as `related` on the alert of a more
   * specific one (higher ratio) whose excess over expected is at least this share of its own,
   * instead of opening an alert of its own (see src/detect/grouping.ts). 0 turns grouping off.
   */
  groupExplainShare: z.number().min(0).max(1).default(0.5),
  /** Distinct authors / observed at or below this marks an alert as coordinated. */
  coordinatedShare: z.number().min(0).max(1).default(0.2),
  /**
   * Consecutive quiet ticks before an open alert resolves. Ticks at half the opening bars
   * (ratio and count) are not quiet (hysteresis).
   */
  resolveAfterTicks: z.number().int().min(1).default(6),
  /** After resolving, the same series does not re-open for this long. */
  cooldownSec: z.number().int().min(0).default(300),
  /** Live series tested per tick at most (memory and tick time stay bounded). */
  maxSeries: z.number().int().min(1).default(10_000),
  /** Per severity tier, guards stricter or looser than the ones above. */
  tiers: z
    .strictObject({ critical: tierGuardsSchema.optional(), high: tierGuardsSchema.optional(), medium: tierGuardsSchema.optional(), low: tierGuardsSchema.optional() })
    .default({ critical: { minCount: 5, minRatio: 2 }, low: { minCount: 20, minRatio: 4 } }),
});

const alertsSchema = z.strictObject({
  kafkaTopic: kafkaTopic.default('alerts'),
  retentionDays: z.number().int().min(1).max(365).default(30),
  sampleSize: z.number().int().min(0).max(50).default(5),
  /**
   * Hours the text of the sample signals an alert shows is kept (wall clock, from the alert's
   * last update) so that analysts can read it with the alert (redacted; revealed by analysts,
   * audited); then it is gone. Other samples' text lives as long as their bucket's details.
   * 0 = no text stored.
   */
  sampleTextTtlHours: z.number().min(0).max(90 * 24).default(7 * 24),
  /** Where alert events are pushed besides the Kafka topic (see config/README.md, "Webhooks"). */
  webhooks: webhooksSchema,
});

export const semanticModes = ['off', 'all', 'candidates'] as const;
export type SemanticMode = (typeof semanticModes)[number];

const semanticSchema = z
  .strictObject({
    /**
     * off: lexicon only; all: every signal is embedded; candidates: only signals with a lexicon
     * match (hit or near miss), a cue word shared with a topic's exemplars or terms, or in the
     * random sample.
     */
    mode: z.enum(semanticModes).default('candidates'),
    /** A model id from models/manifest.yaml. */
    model: z.string().min(1).default('use-lite'),
    /**
     * The model to run on when `model` cannot load (not fetched, corrupt): the pipeline then
     * scores with it and reports itself degraded. null: no fallback, `optional` decides.
     */
    fallbackModel: z.string().min(1).nullable().default('use-lite'),
    /**
     * A head file from `surgewatch train` (relative to the models manifest's folder): topics it
     * has a head for are scored by it, the others by exemplar similarity. Used only when the
     * pipeline runs on the model the heads were trained on.
     */
    heads: z.string().min(1).optional(),
    /**
     * When neither the model nor its fallback can load: false stops the start; true runs
     * lexicon-only, reported as degraded.
     */
    optional: z.boolean().default(false),
    /** Per-topic score: the best exemplar's cosine, or the mean of the best topK. */
    aggregate: z.enum(['max', 'top-k-mean']).default('max'),
    topK: z.number().int().min(1).max(50).default(3),
    /** Similarity at or above which a topic is a semantic hit (topics may set their own). */
    threshold: z.number().gt(0).max(1).default(0.6),
    /**
     * A lexicon near miss (score above 0, below the topic's lexicon threshold) is a hit when the
     * similarity reaches this share of the semantic threshold: the two weak signals agree.
     */
    assist: z.number().gt(0).max(1).default(0.85),
    /** candidates mode: share of other signals embedded anyway (chosen by id, so replays repeat). */
    sampleRate: z.number().min(0).max(1).default(0.02),
    /** candidates mode: a signal sharing an uncommon word with a topic's exemplars or terms is a candidate. */
    cueWords: z.boolean().default(true),
    /**
     * Signals embedded per second at most (0 = no limit), saved up for 10 s at most. Beyond it,
     * candidates are scored lexicon-only, samples and cue words first, so that a stream larger
     * than the model can follow is not delayed: the consumer never lags behind the model.
     */
    maxPerSec: z.number().min(0).max(1_000_000).default(0),
    /** Texts per inference call, and how long a partial batch waits for more. */
    batchSize: z.number().int().min(1).max(512).default(8),
    batchWaitMs: z.number().int().min(0).max(10_000).default(5),
    /** Cached vectors, keyed by the normalized text (viral content repeats). */
    cacheSize: z.number().int().min(0).max(1_000_000).default(20_000),
  })
  .superRefine((s, ctx) => {
    if (s.aggregate === 'max' && s.topK !== 3) ctx.addIssue({ code: 'custom', path: ['topK'], message: 'applies only with aggregate: top-k-mean' });
  });

/** A declarative pipeline: where signals come from, what is scored, counted and detected. */
export const pipelineSchema = z.strictObject({
  id: slug,
  description: z.string().max(2000).optional(),
  source: z.strictObject({ topic: kafkaTopic.default('signals') }).prefault({}),
  /** Topic ids from config/topics, or "all". */
  topics: z.union([z.literal('all'), z.array(slug).min(1)]).default('all'),
  windows: windowsSchema.prefault({}),
  detect: detectSchema.prefault({}),
  alerts: alertsSchema.prefault({}),
  semantic: semanticSchema.prefault({}),
}).superRefine((p, ctx) => {
  const w = p.windows;
  p.detect.longWindowsSec.forEach((sec, i) => {
    if (sec % w.bucketSec !== 0) ctx.addIssue({ code: 'custom', path: ['detect', 'longWindowsSec', i], message: 'must be a multiple of windows.bucketSec' });
  });
  const longest = Math.max(w.currentSec, ...p.detect.longWindowsSec);
  // (Retention shorter than currentSec + baseline + gap is reported by the windows section.)
  if (w.retentionSec >= w.currentSec + w.baselineSec + w.baselineGapSec && w.retentionSec < longest + w.baselineSec + w.baselineGapSec)
    ctx.addIssue({ code: 'custom', path: ['windows', 'retentionSec'], message: `must be at least the longest window (${longest} s) + baselineSec + baselineGapSec` });
});

export type PipelineInput = z.input<typeof pipelineSchema>;
export type PipelineConfig = z.output<typeof pipelineSchema>;
export type WindowsConfig = PipelineConfig['windows'];
export type DetectConfig = PipelineConfig['detect'];
export type SemanticConfig = PipelineConfig['semantic'];
