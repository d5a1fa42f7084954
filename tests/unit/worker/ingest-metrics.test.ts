import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { AppContext } from '../../../src/context.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { createLogger } from '../../../src/shared/logger.js';
import type { RawRecord } from '../../../src/worker/process-records.js';
import type { SourceBatch } from '../../../src/worker/source.js';
import { sample, scrape } from '../../_util/metrics.js';
import { uniqueId } from '../../_util/services.js';

/**
 * The ingest figures on /metrics in embedded mode: one batch of good and bad records, delivered
 * twice (as a source does after a crash before its commit), is counted once.
 */
describe('ingest figures on /metrics (embedded)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-ingest-metrics-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // The process's counters outlive a context: a pipeline of its own keeps this test's figures apart.
  const pipeline = uniqueId('m');
  writeFileSync(join(dir, `${pipeline}.yaml`), [`id: ${pipeline}`, 'source: { topic: signals }', 'topics: [self-harm]', 'windows: { latenessSec: 60 }'].join('\n'));
  const now = Date.UTC(2026, 10, 21, 12, 0, 0);

  const json = (o: object) => Buffer.from(JSON.stringify(o));
  const values: (Uint8Array | null)[] = [
    json({ id: 'a', ts: now - 10_000, text: 'i want to die', surface: 'post', author: 'u1' }),
    json({ id: 'b', ts: now - 9_000, text: 'lovely weather', surface: 'post', author: 'u2' }),
    json({ id: 'c', ts: now - 8_000, text: 'lovely weather', surface: 'post' }),
    json({ id: 'a', ts: now - 7_000, text: 'i want to die', surface: 'post', author: 'u1' }), // duplicate
    json({ id: 'd', ts: now - 3_600_000, text: 'lovely weather', surface: 'post' }), // late
    Buffer.from('{"id": "no-close"'), // not_json
    json({ id: 'e', ts: now, surface: 'post' }), // invalid: no text nor hashtags
    null, // empty
    json({ id: 'f', ts: now + 3_600_000, text: 'lovely weather', surface: 'post' }), // future
  ];
  const records: RawRecord[] = values.map((value, i) => ({ offset: String(i), value }));

  it('counts processed, dropped and dead-lettered records by reason once, and reports the consumer', async () => {
    const config = loadConfig({
      cwd: resolve('.'),
      env: { SURGEWATCH_PIPELINES_DIR: dir, SURGEWATCH_SEMANTIC_MODE: 'off', SURGEWATCH_ADMIN_KEY_FILE: join(dir, 'admin-key') },
    });
    let delivered!: () => void;
    const done = new Promise<void>((r) => (delivered = r));
    const ctx = AppContext.fromConfig(config, {
      clock: new ManualClock(now),
      logger: createLogger('silent'),
      httpPort: 0,
      watchTopics: false,
      sourceFor: () => ({
        async start(handler: (batch: SourceBatch) => Promise<void>) {
          for (let i = 0; i < 2; i++) await handler({ topic: 'signals', partition: 0, records });
          delivered();
        },
        close: async () => {},
        ping: async () => {},
      }),
    });
    try {
      await ctx.start();
      await done;
      const text = await scrape(ctx.apiUrl()!);
      expect(sample(text, 'surgewatch_signals_processed_total', { pipeline })).toBe(3);
      expect(sample(text, 'surgewatch_signals_without_author_total', { pipeline })).toBe(1);
      expect(sample(text, 'surgewatch_signals_dropped_total', { pipeline, reason: 'duplicate' })).toBe(1);
      expect(sample(text, 'surgewatch_signals_dropped_total', { pipeline, reason: 'late' })).toBe(1);
      for (const reason of ['not_json', 'invalid', 'empty', 'future']) expect(sample(text, 'surgewatch_dead_letters_total', { pipeline, reason }), reason).toBe(1);
      expect(sample(text, 'surgewatch_dead_letters_total', { pipeline, reason: 'oversize' })).toBeUndefined();
      expect(sample(text, 'surgewatch_consumer_up', { pipeline, state: 'running' })).toBe(1);
      expect(sample(text, 'surgewatch_consumer_up', { pipeline, state: 'failed' })).toBe(0);
    } finally {
      await ctx.close();
    }
  });
});
