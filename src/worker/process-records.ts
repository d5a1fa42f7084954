import { readMetric, type MetricsRegistry } from '../shared/metrics.js';
import { createHmac } from 'node:crypto';
import { decodeSignal, type DecodeFailureCode, type Signal } from '../ingest/signal.js';
import { matchedTerms, scoreSignal, type LexiconScore } from '../scoring/score.js';
import { bucketStart, TRAFFIC_TOPIC, type CountedSignal, type SeenSignal } from '../windows/window-store.js';
import { seriesId } from '../alerts/alert.js';
import { collapseRepeats } from '../normalize/fold.js';
import { foldHashtag, normalizeText } from '../normalize/text.js';
import { isCommonKey } from '../scoring/common-words.js';
import { OTHER, type DimensionValues } from '../windows/dimension-values.js';
import type { PipelineLists, PipelineRuntime } from './pipeline-runtime.js';

/** Header values as a Kafka client hands them over. */
export type RecordHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

export interface RawRecord {
  offset: string;
  value: Uint8Array | null;
  /** Kafka key and headers, kept so that a dead letter carries them on. */
  key?: Uint8Array | null;
  headers?: RecordHeaders;
}

export interface DeadLetter {
  record: RawRecord;
  code: DecodeFailureCode | 'future';
  reason: string;
}

export interface ProcessedRecords {
  signals: CountedSignal[];
  /** Every signal counted (hits or not), for de-duplication across batches. */
  seen: SeenSignal[];
  deadLetters: DeadLetter[];
  totals: Record<string, number>;
}

/** Event-time progress of one source partition; lateness is judged against the newest event seen in it. */
export interface Watermark {
  maxEventMs: number;
}

export interface ProcessOptions {
  authorHashKey: string;
  watermark: Watermark;
  /** Signals stamped further ahead of this are dead-lettered; undefined disables the check. */
  nowMs?: number;
  maxFutureMs?: number;
  /** Called every few seconds while the embedding model works (Kafka heartbeats). */
  keepAlive?: () => Promise<void>;
  /** Ids counted by an earlier batch: these count as duplicates. */
  skipIds?: ReadonlySet<string>;
}

const NO_KEYS: ReadonlySet<string> = new Set();
const DEFAULT_MAX_FUTURE_MS = 10 * 60_000;

const AUTHOR_CACHE_MAX = 100_000;
const authorCache = new Map<string, string>();

/** Keyed hash of an author id (cached: the same accounts post again and again). */
export function hashAuthor(key: string, author: string): string {
  const cacheKey = `${key}\0${author}`;
  let h = authorCache.get(cacheKey);
  if (h === undefined) {
    h = createHmac('sha256', key).update(author).digest('base64url').slice(0, 22);
    if (authorCache.size >= AUTHOR_CACHE_MAX) authorCache.clear();
    authorCache.set(cacheKey, h);
  }
  return h;
}

/** The series a hit increments: the topic, and the topic by each configured dimension. */
export function seriesFor(topic: string, signal: Signal, dimensions: readonly string[], limit?: DimensionValues): string[] {
  const admit = (dim: string, value: string) => (limit ? limit.admit(dim, value, signal.tsMs) : value);
  const out = [topic];
  for (const dim of dimensions) {
    if (dim === 'region' && signal.region) {
      const region = admit('region', signal.region);
      out.push(seriesId(topic, { name: 'region', value: region }));
      // A subdivision also counts towards its country.
      const dash = signal.region.indexOf('-');
      if (dash > 0 && region !== OTHER) out.push(seriesId(topic, { name: 'region', value: admit('region', signal.region.slice(0, dash)) }));
    } else if (dim === 'surface') {
      out.push(seriesId(topic, { name: 'surface', value: signal.surface }));
    } else if (dim === 'lang' && signal.lang) {
      out.push(seriesId(topic, { name: 'lang', value: admit('lang', signal.lang.toLowerCase().split('-')[0]!) }));
    }
  }
  return out;
}

const MAX_TERMS_PER_SIGNAL = 5;
const INLINE_TAG = /#([\p{L}\p{M}\p{N}_]{2,64})/gu;
const MIN_WORD_LENGTH = 4;
/** Only words outside the 10,000 most common can be emerging terms ("unalive", not "thinking"). */
const EMERGING_WORD_RANK = 10_000;

/** A possible emerging term of a signal: its matching key, and how it is shown. */
export interface EmergingCandidate {
  key: string;
  shown: string;
}

/**
 * Hashtags and uncommon words of a signal that could be emerging terms, in order, one per
 * matching key: tags first ("#KMS_now" -> "#kmsnow"), then words (not among the 10,000 most
 * common English words, 4+ letters, no digits). Computed once per signal; each hit topic then
 * keeps the ones its list lacks (`pickEmerging`).
 */
export function emergingCandidates(signal: Signal): EmergingCandidate[] {
  const out = new Map<string, EmergingCandidate>();
  const raw = [...signal.hashtags, ...[...signal.text.matchAll(INLINE_TAG)].map((m) => m[1]!)];
  for (const tag of raw) {
    // Shown folded but with its double letters; compared by the matching key, as the lists are.
    const folded = foldHashtag(tag);
    const key = collapseRepeats(folded);
    if (key.length >= 2 && !out.has(`#${key}`)) out.set(`#${key}`, { key, shown: `#${folded}` });
  }
  for (const t of normalizeText(signal.text.replace(INLINE_TAG, ' ')).tokens) {
    if (t.key.length < MIN_WORD_LENGTH || t.key.startsWith('@') || /\d/.test(t.key) || isCommonKey(t.key, EMERGING_WORD_RANK) || out.has(t.key)) continue;
    out.set(t.key, { key: t.key, shown: t.folded });
  }
  return [...out.values()];
}

/**
 * The candidates a hit's topic does not list (by matching key), at most 5: counted as "term"
 * series, so that one that surges (or was never seen before) becomes an emerging-term alert
 * suggesting a list addition.
 */
export function pickEmerging(candidates: readonly EmergingCandidate[], known: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const c of candidates) {
    if (out.length >= MAX_TERMS_PER_SIGNAL) break;
    if (!known.has(c.key)) out.push(c.shown);
  }
  return out;
}

export function scoreForRuntime(runtime: PipelineRuntime, signal: Signal, lists: PipelineLists = runtime.lists): LexiconScore[] {
  return scoreSignal(lists.lexicon, lists.topics, { text: signal.text, hashtags: signal.hashtags, lang: signal.lang });
}

/**
 * Decodes, validates, scores and buckets the records of one partition batch. Pure apart from
 * advancing the watermark (and the embedding cache). Bad records become dead letters; the batch
 * always completes, lexicon-only if the embedding model fails.
 */
export async function processRecords(records: readonly RawRecord[], runtime: PipelineRuntime, opts: ProcessOptions): Promise<ProcessedRecords> {
  const { bucketMs } = runtime.layout;
  // One list version for the whole batch, even if new lists are swapped in meanwhile.
  const lists = runtime.lists;
  const { latenessSec, dimensions } = runtime.config.windows;
  const maxFutureMs = opts.maxFutureMs ?? DEFAULT_MAX_FUTURE_MS;
  const signals: CountedSignal[] = [];
  const deadLetters: DeadLetter[] = [];
  const totals: Record<string, number> = { signals: 0, hits: 0, dead_letters: 0, late: 0, duplicates: 0, truncated: 0, no_author: 0 };
  const accepted: Signal[] = [];
  const lexicon: LexiconScore[][] = [];
  const seen = new Set<string>();

  for (const record of records) {
    const decoded = decodeSignal(record.value);
    if (!decoded.ok) {
      deadLetters.push({ record, code: decoded.code, reason: decoded.reason });
      continue;
    }
    const signal = decoded.signal;
    if (opts.nowMs !== undefined && signal.tsMs > opts.nowMs + maxFutureMs) {
      deadLetters.push({ record, code: 'future', reason: `event time ${new Date(signal.tsMs).toISOString()} is more than ${maxFutureMs / 60_000} min in the future` });
      continue;
    }
    if (seen.has(signal.id) || opts.skipIds?.has(signal.id)) {
      totals.duplicates!++;
      continue;
    }
    seen.add(signal.id);
    if (signal.tsMs < opts.watermark.maxEventMs - latenessSec * 1000) {
      totals.late!++;
      continue;
    }
    if (signal.tsMs > opts.watermark.maxEventMs) opts.watermark.maxEventMs = signal.tsMs;
    totals.signals!++;
    if (signal.truncated) totals.truncated!++;
    runtime.signalStats.signals++;
    if (!signal.author) {
      totals.no_author = (totals.no_author ?? 0) + 1;
      runtime.signalStats.withoutAuthor++;
    }

    accepted.push(signal);
    lexicon.push(scoreForRuntime(runtime, signal, lists));
  }

  const semantic = runtime.semantic;
  const scored = semantic
    ? await semantic.score(accepted.map((signal, i) => ({ signal, lexicon: lexicon[i]! })), lists.semantic, opts.keepAlive)
    : { scores: lexicon, embedded: 0, failed: false };
  if (semantic) {
    totals.semantic_embedded = scored.embedded;
    if (scored.failed) totals.semantic_failed = accepted.length;
  }

  accepted.forEach((signal, i) => {
    // The signal's scopes, found once: its traffic series, and the series of each topic it hits.
    const scopes = runtime.config.detect.relativeToTraffic ? seriesFor(TRAFFIC_TOPIC, signal, dimensions, runtime.dimensionValues) : undefined;
    if (scopes) signals.push({ id: signal.id, bucketMs: bucketStart(signal.tsMs, bucketMs), series: scopes, terms: [], countOnly: true });
    const hits = scored.scores[i]!.filter((s) => s.hit);
    if (hits.length === 0) return;
    totals.hits!++;
    if (hits.some((h) => h.hitBy === 'semantic' || h.hitBy === 'lexicon+semantic' || h.hitBy === 'head')) totals.semantic_hits = (totals.semantic_hits ?? 0) + 1;
    const bucket = bucketStart(signal.tsMs, bucketMs);
    const authorHash = signal.author ? hashAuthor(opts.authorHashKey, signal.author) : undefined;
    // Tags and words are found once per signal, then filtered per hit topic.
    const candidates = runtime.config.windows.emergingTerms ? emergingCandidates(signal) : [];
    const keepText = (runtime.layout.sampleTextTtlSec ?? 0) > 0 && runtime.layout.samplesPerBucket > 0;
    const sample = keepText ? { tsMs: signal.tsMs, surface: signal.surface, region: signal.region ?? null, lang: signal.lang ?? null, text: signal.text } : undefined;
    for (const h of hits) {
      const series = scopes ? scopes.map((scope) => h.topic + scope.slice(TRAFFIC_TOPIC.length)) : seriesFor(h.topic, signal, dimensions, runtime.dimensionValues);
      if (candidates.length > 0) {
        for (const term of pickEmerging(candidates, lists.knownKeys.get(h.topic) ?? NO_KEYS)) {
          // A term counts once enough distinct authors used it; past the cardinality bound it is
          // not counted at all: "other" suggests nothing.
          if (!runtime.termAdmission.admit(term, authorHash ?? '', signal.tsMs)) continue;
          if (runtime.dimensionValues.admit('term', term, signal.tsMs) !== OTHER) series.push(seriesId(h.topic, { name: 'term', value: term }));
        }
      }
      const counted: CountedSignal = { id: signal.id, bucketMs: bucket, series, terms: matchedTerms(h) };
      if (authorHash) counted.authorHash = authorHash;
      if (sample) counted.sample = sample;
      signals.push(counted);
    }
  });
  totals.dead_letters = deadLetters.length;
  return { signals, seen: accepted.map((s) => ({ id: s.id, tsMs: s.tsMs })), deadLetters, totals };
}

/** The share of the signals this process accepted per pipeline that carry no author id (the min-authors guard cannot apply to them). */
export function registerAuthorMetrics(registry: MetricsRegistry, runtimes: readonly PipelineRuntime[]): void {
  readMetric(registry, {
    type: 'gauge',
    name: 'surgewatch_signals_without_author_ratio',
    help: 'Share of the signals accepted by this process with no author id (the min-authors guard cannot apply to them).',
    labelNames: ['pipeline'],
    read: () =>
      runtimes.map((rt) => {
        const { signals, withoutAuthor } = rt.signalStats;
        return [{ pipeline: rt.config.id }, signals > 0 ? Math.round((withoutAuthor / signals) * 1e4) / 1e4 : 0] as [{ pipeline: string }, number];
      }),
  });
}
