import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { KafkaSignalSource } from '../../src/ingest/kafka-signal-source.js';
import { createLogger } from '../../src/shared/logger.js';
import { createTopic, deleteTopics, produce, testKafka } from '../_util/kafka.js';
import { sample, samples, scrape } from '../_util/metrics.js';
import { servicePipeline } from '../_util/service-config.js';
import { uniqueId, waitFor } from '../_util/services.js';

/**
 * What an operator sees of ingest on /metrics, with the real Kafka and Redis: good and bad records
 * over two partitions are counted exactly, the consumer is up, and once it has drained the topic
 * it is 0 records behind in each partition.
 */
describe('ingest figures on /metrics (Kafka and Redis)', () => {
  const id = uniqueId('met');
  const topic = `${id}-signals`;
  const kafka = testKafka();
  const setup = servicePipeline(id, 'met', [`source: { topic: ${topic} }`, 'topics: [self-harm]', 'windows: { latenessSec: 86400 }', 'detect: { tickSec: 0.5 }']);
  const now = Date.UTC(2026, 10, 21, 12, 0, 0);
  const GOOD = 40;
  const BAD = 6;
  let ctx: AppContext;

  beforeAll(async () => {
    await createTopic(kafka, topic, 2);
    const good = Array.from({ length: GOOD }, (_, i) => ({
      partition: i % 2,
      value: JSON.stringify({ id: `s${i}`, ts: now - 60_000 + i * 100, text: i % 4 ? 'lovely weather' : 'i want to die', surface: 'post', author: `u${i}` }),
    }));
    const bad = Array.from({ length: BAD }, (_, i) => ({ partition: i % 2, value: i % 3 ? `not json ${i}` : JSON.stringify({ id: `b${i}`, surface: 'post' }) }));
    // Bad records between good ones: the partition goes on past them.
    await produce(kafka, topic, [...good.slice(0, GOOD / 2), ...bad, ...good.slice(GOOD / 2)]);
    // A worker-only process, as deployed beside the API: it serves its probes and figures only.
    ctx = await setup.start(now, { SURGEWATCH_ROLE: 'worker' });
  });

  afterAll(async () => {
    await setup.cleanup([topic]);
  });

  it('shows exactly the records processed and dead-lettered, no lag once drained, and the consumer up', async () => {
    const text = await waitFor(
      async () => {
        const t = await scrape(ctx.apiUrl()!);
        const lag = samples(t, 'surgewatch_consumer_lag').filter((s) => s.labels.pipeline === 'met');
        const applied = samples(t, 'surgewatch_consumer_committed_offset').filter((s) => s.labels.pipeline === 'met').reduce((n, s) => n + s.value, 0);
        return applied === GOOD + BAD && lag.length === 2 && lag.every((s) => s.value === 0) ? t : undefined;
      },
      60_000,
      'the consumer to drain both partitions',
    );
    expect(sample(text, 'surgewatch_signals_processed_total', { pipeline: 'met' })).toBe(GOOD);
    const letters = samples(text, 'surgewatch_dead_letters_total').filter((s) => s.labels.pipeline === 'met');
    expect(letters.reduce((n, s) => n + s.value, 0)).toBe(BAD);
    expect(sample(text, 'surgewatch_dead_letters_total', { pipeline: 'met', reason: 'invalid' })).toBe(2);
    expect(sample(text, 'surgewatch_dead_letters_total', { pipeline: 'met', reason: 'not_json' })).toBe(4);
    expect(sample(text, 'surgewatch_signals_dropped_total', { pipeline: 'met', reason: 'late' })).toBe(0);
    expect(sample(text, 'surgewatch_signals_without_author_total', { pipeline: 'met' })).toBe(0);
    for (const partition of ['0', '1']) {
      expect(sample(text, 'surgewatch_consumer_lag', { pipeline: 'met', topic, partition }), `lag of ${partition}`).toBe(0);
      expect(sample(text, 'surgewatch_consumer_committed_offset', { pipeline: 'met', topic, partition }), `offset of ${partition}`).toBe((GOOD + BAD) / 2);
    }
    expect(sample(text, 'surgewatch_consumer_up', { pipeline: 'met', state: 'running' })).toBe(1);
    expect(samples(text, 'surgewatch_consumer_up').filter((s) => s.labels.pipeline === 'met' && s.labels.state !== 'running').map((s) => s.value)).toEqual([0, 0, 0, 0]);
    // The detection tick runs on the context's clock, stopped at `now`.
    await waitFor(async () => ((sample(await scrape(ctx.apiUrl()!), 'surgewatch_last_tick_timestamp_seconds', { pipeline: 'met' }) ?? 0) > 0 ? true : undefined), 30_000, 'a detection tick');
    expect(sample(await scrape(ctx.apiUrl()!), 'surgewatch_last_tick_timestamp_seconds', { pipeline: 'met' })).toBe(now / 1000);
  });

  it('serves only the probes and the figures from a worker-only process', async () => {
    expect((await fetch(`${ctx.apiUrl()!}/readyz`)).status).toBe(200);
    expect((await fetch(`${ctx.apiUrl()!}/healthz`)).status).toBe(200);
    for (const path of ['/v1/alerts', '/openapi.json', '/docs']) expect((await fetch(`${ctx.apiUrl()!}${path}`)).status, path).toBe(404);
  });
});

/** The consumer's lag while it is held up on a batch and records keep arriving. */
describe('consumer lag on Kafka', () => {
  const kafka = testKafka();
  const topic = uniqueId('lag-signals');
  const FIRST = 20;
  const MORE = 7;
  const CHUNK = 5;
  let source: KafkaSignalSource;

  beforeAll(async () => {
    await createTopic(kafka, topic, 1);
    await produce(kafka, topic, Array.from({ length: FIRST }, (_, i) => ({ value: `r${i}` })));
  });

  afterAll(async () => {
    await source?.close();
    await deleteTopics(kafka, [topic]);
  });

  it('counts the records behind the end of the partition, growing while a batch is held up, 0 once drained', async () => {
    source = new KafkaSignalSource(kafka, { topic, groupId: uniqueId('lag-group'), maxRecordsPerChunk: CHUNK, sessionTimeoutMs: 10_000 }, createLogger('silent'));
    let calls = 0;
    let holding!: () => void;
    const held = new Promise<void>((r) => (holding = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    await source.start(async () => {
      if (++calls === 2) {
        holding();
        await released;
      }
    });
    await held;
    // The first chunk is committed; the second is held, as by a store that does not answer.
    expect(await source.positions()).toEqual([{ topic, partition: 0, committedOffset: String(CHUNK), lag: FIRST - CHUNK }]);
    await produce(kafka, topic, Array.from({ length: MORE }, (_, i) => ({ value: `m${i}` })));
    expect(await source.positions()).toEqual([{ topic, partition: 0, committedOffset: String(CHUNK), lag: FIRST + MORE - CHUNK }]);
    release();
    const drained = await waitFor(
      async () => {
        const p = await source.positions();
        return p[0]?.committedOffset === String(FIRST + MORE) ? p : undefined;
      },
      60_000,
      'the backlog to be consumed',
    );
    expect(drained).toEqual([{ topic, partition: 0, committedOffset: String(FIRST + MORE), lag: 0 }]);
  });
});
