import { normalizeText } from '../normalize/text.js';
import { englishWordCosts } from './dictionary.js';

/** Words this common say nothing about a topic: "I", "want", "to", "tomorrow". */
export const COMMON_WORDS = 1000;
const byRank = new Map<number, ReadonlySet<string>>();

/**
 * Whether a normalized token key is among the `top` most common English words (at most
 * 10,000, the list's length). Compared as keys ("good" and "will" fold to "god" and "wil"), as
 * signal tokens are.
 */
export function isCommonKey(key: string, top = COMMON_WORDS): boolean {
  let keys = byRank.get(top);
  if (!keys) {
    const maxCost = 3 + Math.log(top + 1);
    keys = new Set([...englishWordCosts()].filter(([, cost]) => cost < maxCost).flatMap(([w]) => normalizeText(w).tokens.map((t) => t.key)));
    byRank.set(top, keys);
  }
  return keys.has(key);
}
