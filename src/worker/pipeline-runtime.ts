import type { PipelineConfig } from '../config/pipeline-schema.js';
import type { TopicDefinition } from '../config/topic-schema.js';
import { topicsOf } from '../config/load.js';
import { createDetector, type Detector } from '../detect/detector.js';
import { listSetVersion, type ListSetRef } from '../lists/list-set.js';
import { compileLexicon, type Lexicon } from '../scoring/lexicon.js';
import { normalizeHashtag, normalizeText } from '../normalize/text.js';
import { termObject } from '../config/topic-schema.js';
import type { SemanticIndex } from '../scoring/semantic.js';
import type { SemanticScorer } from '../scoring/semantic-scorer.js';
import { SurgewatchError } from '../shared/errors.js';
import type { WindowLayout } from '../windows/window-store.js';
import { DimensionValues } from '../windows/dimension-values.js';
import { TermAdmission } from '../windows/term-admission.js';

/** A pipeline's compiled topic lists: immutable, replaced as a whole on reload. */
export interface PipelineLists {
  /** The list set these were compiled from (revision 0: straight from files, not yet published). */
  readonly set: ListSetRef;
  readonly topics: ReadonlyMap<string, TopicDefinition>;
  readonly lexicon: Lexicon;
  /**
   * Per topic, the matching keys of its listed hashtags and of its terms' words: co-occurring
   * tags and words not in here are emerging-term candidates.
   */
  readonly knownKeys: ReadonlyMap<string, ReadonlySet<string>>;
  /** The topics' exemplar vectors; absent when semantic scoring is off or the model is unavailable. */
  readonly semantic?: SemanticIndex | undefined;
}

/** A pipeline with its compiled lists and detector: everything a batch or tick needs. */
export interface PipelineRuntime {
  config: PipelineConfig;
  /**
   * Swapped in one assignment when new lists arrive. Read it once per unit of work (a batch, a
   * tick), so that the unit runs on one version from start to end.
   */
  lists: PipelineLists;
  /** Shorthands for lists.topics and lists.lexicon at the time of reading. */
  readonly topics: ReadonlyMap<string, TopicDefinition>;
  readonly lexicon: Lexicon;
  detector: Detector;
  layout: WindowLayout;
  /** Bounds the distinct regions and languages counted (the rest count as "other"). */
  dimensionValues: DimensionValues;
  /** Which emerging-term candidates have enough distinct authors to be counted. */
  termAdmission: TermAdmission;
  /** Semantic scoring, attached once the embedding model is up (absent: lexicon only). */
  semantic?: SemanticScorer;
  /** Signals this process accepted, and those without an author id (for /metrics). */
  signalStats: { signals: number; withoutAuthor: number };
}

/** Topic ids a pipeline names that a set of definitions lacks. */
export function missingTopics(config: PipelineConfig, allTopics: readonly TopicDefinition[]): string[] {
  if (config.topics === 'all') return [];
  const have = new Set(allTopics.map((t) => t.id));
  return config.topics.filter((id) => !have.has(id));
}

/** Compiles the lists a pipeline scores out of a whole set of topic definitions. */
export function compilePipelineLists(config: PipelineConfig, allTopics: readonly TopicDefinition[], set?: ListSetRef): PipelineLists {
  const topics = topicsOf(config, allTopics);
  return {
    set: set ?? { version: listSetVersion(allTopics), revision: 0 },
    topics: new Map(topics.map((t) => [t.id, t])),
    lexicon: compileLexicon(topics),
    knownKeys: new Map(
      topics.map((t) => [
        t.id,
        new Set([...t.hashtags.map((h) => normalizeHashtag(h)), ...t.terms.flatMap((e) => normalizeText(termObject(e).term).tokens.map((k) => k.key))]),
      ]),
    ),
  };
}

/** New lists lack a topic that a pipeline names: they are not swapped in. */
export class MissingTopicsError extends SurgewatchError {
  constructor(
    readonly pipeline: string,
    readonly missing: readonly string[],
  ) {
    super('CONFIG_INVALID', `pipeline "${pipeline}" names topic${missing.length === 1 ? '' : 's'} missing from the lists: ${missing.join(', ')}`);
    this.name = 'MissingTopicsError';
  }
}

/**
 * Compiles and swaps in new lists: the next batch or tick uses them, one in progress finishes
 * on the old ones. Throws MissingTopicsError, leaving the runtime as it was, when the pipeline
 * names a topic the set lacks. Returns the lists it replaced.
 */
export function swapLists(runtime: PipelineRuntime, allTopics: readonly TopicDefinition[], set?: ListSetRef): PipelineLists {
  const missing = missingTopics(runtime.config, allTopics);
  if (missing.length > 0) throw new MissingTopicsError(runtime.config.id, missing);
  const previous = runtime.lists;
  runtime.lists = compilePipelineLists(runtime.config, allTopics, set);
  return previous;
}

/** The lists with their exemplars embedded by the pipeline's semantic scorer (as they were without one). */
export async function withExemplars(rt: PipelineRuntime, lists: PipelineLists): Promise<PipelineLists> {
  return rt.semantic ? { ...lists, semantic: await rt.semantic.index(lists.topics.values()) } : lists;
}

export function buildPipelineRuntime(config: PipelineConfig, allTopics: readonly TopicDefinition[]): PipelineRuntime {
  const w = config.windows;
  return {
    config,
    lists: compilePipelineLists(config, allTopics),
    get topics() {
      return this.lists.topics;
    },
    get lexicon() {
      return this.lists.lexicon;
    },
    detector: createDetector(config.detect),
    signalStats: { signals: 0, withoutAuthor: 0 },
    dimensionValues: new DimensionValues(w.maxValuesPerDimension, w.retentionSec * 1000),
    termAdmission: new TermAdmission(w.emergingMinAuthors, w.retentionSec * 1000),
    layout: {
      bucketMs: w.bucketSec * 1000,
      retentionSec: w.retentionSec,
      // Details (authors, terms, samples) are only read for the current windows, the long ones included.
      detailTtlSec: Math.max(300, 3 * w.currentSec, ...config.detect.longWindowsSec.map((sec) => sec + 60)),
      samplesPerBucket: config.alerts.sampleSize,
      sampleTextTtlSec: Math.round(config.alerts.sampleTextTtlHours * 3600),
      dedupSec: w.dedupSec,
      hourlyTtlSec: config.detect.seasonality === 'none' ? 0 : (config.detect.seasonalHistoryDays + 1) * 86_400,
    },
  };
}
