import { createHash } from 'node:crypto';
import type { MatchMode, TopicDefinition } from '../config/topic-schema.js';
import { normalizeHashtag, normalizeText } from '../normalize/text.js';

/** One listed term as compiled. */
interface CompiledTerm {
  topic: string;
  term: string;
  weight: number;
  mode: MatchMode;
  tokens: string[];
}

/** A term found in a signal, with where it was found. */
export interface LexiconMatch {
  topic: string;
  term: string;
  weight: number;
  mode: MatchMode;
  /** Token index in the text, or -1 for a match on the signal's hashtag list. */
  position: number;
}

export interface LexiconInput {
  text: string;
  hashtags: readonly string[];
}

/** Compiled keyword and hashtag lists of a set of topics; immutable, safe to share. */
export interface Lexicon {
  /** Content hash of the compiled lists: names the list version in alerts. */
  readonly version: string;
  readonly topicIds: readonly string[];
  match(input: LexiconInput): LexiconMatch[];
}

const PREFIX_MIN_CHARS = 3;

/**
 * Compiles topic lists into lookup tables keyed by the first token (words and phrases),
 * by prefix (prefix terms) and by whole tag (hashtags). Matching is linear in the number of
 * tokens times the longest phrase.
 */
export function compileLexicon(topics: readonly TopicDefinition[]): Lexicon {
  const byFirstToken = new Map<string, CompiledTerm[]>();
  const byPrefix = new Map<string, CompiledTerm[]>();
  const byHashtag = new Map<string, CompiledTerm[]>();
  const add = (map: Map<string, CompiledTerm[]>, key: string, t: CompiledTerm) => {
    const list = map.get(key);
    if (list) list.push(t);
    else map.set(key, [t]);
  };

  for (const topic of topics) {
    for (const entry of topic.terms) {
      const e = typeof entry === 'string' ? { term: entry, weight: 1 } : entry;
      const tokens = normalizeText(e.term).tokens;
      if (tokens.length === 0) continue;
      const mode: MatchMode = ('mode' in e && e.mode) || (tokens.length > 1 ? 'phrase' : 'word');
      const compiled: CompiledTerm = { topic: topic.id, term: e.term, weight: e.weight, mode, tokens };
      if (mode === 'hashtag') add(byHashtag, tokens.join(''), compiled);
      else if (mode === 'prefix' && tokens.length === 1 && tokens[0]!.length >= PREFIX_MIN_CHARS) add(byPrefix, tokens[0]!, compiled);
      else add(byFirstToken, tokens[0]!, { ...compiled, mode: tokens.length > 1 ? 'phrase' : 'word' });
    }
    for (const tag of topic.hashtags) {
      const key = normalizeHashtag(tag);
      if (key) add(byHashtag, key, { topic: topic.id, term: `#${tag.replace(/^#+/, '')}`, weight: 1, mode: 'hashtag', tokens: [key] });
    }
  }

  const version = createHash('sha256')
    .update(JSON.stringify(topics.map((t) => [t.id, t.terms, t.hashtags, t.thresholds, t.exclusions])))
    .digest('hex')
    .slice(0, 12);

  function match(input: LexiconInput): LexiconMatch[] {
    const out: LexiconMatch[] = [];
    const { folded, tokens } = normalizeText(input.text);
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      for (const t of byFirstToken.get(token) ?? []) {
        if (t.tokens.every((tok, k) => tokens[i + k] === tok)) out.push(hit(t, i));
      }
      if (byPrefix.size > 0) {
        for (let len = PREFIX_MIN_CHARS; len <= token.length; len++) {
          for (const t of byPrefix.get(token.slice(0, len)) ?? []) out.push(hit(t, i));
        }
      }
    }
    if (byHashtag.size > 0) {
      const tags = new Set(input.hashtags.map(normalizeHashtag));
      // Hashtags written inline in the text count as hashtags too.
      for (const m of folded.matchAll(/#([\p{L}\p{M}\p{N}_]+)/gu)) tags.add(normalizeHashtag(m[1]!));
      for (const tag of tags) for (const t of byHashtag.get(tag) ?? []) out.push(hit(t, -1));
    }
    return out;
  }

  return { version, topicIds: topics.map((t) => t.id), match };
}

function hit(t: CompiledTerm, position: number): LexiconMatch {
  return { topic: t.topic, term: t.term, weight: t.weight, mode: t.mode, position };
}
