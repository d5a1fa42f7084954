import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../../src/config/load.js';
import { AppContext } from '../../../src/context.js';
import { silentLogger } from '../../../src/shared/logger.js';
import type { SignalSource } from '../../../src/worker/source.js';
import { waitFor } from '../../_util/services.js';

const dir = mkdtempSync(join(tmpdir(), 'surgewatch-topics-embedded-'));
const topicsDir = join(dir, 'topics');
cpSync(resolve('config/topics'), topicsDir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EDITOR = 'embedded-editor-key-0123456789';
const ANALYST = 'embedded-analyst-key-0123456789';
const NEW_TERM = 'moonlit exit plan';

/** A source that never delivers: batches are handed to the pipeline by the test. */
const idle = (): SignalSource => ({ start: async () => {}, close: async () => {}, ping: async () => {} });

function start(semantic = false) {
  const config = loadConfig({
    cwd: resolve('.'),
    env: {
      SURGEWATCH_TOPICS_DIR: topicsDir,
      ...(semantic ? { SURGEWATCH_EMBED_WORKERS: '1' } : { SURGEWATCH_SEMANTIC_MODE: 'off' }),
      SURGEWATCH_API_KEYS: `ed:editor:${EDITOR},an:analyst:${ANALYST}`,
      HTTP_HOST: '127.0.0.1',
    },
  });
  return AppContext.fromConfig(config, { logger: silentLogger, sourceFor: idle });
}

describe('topics in embedded mode (memory channel, topic files)', () => {
  it('writes a change to the topic file, runs it in the pipeline at once, and starts from it next time', async () => {
    const ctx = start();
    try {
      await ctx.start();
      const api = ctx.api!;
      const auth = { authorization: `Bearer ${EDITOR}` };
      const current = (await api.inject({ url: '/v1/topics/self-harm', headers: auth })).json() as { version: number; definition: { terms: unknown[] } };
      expect(current.version).toBe(1);
      const res = await api.inject({ method: 'PUT', url: '/v1/topics/self-harm', headers: auth, payload: { base_version: 1, definition: { ...current.definition, terms: [...current.definition.terms, NEW_TERM] } } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ version: 2, updated_by: 'ed' });

      // The pipeline of this process scores with it without a restart...
      const rt = ctx.runtimes[0]!;
      await waitFor(async () => (rt.lexicon.match({ text: `my ${NEW_TERM}`, hashtags: [] }).some((m) => m.topic === 'self-harm') ? true : undefined), 5000, 'the new list in the pipeline');
      // ...and the file holds it (the watcher reads it back as the same content: no new version).
      const file = parseYaml(readFileSync(join(topicsDir, 'self-harm.yaml'), 'utf8')) as { terms: unknown[] };
      expect(file.terms).toContainEqual(NEW_TERM);
      await new Promise((r) => setTimeout(r, 800));
      expect((await api.inject({ url: '/v1/topics/self-harm/versions', headers: auth })).json().versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    } finally {
      await ctx.close();
    }

    const again = start();
    try {
      await again.start();
      expect(again.runtimes[0]!.lexicon.match({ text: `my ${NEW_TERM}`, hashtags: [] }).map((m) => m.topic)).toContain('self-harm');
    } finally {
      await again.close();
    }
  });

  it('dry-runs against the live lists without changing any count', async () => {
    const ctx = start();
    try {
      await ctx.start();
      const rt = ctx.runtimes[0]!;
      const pipeline = rt.config.id;
      const now = Date.now();
      const signal = (id: string, text: string) => ({ offset: id, value: Buffer.from(JSON.stringify({ id, ts: now, text, surface: 'post', region: 'US', author: `a${id}` })) });
      await ctx.appliers[0]!.handle({ topic: 'signals', partition: 0, records: [signal('1', 'I want to kill myself'), signal('2', 'guaranteed returns, crypto giveaway'), signal('3', 'nice weather')] });
      const totals = await ctx.windows.totals(pipeline);
      expect(totals.hits).toBe(2);
      const series = await ctx.windows.liveSeries(pipeline, 0, 1000);
      const stats = { ...rt.signalStats };

      const res = await ctx.api!.inject({
        method: 'POST',
        url: '/v1/dry-run',
        headers: { authorization: `Bearer ${ANALYST}` },
        payload: { signals: [{ id: '9', ts: now, text: 'I want to kill myself #kms', surface: 'post', region: 'US', author: 'x' }] },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json().results[0].hits.map((h: { topic: string }) => h.topic)).toContain('self-harm');
      expect(res.json().model).toEqual({ loaded: null, reason: 'semantic scoring is off for this pipeline' });

      expect(await ctx.windows.totals(pipeline)).toEqual(totals);
      expect(await ctx.windows.liveSeries(pipeline, 0, 1000)).toEqual(series);
      expect(rt.signalStats).toEqual(stats);
    } finally {
      await ctx.close();
    }
  });

  it('lists the emerging terms counted next to a topic\'s hits, until one is accepted into its list', async () => {
    const ctx = start();
    try {
      await ctx.start();
      const now = Date.now();
      // Four accounts use an unlisted hashtag with a self-harm hit: enough authors for it to be counted.
      const records = [0, 1, 2, 3].map((i) => ({
        offset: String(i),
        value: Buffer.from(JSON.stringify({ id: `e${i}`, ts: now, text: 'I want to kill myself #MoonlitExit', surface: 'post', author: `author-${i}` })),
      }));
      await ctx.appliers[0]!.handle({ topic: 'signals', partition: 0, records });
      const read = async () => (await ctx.api!.inject({ url: '/v1/emerging?minutes=30', headers: { authorization: `Bearer ${ANALYST}` } })).json();
      const before = await read();
      expect(before).toMatchObject({ pipeline: ctx.runtimes[0]!.config.id, terms: [{ topic: 'self-harm', term: '#moonlitexit', listed: false }] });
      expect(before.terms[0].count).toBeGreaterThanOrEqual(1);

      const accepted = await ctx.api!.inject({ method: 'POST', url: '/v1/topics/self-harm/terms', headers: { authorization: `Bearer ${EDITOR}` }, payload: { term: '#moonlitexit', kind: 'hashtag' } });
      expect(accepted.json()).toMatchObject({ added: true });
      await waitFor(async () => ((await read()).terms[0]?.listed ? true : undefined), 5000, 'the term to show as listed');
      expect((await ctx.api!.inject({ url: '/v1/emerging?pipeline=nope', headers: { authorization: `Bearer ${ANALYST}` } })).statusCode).toBe(404);
    } finally {
      await ctx.close();
    }
  });

  it('dry-runs through the model stage of the pipeline as configured (trained heads on the local model)', { timeout: 120_000 }, async () => {
    const ctx = start(true);
    try {
      await ctx.start();
      const res = await ctx.api!.inject({
        method: 'POST',
        url: '/v1/dry-run',
        headers: { authorization: `Bearer ${ANALYST}` },
        payload: { signals: [{ id: 'quiet', ts: Date.now(), text: 'I keep cutting my arms when it gets bad', surface: 'post' }, { id: 'pizza', ts: Date.now(), text: 'best pizza in town, go try it', surface: 'post' }] },
      });
      expect(res.statusCode).toBe(200);
      type Scored = { topic: string; stage: string; probability: number | null; threshold: number | null; matched: string[] };
      const body = res.json() as { model: { loaded: string | null }; results: { signal_id: string; hits: Scored[]; near_misses: Scored[] }[] };
      expect(body.model.loaded).not.toBeNull();
      const [quiet, pizza] = body.results;
      // No listed term in it: only the model stage can score it (a hit or a near miss, with its probability).
      const selfHarm = [...quiet!.hits, ...quiet!.near_misses].find((h) => h.topic === 'self-harm');
      expect(selfHarm, JSON.stringify(quiet)).toMatchObject({ matched: [], threshold: expect.any(Number) });
      expect(['head', 'exemplar']).toContain(selfHarm!.stage);
      expect(selfHarm!.probability).toBeGreaterThan(0.3);
      expect(pizza!.hits).toEqual([]);
      expect([...pizza!.near_misses].filter((h) => h.topic === 'self-harm' && (h.probability ?? 0) > 0.3)).toEqual([]);
    } finally {
      await ctx.close();
    }
  });
});
