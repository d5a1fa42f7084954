/**
 * The entries of topic files (terms and hashtags) as `lists lint` checks them: located in their
 * file, and found back from the lexicon's matches.
 */
import { termObject, type MatchMode, type TopicDefinition } from '../config/topic-schema.js';
import type { Lexicon, LexiconInput } from '../scoring/lexicon.js';

/**
 * How an entry matches, coarsely: entries of one class can only duplicate each other, and an
 * entry can only be shadowed by one whose class matches at least wherever its own does.
 */
export type ModeClass = 'token' | 'prefix' | 'aggressive' | 'hashtag';

/** A term or hashtag of a topic file, located and ready to run through the lexicon. */
export interface Entry {
  index: number;
  file: string;
  topic: TopicDefinition;
  path: string;
  /** As written: the term, or "#tag". */
  display: string;
  /** Names an exclusion's `terms` may use for it. */
  names: string[];
  weight: number;
  cls: ModeClass;
  lang: string | undefined;
  input: LexiconInput;
}

export function modeClass(mode: MatchMode | undefined): ModeClass {
  if (mode === 'prefix' || mode === 'aggressive' || mode === 'hashtag') return mode;
  return 'token';
}

/** Matches name their topic and their term as written ("#tag" for hashtags): that finds the entry. */
export const entryKey = (topic: string, term: string) => `${topic}\u0000${term}`;


/** Every term and hashtag of the topics, in file order: the index is the entry's place in the list. */
export function collectEntries(topics: { file: string; value: TopicDefinition }[]): Entry[] {
  const entries: Entry[] = [];
  for (const { file, value: topic } of topics) {
    topic.terms.forEach((raw, i) => {
      const t = termObject(raw);
      const cls = modeClass(t.mode);
      const index = entries.length;
      entries.push({
        index,
        file,
        topic,
        path: `terms.${i}`,
        display: t.term,
        names: [t.term],
        weight: t.weight,
        cls,
        // As the lexicon compares them: by primary language ("pt-BR" is "pt").
        lang: t.lang?.toLowerCase().split('-')[0],
        input: cls === 'hashtag' ? { text: '', hashtags: [t.term] } : { text: t.term, hashtags: [] },
      });
    });
    topic.hashtags.forEach((tag, i) => {
      const bare = tag.replace(/^#+/, '');
      const index = entries.length;
      entries.push({
        index,
        file,
        topic,
        path: `hashtags.${i}`,
        display: `#${bare}`,
        names: [`#${bare}`],
        weight: 1,
        cls: 'hashtag',
        lang: undefined,
        input: { text: '', hashtags: [tag] },
      });
    });
  }
  return entries;
}


/** A lexicon whose matches are read back as indexes into the list it was compiled from. */
export interface IndexedLexicon {
  lexicon: Lexicon;
  index: Map<string, number[]>;
}

export function indexed(lexicon: Lexicon, keys: readonly string[]): IndexedLexicon {
  const index = new Map<string, number[]>();
  keys.forEach((k, i) => {
    const list = index.get(k);
    if (list) list.push(i);
    else index.set(k, [i]);
  });
  return { lexicon, index };
}

/** Every listed item matched in an input, by index. */
export function matchedEntries({ lexicon, index }: IndexedLexicon, input: LexiconInput): Set<number> {
  const out = new Set<number>();
  for (const m of lexicon.match(input)) for (const i of index.get(entryKey(m.topic, m.term)) ?? []) out.add(i);
  return out;
}
