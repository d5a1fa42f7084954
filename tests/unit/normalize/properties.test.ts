import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { topicDefinitionSchema } from '../../../src/config/topic-schema.js';
import { NORMALIZATIONS, matchKey, normalizeText } from '../../../src/normalize/text.js';
import { compileLexicon } from '../../../src/scoring/lexicon.js';

const RUNS = { numRuns: 300 };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const WHITESPACE = /\s/u;

// Input generators. fast-check 4 has no fullUnicodeString: unit 'binary' is any code point.
const anyCodePoints = fc.string({ unit: 'binary', maxLength: 200 });
const graphemes = fc.string({ unit: 'grapheme', maxLength: 100 });
/** Raw UTF-16 code units, so lone and reversed surrogate halves occur often. */
const codeUnits = fc
  .array(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0xd800, max: 0xdfff }), fc.integer({ min: 0x20, max: 0x7e })), { maxLength: 200 })
  .map((units) => String.fromCharCode(...units));
const EMOJI_PARTS = ['🔪', '❄️', '🔌', '😀', '👍🏽', '👨‍👩‍👧', '🏳️‍🌈', '🇺🇦', '#️⃣', '\u200D', '\uFE0F', '\u{1F3FB}', ' ', 'a', 'k1ll', '#', '@'];
const emojiHeavy = fc.array(fc.constantFrom(...EMOJI_PARTS), { maxLength: 60 }).map((parts) => parts.join(''));
const anyText = fc.oneof(anyCodePoints, graphemes, codeUnits, emojiHeavy, fc.string({ maxLength: 200 }));

/** The invariants every normalized text keeps, whatever came in. */
function expectWellFormed(text: string) {
  const { tokens, inlineHashtags } = normalizeText(text);
  for (const t of tokens) {
    expect(t.key.length).toBeGreaterThan(0);
    expect(t.key).not.toMatch(WHITESPACE);
    expect(t.key).not.toMatch(LONE_SURROGATE);
    expect(t.folded).not.toMatch(LONE_SURROGATE);
  }
  for (const tag of inlineHashtags) expect(tag).not.toMatch(LONE_SURROGATE);
  const key = matchKey(text);
  expect(key).not.toMatch(LONE_SURROGATE);
  expect(key).toBe(tokens.map((t) => t.key).join('\n'));
}

describe('normalizeText / matchKey on arbitrary input', () => {
  it.each([
    { name: 'any code points', arb: anyCodePoints },
    { name: 'graphemes', arb: graphemes },
    { name: 'code units with lone surrogates', arb: codeUnits },
    { name: 'emoji-heavy strings', arb: emojiHeavy },
  ])('never throws and yields well-formed keys: $name', ({ arb }) => {
    fc.assert(fc.property(arb, (text) => expectWellFormed(text)), RUNS);
  });

  describe('a 1 MB input', () => {
    // One unit: 9 tokens, with no single letters at its edges to join across units.
    const unit = 'k1ll mys3lf, ѕuicide 🔪 ｋｉｌｌ ki\u200Bll 死にたい \uD800 s.u.i.c.i.d.e #IWantToDie\n';
    const tokensPerUnit = normalizeText(unit).tokens.length;
    const copies = Math.ceil(1_000_000 / unit.length);
    const big = unit.repeat(copies);

    it('is normalized whole, token for token', () => {
      expect(big.length).toBeGreaterThanOrEqual(1_000_000);
      // The inline #IWantToDie is matched as a hashtag, not as a text token.
      expect(tokensPerUnit).toBe(8);
      const { tokens, inlineHashtags } = normalizeText(big);
      expect(tokens).toHaveLength(copies * tokensPerUnit);
      expect(inlineHashtags).toHaveLength(copies);
      expect(matchKey(big)).toBe(Array(copies).fill(matchKey(unit)).join('\n'));
    });

    it.each([
      { name: 'one unbroken word', text: 'a'.repeat(1_000_000), tokens: 1 },
      { name: 'spaced letters', text: 'a '.repeat(500_000), tokens: 1 },
      { name: 'only lone surrogates', text: '\uD83D'.repeat(1_000_000), tokens: 0 },
      { name: 'only emoji', text: '🔪'.repeat(500_000), tokens: 500_000 },
    ])('copes with $name', ({ text, tokens }) => {
      expect(normalizeText(text).tokens).toHaveLength(tokens);
    });

    it('is matched in full by a lexicon', () => {
      const lexicon = compileLexicon([topicDefinitionSchema.parse({ id: 't', name: 't', severity: 'high', terms: ['kill myself'] })]);
      expect(lexicon.match({ text: big, hashtags: [] })).toHaveLength(copies);
    });
  });
});

/*
 * Idempotence over realistic text (words in several scripts, each with at most one evasion) and
 * over arbitrary code points. Known exception: grapheme soup where NFKC drops a symbol between
 * scripts (e.g. "A㈀Ρ") can change which script is the majority on the second pass.
 */
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const CONFUSABLE: Record<string, string> = { a: 'а', e: 'е', o: 'о', p: 'р', c: 'с', x: 'х', y: 'у', i: 'і', s: 'ѕ', j: 'ј', h: 'һ', d: 'ԁ', v: 'ν', u: 'υ' };
const LEET: Record<string, string> = { a: '4', e: '3', i: '1', o: '0', s: '$', t: '7', g: '9' };
const replaceFirst = (w: string, map: Record<string, string>) => {
  const i = [...w].findIndex((ch) => ch in map);
  return i < 0 ? w : w.slice(0, i) + map[w[i]!]! + w.slice(i + 1);
};
const shift = (w: string, base: number) => [...w].map((ch) => String.fromCodePoint(base + ch.charCodeAt(0) - 0x61)).join('');

/** Evasions a user would use on a Latin word; each leaves the word's key unchanged. */
const EVASIONS: Record<string, (w: string) => string> = {
  none: (w) => w,
  upper: (w) => w.toUpperCase(),
  fullwidth: (w) => shift(w, 0xff41),
  mathBold: (w) => shift(w, 0x1d41a),
  zeroWidth: (w) => `${w[0]}\u200B${w.slice(1)}`,
  softHyphen: (w) => `${w[0]}\u00AD${w.slice(1)}`,
  accent: (w) => `${w[0]}\u0301${w.slice(1)}`,
  zalgo: (w) => [...w].map((ch) => `${ch}\u0337\u0322`).join(''),
  repeated: (w) => w[0]!.repeat(4) + w.slice(1),
  lookalike: (w) => replaceFirst(w, CONFUSABLE),
  leet: (w) => replaceFirst(w, LEET),
  dotted: (w) => (w.length >= 3 ? [...w].join('.') : w),
};
const latinWord = fc.string({ unit: fc.constantFrom(...LOWER), minLength: 2, maxLength: 8 });
const evadedWord = fc.tuple(latinWord, fc.constantFrom(...Object.keys(EVASIONS))).map(([plain, how]) => ({ plain, written: EVASIONS[how]!(plain) }));
// Non-Latin words that are not all look-alikes of Latin letters, and emoji.
const otherWord = fc
  .constantFrom('хочу', 'умереть', 'УБИТЬ', 'себя', '死にたい', '自殺', 'انتحار', 'आत्महत्या', 'θέλω', 'πεθάνω', '🔪', '❄️', '👍🏽', 'straße')
  .map((w) => ({ plain: w, written: w }));
const SEPARATORS = [' ', ', ', '\n', ' — ', '! ', '; '];
const wordsText = fc.array(fc.tuple(fc.oneof({ weight: 3, arbitrary: evadedWord }, { weight: 1, arbitrary: otherWord }), fc.constantFrom(...SEPARATORS)), {
  minLength: 1,
  maxLength: 12,
});

describe('matchKey on words with evasions', () => {
  it('gives an evaded text the key of its plain text', () => {
    fc.assert(
      fc.property(wordsText, (words) => {
        const written = words.map(([w, sep]) => w.written + sep).join('');
        const plain = words.map(([w]) => w.plain).join(' ');
        expect(matchKey(written)).toBe(matchKey(plain));
      }),
      RUNS,
    );
  });

  it.each([
    ['arbitrary code points', anyCodePoints],
    ['arbitrary code units, lone surrogates included', codeUnits],
    ['ASCII', fc.string({ maxLength: 200 })],
  ] as const)('is idempotent on %s', (_name, arb) => {
    fc.assert(
      fc.property(arb, (text) => {
        const key = matchKey(text);
        expect(matchKey(key)).toBe(key);
      }),
      { numRuns: 2000 },
    );
  });

  it('is idempotent on inputs the properties once found', () => {
    // Symbols beside look-alikes, lone symbol runs: the key must not change on a second pass.
    const found = ['$౦', '$౦ ౦', '@੦', 'A\ud800\ufff0!ᖯ', '$ᶌ\ud800A', 'A $Ỿ', 'A\ud800ʣ$', '0\ud800|\ud800\ud800|\ud800\ud800$'];
    for (const text of found) expect(matchKey(matchKey(text)), JSON.stringify(text)).toBe(matchKey(text));
    // A run of lone symbols leaves no empty token behind.
    expect(matchKey('0 |\ud800| $')).toBe('0');
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(wordsText, (words) => {
        const key = matchKey(words.map(([w, sep]) => w.written + sep).join(''));
        expect(matchKey(key)).toBe(key);
      }),
      RUNS,
    );
  });
});

describe('compileLexicon(...).match on arbitrary input', () => {
  const lexicon = compileLexicon(
    [
      { id: 'self-harm', terms: ['kill myself', 'suicide', '🔪', { term: 'suicid', mode: 'prefix' }, { term: 'ProAna', mode: 'hashtag' }, { term: 'unalive', mode: 'aggressive' }], hashtags: ['WantToDie', 'sh'], exclusions: ['suicide squad'] },
      { id: 'multi', terms: [{ term: 'me quiero morir', lang: 'es' }, 'убить себя', { term: '死にたい', mode: 'aggressive' }, 'انتحار'] },
    ].map((t) => topicDefinitionSchema.parse({ name: t.id, severity: 'high', ...t })),
  );
  const lang = fc.option(fc.constantFrom('en', 'es', 'es-MX', 'ru', 'EN', ''), { nil: undefined });

  it('never throws, and every match names a known topic and normalization', () => {
    fc.assert(
      fc.property(anyText, fc.array(anyText, { maxLength: 4 }), lang, (text, hashtags, lg) => {
        const tokenCount = normalizeText(text).tokens.length;
        for (const m of lexicon.match({ text, hashtags, lang: lg })) {
          expect(lexicon.topicIds).toContain(m.topic);
          expect(m.position).toBeGreaterThanOrEqual(-1);
          expect(m.position).toBeLessThan(tokenCount);
          expect(m.source === 'hashtag').toBe(m.position === -1);
          for (const n of m.normalizations) expect(NORMALIZATIONS).toContain(n);
        }
      }),
      RUNS,
    );
  });
});
