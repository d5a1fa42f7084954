import type { ModelSpec } from '../../config/model-schema.js';
import type { Backend } from '../embedder.js';

export type { Backend };

/** Loads a model's backend; each backend's library is imported only when that backend is used. */
export async function loadBackend(spec: ModelSpec, cacheDir: string): Promise<Backend> {
  if (spec.backend === 'use-lite') return (await import('./use-lite.js')).loadUseLite(spec);
  return (await import('./transformers.js')).loadTransformers(spec, cacheDir);
}
