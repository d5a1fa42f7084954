import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TopicDefinition } from '../../../src/config/topic-schema.js';
import { TopicWatcher } from '../../../src/config/topic-watcher.js';
import type { ConfigProblem } from '../../../src/shared/errors.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { waitFor } from '../../_util/services.js';

const scams = (terms: string[], severity = 'medium') => `id: scams\nname: Scams\nseverity: ${severity}\nterms: [${terms.join(', ')}]\n`;
const selfHarm = 'id: self-harm\nname: Self-harm\nseverity: critical\nterms: [kill myself]\n';

describe('TopicWatcher', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function setup(references = [{ source: '/srv/pipelines/main.yaml', topics: ['scams', 'self-harm'] as unknown }]) {
    const dir = mkdtempSync(join(tmpdir(), 'surgewatch-watch-'));
    writeFileSync(join(dir, 'scams.yaml'), scams(['guaranteed returns']));
    writeFileSync(join(dir, 'self-harm.yaml'), selfHarm);
    const loads: TopicDefinition[][] = [];
    const rejections: (readonly ConfigProblem[])[] = [];
    const watcher = new TopicWatcher({
      topicsDir: dir,
      references,
      logger: silentLogger,
      debounceMs: 50,
      onTopics: async (t) => void loads.push(t),
      onProblems: async (p) => void rejections.push(p),
    });
    watcher.start();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => watcher.close());
    return { dir, loads, rejections, watcher };
  }

  const termsOf = (topics: TopicDefinition[] | undefined, id: string) => topics?.find((t) => t.id === id)?.terms;

  it('reads the folder again after a file changes', async () => {
    const { dir, loads } = setup();
    writeFileSync(join(dir, 'scams.yaml'), scams(['guaranteed returns', 'crypto giveaway']));
    const last = await waitFor(async () => (termsOf(loads.at(-1), 'scams')?.length === 2 ? loads.at(-1) : undefined), 5000, 'a reload');
    expect(termsOf(last, 'scams')).toEqual(['guaranteed returns', 'crypto giveaway']);
    expect(last.map((t) => t.id).sort()).toEqual(['scams', 'self-harm']);
  });

  it('sees files replaced by a rename, as editors save them', async () => {
    const { dir, loads } = setup();
    writeFileSync(join(dir, '.scams.yaml.tmp'), scams(['guaranteed returns', 'double your money']));
    renameSync(join(dir, '.scams.yaml.tmp'), join(dir, 'scams.yaml'));
    await waitFor(async () => (termsOf(loads.at(-1), 'scams')?.includes('double your money') ? true : undefined), 5000, 'a reload after the rename');
  });

  it('reports every problem of an invalid file and applies nothing of it', async () => {
    const { dir, loads, rejections } = setup();
    writeFileSync(join(dir, 'scams.yaml'), scams(['guaranteed returns', 'crypto giveaway'], 'extreme'));
    const problems = await waitFor(async () => rejections.at(-1), 5000, 'a rejected reload');
    expect(problems).toEqual([{ source: join(dir, 'scams.yaml'), path: 'severity', message: expect.stringMatching(/critical.*low/) as string }]);
    expect(loads.some((l) => termsOf(l, 'scams')?.includes('crypto giveaway'))).toBe(false);
  });

  it('rejects a reload that removes a topic a pipeline names', async () => {
    const { dir, loads, rejections } = setup();
    rmSync(join(dir, 'self-harm.yaml'));
    const problems = await waitFor(async () => rejections.at(-1), 5000, 'a rejected reload');
    expect(problems).toEqual([{ source: '/srv/pipelines/main.yaml', path: 'topics.1', message: expect.stringMatching(/unknown topic "self-harm"/) as string }]);
    expect(loads).toEqual([]);
  });

  it('always ends on the last write, also one that lands during a read', async () => {
    const { dir, loads, watcher } = setup();
    for (let i = 0; i < 5; i++) writeFileSync(join(dir, 'scams.yaml'), scams(['guaranteed returns', `term ${i}`]));
    await waitFor(async () => (termsOf(loads.at(-1), 'scams')?.includes('term 4') ? true : undefined), 5000, 'the last write to be read');
    const before = loads.length;
    const reading = watcher.reload();
    writeFileSync(join(dir, 'scams.yaml'), scams(['guaranteed returns', 'term 5']));
    await watcher.reload();
    await reading;
    expect(termsOf(loads.at(-1), 'scams')).toContain('term 5');
    expect(loads.length).toBeGreaterThan(before);
  });
});
