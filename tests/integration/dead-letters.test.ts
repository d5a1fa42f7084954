import { randomBytes } from 'node:crypto';
import { CompressionTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { signalLimits } from '../../src/ingest/signal.js';
import { consumeN, createTopic, produce, testKafka, type Received } from '../_util/kafka.js';
import { servicePipeline } from '../_util/service-config.js';
import { uniqueId, waitFor } from '../_util/services.js';

/**
 * Poison records on a real broker: records the broker took (compressed) but that are too big for
 * the dead-letter topic as they are. Each lands there, with its key, headers and the reason, and
 * the partition moves on to count every valid record after it.
 */
describe('dead letters on Kafka', () => {
  const id = uniqueId('dlq');
  const signalsTopic = `${id}-signals`;
  const dlqTopic = `${id}-dlq`;
  const kafka = testKafka();
  const setup = servicePipeline(id, 'dlq', [`source: { topic: ${signalsTopic} }`, 'topics: [self-harm]', 'windows: { bucketSec: 10, retentionSec: 7200, latenessSec: 86400 }'], {
    SURGEWATCH_ROLE: 'worker',
  });
  const now = Date.UTC(2026, 10, 21, 12, 0, 0);
  const DLQ_MAX_BYTES = 200_000;
  let ctx: AppContext;

  const valid = (i: number) => ({
    key: `k${i}`,
    value: JSON.stringify({ id: `s${i}`, ts: now - 60_000 + i * 100, text: i % 2 ? 'i want to die' : 'lovely weather', surface: 'post' }),
  });
  // 5 MB of JSON: the broker takes it gzip-compressed, surgewatch finds it oversize.
  const huge = Buffer.from(JSON.stringify({ id: 'huge', ts: now, text: 'a'.repeat(5 * 1024 * 1024), surface: 'post' }));
  // Random bytes do not compress: more than the dead-letter topic takes however it is sent.
  const noise = randomBytes(600_000);
  const VALID = 100;

  beforeAll(async () => {
    // One partition: a stuck record would hold up every record after it.
    await createTopic(kafka, signalsTopic, 1);
    await createTopic(kafka, dlqTopic, 1, { 'max.message.bytes': String(DLQ_MAX_BYTES) });
    await produce(
      kafka,
      signalsTopic,
      [
        ...Array.from({ length: VALID / 2 }, (_, i) => valid(i)),
        { key: 'huge-key', value: huge, headers: { 'trace-id': 'trace-huge' } },
        { key: 'noise-key', value: noise, headers: { 'trace-id': 'trace-noise' } },
        { key: 'bad-key', value: '{"id": "no-close"', headers: { 'trace-id': 'trace-bad', 'x-surgewatch-reason': 'spoofed by the producer' } },
        // Headers that alone would crowd out the reason on the dead-letter topic.
        { key: 'fat-headers', value: 'not json', headers: { blob: 'h'.repeat(DLQ_MAX_BYTES * 0.75) } },
        ...Array.from({ length: VALID / 2 }, (_, i) => valid(VALID / 2 + i)),
      ],
      { compression: CompressionTypes.GZIP },
    );
    ctx = await setup.start(now);
  });

  afterAll(async () => {
    await setup.cleanup([signalsTopic]);
  });

  it('moves past oversized records: every valid record after them is counted', async () => {
    const totals = await waitFor(
      async () => {
        const t = await ctx.windows.totals('dlq');
        return (t.signals ?? 0) + (t.dead_letters ?? 0) >= VALID + 4 ? t : undefined;
      },
      60_000,
      'every record to be applied or dead-lettered',
    );
    expect(totals.signals).toBe(VALID);
    expect(totals.hits).toBe(VALID / 2);
    expect(totals.dead_letters).toBe(4);
  });

  describe('what lands on the dead-letter topic', () => {
    let letters: Map<string, Received>;
    beforeAll(async () => {
      const got = await consumeN(kafka, dlqTopic, 4, 60_000);
      letters = new Map(got.map((l) => [l.key ?? '(none)', l]));
    });

    it('keeps each record\'s key and headers, with the reason and origin added', () => {
      expect([...letters.keys()].sort()).toEqual(['bad-key', 'fat-headers', 'huge-key', 'noise-key']);
      const bad = letters.get('bad-key')!;
      expect(bad.value!.toString()).toBe('{"id": "no-close"');
      expect(bad.headers['trace-id']).toBe('trace-bad');
      expect(bad.headers['x-surgewatch-code']).toBe('not_json');
      expect(bad.headers['x-surgewatch-reason']).toMatch(/not JSON/);
      expect(bad.headers['x-surgewatch-source-topic']).toBe(signalsTopic);
      expect(bad.headers['x-surgewatch-source-offset']).toBe(String(VALID / 2 + 2));
      expect(letters.get('huge-key')!.headers['trace-id']).toBe('trace-huge');
      expect(letters.get('noise-key')!.headers['trace-id']).toBe('trace-noise');
      expect(bad.headers['x-surgewatch-dropped']).toBeUndefined();
    });

    it('drops headers that would crowd out the reason, and says so', () => {
      const letter = letters.get('fat-headers')!;
      expect(letter.value!.toString()).toBe('not json');
      expect(letter.headers.blob).toBeUndefined();
      expect(letter.headers['x-surgewatch-dropped']).toBe('headers');
      expect(letter.headers['x-surgewatch-code']).toBe('not_json');
    });

    it('sends a large record whole when it fits compressed', () => {
      const letter = letters.get('huge-key')!;
      expect(letter.headers['x-surgewatch-code']).toBe('oversize');
      expect(letter.headers['x-surgewatch-reason']).toContain(`over the ${signalLimits.maxRecordBytes}-byte limit`);
      expect(letter.headers['x-surgewatch-original-bytes']).toBe(String(huge.length));
      expect(letter.headers['x-surgewatch-truncated']).toBeUndefined();
      expect(letter.value!.equals(huge)).toBe(true);
    });

    it('cuts a record that does not fit even compressed, and says so', () => {
      const letter = letters.get('noise-key')!;
      expect(letter.headers['x-surgewatch-code']).toBe('oversize');
      expect(letter.headers['x-surgewatch-original-bytes']).toBe(String(noise.length));
      expect(letter.headers['x-surgewatch-truncated']).toBe('true');
      expect(letter.value!.length).toBeLessThan(DLQ_MAX_BYTES);
      expect(letter.value!.length).toBeGreaterThan(DLQ_MAX_BYTES / 2);
      expect(letter.value!.equals(noise.subarray(0, letter.value!.length))).toBe(true);
    });
  });
});
