import { describe, it, expect } from 'vitest';
import { topicDefinitionSchema, type TopicDefinitionInput } from '../../../src/config/topic-schema.js';
import { compileLexicon } from '../../../src/scoring/lexicon.js';

const topic = (input: Partial<TopicDefinitionInput> & Pick<TopicDefinitionInput, 'id'>) =>
  topicDefinitionSchema.parse({ name: input.id, severity: 'high', ...input });

const selfHarm = topic({
  id: 'self-harm',
  severity: 'critical',
  terms: ['kill myself', 'rapist', 'want to die', { term: 'suicid', mode: 'prefix' }, { term: 'ProAna', mode: 'hashtag' }],
  hashtags: ['WantToDie', '#sh'],
});
const lexicon = compileLexicon([selfHarm]);

/** Terms found, sorted, for a text and optional hashtag list. */
const found = (text: string, hashtags: string[] = []) => [...new Set(lexicon.match({ text, hashtags }).map((m) => m.term))].sort();

describe('compileLexicon: word and phrase matching', () => {
  it.each([
    { name: 'a phrase as written', text: 'i want to kill myself', terms: ['kill myself'] },
    { name: 'a phrase across punctuation and case', text: 'KILL. myself', terms: ['kill myself'] },
    { name: 'a phrase across line breaks and extra spaces', text: 'kill\n\n   myself', terms: ['kill myself'] },
    { name: 'a phrase with a zero-width space inside a word', text: 'ki\u200Bll myself', terms: ['kill myself'] },
    { name: 'a phrase in fullwidth letters', text: 'ｋｉｌｌ　ｍｙｓｅｌｆ', terms: ['kill myself'] },
    { name: 'a word at the end of a sentence', text: 'he is a rapist.', terms: ['rapist'] },
    { name: 'a three-word phrase', text: 'I just WANT TO DIE', terms: ['want to die'] },
    { name: 'two terms in one text', text: 'want to die, kill myself', terms: ['kill myself', 'want to die'] },
  ])('matches $name', ({ text, terms }) => {
    expect(found(text)).toEqual(terms);
  });

  it.each([
    { name: '"therapist" for the word "rapist"', text: 'my therapist said so' },
    { name: '"rapists" for the word "rapist" (word mode is exact)', text: 'rapists' },
    { name: '"skill myself" for the phrase "kill myself"', text: 'i will skill myself up' },
    { name: '"kill myselfie" for the phrase "kill myself"', text: 'kill myselfie' },
    { name: 'the phrase words out of order', text: 'myself kill' },
    { name: 'the phrase words with a word in between', text: 'kill not myself' },
    { name: 'the phrase cut short at the end of the text', text: 'I will kill' },
  ])('does not match $name', ({ text }) => {
    expect(found(text)).toEqual([]);
  });

  it('reports each occurrence with its token position', () => {
    const matches = lexicon.match({ text: 'kill myself. kill myself', hashtags: [] });
    expect(matches.map((m) => [m.term, m.mode, m.position])).toEqual([
      ['kill myself', 'phrase', 0],
      ['kill myself', 'phrase', 2],
    ]);
  });
});

describe('compileLexicon: prefix mode', () => {
  it.each([
    { text: 'suicidal thoughts', hit: true },
    { text: 'SUICIDE', hit: true },
    { text: 'suicid', hit: true },
    { text: 'antisuicide campaign', hit: false },
    { text: 'sui generis', hit: false },
  ])('"$text" -> $hit', ({ text, hit }) => {
    expect(found(text).includes('suicid')).toBe(hit);
  });

  it('treats a prefix term shorter than 3 characters as a whole word', () => {
    const lx = compileLexicon([topic({ id: 't', terms: [{ term: 'ab', mode: 'prefix' }] })]);
    expect(lx.match({ text: 'abc', hashtags: [] })).toEqual([]);
    expect(lx.match({ text: 'ab', hashtags: [] }).map((m) => m.term)).toEqual(['ab']);
  });
});

describe('compileLexicon: hashtags', () => {
  it.each([
    { name: "the signal's hashtag list", text: '', hashtags: ['wanttodie'] },
    { name: 'the hashtag list, any case', text: '', hashtags: ['WANTTODIE'] },
    { name: 'the hashtag list, with its #', text: '', hashtags: ['#WantToDie'] },
    { name: 'an inline #tag in the text', text: 'so tired #WantToDie', hashtags: [] },
    { name: 'an inline #tag in fullwidth letters', text: 'so tired #ＷａｎｔＴｏＤｉｅ', hashtags: [] },
    { name: 'an inline #tag with underscores', text: 'so tired #want_to_die', hashtags: [] },
  ])('matches a topic hashtag from $name', ({ text, hashtags }) => {
    // "#want_to_die" also reads as the phrase "want to die"; only the hashtag is checked here.
    const matches = lexicon.match({ text, hashtags }).filter((m) => m.mode === 'hashtag');
    expect(matches.map((m) => [m.term, m.mode, m.position])).toEqual([['#WantToDie', 'hashtag', -1]]);
  });

  it('matches a hashtag-mode term and a topic hashtag given with a leading #', () => {
    expect(found('', ['proana', 'SH'])).toEqual(['#sh', 'ProAna']);
  });

  it('does not match a hashtag as a plain word, nor a longer tag', () => {
    expect(found('wanttodie and sh')).toEqual([]);
    expect(found('', ['wanttodie2', 'shout'])).toEqual([]);
  });

  it('counts a tag once when it is both in the list and inline', () => {
    // The segmented tag also reads as the phrase "want to die"; the hashtag itself counts once.
    const matches = lexicon.match({ text: 'bye #wanttodie', hashtags: ['WantToDie'] });
    expect(matches.filter((m) => m.mode === 'hashtag').map((m) => m.term)).toEqual(['#WantToDie']);
    expect(matches.filter((m) => m.mode === 'phrase').map((m) => [m.term, m.source])).toEqual([['want to die', 'hashtag']]);
  });
});

describe('compileLexicon: several topics', () => {
  it('attributes a shared term to every topic that lists it', () => {
    const lx = compileLexicon([topic({ id: 'a', terms: ['bad word'] }), topic({ id: 'b', terms: [{ term: 'Bad Word', weight: 2 }] })]);
    const matches = lx.match({ text: 'a bad word', hashtags: [] });
    expect(matches.map((m) => [m.topic, m.weight]).sort()).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect(lx.topicIds).toEqual(['a', 'b']);
  });
});

describe('compileLexicon: version', () => {
  const v = (t: Parameters<typeof topic>[0]) => compileLexicon([topic(t)]).version;
  const base = { id: 'x', terms: ['kill myself'], hashtags: ['tag'] };

  it('stays the same when the lists do not change', () => {
    expect(v(base)).toBe(v({ ...base }));
    expect(v(base)).toBe(v({ ...base, name: 'Renamed', description: 'new words' }));
    expect(v(base)).toMatch(/^[0-9a-f]{12}$/);
  });

  it.each([
    { name: 'a term is added', change: { terms: ['kill myself', 'end it'] } },
    { name: 'a term is removed', change: { terms: [] } },
    { name: 'a weight changes', change: { terms: [{ term: 'kill myself', weight: 2 }] } },
    { name: 'a hashtag is added', change: { hashtags: ['tag', 'other'] } },
    { name: 'the threshold changes', change: { thresholds: { lexicon: 2 } } },
  ])('changes when $name', ({ change }) => {
    expect(v({ ...base, ...change })).not.toBe(v(base));
  });

  it('changes when a topic is added', () => {
    expect(compileLexicon([topic(base), topic({ id: 'y', terms: ['z'] })]).version).not.toBe(v(base));
  });
});
