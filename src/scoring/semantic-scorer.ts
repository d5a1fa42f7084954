import type { SemanticConfig } from '../config/pipeline-schema.js';
import type { TopicDefinition } from '../config/topic-schema.js';
import type { Logger } from '../shared/logger.js';
import type { Embedder } from './embedder.js';
import { combineScores, type LexiconScore, type TopicScore } from './score.js';
import { buildSemanticIndex, candidateReason, nearestExemplars, type CandidateReason, type SemanticIndex } from './semantic.js';

export type SemanticState = 'ok' | 'degraded';

export interface SemanticStats {
  /** Signals embedded (or answered from the cache), by why they were chosen. */
  candidates: Record<CandidateReason | 'all', number>;
  /** Signals not embedded in candidates mode. */
  skipped: number;
  /** Candidates not embedded because the pipeline's maxPerSec budget was spent (lowest priority first). */
  shed: number;
  /** Topic hits only the semantic score (alone or with a lexicon near miss) produced. */
  semanticHits: number;
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
const PRIORITY: Record<CandidateReason | 'all', number> = { lexicon: 0, all: 1, cue_word: 1, sample: 2 };

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
  /** Why the pipeline runs on a fallback model; the state it returns to after a failed batch. */
  private readonly fallbackReason: string | undefined;
  readonly stats: SemanticStats = { candidates: { all: 0, lexicon: 0, cue_word: 0, sample: 0 }, skipped: 0, shed: 0, semanticHits: 0, failedBatches: 0 };
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
    this.fallbackReason = embedder ? unavailable : undefined;
    this.state = embedder && !unavailable ? 'ok' : 'degraded';
    this.reason = embedder ? unavailable : (unavailable ?? 'no embedding model');
  }

  /** The model that embeds this pipeline's signals (its own or a fallback); undefined when lexicon-only. */
  get model(): string | undefined {
    return this.embedder?.model;
  }

  /** Embeds the exemplars of a list version; undefined (lexicon-only) when the model is unavailable. */
  async index(topics: Iterable<TopicDefinition>): Promise<SemanticIndex | undefined> {
    if (!this.embedder) return undefined;
    try {
      const index = await buildSemanticIndex(this.embedder, topics, this.config);
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
    if (!this.embedder || !index || index.topics.length === 0) return { scores, embedded: 0, failed: false };
    const picked: { i: number; reason: CandidateReason | 'all' }[] = [];
    items.forEach((item, i) => {
      const reason = this.config.mode === 'all' ? 'all' : candidateReason(item.signal, item.lexicon.length > 0, index, this.config);
      if (reason === undefined) this.stats.skipped++;
      else picked.push({ i, reason });
    });
    const chosen: number[] = [];
    for (const p of this.withinBudget(picked)) {
      this.stats.candidates[p.reason]++;
      chosen.push(p.i);
    }
    chosen.sort((a, b) => a - b);
    if (chosen.length === 0) return { scores, embedded: 0, failed: false };

    let timer: NodeJS.Timeout | undefined;
    if (keepAlive) {
      timer = setInterval(() => keepAlive().catch((err: Error) => this.logger.warn({ err }, 'heartbeat during embedding failed')), KEEP_ALIVE_MS);
    }
    let vectors: Float32Array[];
    try {
      vectors = await this.embedder.embed(chosen.map((i) => items[i]!.signal.text));
    } catch (err) {
      this.stats.failedBatches++;
      this.degrade(`the model failed on a batch; scored lexicon-only: ${(err as Error).message}`);
      return { scores, embedded: 0, failed: true };
    } finally {
      clearInterval(timer);
    }
    this.recover();
    chosen.forEach((itemIndex, k) => {
      const combined = combineScores(scores[itemIndex]!, nearestExemplars(index, vectors[k]!, this.config), this.config);
      this.stats.semanticHits += combined.filter((s) => s.hitBy === 'semantic' || s.hitBy === 'lexicon+semantic').length;
      scores[itemIndex] = combined;
    });
    return { scores, embedded: chosen.length, failed: false };
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
    if (this.state === 'degraded' && this.embedder && this.reason !== this.fallbackReason) {
      this.logger.info({ model: this.model }, 'semantic scoring recovered');
      this.state = this.fallbackReason ? 'degraded' : 'ok';
      this.reason = this.fallbackReason;
    }
  }
}
