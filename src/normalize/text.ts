/**
 * Pure text normalization. This is the first, plain layer (NFKC, case-fold, invisible
 * characters, tokens); evasion folding builds on the same entry points.
 */

// Default-ignorable and format characters that are used to split words invisibly.
const INVISIBLE = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\u{1D173}-\u{1D17A}\u{E0000}-\u{E0FFF}]/gu;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// Words (letters, marks, digits) or single pictographic emoji.
const TOKEN = /[\p{L}\p{M}\p{N}]+|\p{Extended_Pictographic}/gu;

export interface NormalizedText {
  /** Folded text, for display in explanations. */
  folded: string;
  /** Word and emoji tokens, in order. */
  tokens: string[];
}

export function foldText(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD').normalize('NFKC').replace(INVISIBLE, '').toLowerCase();
}

export function tokenize(folded: string): string[] {
  return folded.match(TOKEN) ?? [];
}

export function normalizeText(text: string): NormalizedText {
  const folded = foldText(text);
  return { folded, tokens: tokenize(folded) };
}

/** A hashtag as compared against lists: no '#', folded, letters and digits only. */
export function normalizeHashtag(tag: string): string {
  return tokenize(foldText(tag.replace(/^#+/, ''))).join('');
}
