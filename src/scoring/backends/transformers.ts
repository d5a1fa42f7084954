/**
 * Hugging Face sentence-embedding models in the ONNX layout, through transformers.js. The only
 * module that imports @huggingface/transformers.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AutoModel, AutoTokenizer, env, Tensor, type PreTrainedModel, type PreTrainedTokenizer } from '@huggingface/transformers';
import { onnxFileOf, type ModelSpec } from '../../config/model-schema.js';
import { EmbedderError, normalizeVector, type Backend } from '../embedder.js';

export async function loadTransformers(spec: ModelSpec, cacheDir: string): Promise<Backend> {
  env.allowRemoteModels = spec.allowRemote;
  env.cacheDir = cacheDir;
  let id: string;
  if (spec.path && existsSync(spec.path)) {
    // An absolute folder is read as is (the id doubles as transformers.js's per-process cache key).
    id = spec.path;
    env.allowLocalModels = true;
    const onnx = join(spec.path, onnxFileOf(spec));
    if (!existsSync(onnx)) throw new EmbedderError(`model "${spec.id}": ${onnx} is missing (dtype ${spec.dtype})`);
  } else if (spec.hubId && spec.allowRemote) {
    id = spec.hubId;
  } else {
    const where = spec.path ? `folder ${spec.path} does not exist` : 'no local path is set';
    throw new EmbedderError(
      `model "${spec.id}": ${where}${spec.hubId ? `, and fetching ${spec.hubId} from the hub is off (allowRemote: false)` : ''}. Put the model in the Hugging Face ONNX layout at its path (see models/README.md).`,
    );
  }

  let tokenizer: PreTrainedTokenizer;
  let model: PreTrainedModel;
  try {
    tokenizer = await AutoTokenizer.from_pretrained(id);
    model = await AutoModel.from_pretrained(id, { dtype: spec.dtype });
  } catch (err) {
    throw new EmbedderError(`model "${spec.id}" cannot load from ${id}: ${(err as Error).message}`, { cause: err });
  }
  const maxLength = Math.min(spec.maxTokens, tokenizer.model_max_length ?? spec.maxTokens);

  async function embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const inputs = tokenizer(texts.map((t) => spec.prefix + t), { padding: true, truncation: true, max_length: maxLength });
    return pool(inputs as Record<string, Tensor>);
  }

  /** Runs the model on tokenized inputs and pools each row into one unit vector. */
  async function pool(inputs: Record<string, Tensor>): Promise<Float32Array[]> {
    const { last_hidden_state: hidden } = (await model(inputs)) as { last_hidden_state?: Tensor };
    if (!hidden) throw new EmbedderError(`model "${spec.id}" has no last_hidden_state output`);
    const [batch, seq, width] = hidden.dims as [number, number, number];
    const states = hidden.data as Float32Array;
    const mask = (inputs.attention_mask as Tensor).data as BigInt64Array;
    const vectors: Float32Array[] = [];
    for (let b = 0; b < batch; b++) {
      const v = new Float32Array(width);
      if (spec.pooling === 'cls') v.set(states.subarray(b * seq * width, b * seq * width + width));
      else {
        // Mean over the real tokens only: padding must not pull short texts towards zero.
        let n = 0;
        for (let t = 0; t < seq; t++) {
          if (mask[b * seq + t] === 0n) continue;
          n++;
          const row = (b * seq + t) * width;
          for (let d = 0; d < width; d++) v[d]! += states[row + d]!;
        }
        if (n > 0) for (let d = 0; d < width; d++) v[d]! /= n;
      }
      vectors.push(normalizeVector(v));
    }
    hidden.dispose();
    return vectors;
  }
  /**
   * Sequences of token ids, each run as given (no special tokens are added), padded to the
   * longest. The static first stage is distilled from these: one vocabulary token at a time.
   */
  async function embedIds(sequences: readonly (readonly number[])[]): Promise<Float32Array[]> {
    if (sequences.length === 0) return [];
    const width = Math.max(...sequences.map((s) => s.length));
    const ids = new BigInt64Array(sequences.length * width);
    const mask = new BigInt64Array(sequences.length * width);
    sequences.forEach((s, b) =>
      s.forEach((id, t) => {
        ids[b * width + t] = BigInt(id);
        mask[b * width + t] = 1n;
      }),
    );
    const dims = [sequences.length, width];
    return pool({ input_ids: new Tensor('int64', ids, dims), attention_mask: new Tensor('int64', mask, dims), token_type_ids: new Tensor('int64', new BigInt64Array(ids.length), dims) });
  }

  // The width is known only from an output.
  const dim = (await embed(['dimension probe']))[0]!.length;
  return { dim, embed, embedIds, runtime: 'onnxruntime-node', close: async () => void (await model.dispose()) };
}
