import { resolve } from 'node:path';
import type { ModelSpec } from '../config/model-schema.js';
import type { Logger } from '../shared/logger.js';
import { CachingBatcher } from '../scoring/batcher.js';
import { EmbedderError, type Embedder } from '../scoring/embedder.js';
import { EmbedPool } from '../scoring/embed-pool.js';
import { SemanticScorer } from '../scoring/semantic-scorer.js';
import { withExemplars, type PipelineRuntime } from './pipeline-runtime.js';

export interface SemanticSetupOptions {
  models: ReadonlyMap<string, ModelSpec>;
  /** Worker threads per model (0 = one per core but one). */
  workers: number;
  logger: Logger;
  /** Where transformers.js keeps fetched models. */
  cacheDir?: string;
}

/** The embedders started for a set of pipelines, one per model; close them when done. */
export interface SemanticSetup {
  embedders: Map<string, CachingBatcher>;
  pools: Map<string, EmbedPool>;
  close(): Promise<void>;
}

/**
 * Starts one embedding pool per model the pipelines name and attaches a SemanticScorer to each
 * pipeline whose semantic mode is not off. A model that cannot load stops the start with an
 * EmbedderError, unless every pipeline naming it has `semantic.optional: true`: those run
 * lexicon-only and report themselves degraded.
 */
export async function setupSemantic(runtimes: readonly PipelineRuntime[], opts: SemanticSetupOptions): Promise<SemanticSetup> {
  const embedders = new Map<string, CachingBatcher>();
  const pools = new Map<string, EmbedPool>();
  const failures = new Map<string, string>();
  const setup: SemanticSetup = {
    embedders,
    pools,
    close: async () => {
      await Promise.all([...embedders.values()].map((e) => e.close()));
    },
  };
  const active = runtimes.filter((rt) => rt.config.semantic.mode !== 'off');
  for (const modelId of new Set(active.map((rt) => rt.config.semantic.model))) {
    const users = active.filter((rt) => rt.config.semantic.model === modelId);
    const spec = opts.models.get(modelId);
    try {
      if (!spec) throw new EmbedderError(`unknown model "${modelId}"`);
      const pool = await EmbedPool.start(spec, { workers: opts.workers, cacheDir: opts.cacheDir ?? resolve('models/cache'), logger: opts.logger });
      const s = users[0]!.config.semantic;
      // Pipelines sharing a model share its cache and batches; the largest settings win.
      embedders.set(
        modelId,
        new CachingBatcher(pool, {
          batchSize: Math.max(...users.map((u) => u.config.semantic.batchSize)),
          batchWaitMs: Math.max(...users.map((u) => u.config.semantic.batchWaitMs)),
          cacheSize: Math.max(...users.map((u) => u.config.semantic.cacheSize)),
          maxChars: spec.maxTokens * 8,
        }),
      );
      pools.set(modelId, pool);
      opts.logger.info({ model: modelId, backend: spec.backend, runtime: pool.runtime, workers: pool.size, dim: pool.dim, mode: s.mode }, `embedding model "${modelId}" loaded`);
    } catch (err) {
      const message = (err as Error).message;
      const required = users.filter((u) => !u.config.semantic.optional).map((u) => u.config.id);
      if (required.length > 0) {
        await setup.close();
        throw new EmbedderError(
          `semantic scoring cannot start: ${message}\n(pipeline${required.length === 1 ? '' : 's'} ${required.join(', ')} need${required.length === 1 ? 's' : ''} model "${modelId}"; set semantic.optional: true to run lexicon-only instead, or semantic.mode: off)`,
          { cause: err },
        );
      }
      opts.logger.error({ model: modelId, err: message }, `embedding model "${modelId}" unavailable; running lexicon-only (degraded)`);
      failures.set(modelId, message);
    }
  }
  for (const rt of active) {
    const embedder: Embedder | undefined = embedders.get(rt.config.semantic.model);
    rt.semantic = new SemanticScorer(rt.config.semantic, embedder, opts.logger.child({ component: 'semantic', pipeline: rt.config.id }), failures.get(rt.config.semantic.model));
  }
  return setup;
}

/** Embeds the exemplars of the lists each pipeline runs now (after setupSemantic, before the first batch). */
export async function indexLists(runtimes: readonly PipelineRuntime[]): Promise<void> {
  for (const rt of runtimes) rt.lists = await withExemplars(rt, rt.lists);
}

const label = (v: string) => v.replace(/["\\\n]/g, '_');

/** Prometheus text for semantic scoring: state per pipeline, candidates, cache, batches, queue. */
export function semanticMetrics(runtimes: readonly PipelineRuntime[], setup: SemanticSetup | undefined): string {
  const lines: string[] = [
    '# HELP surgewatch_semantic_up 1 when semantic scoring runs, 0 when degraded to lexicon-only.',
    '# TYPE surgewatch_semantic_up gauge',
  ];
  const counters: string[] = ['# TYPE surgewatch_semantic_candidates_total counter'];
  for (const rt of runtimes) {
    const s = rt.semantic;
    if (!s) continue;
    const p = label(rt.config.id);
    lines.push(`surgewatch_semantic_up{pipeline="${p}",model="${label(s.config.model)}",mode="${s.config.mode}"} ${s.state === 'ok' ? 1 : 0}`);
    for (const [reason, n] of Object.entries(s.stats.candidates)) counters.push(`surgewatch_semantic_candidates_total{pipeline="${p}",reason="${reason}"} ${n}`);
    counters.push(`surgewatch_semantic_skipped_total{pipeline="${p}"} ${s.stats.skipped}`);
    counters.push(`surgewatch_semantic_shed_total{pipeline="${p}"} ${s.stats.shed}`);
    counters.push(`surgewatch_semantic_hits_total{pipeline="${p}"} ${s.stats.semanticHits}`);
    counters.push(`surgewatch_semantic_failed_batches_total{pipeline="${p}"} ${s.stats.failedBatches}`);
  }
  const models: string[] = [];
  for (const [id, e] of setup?.embedders ?? []) {
    const m = `model="${label(id)}"`;
    const st = e.stats;
    models.push(
      `surgewatch_embed_requests_total{${m}} ${st.requested}`,
      `surgewatch_embed_cache_hits_total{${m}} ${st.cacheHits}`,
      `surgewatch_embed_joined_total{${m}} ${st.joined}`,
      `surgewatch_embed_texts_total{${m}} ${st.embedded}`,
      `surgewatch_embed_batches_total{${m}} ${st.batches}`,
      `surgewatch_embed_failures_total{${m}} ${st.failures}`,
      `surgewatch_embed_cache_entries{${m}} ${e.cache.size}`,
      `surgewatch_embed_queued_batches{${m}} ${setup?.pools.get(id)?.queued ?? 0}`,
      `surgewatch_embed_workers{${m}} ${setup?.pools.get(id)?.size ?? 0}`,
    );
  }
  return [...lines, ...counters, ...models].join('\n') + '\n';
}
