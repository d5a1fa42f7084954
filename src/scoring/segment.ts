import { collapseRepeats } from '../normalize/fold.js';
import { collapseTriples, FLAG, hashtagParts, type Token } from '../normalize/text.js';

/** Word costs for segmentation: lower is likelier. */
export type WordCosts = ReadonlyMap<string, number>;

const WORD_PENALTY = 1; // fewer, longer words win ties
const MAX_WORD = 24;
const MIN_SEGMENT_LEN = 5;
const CACHE_MAX = 50_000;

/**
 * Splits hashtags into words: CamelCase and underscores first, then a lowest-cost split of
 * lowercase runs over English word costs plus the lists' own words ("#iwanttodie" -> i want to
 * die). A run that is itself a word, or that cannot be split into known words only, stays whole
 * ("#grape" never becomes "g rape"). Results are cached: hashtags repeat.
 */
export class HashtagSegmenter {
  private readonly cache = new Map<string, Token[]>();

  constructor(
    private readonly base: WordCosts,
    /** The lists' own words, checked before the base costs. */
    private readonly overlay: WordCosts = new Map(),
  ) {}

  private cost(w: string): number | undefined {
    return this.overlay.get(w) ?? this.base.get(w);
  }

  segment(tag: string): Token[] {
    const hit = this.cache.get(tag);
    if (hit) return hit;
    const out: Token[] = [];
    const parts = hashtagParts(tag);
    for (const part of parts) {
      const text = collapseTriples(part.folded);
      const words = text.length >= MIN_SEGMENT_LEN && /^[a-z]+$/.test(text) && this.cost(text) === undefined ? this.split(text) : undefined;
      if (words && words.length > 1) {
        for (const w of words) out.push({ key: collapseRepeats(w), folded: w, flags: part.flags | FLAG.hashtag_segmented });
      } else {
        out.push(part);
      }
    }
    if (parts.length > 1) for (const t of out) t.flags |= FLAG.hashtag_segmented;
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(tag, out);
    return out;
  }

  /** Viterbi over character positions, known words only; undefined when no such split exists. */
  private split(s: string): string[] | undefined {
    const n = s.length;
    const best = new Float64Array(n + 1).fill(Infinity);
    const from = new Int32Array(n + 1);
    best[0] = 0;
    for (let i = 1; i <= n; i++) {
      for (let j = Math.max(0, i - MAX_WORD); j < i; j++) {
        if (best[j] === Infinity) continue;
        const c = this.cost(s.slice(j, i));
        if (c === undefined) continue;
        const total = best[j]! + c + WORD_PENALTY;
        if (total < best[i]!) {
          best[i] = total;
          from[i] = j;
        }
      }
    }
    if (best[n] === Infinity) return undefined;
    const words: string[] = [];
    for (let i = n; i > 0; i = from[i]!) words.push(s.slice(from[i]!, i));
    return words.reverse();
  }
}
