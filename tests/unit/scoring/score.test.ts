import { describe, it, expect } from 'vitest';
import { topicDefinitionSchema, type TopicDefinition, type TopicDefinitionInput } from '../../../src/config/topic-schema.js';
import { compileLexicon } from '../../../src/scoring/lexicon.js';
import { scoreSignal } from '../../../src/scoring/score.js';

const topic = (input: Partial<TopicDefinitionInput> & Pick<TopicDefinitionInput, 'id'>) =>
  topicDefinitionSchema.parse({ name: input.id, severity: 'high', ...input });

function scorer(...topics: TopicDefinition[]) {
  const lexicon = compileLexicon(topics);
  const byId = new Map(topics.map((t) => [t.id, t]));
  return (text: string, hashtags: string[] = []) => scoreSignal(lexicon, byId, { text, hashtags });
}

const selfHarm = topic({
  id: 'self-harm',
  thresholds: { lexicon: 1 },
  terms: ['kill myself', { term: 'goodbye forever', weight: 0.5 }, { term: 'so tired', weight: 0.2 }, { term: 'no way out', weight: 0.1 }],
  hashtags: ['wanttodie'],
});
const scams = topic({ id: 'scams', thresholds: { lexicon: 1.5 }, terms: ['guaranteed returns', 'crypto giveaway', { term: 'dm me', weight: 0.5 }] });
const score = scorer(selfHarm, scams);

describe('scoreSignal', () => {
  it('leaves out topics that did not score', () => {
    expect(score('lovely weather today')).toEqual([]);
    expect(score('kill myself').map((s) => s.topic)).toEqual(['self-harm']);
  });

  it('sums the weights of the distinct terms found', () => {
    const [s] = score('goodbye forever. i want to kill myself #wanttodie');
    expect(s?.score).toBe(2.5);
    expect(s?.why.map((w) => [w.term, w.weight])).toEqual([
      ['goodbye forever', 0.5],
      ['kill myself', 1],
      ['#wanttodie', 1],
    ]);
  });

  it('counts a term repeated in a text once', () => {
    const [s] = score('kill myself kill myself KILL MYSELF');
    expect(s?.score).toBe(1);
    expect(s?.why).toHaveLength(1);
    expect(s?.why[0]).toMatchObject({ kind: 'term', term: 'kill myself', mode: 'phrase', position: 0 });
  });

  it('counts a hashtag given in the list and inline once', () => {
    const [s] = score('bye #WantToDie', ['wanttodie']);
    expect(s?.score).toBe(1);
  });

  it('rounds sums of fractional weights for display', () => {
    const [s] = score('so tired, no way out');
    expect(s?.score).toBe(0.3);
  });

  it.each([
    { name: 'below the default threshold of 1', text: 'goodbye forever', topic: 'self-harm', score: 0.5, hit: false },
    { name: 'at the default threshold of 1', text: 'kill myself', topic: 'self-harm', score: 1, hit: true },
    { name: 'fractional terms summing below 1', text: 'goodbye forever, so tired, no way out', topic: 'self-harm', score: 0.8, hit: false },
    { name: 'one term under a threshold of 1.5', text: 'guaranteed returns!!', topic: 'scams', score: 1, hit: false },
    { name: 'terms reaching a threshold of 1.5', text: 'guaranteed returns, dm me', topic: 'scams', score: 1.5, hit: true },
    { name: 'terms over a threshold of 1.5', text: 'crypto giveaway with guaranteed returns', topic: 'scams', score: 2, hit: true },
  ])('hit respects the topic threshold: $name', ({ text, topic: id, score: expected, hit }) => {
    const s = score(text).find((x) => x.topic === id);
    expect(s).toMatchObject({ score: expected, hit });
  });

  it('scores each topic on its own and sorts by score', () => {
    const result = score('guaranteed returns crypto giveaway, or i kill myself');
    expect(result.map((s) => [s.topic, s.score, s.hit])).toEqual([
      ['scams', 2, true],
      ['self-harm', 1, true],
    ]);
  });

  it('does not score near-misses of listed words', () => {
    expect(score('skill myself up; goodbye, forevermore; crypto giveaways')).toEqual([]);
  });
});
