/**
 * Pure text normalization for matching. A text becomes tokens, each with a matching `key` and
 * the normalizations it needed:
 *   NFKC (width and font variants), invisible characters stripped, case folded, diacritics
 *   stripped, TR39 look-alikes folded to Latin, leetspeak folded, repeated letters collapsed,
 *   and runs of spaced or dotted single letters joined ("s u i c i d e", "k.i.l.l").
 * Emoji are kept as tokens of their own. List terms go through the same function, so a term
 * and its evasions meet at the same keys.
 */
import {
  caseFold,
  collapseRepeats,
  foldConfusables,
  foldLeet,
  hasInvisible,
  hasTripleRun,
  INVISIBLE,
  isAllLookalike,
  LONE_SURROGATE,
  stripDiacritics,
  type Normalization,
} from './fold.js';

export type { Normalization } from './fold.js';

/** Bit flags, in the order of `NORMALIZATIONS`. */
export const NORMALIZATIONS: readonly Normalization[] = [
  'width_or_font',
  'invisible_chars',
  'diacritics',
  'confusables',
  'leetspeak',
  'repeated_letters',
  'spaced_letters',
  'hashtag_segmented',
  'separator_stripped',
];
export const FLAG = Object.fromEntries(NORMALIZATIONS.map((n, i) => [n, 1 << i])) as Record<Normalization, number>;

export function flagNames(flags: number): Normalization[] {
  return NORMALIZATIONS.filter((_, i) => (flags & (1 << i)) !== 0);
}

export interface Token {
  /** Matching key: folded, with every run of a repeated letter collapsed. */
  key: string;
  /** Folded text with its repeats intact (for run checks, segmentation and aggressive mode). */
  folded: string;
  flags: number;
}

export interface NormalizedText {
  tokens: Token[];
  /** Hashtags written inline in the text (#tag), as written, without '#'. */
  inlineHashtags: string[];
}

// Word characters, plus invisibles (stripped later), circled and squared letters (NFKC makes
// them letters) and leetspeak symbols; or one emoji.
const RAW_TOKEN = /[\p{L}\p{M}\p{N}\p{Default_Ignorable_Code_Point}\p{Cf}\u2460-\u24ff\u{1f130}-\u{1f189}$@!|+€£]+|\p{Extended_Pictographic}/gu;
const LEET_SYMBOL = /^[$@!|+€£]$/;
const MENTION = /^@[\p{L}\p{N}_]/u;
const EMOJI = /^\p{Extended_Pictographic}$/u;
const INLINE_HASHTAG = /#([\p{L}\p{M}\p{N}_\p{Default_Ignorable_Code_Point}\p{Cf}]+)/gu;
const NON_WORD = /[^\p{L}\p{M}\p{N}]/gu;
const ASCII_WORD = /^[A-Za-z]+$/;
const HAS_NON_ASCII = /[^\x00-\x7f]/;
const LETTER = /\p{L}/u;
const MAX_SPACED_GAP = 3;

/**
 * Folds one word. Look-alikes are folded in mixed-script words always; in words made only of
 * look-alikes ("ѕех") only when `foldAllLookalike` (the text is mostly Latin), so that a
 * Russian word in Russian text stays Cyrillic.
 */
function foldWord(raw: string, foldAllLookalike: boolean, candidates?: Map<Token, string>): Token | undefined {
  // Fast path: plain ASCII letters.
  if (ASCII_WORD.test(raw)) {
    const lower = raw.toLowerCase();
    // One pass: collapse every run, and note whether any run was 3 or longer.
    let key = lower[0]!;
    let run = 1;
    let triple = false;
    for (let i = 1; i < lower.length; i++) {
      if (lower[i] === lower[i - 1]) {
        if (++run === 3) triple = true;
      } else {
        run = 1;
        key += lower[i];
      }
    }
    return { key, folded: lower, flags: triple ? FLAG.repeated_letters : 0 };
  }
  // A lone leetspeak symbol may be a letter of a spaced-out word ("$ u i c i d e").
  if (LEET_SYMBOL.test(raw)) return { key: raw, folded: raw, flags: 0 };
  let s = raw;
  let flags = 0;
  // Punctuation used as emphasis is not leetspeak.
  s = s.replace(/^[!|+]+|[!|+@]+$/g, '');
  if (HAS_NON_ASCII.test(s)) {
    if (hasInvisible(s)) {
      s = s.replace(INVISIBLE, '');
      flags |= FLAG.invisible_chars;
    }
    const nfc = s.normalize('NFC');
    s = s.normalize('NFKC');
    if (s !== nfc) flags |= FLAG.width_or_font;
  }
  s = caseFold(s);
  if (HAS_NON_ASCII.test(s)) {
    const d = stripDiacritics(s);
    if (d !== s) flags |= FLAG.diacritics;
    s = d;
    const mixed = /[a-z]/.test(s);
    const allLookalike = !mixed && isAllLookalike(s);
    if (mixed || (allLookalike && foldAllLookalike)) {
      const c = foldConfusables(s);
      if (c !== s) flags |= FLAG.confusables;
      s = c;
    }
    if (allLookalike && !foldAllLookalike && candidates) {
      const t = finishWord(s, flags);
      if (t) candidates.set(t, raw);
      return t;
    }
  }
  return finishWord(s, flags);
}

function finishWord(folded: string, flags0: number): Token | undefined {
  let flags = flags0;
  const l = foldLeet(folded);
  if (l !== folded) flags |= FLAG.leetspeak;
  const s = l.replace(NON_WORD, '');
  if (s.length === 0) return undefined;
  if (hasTripleRun(s)) flags |= FLAG.repeated_letters;
  return { key: collapseRepeats(s), folded: s, flags };
}

/** Runs of three or more of a character become one (keeps legitimate doubles). */
export function collapseTriples(s: string): string {
  return s.replace(/(.)\1{2,}/gu, '$1');
}

/** Whether most words are Latin (a word with any Latin letter counts as Latin). */
function latinDominant(tokens: readonly Token[]): boolean {
  let latin = 0;
  let other = 0;
  for (const t of tokens) {
    if (/[a-z]/.test(t.key)) latin++;
    else if (LETTER.test(t.key)) other++;
  }
  // With no Latin word at all (e.g. a lone Telugu zero) there is nothing to be Latin-dominant about.
  return latin > 0 && latin >= other;
}

/** Tokens of a text, evasion-folded, with spaced single letters joined. */
export function normalizeText(input: string): NormalizedText {
  const text = input.replace(LONE_SURROGATE, '\uFFFD');
  const tokens: Token[] = [];
  // For joining spaced letters: the source span of each token.
  const spans: [number, number][] = [];
  // Words made only of look-alikes, folded once we know whether the text is mostly Latin.
  const candidates = new Map<Token, string>();
  for (const m of text.matchAll(RAW_TOKEN)) {
    const raw = m[0];
    // An inline #hashtag is matched as a hashtag (segmented, with its exclusions), not here.
    if (m.index > 0 && text[m.index - 1] === '#') continue;
    if (MENTION.test(raw)) {
      // @mentions name accounts; their key can never equal a term's.
      const name = `@${caseFold(raw.slice(1))}`;
      tokens.push({ key: name, folded: name, flags: 0 });
    } else if (EMOJI.test(raw)) {
      tokens.push({ key: raw, folded: raw, flags: 0 });
    } else {
      const t = foldWord(raw, false, candidates);
      if (!t) continue;
      tokens.push(t);
    }
    spans.push([m.index, m.index + raw.length]);
  }
  const inlineHashtags: string[] = [];
  if (text.includes('#')) for (const m of text.matchAll(INLINE_HASHTAG)) inlineHashtags.push(m[1]!);
  // Lone symbols only mattered as letters of a spaced-out word; the rest is punctuation.
  let joined = joinSpacedLetters(text, tokens, spans).filter((t) => !LEET_SYMBOL.test(t.key));
  if (candidates.size > 0 && latinDominant(joined)) {
    joined = joined.map((t) => {
      const raw = candidates.get(t);
      return raw === undefined ? t : (foldWord(raw, true) ?? t);
    });
  }
  return { tokens: joined, inlineHashtags };
}

/** Joins runs of 3+ single-character tokens separated by short gaps ("k.i.l.l", "s u i c i d e"). */
function joinSpacedLetters(text: string, tokens: Token[], spans: [number, number][]): Token[] {
  let out: Token[] | undefined;
  let i = 0;
  while (i < tokens.length) {
    let j = i;
    if (isSingle(tokens[i]!) && i + 1 < tokens.length) {
      // One run uses one separator throughout: "k.i.l.l m.y.s.e.l.f" is two words.
      const sep = text.slice(spans[i]![1], spans[i + 1]![0]);
      while (j + 1 < tokens.length && isSingle(tokens[j + 1]!) && isSeparator(sep) && text.slice(spans[j]![1], spans[j + 1]![0]) === sep) j++;
    }
    if (j - i + 1 >= 3) {
      out ??= tokens.slice(0, i);
      let folded = '';
      let flags = FLAG.spaced_letters;
      for (let k = i; k <= j; k++) {
        folded += tokens[k]!.folded;
        flags |= tokens[k]!.flags;
      }
      if (/[a-z]/.test(folded) && HAS_NON_ASCII.test(folded)) {
        const c = foldConfusables(folded);
        if (c !== folded) flags |= FLAG.confusables;
        folded = c;
      }
      const unleet = foldLeet(folded);
      if (unleet !== folded) flags |= FLAG.leetspeak;
      folded = unleet.replace(NON_WORD, '');
      if (hasTripleRun(folded)) flags |= FLAG.repeated_letters;
      // A run of lone symbols ("| | $") that never became letters leaves no token.
      if (folded.length > 0) out.push({ key: collapseRepeats(folded), folded, flags });
      i = j + 1;
    } else {
      out?.push(tokens[i]!);
      i++;
    }
  }
  return out ?? tokens;
}

function isSingle(t: Token): boolean {
  return t.folded.length === 1 && !EMOJI.test(t.folded);
}

function isSeparator(sep: string): boolean {
  return sep.length >= 1 && sep.length <= MAX_SPACED_GAP && !sep.includes('\n');
}

/**
 * The matching form of a text: its token keys, one per line (a newline never joins spaced
 * letters, so the form is stable: matchKey(matchKey(x)) === matchKey(x)).
 */
export function matchKey(text: string): string {
  return normalizeText(text)
    .tokens.map((t) => t.key)
    .join('\n');
}

/** Splits a hashtag on CamelCase and underscores; each part is folded like a word. */
export function hashtagParts(tag: string): Token[] {
  const raw = tag.replace(/^#+/, '');
  const parts = raw.split(/_+|(?<=\p{Ll})(?=\p{Lu})/u).filter(Boolean);
  const out: Token[] = [];
  for (const p of parts) {
    // Mixed-script parts are folded; an all-Cyrillic tag stays Cyrillic, like a Russian word.
    const t = foldWord(p, false);
    if (t) out.push(t);
  }
  return out;
}

/** A hashtag folded into one string, without '#' (repeated letters kept: for showing it). */
export function foldHashtag(tag: string): string {
  return hashtagParts(tag)
    .map((t) => t.folded)
    .join('');
}

/** A hashtag's key as compared against hashtag terms: no '#', folded, collapsed, one string. */
export function normalizeHashtag(tag: string): string {
  return collapseRepeats(foldHashtag(tag));
}
