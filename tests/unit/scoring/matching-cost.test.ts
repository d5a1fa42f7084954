import { describe, expect, it } from 'vitest';
import { topicDefinitionSchema } from '../../../src/config/topic-schema.js';
import { compileLexicon, type LexiconInput } from '../../../src/scoring/lexicon.js';

/**
 * Lists and signals chosen to make matching work hard: nested terms, a term repeated with its
 * exclusion, one very long token against prefix terms. The work done (automaton steps, prefix
 * probes, exclusion checks) must grow in proportion to the input, never faster.
 */
const lexicon = compileLexicon(
  [
    topicDefinitionSchema.parse({
      id: 'self-harm',
      name: 'Self-harm',
      severity: 'critical',
      terms: [
        'suicide',
        { term: 'suicid', mode: 'prefix' },
        { term: 'abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz', mode: 'prefix' },
        // Nested aggressive terms: every position of "ababab..." ends several of them.
        ...Array.from({ length: 30 }, (_, i) => ({ term: 'ab'.repeat(i + 1), mode: 'aggressive' as const })),
        // Nested phrases: every position of "die die die ..." ends several of them.
        ...Array.from({ length: 30 }, (_, i) => Array(i + 1).fill('die').join(' ')),
      ],
      exclusions: ['suicide squad', 'squad suicide', { phrase: 'suicide prevention', terms: ['suicide'] }],
    }),
  ],
  { wordCosts: new Map() },
);

function work(input: LexiconInput): { steps: number } {
  const w = { steps: 0 };
  lexicon.match({ ...input, work: w });
  return w;
}

const cases: { name: string; input: (n: number) => LexiconInput }[] = [
  { name: 'a term repeated with its exclusion', input: (n) => ({ text: 'suicide squad '.repeat(n), hashtags: [] }) },
  { name: 'a term repeated next to exclusions of other spans', input: (n) => ({ text: 'suicide squad suicide prevention suicide '.repeat(n), hashtags: [] }) },
  { name: 'nested phrases', input: (n) => ({ text: 'die '.repeat(n), hashtags: [] }) },
  { name: 'nested aggressive terms', input: (n) => ({ text: 'ab '.repeat(n), hashtags: [] }) },
  { name: 'one long token against prefix terms', input: (n) => ({ text: 'abcdefghijklmnopqrstuvwxyz'.repeat(Math.ceil(n / 4)), hashtags: [] }) },
  { name: 'many tokens against prefix terms', input: (n) => ({ text: 'suicidal '.repeat(n), hashtags: [] }) },
];

describe('matching cost', () => {
  it.each(cases)('grows linearly with the input: $name', ({ input }) => {
    const [w1, w2, w4] = [200, 400, 800].map((n) => work(input(n)).steps) as [number, number, number];
    // Linear work adds as much again when the input doubles; quadratic work adds four times as much.
    expect(w2 - w1).toBeGreaterThan(0);
    expect((w4 - w2) / (w2 - w1)).toBeLessThan(2.5);
  });

  it('still cancels each occurrence its exclusion overlaps, and only those', () => {
    expect(lexicon.match({ text: 'suicide squad '.repeat(50), hashtags: [] }).filter((m) => m.term === 'suicide')).toEqual([]);
    const mixed = lexicon.match({ text: `${'suicide squad '.repeat(50)}then suicide`, hashtags: [] }).filter((m) => m.term === 'suicide');
    expect(mixed.map((m) => m.position)).toEqual([101]);
    expect(lexicon.match({ text: 'squad suicide', hashtags: [] }).filter((m) => m.term === 'suicide')).toEqual([]);
    // An exclusion for named terms leaves the others.
    expect(lexicon.match({ text: 'suicide prevention', hashtags: [] }).map((m) => m.term).sort()).toEqual(['suicid']);
  });
});
