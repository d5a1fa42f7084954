import { EmbedderError, embeddingText, LruCache, type Embedder } from './embedder.js';

export interface BatcherOptions {
  /** Texts per call to the inner embedder. */
  batchSize: number;
  /** How long a partial batch waits for more texts. */
  batchWaitMs: number;
  /** Cached vectors (0 = no cache). */
  cacheSize: number;
  /** Texts are cut to this many characters before the model's own token truncation. */
  maxChars: number;
}

export interface BatcherStats {
  requested: number;
  cacheHits: number;
  /** Identical texts already on their way to the model. */
  joined: number;
  embedded: number;
  batches: number;
  failures: number;
}

interface Pending {
  text: string;
  resolve: (v: Float32Array) => void;
  reject: (e: Error) => void;
}

/**
 * Sits in front of the pool: normalizes each text (the cache key), answers repeats from an LRU
 * cache, joins identical texts in flight, and groups the rest into batches by size and time.
 * Callers from many Kafka batches share batches; every call gets its vectors in order.
 */
export class CachingBatcher implements Embedder {
  readonly cache: LruCache<Float32Array>;
  readonly stats: BatcherStats = { requested: 0, cacheHits: 0, joined: 0, embedded: 0, batches: 0, failures: 0 };
  private readonly inflight = new Map<string, Promise<Float32Array>>();
  private waiting: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly inner: Embedder,
    private readonly opts: BatcherOptions,
  ) {
    this.cache = new LruCache(opts.cacheSize);
  }

  get model(): string {
    return this.inner.model;
  }

  get dim(): number {
    return this.inner.dim;
  }

  embed(texts: readonly string[]): Promise<Float32Array[]> {
    return Promise.all(texts.map((t) => this.one(embeddingText(t, this.opts.maxChars))));
  }

  private one(text: string): Promise<Float32Array> {
    this.stats.requested++;
    const cached = this.cache.get(text);
    if (cached) {
      this.stats.cacheHits++;
      return Promise.resolve(cached);
    }
    const flying = this.inflight.get(text);
    if (flying) {
      this.stats.joined++;
      return flying;
    }
    const p = new Promise<Float32Array>((resolve, reject) => this.waiting.push({ text, resolve, reject }));
    this.inflight.set(text, p);
    if (this.waiting.length >= this.opts.batchSize) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.opts.batchWaitMs);
    return p;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.opts.batchSize);
      this.stats.batches++;
      this.inner.embed(batch.map((b) => b.text)).then(
        (vectors) => {
          this.stats.embedded += batch.length;
          batch.forEach((b, i) => {
            this.cache.set(b.text, vectors[i]!);
            this.inflight.delete(b.text);
            b.resolve(vectors[i]!);
          });
        },
        (err: unknown) => {
          this.stats.failures++;
          const e = err instanceof Error ? err : new EmbedderError(String(err));
          for (const b of batch) {
            this.inflight.delete(b.text);
            b.reject(e);
          }
        },
      );
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    const err = new EmbedderError(`model "${this.model}": the embedder is closed`);
    for (const b of this.waiting.splice(0)) b.reject(err);
    this.inflight.clear();
    await this.inner.close();
  }
}
