/**
 * Labelled rows and their vectors, for `train`, `calibrate` and the quality benchmark: reads the
 * file, keeps the data sets asked for, maps labels to topics, and embeds every text with the
 * transformer (through a vector cache beside the model) and with the static first stage.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { AppConfig } from '../config/load.js';
import type { ModelSpec } from '../config/model-schema.js';
import type { TopicDefinition } from '../config/topic-schema.js';
import { loadStaticStage } from '../models/static-stage.js';
import { EmbedPool } from '../scoring/embed-pool.js';
import { EmbedderError } from '../scoring/embedder.js';
import { silentLogger, type Logger } from '../shared/logger.js';
import { BENIGN, labelMap, OFFENSIVE, splitOf } from '../training/labelled.js';
import type { StageVectors, TrainingRow } from '../training/train.js';
import { embedAll, VectorCache } from '../training/vector-cache.js';
import { UsageError, type Io } from './commands.js';
import { badLineReporter, readLabelledFile } from './labelled-file.js';

const datasetsFileSchema = z.strictObject({
  datasets: z.record(
    z.string(),
    z.strictObject({
      source: z.string().optional(),
      licence: z.string().min(1),
      shippable: z.boolean(),
      attribution: z.string().optional(),
      why: z.string().optional(),
    }),
  ),
});
export type DatasetLicences = z.output<typeof datasetsFileSchema>['datasets'];

/** Reads a data set licence file (models/heads/datasets.yaml); throws UsageError listing what is wrong. */
export function readLicences(file: string): DatasetLicences {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`--licences ${file}: ${(err as Error).message}`);
  }
  const parsed = datasetsFileSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(`--licences ${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'file'}: ${i.message}`).join('; ')}`);
  return parsed.data.datasets;
}

export interface RowFilter {
  /** Only these data sets. */
  datasets?: readonly string[];
  excludeDatasets?: readonly string[];
  /** With `shippableOnly`, only data sets this file marks shippable. */
  licences?: DatasetLicences;
  shippableOnly?: boolean;
}

/** Which rows a command reads, as its options name them (`train` and `calibrate` share them). */
export interface DataSelection {
  datasets?: readonly string[];
  excludeDatasets?: readonly string[];
  /** A data set licence file (models/heads/datasets.yaml). */
  licences?: string;
  shippableOnly?: boolean;
}

/** The row filter of a selection, and the licences it read; throws UsageError on a bad combination. */
export function rowFilter(sel: DataSelection): { filter: RowFilter; licences?: DatasetLicences } {
  const licences = sel.licences ? readLicences(sel.licences) : undefined;
  if (sel.shippableOnly && !licences) throw new UsageError('--shippable-only needs --licences <datasets.yaml>');
  const filter: RowFilter = {
    ...(sel.datasets && { datasets: sel.datasets }),
    ...(sel.excludeDatasets && { excludeDatasets: sel.excludeDatasets }),
    ...(licences && { licences }),
    ...(sel.shippableOnly && { shippableOnly: true }),
  };
  return { filter, ...(licences && { licences }) };
}

/** Whether a filter keeps the rows of a data set. */
export function datasetAllowed(filter: RowFilter, dataset: string): boolean {
  if (filter.datasets && !filter.datasets.includes(dataset)) return false;
  if (filter.excludeDatasets?.includes(dataset)) return false;
  if (filter.shippableOnly) return filter.licences?.[dataset]?.shippable === true;
  return true;
}

export interface TrainingData {
  rows: TrainingRow[];
  texts: string[];
  /** Topic id -> the data labels that mean it (configured topics that have rows). */
  topics: Map<string, string[]>;
  /** Rows per data set and label, for the datasheet. */
  counts: Map<string, Map<string, number>>;
  /** Rows left out by the filter, per data set. */
  leftOut: Map<string, number>;
  lines: number;
  bad: number;
}

export interface ReadRowsOptions {
  /**
   * A label that is not "benign", "offensive" or a configured topic's is a bad line
   * (`unknown_label`; a typo, most likely) instead of a negative; `pipeline` names the
   * pipeline in the reason.
   */
  knownLabelsOnly?: { pipeline: string };
}

/** Reads and filters the rows; no embedding yet. */
export async function readTrainingRows(file: string, topics: readonly TopicDefinition[], filter: RowFilter, io: Io, opts: ReadRowsOptions = {}): Promise<TrainingData> {
  const labels = labelMap(topics);
  const known = opts.knownLabelsOnly;
  const labelProblem = known
    ? (label: string) =>
        labels.has(label) || label === BENIGN || label === OFFENSIVE ? undefined : `unknown topic "${label}" (use a topic id or label of pipeline ${known.pipeline}, "${BENIGN}" or "${OFFENSIVE}")`
    : undefined;
  const data = await readLabelledFile(file, badLineReporter(io.stderr), labelProblem);
  const out: TrainingData = { rows: [], texts: [], topics: new Map(), counts: new Map(), leftOut: new Map(), lines: data.lines, bad: data.bad.length };
  for (const row of data.rows) {
    const dataset = row.dataset ?? 'unnamed';
    if (!datasetAllowed(filter, dataset)) {
      out.leftOut.set(dataset, (out.leftOut.get(dataset) ?? 0) + 1);
      continue;
    }
    const topic = labels.get(row.topic);
    out.rows.push({ id: row.id, label: row.topic, topic, dataset, split: splitOf(row.id) });
    out.texts.push(row.text);
    if (topic) {
      const l = out.topics.get(topic) ?? [];
      if (!l.includes(row.topic)) l.push(row.topic);
      out.topics.set(topic, l);
    }
    const byLabel = out.counts.get(dataset) ?? new Map<string, number>();
    byLabel.set(row.topic, (byLabel.get(row.topic) ?? 0) + 1);
    out.counts.set(dataset, byLabel);
  }
  if (out.rows.length === 0) throw new UsageError(`${file}: no labelled rows left after the data set filter`);
  return out;
}

/**
 * The rows of `data` that `filter` keeps, with their vectors: a second selection from rows
 * read and embedded once (the quality benchmark measures all data sets, then the licensed ones).
 */
export function selectTrainingData(data: TrainingData, stages: TrainingStages, filter: RowFilter): { data: TrainingData; stages: TrainingStages } {
  const keep: number[] = [];
  const leftOut = new Map(data.leftOut);
  data.rows.forEach((r, i) => {
    if (datasetAllowed(filter, r.dataset)) keep.push(i);
    else leftOut.set(r.dataset, (leftOut.get(r.dataset) ?? 0) + 1);
  });
  const rows = keep.map((i) => data.rows[i]!);
  const topics = new Map<string, string[]>();
  const counts = new Map<string, Map<string, number>>();
  for (const r of rows) {
    if (r.topic) {
      const l = topics.get(r.topic) ?? [];
      if (!l.includes(r.label)) l.push(r.label);
      topics.set(r.topic, l);
    }
    const byLabel = counts.get(r.dataset) ?? new Map<string, number>();
    byLabel.set(r.label, (byLabel.get(r.label) ?? 0) + 1);
    counts.set(r.dataset, byLabel);
  }
  const pick = (v: StageVectors): StageVectors => {
    const x = new Float32Array(keep.length * v.dim);
    keep.forEach((i, k) => x.set(v.x.subarray(i * v.dim, (i + 1) * v.dim), k * v.dim));
    return { x, dim: v.dim };
  };
  return {
    data: { rows, texts: keep.map((i) => data.texts[i]!), topics, counts, leftOut, lines: data.lines, bad: data.bad },
    stages: { transformer: pick(stages.transformer), ...(stages.static && { static: pick(stages.static) }), modelDim: stages.modelDim },
  };
}

/** The transformer model a command trains or measures heads for: --model, else the pipeline's. */
export function trainingModel(config: AppConfig, modelId: string | undefined, pipelineId: string | undefined): ModelSpec {
  const pipeline = pipelineId ? config.pipelines.find((p) => p.id === pipelineId) : config.pipelines[0];
  if (!pipeline && !modelId) throw new UsageError(`unknown pipeline "${pipelineId}"`);
  const id = modelId ?? pipeline!.semantic.model;
  const spec = config.models.get(id);
  if (!spec) throw new UsageError(`unknown model "${id}" (known: ${[...config.models.keys()].join(', ')})`);
  if (spec.backend !== 'transformers' || !spec.path) throw new UsageError(`model "${id}" is not a local transformers model: heads are trained on a fetched transformers model (see models/README.md)`);
  return spec;
}

/** Vectors of every row for each stage: the transformer stage's heads read `transformer`, the static stage's `static`. */
export interface TrainingStages {
  transformer: StageVectors;
  static?: StageVectors;
  /** The model's own width: the first `modelDim` values of a `transformer` row are its sentence vector. */
  modelDim: number;
}

/** Vectors of every row for both stages (the static one when the model has it). */
export async function embedTrainingRows(
  spec: ModelSpec,
  texts: readonly string[],
  opts: { logger?: Logger; progress?: (done: number, total: number) => void },
): Promise<TrainingStages> {
  // The transformer stage's heads read the transformer's vector followed by the static one.
  const dir = spec.path!;
  let stat: StageVectors | undefined;
  if (spec.static) {
    const { embedder } = loadStaticStage(spec, dir, spec.static.maxTokens);
    const x = new Float32Array(texts.length * embedder.dim);
    const v = new Float32Array(embedder.dim);
    texts.forEach((t, i) => x.set(embedder.embed(t, v), i * embedder.dim));
    stat = { x, dim: embedder.dim };
  }
  let pool: EmbedPool;
  try {
    pool = await EmbedPool.start(spec, { workers: 1, cacheDir: join(dir, '..'), logger: opts.logger ?? silentLogger });
  } catch (err) {
    throw new EmbedderError(`${(err as Error).message} (run "npm run cli -- models fetch ${spec.id}")`, { cause: err });
  }
  try {
    const cache = VectorCache.open(join(dir, 'vectors.bin'), pool.dim);
    const x = await embedAll(pool, texts, cache, { maxChars: spec.maxTokens * 8, ...(opts.progress && { progress: opts.progress }) });
    if (!stat) return { transformer: { x, dim: pool.dim }, modelDim: pool.dim };
    return { transformer: joinVectors({ x, dim: pool.dim }, stat), static: stat, modelDim: pool.dim };
  } finally {
    await pool.close();
  }
}

/** Row by row, a's vector followed by b's. */
export function joinVectors(a: StageVectors, b: StageVectors): StageVectors {
  const n = a.x.length / a.dim;
  const dim = a.dim + b.dim;
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    x.set(a.x.subarray(i * a.dim, (i + 1) * a.dim), i * dim);
    x.set(b.x.subarray(i * b.dim, (i + 1) * b.dim), i * dim + a.dim);
  }
  return { x, dim };
}

/** A progress line on stderr, at most every half second. */
export function progressLine(stderr: NodeJS.WritableStream, what: string): (done: number, total: number) => void {
  let shown = 0;
  return (done, total) => {
    const now = performance.now();
    if (now - shown < 500 && done < total) return;
    shown = now;
    stderr.write(`${what}: ${done.toLocaleString('en')} / ${total.toLocaleString('en')}\n`);
  };
}
