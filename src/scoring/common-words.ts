import { normalizeText } from '../normalize/text.js';
import { englishWordCosts } from './dictionary.js';

/** Words this common say nothing about a topic: "I", "want", "to", "tomorrow". */
export const COMMON_WORDS = 1000;
const COMMON_WORD_COST = 3 + Math.log(COMMON_WORDS + 1);
let commonKeys: ReadonlySet<string> | undefined;

/**
 * Whether a normalized token key is one of the most common English words. Compared as keys
 * ("good" and "will" fold to "god" and "wil"), as signal tokens are.
 */
export function isCommonKey(key: string): boolean {
  commonKeys ??= new Set(
    [...englishWordCosts()].filter(([, cost]) => cost < COMMON_WORD_COST).flatMap(([w]) => normalizeText(w).tokens.map((t) => t.key)),
  );
  return commonKeys.has(key);
}
