import { normalizeHashtag, normalizeText } from '../normalize/text.js';

/**
 * Redaction of sample signal text, the default way analysts see it. Harmful content is read
 * all day by T&S staff; an alert's samples should say what matched and in what shape, not
 * expose its reader to the whole text or to the people in it. So:
 *
 * - e-mail addresses, links (with or without a scheme), phone numbers (7+ digits) and @handles
 *   become [email], [link], [phone] and [@user]: nobody is identified or reachable from a sample;
 * - every word is masked letter by letter (its length and the punctuation stay, so the shape of
 *   the text does) except the terms that made the signal hit, compared as the matcher compares
 *   them (case, accents, look-alikes, leetspeak folded: "K1LL" stays readable for "kill"), and a
 *   short list of function words that carry no content ("i", "to", "the"), so that the matched
 *   terms read in context;
 * - hashtags keep their '#', and stay readable when they are a matched term;
 * - emoji and punctuation are kept.
 *
 * An evasion spread over several words ("k.i.l.l") is masked like any other words. The full
 * text is there for analysts who ask for it, and each such reveal is audited.
 */

const MASK = '•';

/** Words that carry structure, not content; kept readable around the matched terms. */
const FUNCTION_WORDS = new Set(
  (
    'a an the and or but if so to of in on at by for with from as is am are was were be been being do does did ' +
    'i me my you your he him his she her it its we us our they them their this that these those not no ' +
    "just how why what when where who can will would should could have has had im i'm dont don't"
  ).split(' '),
);

const EMAIL = String.raw`[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+`;
const URL = String.raw`(?:https?:\/\/|www\.)[^\s<>"]+|\b[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.(?:com|net|org|io|co|me|ly|gg|tv|app|info|biz|xyz|ru|uk|de|fr|br|in|link|site|online|shop|top)\b(?:\/[^\s<>"]*)?`;
const PHONE = String.raw`\+?\d[\d\s().-]{5,}\d`;
const HANDLE = String.raw`@[\p{L}\p{N}_.]{1,64}`;
const HASHTAG = String.raw`#[\p{L}\p{M}\p{N}_]+`;
const WORD = String.raw`[\p{L}\p{M}\p{N}$@!|+€£'’_]+`;
const TOKENS = new RegExp(`(?<email>${EMAIL})|(?<url>${URL})|(?<phone>${PHONE})|(?<handle>${HANDLE})|(?<tag>${HASHTAG})|(?<word>${WORD})`, 'giu');

/** The matching keys of terms: each word's key, and a hashtag term's key as a whole. */
function keysOf(terms: readonly string[]): { words: Set<string>; tags: Set<string> } {
  const words = new Set<string>();
  const tags = new Set<string>();
  for (const term of terms) {
    for (const t of normalizeText(term).tokens) words.add(t.key);
    const tag = normalizeHashtag(term);
    if (tag) tags.add(tag);
  }
  return { words, tags };
}

const masked = (s: string) => s.replace(/[\p{L}\p{M}\p{N}]/gu, MASK);

function keepWord(word: string, keys: { words: Set<string> }): boolean {
  // Symbols a word may carry as leetspeak ("no!!!") do not hide a function word.
  if (FUNCTION_WORDS.has(word.toLowerCase().replace('’', "'").replace(/[$@!|+€£]+$/u, ''))) return true;
  const tokens = normalizeText(word).tokens;
  return tokens.length > 0 && tokens.every((t) => keys.words.has(t.key));
}

/** The text with identifiers replaced and every word masked but the matched terms (see above). */
export function redactText(text: string, matchedTerms: readonly string[]): string {
  const keys = keysOf(matchedTerms);
  return text.replace(TOKENS, (match: string, ...args: unknown[]) => {
    const groups = args[args.length - 1] as Record<string, string | undefined>;
    if (groups.email !== undefined) return '[email]';
    if (groups.url !== undefined) return '[link]';
    if (groups.phone !== undefined) return (match.match(/\d/g)?.length ?? 0) >= 7 ? '[phone]' : masked(match);
    if (groups.handle !== undefined) return '[@user]';
    if (groups.tag !== undefined) {
      const key = normalizeHashtag(match);
      return key && (keys.tags.has(key) || keys.words.has(key)) ? match : `#${masked(match.slice(1))}`;
    }
    return keepWord(match, keys) ? match : masked(match);
  });
}
