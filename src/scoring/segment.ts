import { collapseRepeats } from '../normalize/fold.js';
import { FLAG, hashtagParts, type Token } from '../normalize/text.js';

/** Word costs for segmentation: lower is likelier. */
export type WordCosts = ReadonlyMap<string, number>;

const UNKNOWN_CHAR_COST = 14;
const MAX_WORD = 24;
const MIN_SEGMENT_LEN = 5;
const CACHE_MAX = 50_000;

/**
 * Splits hashtags into words: CamelCase and underscores first, then a lowest-cost split of
 * lowercase runs over a word-frequency dictionary plus the lists' own words
 * ("#iwanttodie" -> i want to die). Results are cached: hashtags repeat.
 */
export class HashtagSegmenter {
  private readonly cache = new Map<string, Token[]>();

  constructor(private readonly costs: WordCosts) {}

  segment(tag: string): Token[] {
    const hit = this.cache.get(tag);
    if (hit) return hit;
    const out: Token[] = [];
    const parts = hashtagParts(tag);
    for (const part of parts) {
      if (part.folded.length >= MIN_SEGMENT_LEN && /^[a-z]+$/.test(part.folded)) {
        const words = this.split(part.folded);
        for (const w of words) out.push({ key: collapseRepeats(w), folded: w, flags: part.flags | (words.length > 1 ? FLAG.hashtag_segmented : 0) });
      } else {
        out.push(part);
      }
    }
    if (parts.length > 1) for (const t of out) t.flags |= FLAG.hashtag_segmented;
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(tag, out);
    return out;
  }

  /** Viterbi over character positions; O(length x MAX_WORD). */
  private split(s: string): string[] {
    const n = s.length;
    const best = new Float64Array(n + 1).fill(Infinity);
    const from = new Int32Array(n + 1);
    best[0] = 0;
    for (let i = 1; i <= n; i++) {
      for (let j = Math.max(0, i - MAX_WORD); j < i; j++) {
        if (best[j] === Infinity) continue;
        const w = s.slice(j, i);
        const c = this.costs.get(w) ?? (i - j === 1 ? UNKNOWN_CHAR_COST : Infinity);
        const total = best[j]! + c;
        if (total < best[i]!) {
          best[i] = total;
          from[i] = j;
        }
      }
    }
    const words: string[] = [];
    let pending = '';
    for (let i = n; i > 0; i = from[i]!) {
      const w = s.slice(from[i]!, i);
      // Runs of unknown characters stay together as one word.
      if (w.length === 1 && !this.costs.has(w)) pending = w + pending;
      else {
        if (pending) words.push(pending);
        pending = '';
        words.push(w);
      }
    }
    if (pending) words.push(pending);
    return words.reverse();
  }
}
