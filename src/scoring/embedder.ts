import { SurgewatchError } from '../shared/errors.js';

/**
 * Turns texts into unit-length sentence vectors. Implementations: a backend running in the
 * calling thread (used inside pool workers and by the naive baseline in the benchmark), the
 * worker_threads pool, and the caching batcher in front of the pool.
 */
export interface Embedder {
  /** The model's id in the manifest. */
  readonly model: string;
  /** Vector width; known once the model has loaded. */
  readonly dim: number;
  /** One unit vector per text, in order. */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/** A loaded model, running in the thread that loaded it. */
export interface Backend {
  readonly dim: number;
  /** Where inference runs, for logs, e.g. "tfjs-wasm" or "onnxruntime-node". */
  readonly runtime: string;
  /** One unit vector per text (texts are already normalized by embeddingText). */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  /** Token id sequences run as given (transformers backend only), for distilling a static table. */
  embedIds?(sequences: readonly (readonly number[])[]): Promise<Float32Array[]>;
  close?(): Promise<void>;
}

/** The model cannot be loaded or run: missing files, corrupt weights, a crashed worker. */
export class EmbedderError extends SurgewatchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MODEL_UNAVAILABLE', message, options);
    this.name = 'EmbedderError';
  }
}

const INVISIBLE = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]/gu;
const URL = /\bhttps?:\/\/\S+/giu;
/** With the u flag only unpaired surrogates match. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/gu;

/**
 * The text a model sees, which is also the cache key: NFKC, no invisible characters, links
 * replaced by a placeholder, whitespace collapsed, lower case, cut to `maxChars` (the backend
 * then truncates to its token limit). Re-posts that differ only in these ways share one entry.
 */
export function embeddingText(text: string, maxChars: number): string {
  let t = text.replace(LONE_SURROGATE, '\uFFFD').normalize('NFKC').replace(INVISIBLE, '').replace(URL, 'link').replace(/\s+/gu, ' ').trim().toLowerCase();
  if (t.length > maxChars) {
    t = t.slice(0, maxChars);
    // Do not end on half a surrogate pair or half a word.
    const space = t.lastIndexOf(' ');
    if (space > maxChars * 0.8) t = t.slice(0, space);
  }
  return t.replace(LONE_SURROGATE, '');
}

/** Scales a vector to unit length in place (a zero vector stays zero). */
export function normalizeVector(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
  if (n > 0) {
    const inv = 1 / Math.sqrt(n);
    for (let i = 0; i < v.length; i++) v[i]! *= inv;
  }
  return v;
}

/** Dot product; the cosine similarity of unit vectors. */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** A least-recently-used map with a fixed capacity (Map keeps insertion order). */
export class LruCache<V> {
  private readonly map = new Map<string, V>();
  hits = 0;
  misses = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  set(key: string, value: V): void {
    if (this.capacity <= 0) return;
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }

  clear(): void {
    this.map.clear();
  }
}
