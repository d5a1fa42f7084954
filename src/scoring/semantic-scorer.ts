import type { SemanticConfig } from '../config/pipeline-schema.js';
import type { TopicDefinition } from '../config/topic-schema.js';
import type { Logger } from '../shared/logger.js';
import type { Embedder } from './embedder.js';
import { headProbability, type HeadSet } from './heads.js';
import { combineHeads, combineScores, type HeadResult, type LexiconScore, type TopicScore } from './score.js';
import { buildSemanticIndex, candidateReason, nearestExemplars, type CandidateReason, type HeadIndex, type SemanticIndex } from './semantic.js';
import type { StaticEmbedder } from './static-embedder.js';

export type SemanticState = 'ok' | 'degraded';

export interface SemanticStats {
  /** Signals embedded (or answered from the cache), by why they were chosen. */
  candidates: Record<CandidateReason | 'all', number>;
  /** Signals not embedded in candidates mode. */
  skipped: number;
  /** Candidates not embedded because the pipeline's maxPerSec budget was spent (lowest priority first). */
  shed: number;
  /** Topic hits only the semantic score (exemplars alone or with a lexicon near miss, or a head) produced. */
  semanticHits: number;
  /** Signals scored by the static first stage. */
  staticScored: number;
  /** Topic hits the static stage decided alone (the transformer did not re-score the signal). */
  staticHits: number;
  /** Batches scored lexicon-only because the model failed. */
  failedBatches: number;
}

export interface ScoreItem {
  signal: { id: string; text: string };
  lexicon: LexiconScore[];
}

export interface BatchScores {
  scores: TopicScore[][];
  /** Signals embedded in this batch. */
  embedded: number;
  /** The model failed: every score is lexicon-only. */
  failed: boolean;
}

const KEEP_ALIVE_MS = 2000;
/** The maxPerSec budget can be saved up for this many seconds. */
const BURST_SEC = 10;
/** Which candidates keep their place when the budget is short: lexicon matches first. */
const PRIORITY: Record<CandidateReason | 'all', number> = { lexicon: 0, static: 0, all: 1, cue_word: 1, sample: 2 };

function joined(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** A pipeline's trained heads and the static first stage of their model. */
export interface HeadStage {
  set: HeadSet;
  static?: StaticEmbedder | undefined;
}

/**
 * A pipeline's semantic scoring: picks the signals to embed, embeds them through the shared
 * embedder, and joins the similarities with the lexicon scores. Without an embedder (the model
 * is optional and did not load) or when the model fails on a batch, it scores lexicon-only and
 * reports itself degraded; nothing is dropped. On a fallback model (the pipeline's own could not
 * load) it scores with the fallback and stays degraded, with the reason.
 */
export class SemanticScorer {
  state: SemanticState;
  reason: string | undefined;
  /**
   * Why the pipeline runs below its configuration for good (a fallback model, heads that do not
   * fit the model): the state it returns to after a failed batch.
   */
  private standingReason: string | undefined;
  readonly stats: SemanticStats = { candidates: { all: 0, lexicon: 0, static: 0, cue_word: 0, sample: 0 }, skipped: 0, shed: 0, semanticHits: 0, staticScored: 0, staticHits: 0, failedBatches: 0 };
  /** Trained heads (set once the model is up and they check out); without them, exemplars only. */
  heads: HeadStage | undefined;
  private tokens: number;
  private refilledAt: number;

  constructor(
    readonly config: SemanticConfig,
    readonly embedder: Embedder | undefined,
    private readonly logger: Logger,
    /** Why the pipeline's model is not running: lexicon-only without an embedder, else a fallback. */
    unavailable?: string,
    /** Monotonic milliseconds, for the maxPerSec budget. */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = config.maxPerSec * BURST_SEC;
    this.refilledAt = now();
    this.standingReason = embedder ? unavailable : undefined;
    this.state = embedder && !unavailable ? 'ok' : 'degraded';
    this.reason = embedder ? unavailable : (unavailable ?? 'no embedding model');
  }

  /**
   * Uses trained heads from the next list version on (call `index` again). With `problem`, the
   * pipeline runs below its configuration for good (heads missing their static stage, or not
   * usable at all) and reports itself degraded with that reason.
   */
  useHeads(heads: HeadStage | undefined, problem?: string): void {
    this.heads = heads;
    if (!problem) return;
    this.standingReason = this.standingReason ? `${this.standingReason}; ${problem}` : problem;
    this.state = 'degraded';
    this.reason = this.standingReason;
  }

  /** The model that embeds this pipeline's signals (its own or a fallback); undefined when lexicon-only. */
  get model(): string | undefined {
    return this.embedder?.model;
  }

  /**
   * Prepares a list version: the topics with a trained head are scored by it (at the topic's
   * `thresholds.head`, else the head's threshold); the others' exemplars are embedded.
   * Undefined (lexicon-only) when the model is unavailable.
   */
  async index(topics: Iterable<TopicDefinition>): Promise<SemanticIndex | undefined> {
    if (!this.embedder) return undefined;
    const list = [...topics];
    let heads: HeadIndex | undefined;
    if (this.heads) {
      const set = this.heads.set;
      const byTopic = new Map(set.topics.map((h) => [h.topic, h]));
      const chosen = list.flatMap((t) => {
        const head = byTopic.get(t.id);
        return head ? [[t.id, { head, threshold: t.thresholds.head ?? head.transformer.threshold }] as const] : [];
      });
      heads = { label: `${set.name}@${set.version}`, topics: new Map(chosen), static: this.heads.static, joinStatic: set.transformerInput === 'transformer+static' };
    }
    try {
      const index = await buildSemanticIndex(this.embedder, list, this.config, heads);
      this.recover();
      return index;
    } catch (err) {
      this.degrade(`cannot embed the topic exemplars: ${(err as Error).message}`);
      return undefined;
    }
  }

  /**
   * Scores a batch. `keepAlive` is called every 2 s while the model works (Kafka heartbeats), so
   * that a long batch does not cost the consumer its group membership.
   */
  async score(items: readonly ScoreItem[], index: SemanticIndex | undefined, keepAlive?: () => Promise<void>): Promise<BatchScores> {
    const scores: TopicScore[][] = items.map((i) => i.lexicon);
    if (!this.embedder || !index || (index.topics.length === 0 && !index.heads)) return { scores, embedded: 0, failed: false };
    const heads = index.heads;
    // The static first stage scores every signal; what it flags, the transformer re-scores.
    const firstStage = heads?.static ? items.map((item) => this.staticStage(heads, item.signal.text)) : undefined;
    const picked: { i: number; reason: CandidateReason | 'all' }[] = [];
    items.forEach((item, i) => {
      let reason: CandidateReason | 'all' | undefined;
      if (this.config.mode === 'all') reason = 'all';
      else if (item.lexicon.length > 0) reason = 'lexicon';
      else if (firstStage?.[i]!.flagged) reason = 'static';
      else if (index.topics.length > 0 || (heads && !heads.static)) reason = candidateReason(item.signal, false, index, this.config);
      if (reason === undefined) this.stats.skipped++;
      else picked.push({ i, reason });
    });
    const chosen: number[] = [];
    for (const p of this.withinBudget(picked)) {
      this.stats.candidates[p.reason]++;
      chosen.push(p.i);
    }
    chosen.sort((a, b) => a - b);
    const embedded = new Set(chosen);
    // Signals the transformer will not see keep what the static stage decided alone.
    const staticOnly = (i: number) => {
      const decided = firstStage?.[i]!.hits ?? [];
      if (decided.length === 0) return;
      this.stats.staticHits += decided.filter((h) => h.probability >= h.threshold).length;
      scores[i] = combineHeads(scores[i]!, decided);
    };
    if (chosen.length === 0) {
      items.forEach((_, i) => staticOnly(i));
      return { scores, embedded: 0, failed: false };
    }

    let timer: NodeJS.Timeout | undefined;
    if (keepAlive) {
      timer = setInterval(() => keepAlive().catch((err: Error) => this.logger.warn({ err }, 'heartbeat during embedding failed')), KEEP_ALIVE_MS);
    }
    let vectors: Float32Array[];
    try {
      vectors = await this.embedder.embed(chosen.map((i) => items[i]!.signal.text));
    } catch (err) {
      this.stats.failedBatches++;
      this.degrade(`the model failed on a batch; scored by ${firstStage ? 'the lexicon and the static first stage' : 'the lexicon'} only: ${(err as Error).message}`);
      items.forEach((_, i) => staticOnly(i));
      return { scores, embedded: 0, failed: true };
    } finally {
      clearInterval(timer);
    }
    this.recover();
    items.forEach((_, i) => {
      if (!embedded.has(i)) staticOnly(i);
    });
    chosen.forEach((itemIndex, k) => {
      const v = vectors[k]!;
      let combined = index.topics.length > 0 ? combineScores(scores[itemIndex]!, nearestExemplars(index, v, this.config), this.config) : scores[itemIndex]!;
      if (heads) {
        const input = heads.joinStatic ? joined(v, firstStage![itemIndex]!.vector) : v;
        const results: HeadResult[] = [];
        for (const [topic, t] of heads.topics) results.push({ topic, head: heads.label, stage: 'transformer', probability: headProbability(t.head.transformer, input), threshold: t.threshold });
        combined = combineHeads(combined, results);
      }
      this.stats.semanticHits += combined.filter((s) => s.hitBy === 'semantic' || s.hitBy === 'lexicon+semantic' || s.hitBy === 'head').length;
      scores[itemIndex] = combined;
    });
    return { scores, embedded: chosen.length, failed: false };
  }

  /**
   * The static first stage of one text: whether any topic's head flags it for the transformer,
   * and the static head's own decisions (used when the transformer does not re-score it).
   */
  private staticStage(heads: HeadIndex, text: string): { flagged: boolean; hits: HeadResult[]; vector: Float32Array } {
    const v = heads.static!.embed(text);
    this.stats.staticScored++;
    let flagged = false;
    const hits: HeadResult[] = [];
    for (const [topic, t] of heads.topics) {
      const s = t.head.static;
      if (!s) {
        // A topic without a static head always needs the transformer.
        flagged = true;
        continue;
      }
      const p = headProbability(s, v);
      if (p >= (s.flagThreshold ?? s.threshold)) flagged = true;
      if (p >= s.threshold / 2) hits.push({ topic, head: heads.label, stage: 'static', probability: p, threshold: s.threshold });
    }
    return { flagged, hits, vector: v };
  }

  /** Keeps the candidates the budget allows, highest priority first; counts the rest as shed. */
  private withinBudget<T extends { reason: CandidateReason | 'all' }>(picked: T[]): T[] {
    const perSec = this.config.maxPerSec;
    if (perSec <= 0) return picked;
    const t = this.now();
    this.tokens = Math.min(perSec * BURST_SEC, this.tokens + ((t - this.refilledAt) / 1000) * perSec);
    this.refilledAt = t;
    const n = Math.min(picked.length, Math.floor(this.tokens));
    this.tokens -= n;
    if (n === picked.length) return picked;
    const kept = [...picked].sort((a, b) => PRIORITY[a.reason] - PRIORITY[b.reason]).slice(0, n);
    this.stats.shed += picked.length - n;
    return kept;
  }

  private degrade(reason: string): void {
    if (this.state !== 'degraded' || this.reason !== reason) this.logger.error({ model: this.model ?? this.config.model, reason }, 'semantic scoring degraded');
    this.state = 'degraded';
    this.reason = reason;
  }

  private recover(): void {
    if (this.state === 'degraded' && this.embedder && this.reason !== this.standingReason) {
      this.logger.info({ model: this.model }, 'semantic scoring recovered');
      this.state = this.standingReason ? 'degraded' : 'ok';
      this.reason = this.standingReason;
    }
  }
}
