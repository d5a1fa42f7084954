import type { TopicDefinition } from '../config/topic-schema.js';
import type { Signal } from '../ingest/signal.js';
import type { ExplainedScore } from './explain.js';

/** Signals to score without counting them, against the lists in force or with a draft topic. */
export interface DryRunRequest {
  /** The pipeline whose lists and scoring are used (default: the first configured). */
  pipeline?: string;
  signals: readonly Signal[];
  /** An unsaved definition: replaces the topic of that id (or is added) for this run only. */
  draft?: TopicDefinition;
}

export interface DryRunSignalResult {
  signalId: string;
  truncated: boolean;
  /** Topics hit, strongest first. */
  hits: ExplainedScore[];
  /** Topics that scored without reaching a threshold. */
  nearMisses: ExplainedScore[];
}

export interface DryRunResponse {
  pipeline: string;
  /** The list set version scored against (before the draft). */
  listVersion: string;
  draft: string | null;
  /** The embedding model that scored, or why none did (lexicon only). */
  model: { loaded: string | null; reason: string | null };
  results: DryRunSignalResult[];
}

/** Scores signals as the pipeline does, changing nothing: no count, no statistic, no cache of alerts. */
export interface DryRunService {
  run(request: DryRunRequest): Promise<DryRunResponse>;
  /** Pipeline ids that can be named. */
  pipelines(): string[];
}
