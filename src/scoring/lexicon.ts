import { createHash } from 'node:crypto';
import { termObject, type MatchMode, type TopicDefinition } from '../config/topic-schema.js';
import { collapseRepeats, runsCover } from '../normalize/fold.js';
import { FLAG, flagNames, hashtagParts, normalizeHashtag, normalizeText, type Normalization, type Token } from '../normalize/text.js';
import { Automaton } from './automaton.js';
import { englishWordCosts, RARE_WORD_COST } from './dictionary.js';
import { HashtagSegmenter, type WordCosts } from './segment.js';

/** A term found in a signal, with where it was found and what it took to find it. */
export interface LexiconMatch {
  topic: string;
  term: string;
  weight: number;
  mode: MatchMode;
  /** Token index in the text, or -1 for a match in a hashtag. */
  position: number;
  source: 'text' | 'hashtag';
  /** The evasion folding the match needed (empty for a plain match). */
  normalizations: Normalization[];
}

export interface LexiconInput {
  text: string;
  hashtags: readonly string[];
  /** BCP-47 tag of the signal; terms with a language only match signals in it (or without one). */
  lang?: string | undefined;
  /** When given, the matching work done (automaton steps, prefix probes, exclusion checks) is added to it. */
  work?: { steps: number };
}

/** Compiled keyword and hashtag lists of a set of topics; immutable, safe to share. */
export interface Lexicon {
  /** Content hash of the compiled lists: names the list version in alerts. */
  readonly version: string;
  readonly topicIds: readonly string[];
  /** Number of compiled patterns (terms, hashtags, exclusions). */
  readonly size: number;
  match(input: LexiconInput): LexiconMatch[];
}

export interface LexiconOptions {
  /** Word costs for hashtag segmentation (default: English word frequencies). */
  wordCosts?: WordCosts;
}

interface Pattern {
  kind: 'term' | 'exclusion';
  topic: string;
  term: string;
  weight: number;
  mode: MatchMode;
  /** Length in symbols (tokens, or characters for aggressive terms). */
  length: number;
  lang: string | undefined;
  /** For exclusions: only these terms are cancelled (undefined = all of the topic's). */
  cancels: ReadonlySet<string> | undefined;
  /** The term's folded tokens with repeats intact: a match must repeat letters at least as often. */
  fulls: readonly string[];
  /** Normalizations the term's own spelling needs: not evasion when the text shares them. */
  termFlags: number;
}

interface Found {
  pattern: Pattern;
  stream: number;
  /** Token span, inclusive. */
  first: number;
  last: number;
  flags: number;
}

interface Stream {
  tokens: Token[];
  isHashtag: boolean;
  /** Streams of one hashtag (segmented and whole) share a group: exclusions reach across them. */
  group: number;
  /** Whole-hashtag key and folded form, for hashtag terms. */
  tagKey?: string;
  tagFull?: string;
}

const PREFIX_MIN_CHARS = 3;
/** Streams hold far fewer tokens than this (text is capped at 10,000 characters). */
const EXCLUSION_KEY_SHIFT = 2 ** 24;

/** Whether an exclusion applies to a term (of its topic, and naming it if it names any). */
const cancels = (exclusion: Pattern, term: Pattern) =>
  exclusion.topic === term.topic && (exclusion.cancels === undefined || exclusion.cancels.has(term.term));

const primaryLang = (tag: string | undefined) => tag?.toLowerCase().split('-')[0];

/**
 * Compiles every topic's terms, hashtags and exclusions into one token-level Aho-Corasick
 * automaton (word and phrase terms, exclusions), one character-level automaton over the
 * separator-stripped view (aggressive terms), a prefix table and a hashtag table.
 */
export function compileLexicon(topics: readonly TopicDefinition[], options: LexiconOptions = {}): Lexicon {
  const vocab = new Map<string, number>();
  const symbol = (key: string) => {
    let id = vocab.get(key);
    if (id === undefined) vocab.set(key, (id = vocab.size));
    return id;
  };
  const patterns: Pattern[] = [];
  const tokenAutomaton = new Automaton();
  const charAutomaton = new Automaton();
  const prefixes = new Map<string, Pattern[]>();
  const hashtags = new Map<string, Pattern[]>();
  const lexiconWords = new Set<string>();
  let aggressiveCount = 0;
  let longestPrefix = 0;
  let longestExclusion = 0;
  const push = <K, V>(map: Map<K, V[]>, key: K, p: V) => {
    const list = map.get(key);
    if (list) list.push(p);
    else map.set(key, [p]);
  };

  for (const topic of topics) {
    for (const entry of topic.terms) {
      const t = termObject(entry);
      const tokens = normalizeText(t.term).tokens;
      if (tokens.length === 0) continue;
      for (const tok of tokens) lexiconWords.add(tok.folded);
      const mode: MatchMode = t.mode ?? (tokens.length > 1 ? 'phrase' : 'word');
      const base = {
        kind: 'term' as const,
        topic: topic.id,
        term: t.term,
        weight: t.weight,
        mode,
        lang: primaryLang(t.lang),
        cancels: undefined,
        fulls: tokens.map((x) => x.folded),
        termFlags: tokens.reduce((f, x) => f | x.flags, 0),
      };
      if (mode === 'hashtag') {
        const full = tokens.map((x) => x.folded).join('');
        push(hashtags, collapseRepeats(full), { ...base, fulls: [full], length: 1 });
      } else if (mode === 'prefix' && tokens.length === 1 && tokens[0]!.key.length >= PREFIX_MIN_CHARS) {
        push(prefixes, tokens[0]!.key, { ...base, length: 1 });
        longestPrefix = Math.max(longestPrefix, tokens[0]!.key.length);
      } else if (mode === 'aggressive') {
        const chars = [...collapseRepeats(tokens.map((x) => x.folded).join(''))].map((c) => c.codePointAt(0)!);
        const p: Pattern = { ...base, length: chars.length };
        charAutomaton.add(chars, patterns.push(p) - 1);
        aggressiveCount++;
      } else {
        const p: Pattern = { ...base, mode: tokens.length > 1 ? 'phrase' : 'word', length: tokens.length };
        tokenAutomaton.add(
          tokens.map((x) => symbol(x.key)),
          patterns.push(p) - 1,
        );
      }
    }
    for (const tag of topic.hashtags) {
      const key = normalizeHashtag(tag);
      if (!key) continue;
      lexiconWords.add(key);
      const parts = hashtagParts(tag);
      push(hashtags, key, {
        kind: 'term',
        topic: topic.id,
        term: `#${tag.replace(/^#+/, '')}`,
        weight: 1,
        mode: 'hashtag',
        length: 1,
        lang: undefined,
        cancels: undefined,
        fulls: [parts.map((x) => x.folded).join('')],
        termFlags: parts.reduce((f, x) => f | x.flags, 0),
      });
    }
    for (const entry of topic.exclusions) {
      const ex = typeof entry === 'string' ? { phrase: entry, terms: undefined } : entry;
      const tokens = normalizeText(ex.phrase).tokens;
      if (tokens.length === 0) continue;
      const p: Pattern = {
        kind: 'exclusion',
        topic: topic.id,
        term: ex.phrase,
        weight: 0,
        mode: 'phrase',
        length: tokens.length,
        lang: undefined,
        cancels: ex.terms ? new Set(ex.terms) : undefined,
        fulls: tokens.map((x) => x.folded),
        termFlags: 0,
      };
      longestExclusion = Math.max(longestExclusion, tokens.length);
      tokenAutomaton.add(
        tokens.map((x) => symbol(x.key)),
        patterns.push(p) - 1,
      );
    }
  }
  tokenAutomaton.build();
  charAutomaton.build();

  // The lists' own words can split hashtags too, priced as rare words: "#therapist" must not
  // become "the rapist" because "rapist" is listed.
  const base = options.wordCosts ?? englishWordCosts();
  const overlay = new Map<string, number>();
  for (const w of lexiconWords) if (/^[a-z]+$/.test(w) && !base.has(w)) overlay.set(w, RARE_WORD_COST);
  const segmenter = new HashtagSegmenter(base, overlay);

  const version = createHash('sha256')
    .update(JSON.stringify(topics.map((t) => [t.id, t.terms, t.hashtags, t.exclusions, t.thresholds])))
    .digest('hex')
    .slice(0, 12);

  function streamsOf(input: LexiconInput): Stream[] {
    const norm = normalizeText(input.text);
    const streams: Stream[] = [{ tokens: norm.tokens, isHashtag: false, group: 0 }];
    const seen = new Set<string>();
    for (const tag of [...input.hashtags, ...norm.inlineHashtags]) {
      const parts = hashtagParts(tag);
      const tagFull = parts.map((x) => x.folded).join('');
      const tagKey = collapseRepeats(tagFull);
      if (!tagKey || seen.has(tagKey)) continue;
      seen.add(tagKey);
      const group = streams.length;
      const segmented = segmenter.segment(tag);
      streams.push({ tokens: segmented, isHashtag: true, group });
      // The whole tag as one word as well, for one-word terms ("#SewerSlide" -> sewerslide).
      const tagFlags = parts.reduce((f, x) => f | x.flags, 0);
      if (segmented.length > 1) streams.push({ tokens: [{ key: tagKey, folded: tagFull, flags: tagFlags }], isHashtag: true, group });
      streams[streams.length - 1]!.tagKey = tagKey;
      streams[streams.length - 1]!.tagFull = tagFull;
    }
    return streams;
  }

  function match(input: LexiconInput): LexiconMatch[] {
    const lang = primaryLang(input.lang);
    const found: Found[] = [];
    const streams = streamsOf(input);
    let steps = 0;
    streams.forEach((stream, si) => {
      const { tokens } = stream;
      const spanFlags = (first: number, last: number) => {
        let f = stream.isHashtag && tokens.length > 1 ? FLAG.hashtag_segmented : 0;
        for (let k = first; k <= last; k++) f |= tokens[k]!.flags;
        return f;
      };
      if (tokenAutomaton.states > 1) {
        const symbols = new Int32Array(tokens.length);
        for (let k = 0; k < tokens.length; k++) symbols[k] = vocab.get(tokens[k]!.key) ?? -1;
        steps += tokenAutomaton.search(symbols, (pid, end) => {
          const pattern = patterns[pid]!;
          const first = end - pattern.length + 1;
          if (pattern.kind === 'term' && !pattern.fulls.every((f, k) => runsCover(tokens[first + k]!.folded, f))) return;
          found.push({ pattern, stream: si, first, last: end, flags: spanFlags(first, end) });
        });
      }
      if (prefixes.size > 0) {
        tokens.forEach((tok, k) => {
          // No prefix is longer than the longest listed one: a 10,000-letter token costs no more than a short one.
          for (let len = PREFIX_MIN_CHARS, max = Math.min(tok.key.length, longestPrefix); len <= max; len++) {
            steps++;
            for (const pattern of prefixes.get(tok.key.slice(0, len)) ?? []) {
              if (runsCover(tok.folded, pattern.fulls[0]!)) found.push({ pattern, stream: si, first: k, last: k, flags: tok.flags });
            }
          }
        });
      }
      if (aggressiveCount > 0) {
        // Separator-stripped view: folded tokens concatenated, repeats collapsed across joins.
        const chars: number[] = [];
        const owner: number[] = [];
        let prev = -1;
        tokens.forEach((tok, k) => {
          for (const ch of tok.folded) {
            const cp = ch.codePointAt(0)!;
            if (cp === prev) continue;
            chars.push(cp);
            owner.push(k);
            prev = cp;
          }
        });
        steps += charAutomaton.search(chars, (pid, end) => {
          const pattern = patterns[pid]!;
          const first = owner[end - pattern.length + 1]!;
          const last = owner[end]!;
          found.push({ pattern, stream: si, first, last, flags: spanFlags(first, last) | FLAG.separator_stripped });
        });
      }
      if (stream.tagKey !== undefined) {
        const tagFlags = spanFlags(0, tokens.length - 1) & ~FLAG.hashtag_segmented;
        for (const pattern of hashtags.get(stream.tagKey) ?? []) {
          if (runsCover(stream.tagFull!, pattern.fulls[0]!)) found.push({ pattern, stream: si, first: 0, last: tokens.length - 1, flags: tagFlags });
        }
      }
    });

    // Exclusions indexed by stream and first token, so that an occurrence only looks at those
    // that can overlap it: a text repeating a term and its exclusion costs linear time.
    let exclusionsAt: Map<number, Found[]> | undefined;
    let exclusionsOfGroup: Map<number, Found[]> | undefined;
    for (const x of found) {
      if (x.pattern.kind !== 'exclusion') continue;
      push((exclusionsAt ??= new Map()), x.stream * EXCLUSION_KEY_SHIFT + x.first, x);
      if (streams[x.stream]!.isHashtag) push((exclusionsOfGroup ??= new Map()), streams[x.stream]!.group, x);
    }
    const isCancelled = (f: Found, at: Map<number, Found[]>): boolean => {
      const p = f.pattern;
      // Within one stream the spans must overlap.
      for (let start = Math.max(0, f.first - longestExclusion + 1); start <= f.last; start++) {
        for (const x of at.get(f.stream * EXCLUSION_KEY_SHIFT + start) ?? []) {
          steps++;
          if (x.last >= f.first && cancels(x.pattern, p)) return true;
        }
      }
      // Across a hashtag's two streams the whole tag overlaps everything.
      if (!streams[f.stream]!.isHashtag) return false;
      for (const x of exclusionsOfGroup?.get(streams[f.stream]!.group) ?? []) {
        steps++;
        if (x.stream !== f.stream && cancels(x.pattern, p)) return true;
      }
      return false;
    };
    const out: LexiconMatch[] = [];
    for (const f of found) {
      const p = f.pattern;
      if (p.kind !== 'term') continue;
      if (p.lang !== undefined && lang !== undefined && p.lang !== lang) continue;
      if (exclusionsAt && isCancelled(f, exclusionsAt)) continue;
      const isHashtag = streams[f.stream]!.isHashtag;
      out.push({
        topic: p.topic,
        term: p.term,
        weight: p.weight,
        mode: p.mode,
        position: isHashtag ? -1 : f.first,
        source: isHashtag ? 'hashtag' : 'text',
        normalizations: flagNames(f.flags & ~p.termFlags),
      });
    }
    if (input.work) input.work.steps += steps + found.length;
    return out;
  }

  return { version, topicIds: topics.map((t) => t.id), size: patterns.length + [...prefixes.values(), ...hashtags.values()].reduce((n, l) => n + l.length, 0), match };
}
