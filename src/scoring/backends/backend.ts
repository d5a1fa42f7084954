import type { ModelSpec } from '../../config/model-schema.js';

/** A loaded model, running in the thread that loaded it. */
export interface Backend {
  readonly dim: number;
  /** Where inference runs, for logs and /readyz, e.g. "tfjs-wasm" or "onnxruntime-node". */
  readonly runtime: string;
  /** One unit vector per text (texts are already normalized by embeddingText). */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  close?(): Promise<void>;
}

/** Loads a model's backend; each backend's library is imported only when that backend is used. */
export async function loadBackend(spec: ModelSpec, cacheDir: string): Promise<Backend> {
  if (spec.backend === 'use-lite') return (await import('./use-lite.js')).loadUseLite(spec);
  return (await import('./transformers.js')).loadTransformers(spec, cacheDir);
}
