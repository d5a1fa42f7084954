import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { Signal } from '../../../src/ingest/signal.js';
import { processRecords, seriesFor, type ProcessOptions, type RawRecord } from '../../../src/worker/process-records.js';
import { testRuntime } from '../../_util/fixtures.js';
import type { CountedSignal } from '../../../src/windows/window-store.js';

/** The counted hits of a batch (the traffic series' entries left out). */
const hitsOf = (out: { signals: CountedSignal[] }) => out.signals.filter((s) => !s.countOnly);

const T0 = Date.UTC(2026, 4, 1, 12, 0, 3);
const KEY = 'unit-test-author-hash-key';

let offset = 0;
const raw = (value: Uint8Array | null): RawRecord => ({ offset: String(offset++), value });
const sig = (fields: Record<string, unknown>): RawRecord =>
  raw(Buffer.from(JSON.stringify({ id: `id-${offset}`, ts: T0, text: 'nothing to see', surface: 'post', ...fields })));

const opts = (overrides: Partial<ProcessOptions> = {}): ProcessOptions => ({
  authorHashKey: KEY,
  watermark: { maxEventMs: -Infinity },
  ...overrides,
});

describe('processRecords: bad records', () => {
  const good = [
    sig({ id: 'hit', text: 'I want to kill myself' }),
    sig({ id: 'clean', text: 'lovely weather' }),
    sig({ id: 'tag-only', text: '', hashtags: ['#WantToDie'] }),
  ];
  const bad = [
    { record: raw(null), code: 'empty', reason: /no value/ },
    { record: raw(Buffer.from([0xff, 0xfe, 0x7b])), code: 'not_utf8', reason: /UTF-8/ },
    { record: raw(Buffer.from('{"id": "x", ')), code: 'not_json', reason: /not JSON/ },
    { record: raw(Buffer.from('[1,2]')), code: 'invalid', reason: /JSON object/ },
    { record: sig({ id: undefined }), code: 'invalid', reason: /(^|; )id:/ },
    { record: sig({ ts: 1_700_000_000 }), code: 'invalid', reason: /(^|; )ts:/ },
    { record: sig({ surface: 'tweet', text: 'kill myself' }), code: 'invalid', reason: /(^|; )surface:/ },
    { record: sig({ text: 'x'.repeat(300 * 1024) }), code: 'oversize', reason: /byte limit/ },
  ];
  const batch = [good[0]!, bad[0]!.record, bad[1]!.record, good[1]!, ...bad.slice(2).map((b) => b.record), good[2]!];

  it('dead-letters each bad record with its code and reason, and counts every good one', async () => {
    const out = await processRecords(batch, testRuntime(), opts());

    expect(out.deadLetters.map((d) => d.record.offset)).toEqual(bad.map((b) => b.record.offset));
    out.deadLetters.forEach((d, i) => {
      expect(d.code).toBe(bad[i]!.code);
      expect(d.reason).toMatch(bad[i]!.reason);
      // The record is passed on untouched, for the dead-letter topic.
      expect(d.record).toBe(bad[i]!.record);
    });
    expect(out.totals).toMatchObject({ signals: 3, hits: 2, dead_letters: bad.length, late: 0, duplicates: 0 });
    expect(hitsOf(out).map((s) => s.id)).toEqual(['hit', 'tag-only']);
  });

  it('completes the batch in any order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray(batch, { minLength: batch.length }), async (shuffled) => {
        const out = await processRecords(shuffled, testRuntime(), opts());
        expect(out.totals).toMatchObject({ signals: 3, hits: 2, dead_letters: bad.length });
        expect(hitsOf(out).map((s) => s.id).sort()).toEqual(['hit', 'tag-only']);
      }),
    );
  });

  it('never throws, whatever the bytes', async () => {
    const runtime = testRuntime();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')))), async (values) => {
        const out = await processRecords(values.map((v) => raw(v)), runtime, opts({ nowMs: T0 }));
        expect(out.deadLetters.length + out.totals.signals! + out.totals.late! + out.totals.duplicates!).toBe(values.length);
      }),
    );
  });

  it('dead-letters a signal stamped more than 10 min in the future when nowMs is given', async () => {
    const records = [
      sig({ id: 'future', ts: T0 + 10 * 60_000 + 1, text: 'kill myself' }),
      sig({ id: 'soon', ts: T0 + 9 * 60_000, text: 'kill myself' }),
    ];
    const out = await processRecords(records, testRuntime(), opts({ nowMs: T0 }));
    expect(out.deadLetters).toHaveLength(1);
    expect(out.deadLetters[0]).toMatchObject({ code: 'future', record: records[0] });
    expect(out.deadLetters[0]!.reason).toMatch(/future/);
    expect(hitsOf(out).map((s) => s.id)).toEqual(['soon']);
    expect(out.totals).toMatchObject({ signals: 1, dead_letters: 1 });
  });

  it('does not check future times when nowMs is not given (replays)', async () => {
    const out = await processRecords([sig({ ts: T0 + 86_400_000, text: 'kill myself' })], testRuntime(), opts());
    expect(out.deadLetters).toEqual([]);
    expect(out.totals.signals).toBe(1);
  });
});

describe('processRecords: counting', () => {
  it('counts a duplicate id within a batch once', async () => {
    const records = [
      sig({ id: 'dup', text: 'kill myself' }),
      sig({ id: 'other', text: 'kill myself' }),
      sig({ id: 'dup', text: 'kill myself, again' }),
      sig({ id: 'dup', text: 'lovely weather' }),
    ];
    const out = await processRecords(records, testRuntime(), opts());
    expect(hitsOf(out).map((s) => s.id)).toEqual(['dup', 'other']);
    expect(out.totals).toMatchObject({ signals: 2, hits: 2, duplicates: 2 });
  });

  it('counts a signal older than watermark - latenessSec as late, not as a signal', async () => {
    const runtime = testRuntime({ windows: { latenessSec: 600 } });
    const watermark = { maxEventMs: T0 };
    const records = [
      sig({ id: 'late', ts: T0 - 600_000 - 1, text: 'kill myself' }),
      sig({ id: 'just-in-time', ts: T0 - 600_000, text: 'kill myself' }),
    ];
    const out = await processRecords(records, runtime, opts({ watermark }));
    expect(out.totals).toMatchObject({ signals: 1, late: 1, hits: 1 });
    expect(hitsOf(out).map((s) => s.id)).toEqual(['just-in-time']);
    expect(out.deadLetters).toEqual([]);
    expect(watermark.maxEventMs).toBe(T0);
  });

  it('advances the watermark within a batch and across batches', async () => {
    const runtime = testRuntime({ windows: { latenessSec: 60 } });
    const watermark = { maxEventMs: -Infinity };
    const first = await processRecords(
      [sig({ id: 'new', ts: T0, text: 'kill myself' }), sig({ id: 'old', ts: T0 - 61_000, text: 'kill myself' })],
      runtime,
      opts({ watermark }),
    );
    expect(first.totals).toMatchObject({ signals: 1, late: 1 });
    expect(watermark.maxEventMs).toBe(T0);
    const second = await processRecords([sig({ id: 'older', ts: T0 - 120_000, text: 'kill myself' })], runtime, opts({ watermark }));
    expect(second.totals).toMatchObject({ signals: 0, late: 1 });
  });

  it('buckets a hit by event time and lists the series, terms and author hash', async () => {
    const out = await processRecords(
      [sig({ id: 'a', ts: T0, text: 'goodbye forever, I want to die', region: 'us-tx', lang: 'en-GB', hashtags: ['wanttodie'], author: 'alice' })],
      testRuntime(),
      opts(),
    );
    expect(hitsOf(out)).toHaveLength(1);
    const [s] = hitsOf(out);
    expect(s!.bucketMs).toBe(Date.UTC(2026, 4, 1, 12, 0, 0));
    expect(s!.series).toEqual([
      'self-harm',
      'self-harm|region=US-TX',
      'self-harm|region=US',
      'self-harm|surface=post',
      'self-harm|lang=en',
    ]);
    expect([...s!.terms].sort()).toEqual(['#wanttodie', 'goodbye forever', 'want to die']);
    expect(s!.authorHash).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('counts only the dimensions the pipeline names', async () => {
    const out = await processRecords([sig({ text: 'kill myself', region: 'US-TX', lang: 'en' })], testRuntime({ windows: { dimensions: ['surface'] } }), opts());
    expect(hitsOf(out)[0]!.series).toEqual(['self-harm', 'self-harm|surface=post']);
  });

  it('emits one counted entry per topic hit, and counts the signal as one hit', async () => {
    const out = await processRecords([sig({ id: 'both', text: 'crypto giveaway, guaranteed returns, or I kill myself' })], testRuntime(), opts());
    expect(hitsOf(out).map((s) => s.series[0]).sort()).toEqual(['scams-fraud', 'self-harm']);
    expect(out.totals).toMatchObject({ signals: 1, hits: 1 });
  });

  it('does not count a signal below the topic threshold as a hit', async () => {
    const out = await processRecords([sig({ text: 'goodbye forever' })], testRuntime(), opts());
    expect(hitsOf(out)).toEqual([]);
    expect(out.totals).toMatchObject({ signals: 1, hits: 0 });
  });

  it('counts truncated signals', async () => {
    const out = await processRecords([sig({ text: 'kill myself '.repeat(1_000) })], testRuntime(), opts());
    expect(out.totals).toMatchObject({ signals: 1, hits: 1, truncated: 1 });
  });
});

describe('processRecords: author privacy', () => {
  const author = 'raw-author-7f3c9e@example.org';

  it('never outputs a raw author id', async () => {
    const records = [
      sig({ id: 'a1', text: 'kill myself', author }),
      sig({ id: 'a2', text: 'crypto giveaway guaranteed returns', author, region: 'US-CA' }),
      sig({ id: 'a3', text: 'lovely weather', author }),
    ];
    const out = await processRecords(records, testRuntime(), opts());
    expect(hitsOf(out).length).toBeGreaterThan(0);
    expect(JSON.stringify(out)).not.toContain(author);
    expect(JSON.stringify(out)).not.toContain('7f3c9e');
    for (const s of hitsOf(out)) expect(s.authorHash).toBeDefined();
  });

  it('hashes the same author to the same value under one key, and differently under another key', async () => {
    const run = async (key: string, who: string) =>
      hitsOf(await processRecords([sig({ text: 'kill myself', author: who })], testRuntime(), opts({ authorHashKey: key })))[0]!.authorHash;
    expect(await run(KEY, author)).toBe(await run(KEY, author));
    expect(await run(KEY, author)).not.toBe(await run(KEY, 'someone-else'));
    expect(await run(KEY, author)).not.toBe(await run('another-secret-key-1234', author));
  });

  it('leaves authorHash out when the signal has no author', async () => {
    const out = await processRecords([sig({ text: 'kill myself' })], testRuntime(), opts());
    expect(hitsOf(out)[0]).not.toHaveProperty('authorHash');
  });
});

describe('seriesFor', () => {
  const signal = (fields: Partial<Signal>): Signal => ({ id: 'x', tsMs: T0, text: '', truncated: false, surface: 'comment', hashtags: [], ...fields });
  const all = ['region', 'surface', 'lang'];

  it.each([
    {
      name: 'a subdivision counts towards its country',
      fields: { region: 'US-TX' },
      series: ['t', 't|region=US-TX', 't|region=US', 't|surface=comment'],
    },
    { name: 'a country alone', fields: { region: 'FR' }, series: ['t', 't|region=FR', 't|surface=comment'] },
    { name: 'a language tag reduced to its language', fields: { lang: 'PT-br' }, series: ['t', 't|surface=comment', 't|lang=pt'] },
    { name: 'no region and no language', fields: {}, series: ['t', 't|surface=comment'] },
  ])('$name', ({ fields, series }) => {
    expect(seriesFor('t', signal(fields), all)).toEqual(series);
  });

  it('gives only the topic series when no dimension is configured', async () => {
    expect(seriesFor('t', signal({ region: 'US-TX', lang: 'en' }), [])).toEqual(['t']);
  });
});

describe('dimension cardinality', () => {
  it('counts regions beyond the limit as "other", and admits new ones once old ones age out', async () => {
    const runtime = testRuntime({ windows: { dimensions: ['region'], maxValuesPerDimension: 3 } });
    const regions = ['US', 'GB', 'DE', 'FR', 'BR'];
    const out = await processRecords(
      regions.map((region, i) => sig({ id: `r${i}`, text: 'kill myself', region })),
      runtime,
      opts(),
    );
    expect(hitsOf(out).map((s) => s.series[1])).toEqual(['self-harm|region=US', 'self-harm|region=GB', 'self-harm|region=DE', 'self-harm|region=other', 'self-harm|region=other']);
    expect(runtime.dimensionValues.overflowed).toBe(2);
    // After the retention, the old values no longer hold their places.
    const later = T0 + runtime.config.windows.retentionSec * 1000 + 60_000;
    const next = await processRecords([sig({ id: 'late', ts: later, text: 'kill myself', region: 'FR' })], runtime, opts({ watermark: { maxEventMs: later } }));
    expect(hitsOf(next)[0]!.series[1]).toBe('self-harm|region=FR');
  });
});
