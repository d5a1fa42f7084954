/**
 * Builds and loads the static first stage of a fetched transformer model (see
 * scoring/static-embedder.ts). Built once, after the model is fetched, from the model itself;
 * kept beside it under `<model dir>/static/`, never committed.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { ModelSpec } from '../config/model-schema.js';
import { loadBackend } from '../scoring/backends/backend.js';
import { EmbedderError } from '../scoring/embedder.js';
import { StaticEmbedder, type StaticTable } from '../scoring/static-embedder.js';
import { WordPieceTokenizer } from '../scoring/wordpiece.js';
import type { Logger } from '../shared/logger.js';
import { fitPca, project } from '../training/linalg.js';

export const STATIC_FORMAT = 1;

const staticMetaSchema = z.object({
  format: z.literal(STATIC_FORMAT),
  model: z.string(),
  dim: z.number().int().positive(),
  vocabSize: z.number().int().positive(),
  /** sha256 of the table file, checked on load. */
  tableSha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** sha256 of the ONNX graph and the tokenizer it was distilled from. */
  sourceSha256: z.string(),
  weighting: z.object({ kind: z.literal('sif-zipf'), coefficient: z.number() }),
  explainedVariance: z.number(),
  builtAt: z.string(),
});
export type StaticMeta = z.output<typeof staticMetaSchema>;

export interface StaticBuildOptions {
  /** Width after PCA. */
  dim?: number;
  /** SIF coefficient: a token of Zipf probability p is weighted c / (c + p). */
  sifCoefficient?: number;
  logger?: Logger;
  /** Vocabulary tokens per inference call. */
  batchSize?: number;
}

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

/** Tokens that never occur in text: padding, [unusedN], [CLS], [SEP], [MASK]. */
function isSpecial(piece: string): boolean {
  return /^\[(PAD|CLS|SEP|MASK|unused\d+)\]$/.test(piece) || /^<.*>$/.test(piece);
}

function onnxFile(spec: ModelSpec, dir: string): string {
  return join(dir, 'onnx', spec.dtype === 'q8' ? 'model_quantized.onnx' : 'model.onnx');
}

function sourceDigest(spec: ModelSpec, dir: string): string {
  return sha256(sha256(readFileSync(onnxFile(spec, dir))) + sha256(readFileSync(join(dir, 'tokenizer.json'))));
}

/**
 * Runs every vocabulary token through the model ([CLS] token [SEP], mean-pooled), reduces the
 * vectors with PCA to `dim`, and weights each row by c / (c + p), p the token's Zipf probability
 * from its rank in the vocabulary (BERT vocabularies list word pieces roughly by frequency).
 * Writes `<dir>/static/table.bin` and `static.json` atomically.
 */
export async function buildStaticStage(spec: ModelSpec, dir: string, opts: StaticBuildOptions = {}): Promise<StaticMeta> {
  const dim = opts.dim ?? 256;
  const c = opts.sifCoefficient ?? 1e-3;
  const tokenizerJson = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as { added_tokens?: { content: string }[] };
  const tokenizer = WordPieceTokenizer.fromJson(tokenizerJson);
  const vocabSize = tokenizer.size;
  const pieces: string[] = new Array<string>(vocabSize).fill('');
  for (const [piece, id] of tokenizer.options.vocab) pieces[id] = piece;
  const cls = tokenizer.options.vocab.get('[CLS]');
  const sep = tokenizer.options.vocab.get('[SEP]');
  if (cls === undefined || sep === undefined) throw new EmbedderError(`model "${spec.id}": the tokenizer has no [CLS]/[SEP] tokens; the static stage needs a BERT-style model`);
  const real = pieces.map((p, id) => (p && !isSpecial(p) ? id : -1)).filter((id) => id >= 0);

  const backend = await loadBackend({ ...spec, path: dir }, join(dir, '..'));
  if (!backend.embedIds) throw new EmbedderError(`model "${spec.id}": its backend cannot run token ids, so no static stage can be distilled`);
  if (dim > backend.dim) throw new EmbedderError(`model "${spec.id}": static dim ${dim} exceeds the model's ${backend.dim}`);
  const raw: Float32Array[] = [];
  const batch = opts.batchSize ?? 512;
  const started = performance.now();
  try {
    for (let i = 0; i < real.length; i += batch) {
      const ids = real.slice(i, i + batch);
      raw.push(...(await backend.embedIds(ids.map((id) => [cls, id, sep]))));
      if ((i / batch) % 10 === 0) opts.logger?.info({ model: spec.id, done: i, of: real.length }, 'distilling the static stage');
    }
  } finally {
    await backend.close?.();
  }
  const pca = fitPca(raw, backend.dim, dim);
  const explained = pca.explained.reduce((s, x) => s + x, 0);

  // Zipf probability by rank among the real tokens, in vocabulary order.
  let harmonic = 0;
  for (let r = 0; r < real.length; r++) harmonic += 1 / (r + 2);
  const vectors = new Float32Array(vocabSize * dim);
  real.forEach((id, rank) => {
    const p = 1 / (rank + 2) / harmonic;
    const weight = c / (c + p);
    const v = project(pca, raw[rank]!);
    for (let d = 0; d < dim; d++) vectors[id * dim + d] = v[d]! * weight;
  });

  const bytes = new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength);
  const meta: StaticMeta = {
    format: STATIC_FORMAT,
    model: spec.id,
    dim,
    vocabSize,
    tableSha256: sha256(bytes),
    sourceSha256: sourceDigest(spec, dir),
    weighting: { kind: 'sif-zipf', coefficient: c },
    explainedVariance: Math.round(explained * 1000) / 1000,
    builtAt: new Date().toISOString(),
  };
  const target = join(dir, 'static');
  const tmp = join(dir, `static.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'table.bin'), bytes);
  writeFileSync(join(tmp, 'static.json'), `${JSON.stringify(meta, null, 2)}\n`);
  rmSync(target, { recursive: true, force: true });
  renameSync(tmp, target);
  opts.logger?.info({ model: spec.id, dim, tokens: real.length, explained: meta.explainedVariance, sec: Math.round((performance.now() - started) / 1000) }, 'static stage built');
  return meta;
}

/**
 * Whether a model folder has a static stage built from its current files: missing, stale (the
 * model changed since), corrupt (the table does not match its checksum), or ready.
 */
export function staticStageStatus(spec: ModelSpec, dir: string): 'ready' | 'missing' | 'stale' | 'corrupt' {
  const metaFile = join(dir, 'static', 'static.json');
  const tableFile = join(dir, 'static', 'table.bin');
  if (!existsSync(metaFile) || !existsSync(tableFile)) return 'missing';
  let meta: StaticMeta;
  try {
    meta = staticMetaSchema.parse(JSON.parse(readFileSync(metaFile, 'utf8')));
  } catch {
    return 'corrupt';
  }
  if (meta.model !== spec.id || meta.sourceSha256 !== sourceDigest(spec, dir)) return 'stale';
  return sha256(readFileSync(tableFile)) === meta.tableSha256 ? 'ready' : 'corrupt';
}

/** Loads a model's static stage; throws EmbedderError when it is missing or does not check out. */
export function loadStaticStage(spec: ModelSpec, dir: string, maxTokens?: number): { embedder: StaticEmbedder; meta: StaticMeta } {
  const metaFile = join(dir, 'static', 'static.json');
  const hint = (force = '') => `run "npm run cli -- models fetch ${spec.id}${force}" to build it`;
  if (!existsSync(metaFile)) throw new EmbedderError(`model "${spec.id}": no static stage in ${join(dir, 'static')}; ${hint()}`);
  let meta: StaticMeta;
  try {
    meta = staticMetaSchema.parse(JSON.parse(readFileSync(metaFile, 'utf8')));
  } catch (err) {
    throw new EmbedderError(`model "${spec.id}": ${metaFile} is not a static stage description (${(err as Error).message}); ${hint(' --force')}`);
  }
  const bytes = readFileSync(join(dir, 'static', 'table.bin'));
  if (bytes.length !== meta.vocabSize * meta.dim * 4 || sha256(bytes) !== meta.tableSha256)
    throw new EmbedderError(`model "${spec.id}": the static table does not match its checksum; ${hint(' --force')}`);
  const vectors = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const tokenizer = WordPieceTokenizer.fromJson(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')));
  const table: StaticTable = { model: spec.id, dim: meta.dim, vectors };
  return { embedder: new StaticEmbedder(table, tokenizer, maxTokens), meta };
}
