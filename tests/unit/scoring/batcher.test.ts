import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CachingBatcher } from '../../../src/scoring/batcher.js';
import { EmbedderError, embeddingText, LruCache, type Embedder } from '../../../src/scoring/embedder.js';

/** An inner embedder that records the batches it is asked for; vector[0] is the text length. */
function recordingEmbedder(opts: { failOn?: string } = {}) {
  const calls: string[][] = [];
  const inner: Embedder = {
    model: 'recording',
    dim: 2,
    embed: async (texts) => {
      calls.push([...texts]);
      if (opts.failOn && texts.includes(opts.failOn)) throw new EmbedderError('model exploded');
      return texts.map((t) => Float32Array.from([t.length, 1]));
    },
    close: async () => {},
  };
  return { inner, calls };
}

const settings = { batchSize: 4, batchWaitMs: 5, cacheSize: 100, maxChars: 1000 };

describe('embeddingText', () => {
  it('folds the differences re-posts have: case, spacing, invisible characters, links, width', () => {
    const base = embeddingText('I want it all to stop', 1000);
    expect(embeddingText('  I  WANT it all\u200b to stop ', 1000)).toBe(base);
    expect(embeddingText('Ｉ want it all to stop', 1000)).toBe(base);
    expect(embeddingText('look https://t.co/abc123 now', 1000)).toBe(embeddingText('look https://example.org/x?y=1 now', 1000));
  });

  it('cuts long texts at a word boundary and never leaves half a surrogate pair', () => {
    const cut = embeddingText(`${'word '.repeat(100)}end`, 42);
    expect(cut.length).toBeLessThanOrEqual(42);
    expect(cut.endsWith(' ')).toBe(false);
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.integer({ min: 1, max: 50 }), (s, max) => {
        const t = embeddingText(s, max);
        expect(t.length).toBeLessThanOrEqual(max);
        expect(/[\uD800-\uDFFF]/u.test(t)).toBe(false);
      }),
    );
  });
});

describe('LruCache', () => {
  it('evicts the least recently used entry, not the oldest', () => {
    const c = new LruCache<number>(2);
    c.set('a', 1);
    c.set('b', 2);
    expect(c.get('a')).toBe(1);
    c.set('c', 3);
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBe(1);
    expect(c.get('c')).toBe(3);
    expect(c.size).toBe(2);
  });
});

describe('CachingBatcher', () => {
  it('returns one vector per text, in order', async () => {
    const { inner } = recordingEmbedder();
    const b = new CachingBatcher(inner, settings);
    const v = await b.embed(['a', 'bbb', 'cc']);
    expect(v.map((x) => x[0])).toEqual([1, 3, 2]);
  });

  it('groups texts from separate callers into batches of at most batchSize', async () => {
    const { inner, calls } = recordingEmbedder();
    const b = new CachingBatcher(inner, settings);
    await Promise.all([b.embed(['a1', 'a2']), b.embed(['b1', 'b2', 'b3']), b.embed(['c1'])]);
    expect(calls.map((c) => c.length)).toEqual([4, 2]);
    expect(calls.flat().sort()).toEqual(['a1', 'a2', 'b1', 'b2', 'b3', 'c1']);
  });

  it('sends a partial batch once batchWaitMs has passed', async () => {
    const { inner, calls } = recordingEmbedder();
    const b = new CachingBatcher(inner, { ...settings, batchWaitMs: 1 });
    await b.embed(['only one']);
    expect(calls).toEqual([['only one']]);
  });

  it('answers repeats from the cache and joins identical texts in flight', async () => {
    const { inner, calls } = recordingEmbedder();
    const b = new CachingBatcher(inner, settings);
    await Promise.all([b.embed(['viral post', 'VIRAL  post']), b.embed(['viral post'])]);
    await b.embed(['Viral Post', 'new text']);
    expect(calls.flat()).toEqual(['viral post', 'new text']);
    expect(b.stats).toMatchObject({ requested: 5, joined: 2, cacheHits: 1, embedded: 2 });
  });

  it('fails the callers of a failed batch, and embeds the same texts again on the next call', async () => {
    const { inner, calls } = recordingEmbedder({ failOn: 'poison' });
    const b = new CachingBatcher(inner, settings);
    await expect(b.embed(['poison', 'fine'])).rejects.toThrow(/model exploded/);
    expect(b.stats.failures).toBe(1);
    await expect(b.embed(['fine'])).resolves.toHaveLength(1);
    expect(calls).toEqual([['poison', 'fine'], ['fine']]);
  });

  it('with cacheSize 0 keeps nothing', async () => {
    const { inner, calls } = recordingEmbedder();
    const b = new CachingBatcher(inner, { ...settings, cacheSize: 0 });
    await b.embed(['x']);
    await b.embed(['x']);
    expect(calls).toEqual([['x'], ['x']]);
  });
});
