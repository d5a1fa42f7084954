/**
 * Sentence vectors of labelled texts, kept on disk beside the model (`<model dir>/vectors.bin`),
 * so that training, calibrating and benchmarking on the same data embed each text once. Records
 * are appended: a 20-byte key (sha1 of what the model sees) then `dim` float32 values. A torn
 * last record (a crash while appending) is ignored.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { Embedder } from '../scoring/embedder.js';
import { embeddingText } from '../scoring/embedder.js';

const KEY_BYTES = 20;

export class VectorCache {
  private readonly map = new Map<string, Float32Array>();

  private constructor(
    readonly file: string | undefined,
    readonly dim: number,
  ) {}

  /** Opens (or starts) the cache file; undefined file = in memory only. */
  static open(file: string | undefined, dim: number): VectorCache {
    const cache = new VectorCache(file, dim);
    if (file && existsSync(file)) {
      const bytes = readFileSync(file);
      const record = KEY_BYTES + dim * 4;
      for (let at = 0; at + record <= bytes.length; at += record) {
        const key = bytes.subarray(at, at + KEY_BYTES).toString('hex');
        const v = new Float32Array(dim);
        new Uint8Array(v.buffer).set(bytes.subarray(at + KEY_BYTES, at + record));
        cache.map.set(key, v);
      }
    }
    return cache;
  }

  get size(): number {
    return this.map.size;
  }

  static key(model: string, text: string): string {
    return createHash('sha1').update(model).update('\0').update(text).digest('hex');
  }

  get(key: string): Float32Array | undefined {
    return this.map.get(key);
  }

  /** Adds vectors and appends them to the file in one write. */
  add(entries: readonly [string, Float32Array][]): void {
    const fresh = entries.filter(([k]) => !this.map.has(k));
    if (fresh.length === 0) return;
    for (const [k, v] of fresh) this.map.set(k, v);
    if (!this.file) return;
    const record = KEY_BYTES + this.dim * 4;
    const out = Buffer.alloc(fresh.length * record);
    fresh.forEach(([k, v], i) => {
      Buffer.from(k, 'hex').copy(out, i * record);
      Buffer.from(v.buffer, v.byteOffset, v.byteLength).copy(out, i * record + KEY_BYTES);
    });
    appendFileSync(this.file, out);
  }
}

/**
 * The transformer vectors of many texts, in order, as one flat array (n x dim): cached ones
 * from the cache, the rest embedded in batches (shortest first, so batches pad little) and
 * added to it. `progress` is told how many are done.
 */
export async function embedAll(
  embedder: Embedder,
  texts: readonly string[],
  cache: VectorCache,
  opts: { maxChars: number; batchSize?: number; progress?: (done: number, total: number) => void },
): Promise<Float32Array> {
  const dim = embedder.dim;
  const out = new Float32Array(texts.length * dim);
  const seen = texts.map((t) => embeddingText(t, opts.maxChars));
  const keys = seen.map((t) => VectorCache.key(embedder.model, t));
  const missing = new Map<string, { text: string; rows: number[] }>();
  keys.forEach((k, i) => {
    const v = cache.get(k);
    if (v) out.set(v, i * dim);
    else {
      const m = missing.get(k);
      if (m) m.rows.push(i);
      else missing.set(k, { text: seen[i]!, rows: [i] });
    }
  });
  const todo = [...missing.entries()].sort((a, b) => a[1].text.length - b[1].text.length);
  const batch = opts.batchSize ?? 32;
  let done = texts.length - [...missing.values()].reduce((n, m) => n + m.rows.length, 0);
  for (let i = 0; i < todo.length; i += batch) {
    const part = todo.slice(i, i + batch);
    const vectors = await embedder.embed(part.map(([, m]) => m.text));
    cache.add(part.map(([k], j) => [k, vectors[j]!]));
    part.forEach(([, m], j) => {
      for (const row of m.rows) out.set(vectors[j]!, row * dim);
      done += m.rows.length;
    });
    opts.progress?.(done, texts.length);
  }
  return out;
}
