import type { PipelineConfig } from '../config/pipeline-schema.js';
import type { TopicDefinition } from '../config/topic-schema.js';
import { topicsOf } from '../config/load.js';
import { createThresholdDetector, type Detector } from '../detect/detector.js';
import { compileLexicon, type Lexicon } from '../scoring/lexicon.js';
import type { WindowLayout } from '../windows/window-store.js';

/** A pipeline with its compiled lists and detector: everything a batch or tick needs. */
export interface PipelineRuntime {
  config: PipelineConfig;
  topics: ReadonlyMap<string, TopicDefinition>;
  lexicon: Lexicon;
  detector: Detector;
  layout: WindowLayout;
}

export function buildPipelineRuntime(config: PipelineConfig, allTopics: readonly TopicDefinition[]): PipelineRuntime {
  const topics = topicsOf(config, allTopics);
  const w = config.windows;
  return {
    config,
    topics: new Map(topics.map((t) => [t.id, t])),
    lexicon: compileLexicon(topics),
    detector: createThresholdDetector(config.detect),
    layout: {
      bucketMs: w.bucketSec * 1000,
      retentionSec: w.retentionSec,
      // Details (authors, terms, samples) are only read for the current window.
      detailTtlSec: Math.max(300, 3 * w.currentSec),
      samplesPerBucket: config.alerts.sampleSize,
    },
  };
}
