import { describe, it, expect } from 'vitest';
import { foldText, normalizeHashtag, normalizeText, tokenize } from '../../../src/normalize/text.js';

describe('foldText', () => {
  it.each([
    { name: 'case', input: 'KILL Myself', folded: 'kill myself' },
    { name: 'fullwidth letters (NFKC)', input: 'ｋｉｌｌ ｍｙｓｅｌｆ', folded: 'kill myself' },
    { name: 'ligatures and compatibility forms (NFKC)', input: 'ﬁnd ⅰⅰ', folded: 'find ii' },
    { name: 'zero-width space inside a word', input: 'ki\u200Bll', folded: 'kill' },
    { name: 'zero-width joiner and non-joiner', input: 'k\u200Di\u200Cll', folded: 'kill' },
    { name: 'soft hyphen', input: 'ki\u00ADll', folded: 'kill' },
    { name: 'word joiner and BOM', input: '\uFEFFki\u2060ll', folded: 'kill' },
    { name: 'bidi override', input: 'ki\u202Ell', folded: 'kill' },
    { name: 'tag characters', input: 'ki\u{E0041}ll', folded: 'kill' },
    { name: 'decomposed accents compose (NFKC)', input: 'cafe\u0301', folded: 'café' },
  ])('folds $name', ({ input, folded }) => {
    expect(foldText(input)).toBe(folded);
  });

  it('replaces lone surrogates instead of passing them on', () => {
    expect(foldText('a\uD83Db')).toBe('a\uFFFDb');
    expect(foldText('a\uDE00b')).toBe('a\uFFFDb');
    // A real pair is kept.
    expect(foldText('a\u{1F600}b')).toBe('a\u{1F600}b');
  });
});

describe('tokenize / normalizeText', () => {
  it('splits on punctuation and spaces, keeping letters, digits and marks together', () => {
    expect(tokenize(foldText('KILL. myself!! ...now 2day'))).toEqual(['kill', 'myself', 'now', '2day']);
  });

  it('keeps non-Latin words whole', () => {
    expect(normalizeText('Хочу умереть, 死にたい').tokens).toEqual(['хочу', 'умереть', '死にたい']);
  });

  it('keeps emoji as tokens of their own', () => {
    expect(normalizeText('sad🔪now').tokens).toEqual(['sad', '🔪', 'now']);
  });

  it('joins a word that was split with invisible characters', () => {
    expect(normalizeText('ki\u200Bll my\u00ADself').tokens).toEqual(['kill', 'myself']);
  });

  it('returns no tokens for punctuation only', () => {
    expect(normalizeText('... !!! ---')).toEqual({ folded: '... !!! ---', tokens: [] });
  });
});

describe('normalizeHashtag', () => {
  it.each([
    { tag: '#WantToDie', key: 'wanttodie' },
    { tag: '##WantToDie', key: 'wanttodie' },
    { tag: 'want_to_die', key: 'wanttodie' },
    { tag: 'Want-To-Die', key: 'wanttodie' },
    { tag: '＃ｗａｎｔｔｏｄｉｅ', key: 'wanttodie' },
    { tag: 'want\u200Btodie', key: 'wanttodie' },
  ])('$tag -> $key', ({ tag, key }) => {
    expect(normalizeHashtag(tag)).toBe(key);
  });
});
