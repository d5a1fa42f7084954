import { describe, it, expect } from 'vitest';
import {
  FLAG,
  NORMALIZATIONS,
  flagNames,
  hashtagParts,
  matchKey,
  normalizeHashtag,
  normalizeText,
  type Normalization,
} from '../../../src/normalize/text.js';

/** Each token as [folded, normalizations]: what a reviewer sees in a match explanation. */
const folded = (text: string) => normalizeText(text).tokens.map((t) => [t.folded, flagNames(t.flags)]);
const keys = (text: string) => normalizeText(text).tokens.map((t) => t.key);

describe('normalizeText: evasion folding per token', () => {
  it.each<{ name: string; input: string; tokens: [string, Normalization[]][] }>([
    { name: 'case', input: 'KILL Myself', tokens: [['kill', []], ['myself', []]] },
    { name: 'fullwidth letters (NFKC)', input: 'ｋｉｌｌ ｍｙｓｅｌｆ', tokens: [['kill', ['width_or_font']], ['myself', ['width_or_font']]] },
    { name: 'ligatures and compatibility forms (NFKC)', input: 'ﬁnd ⅰⅰ', tokens: [['find', ['width_or_font']], ['ii', ['width_or_font']]] },
    { name: 'math-alphanumeric script letters', input: '𝓴𝓲𝓵𝓵', tokens: [['kill', ['width_or_font']]] },
    { name: 'zero-width space inside a word', input: 'ki\u200Bll', tokens: [['kill', ['invisible_chars']]] },
    { name: 'zero-width joiner and non-joiner', input: 'k\u200Di\u200Cll', tokens: [['kill', ['invisible_chars']]] },
    { name: 'soft hyphen', input: 'ki\u00ADll', tokens: [['kill', ['invisible_chars']]] },
    { name: 'word joiner and BOM', input: '\uFEFFki\u2060ll', tokens: [['kill', ['invisible_chars']]] },
    { name: 'bidi override', input: 'ki\u202Ell', tokens: [['kill', ['invisible_chars']]] },
    { name: 'tag characters', input: 'ki\u{E0041}ll', tokens: [['kill', ['invisible_chars']]] },
    { name: 'decomposed accents', input: 'cafe\u0301', tokens: [['cafe', ['diacritics']]] },
    { name: 'precomposed accents', input: 'kíll', tokens: [['kill', ['diacritics']]] },
    { name: 'zalgo marks', input: 'k̷̢i̸l̴l̵', tokens: [['kill', ['diacritics']]] },
    { name: 'a Cyrillic look-alike inside a Latin word', input: 'kіll', tokens: [['kill', ['confusables']]] },
    { name: 'leetspeak digits', input: 'k1ll mys3lf', tokens: [['kill', ['leetspeak']], ['myself', ['leetspeak']]] },
    { name: 'leetspeak symbols', input: '$ewer$lide r@pist', tokens: [['sewerslide', ['leetspeak']], ['rapist', ['leetspeak']]] },
    { name: 'runs of three or more letters', input: 'kiiiill', tokens: [['kiiiill', ['repeated_letters']]] },
    { name: 'spaced letters', input: 's u i c i d e', tokens: [['suicide', ['spaced_letters']]] },
    { name: 'dotted letters, one word per separator run', input: 'k.i.l.l m.y.s.e.l.f', tokens: [['kill', ['spaced_letters']], ['myself', ['spaced_letters']]] },
    { name: 'several evasions in one word', input: 'ｋ1ｌ\u200Bｌ', tokens: [['kill', ['width_or_font', 'invisible_chars', 'leetspeak']]] },
  ])('folds $name', ({ input, tokens }) => {
    expect(folded(input)).toEqual(tokens);
  });

  it('collapses every run of a repeated letter in the key, keeps the runs in folded', () => {
    expect(normalizeText('kill kiiiill').tokens.map((t) => [t.key, t.folded])).toEqual([
      ['kil', 'kill'],
      ['kil', 'kiiiill'],
    ]);
    expect(keys('STRASSE Straße')).toEqual(['strase', 'strase']);
  });

  it('splits on punctuation and spaces, keeping letters, digits and marks together', () => {
    expect(keys('KILL. myself!! ...now 2day')).toEqual(['kil', 'myself', 'now', '2day']);
  });

  it('treats trailing !, | and + as emphasis, not leetspeak', () => {
    expect(keys('help!!! now! ok+')).toEqual(['help', 'now', 'ok']);
  });

  it('keeps numbers as numbers: digit runs at either end of a word are not leetspeak', () => {
    expect(normalizeText('covid19 2024 1515 2024vote').tokens.map((t) => [t.key, t.flags])).toEqual([
      ['covid19', 0],
      ['2024', 0],
      ['1515', 0],
      ['2024vote', 0],
    ]);
  });

  it('keeps non-Latin words whole and unfolded', () => {
    expect(normalizeText('Хочу умереть, 死にたい, आत्महत्या, انتحار').tokens).toEqual([
      { key: 'хочу', folded: 'хочу', flags: 0 },
      { key: 'умереть', folded: 'умереть', flags: 0 },
      { key: '死にたい', folded: '死にたい', flags: 0 },
      { key: 'आत्महत्या', folded: 'आत्महत्या', flags: 0 },
      { key: 'انتحار', folded: 'انتحار', flags: 0 },
    ]);
  });

  it('folds an all-look-alike word in Latin text, but not the same word in Russian text', () => {
    expect(folded('kill the сор')).toEqual([
      ['kill', []],
      ['the', []],
      ['cop', ['confusables']],
    ]);
    expect(keys('в комнате сор')).toEqual(['в', 'комнате', 'сор']);
  });

  it('keeps emoji as tokens of their own, without variation selectors', () => {
    expect(keys('sad🔪now')).toEqual(['sad', '🔪', 'now']);
    expect(keys('❤️ you')).toEqual(['❤', 'you']);
  });

  it('joins a word that was split with invisible characters', () => {
    expect(keys('ki\u200Bll my\u00ADself')).toEqual(['kil', 'myself']);
  });

  it('returns no tokens for punctuation only', () => {
    expect(normalizeText('... !!! --- #')).toEqual({ tokens: [], inlineHashtags: [] });
  });

  it('drops lone surrogates instead of passing them on, and keeps real pairs', () => {
    expect(keys('a\uD83Db')).toEqual(['a', 'b']);
    expect(keys('a\uDE00b')).toEqual(['a', 'b']);
    expect(keys('a\u{1F600}b')).toEqual(['a', '\u{1F600}', 'b']);
  });

  it('lists inline hashtags as written, without #', () => {
    expect(normalizeText('so tired #WantToDie and #sh_ #ｆｕｌｌ').inlineHashtags).toEqual(['WantToDie', 'sh_', 'ｆｕｌｌ']);
  });
});

describe('matchKey', () => {
  it('joins the token keys one per line (a newline never joins spaced letters)', () => {
    expect(matchKey('I want to KILL   myself!')).toBe('i\nwant\nto\nkil\nmyself');
    expect(matchKey('')).toBe('');
  });

  it.each(['kill myself', 'KILL MYSELF', 'k1ll mys3lf', 'kіll mуself', 'ｋｉｌｌ ｍｙｓｅｌｆ', '𝓴𝓲𝓵𝓵 𝓶𝔂𝓼𝓮𝓵𝓯', 'ki\u200Bll my\u00ADself', 'kíll mýsélf', 'kiiiill myseeelf', 'k.i.l.l m.y.s.e.l.f'])(
    'gives "%s" the same key as the plain phrase',
    (evasion) => {
      expect(matchKey(evasion)).toBe(matchKey('kill myself'));
    },
  );
});

describe('hashtagParts', () => {
  it.each([
    { tag: '#WantToDie', parts: ['want', 'to', 'die'] },
    { tag: 'want_to_die', parts: ['want', 'to', 'die'] },
    { tag: 'ProAna', parts: ['pro', 'ana'] },
    { tag: '#ＷａｎｔＴｏＤｉｅ', parts: ['want', 'to', 'die'] },
    { tag: 'w4nt_t0_d1e', parts: ['want', 'to', 'die'] },
    // Lowercase runs are left whole: splitting them is the segmenter's job.
    { tag: 'selfharm', parts: ['selfharm'] },
    { tag: '#ХочуУмереть', parts: ['хочу', 'умереть'] },
  ])('$tag -> $parts', ({ tag, parts }) => {
    expect(hashtagParts(tag).map((t) => t.folded)).toEqual(parts);
  });

  it('records the normalizations each part needed', () => {
    expect(hashtagParts('#Ｗａｎｔ_t0').map((t) => [t.folded, flagNames(t.flags)])).toEqual([
      ['want', ['width_or_font']],
      ['to', ['leetspeak']],
    ]);
  });
});

describe('normalizeHashtag', () => {
  it.each([
    '#WantToDie',
    '##WantToDie',
    'wanttodie',
    'want_to_die',
    'Want-To-Die',
    '＃ｗａｎｔｔｏｄｉｅ',
    'want\u200Btodie',
    'WANTTOOOODIE',
    'w4nttod1e',
  ])('%s has the key of wanttodie', (tag) => {
    expect(normalizeHashtag(tag)).toBe('wantodie');
  });

  it('keeps other tags apart', () => {
    expect(normalizeHashtag('wanttodie2')).not.toBe(normalizeHashtag('wanttodie'));
    expect(normalizeHashtag('#ХочуУмереть')).toBe('хочумереть');
    expect(normalizeHashtag('#covid19')).toBe('covid19');
  });

  it('is empty for a tag with no word characters', () => {
    expect(normalizeHashtag('#')).toBe('');
    expect(normalizeHashtag('___')).toBe('');
  });
});

describe('flagNames and FLAG', () => {
  it('gives each normalization its own bit', () => {
    const bits = NORMALIZATIONS.map((n) => FLAG[n]);
    expect(new Set(bits).size).toBe(NORMALIZATIONS.length);
    for (const n of NORMALIZATIONS) expect(flagNames(FLAG[n])).toEqual([n]);
  });

  it('names combined flags in a fixed order, and none for 0', () => {
    expect(flagNames(FLAG.leetspeak | FLAG.confusables)).toEqual(['confusables', 'leetspeak']);
    expect(flagNames(0)).toEqual([]);
  });
});
