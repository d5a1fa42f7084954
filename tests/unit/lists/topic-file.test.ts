import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { topicDefinitionSchema, type TopicDefinition } from '../../../src/config/topic-schema.js';
import { topicHash } from '../../../src/lists/list-set.js';
import { topicFileText } from '../../../src/lists/topic-file.js';

const text = readFileSync(resolve('config/topics/self-harm.yaml'), 'utf8');
const original = topicDefinitionSchema.parse(parseYaml(text));
const readBack = (t: string): TopicDefinition => topicDefinitionSchema.parse(parseYaml(t));

describe('topic files written back after a change', () => {
  it.each<[string, (t: TopicDefinition) => TopicDefinition]>([
    ['a term accepted', (t) => ({ ...t, terms: [...t.terms, 'moonlit exit plan'] })],
    ['a term removed and a weight changed', (t) => ({ ...t, terms: t.terms.slice(1).map((e, i) => (i === 0 && typeof e === 'object' ? { ...e, weight: 0.25 } : e)) })],
    ['a field changed and a hashtag added', (t) => ({ ...t, severity: 'high', hashtags: [...t.hashtags, 'moonlitexit'] })],
  ])('keeps the comments and reads back as the change: %s', (_, change) => {
    const next = change(original);
    const out = topicFileText(next, { text, json: false });
    expect(topicHash(readBack(out))).toBe(topicHash(next));
    expect(out).toContain('# Ways people say it in posts');
    expect(out).toContain('# Half weight: these count only next to another cue');
    // Defaults the file leaves out stay out.
    expect(out.includes('counterExemplars')).toBe(text.includes('counterExemplars'));
  });

  it('leaves the other entries as they were written', () => {
    const next = { ...original, terms: [...original.terms, 'moonlit exit plan'] };
    const after = topicFileText(next, { text, json: false }).split('\n');
    const termLines = text.split('\n').slice(text.split('\n').indexOf('terms:'), text.split('\n').indexOf('exclusions:'));
    expect(termLines.length).toBeGreaterThan(20);
    for (const line of termLines) expect(after).toContain(line);
    expect(after[after.indexOf('exclusions:') - 1]).toBe('  - moonlit exit plan');
  });

  it('writes JSON files as JSON, and a new or unreadable YAML file afresh', () => {
    const next = { ...original, severity: 'low' as const };
    expect(JSON.parse(topicFileText(next, { text: '{}', json: true }))).toEqual(next);
    expect(topicHash(readBack(topicFileText(next, undefined)))).toBe(topicHash(next));
    expect(topicHash(readBack(topicFileText(next, { text: '- not: a map\n', json: false })))).toBe(topicHash(next));
  });
});
