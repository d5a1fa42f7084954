import type { PipelineConfig } from '../config/pipeline-schema.js';
import type { TopicDefinition } from '../config/topic-schema.js';
import type { ListChannel } from '../lists/list-channel.js';
import { listSetVersion, type ListSetRef } from '../lists/list-set.js';
import type { DryRunRequest, DryRunResponse, DryRunService } from '../scoring/dry-run.js';
import { explainScore } from '../scoring/explain.js';
import { scoreSignal } from '../scoring/score.js';
import { SemanticScorer } from '../scoring/semantic-scorer.js';
import { silentLogger } from '../shared/logger.js';
import { compilePipelineLists, type PipelineLists, type PipelineRuntime } from './pipeline-runtime.js';

export class UnknownPipelineError extends Error {
  constructor(readonly pipeline: string) {
    super(`unknown pipeline "${pipeline}"`);
    this.name = 'UnknownPipelineError';
  }
}

/**
 * Scores posted signals with a pipeline's own scoring: the compiled lexicon, then its semantic
 * scorer's model stage (exemplars, trained heads) when the model is loaded in this process.
 * Nothing the pipeline counts is touched: no window, no term admission, no statistic. The
 * model stage runs through a scorer of its own (same embedder, heads and settings, no
 * per-second budget), so that a dry run neither spends the stream's budget nor moves its figures.
 */
export class DryRunner implements DryRunService {
  private readonly scorers = new Map<string, SemanticScorer>();
  /** Lists compiled for the set in force, when this process's runtimes do not follow it (API-only processes). */
  private readonly compiled = new Map<string, PipelineLists>();

  constructor(
    private readonly runtimes: readonly PipelineRuntime[],
    private readonly channel: ListChannel,
  ) {}

  pipelines(): string[] {
    return this.runtimes.map((r) => r.config.id);
  }

  private scorer(rt: PipelineRuntime): SemanticScorer | undefined {
    const live = rt.semantic;
    if (!live?.embedder) return undefined;
    let s = this.scorers.get(rt.config.id);
    if (!s) {
      s = new SemanticScorer({ ...rt.config.semantic, maxPerSec: 0 }, live.embedder, silentLogger);
      s.useHeads(live.heads);
      this.scorers.set(rt.config.id, s);
    }
    return s;
  }

  /** The lists in force for a pipeline (undefined: no such pipeline). */
  async listsInForce(pipeline: string): Promise<PipelineLists | undefined> {
    const rt = this.runtimes.find((r) => r.config.id === pipeline);
    return rt && (await this.liveLists(rt)).lists;
  }

  /** The lists in force for a pipeline: the runtime's when it runs them, else compiled here (once per version). */
  private async liveLists(rt: PipelineRuntime): Promise<{ lists: PipelineLists; topics: readonly TopicDefinition[] }> {
    const set = await this.channel.current();
    if (!set || set.version === rt.lists.set.version) return { lists: rt.lists, topics: set?.topics ?? [...rt.lists.topics.values()] };
    const key = `${rt.config.id}\0${set.version}`;
    let lists = this.compiled.get(key);
    if (!lists) {
      lists = await this.indexed(rt, rt.config, set.topics, { version: set.version, revision: set.revision });
      for (const k of this.compiled.keys()) if (k.startsWith(`${rt.config.id}\0`)) this.compiled.delete(k);
      this.compiled.set(key, lists);
    }
    return { lists, topics: set.topics };
  }

  private async indexed(rt: PipelineRuntime, config: PipelineConfig, topics: readonly TopicDefinition[], ref: ListSetRef): Promise<PipelineLists> {
    const lists = compilePipelineLists(config, topics, ref);
    const scorer = this.scorer(rt);
    return scorer ? { ...lists, semantic: await scorer.index(lists.topics.values()) } : lists;
  }

  async run(request: DryRunRequest): Promise<DryRunResponse> {
    const rt = request.pipeline === undefined ? this.runtimes[0] : this.runtimes.find((r) => r.config.id === request.pipeline);
    if (!rt) throw new UnknownPipelineError(request.pipeline ?? '(none configured)');
    const live = await this.liveLists(rt);
    let lists = live.lists;
    const draft = request.draft;
    if (draft) {
      const topics = [...live.topics.filter((t) => t.id !== draft.id), draft];
      // The draft is scored even when the pipeline does not name it yet: that is what is being tried.
      const config: PipelineConfig = rt.config.topics === 'all' || rt.config.topics.includes(draft.id) ? rt.config : { ...rt.config, topics: [...rt.config.topics, draft.id] };
      lists = await this.indexed(rt, config, topics, { version: listSetVersion(topics), revision: 0 });
    }

    const scorer = this.scorer(rt);
    const lexicon = request.signals.map((s) => scoreSignal(lists.lexicon, lists.topics, { text: s.text, hashtags: s.hashtags, lang: s.lang }));
    const scored = scorer ? await scorer.score(request.signals.map((signal, i) => ({ signal, lexicon: lexicon[i]! })), lists.semantic) : { scores: lexicon, failed: false };
    const model = scorer
      ? { loaded: scorer.model ?? null, reason: scored.failed ? (scorer.reason ?? 'the model failed on this batch: scored by the lexicon only') : (rt.semantic?.reason ?? null) }
      : { loaded: null, reason: rt.config.semantic.mode === 'off' ? 'semantic scoring is off for this pipeline' : (rt.semantic?.reason ?? 'the embedding model is not loaded in this process: scored by the lexicon only') };

    return {
      pipeline: rt.config.id,
      listVersion: live.lists.set.version,
      draft: draft?.id ?? null,
      model,
      results: request.signals.map((signal, i) => {
        const explained = scored.scores[i]!.map((s) => explainScore(s, lists.topics.get(s.topic)?.thresholds.lexicon ?? 1));
        return { signalId: signal.id, truncated: signal.truncated, hits: explained.filter((e) => e.hit), nearMisses: explained.filter((e) => !e.hit) };
      }),
    };
  }
}
