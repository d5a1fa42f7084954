import { pipelineSchema, type PipelineInput } from '../../src/config/pipeline-schema.js';
import { topicDefinitionSchema, type TopicDefinitionInput } from '../../src/config/topic-schema.js';
import { buildPipelineRuntime, type PipelineRuntime } from '../../src/worker/pipeline-runtime.js';

export const testTopics = [
  topicDefinitionSchema.parse({
    id: 'self-harm',
    name: 'Self-harm',
    severity: 'critical',
    terms: ['kill myself', 'want to die', { term: 'goodbye forever', weight: 0.5 }],
    hashtags: ['wanttodie'],
  } satisfies TopicDefinitionInput),
  topicDefinitionSchema.parse({
    id: 'scams-fraud',
    name: 'Scams',
    severity: 'medium',
    terms: ['guaranteed returns', 'crypto giveaway'],
  } satisfies TopicDefinitionInput),
];

export function testRuntime(overrides: Partial<PipelineInput> = {}): PipelineRuntime {
  return buildPipelineRuntime(pipelineSchema.parse({ id: 'test', ...overrides }), testTopics);
}
