import { describe, expect, it } from 'vitest';
import { emergingCandidates, pickEmerging, processRecords, type RawRecord } from '../../../src/worker/process-records.js';
import { memoryTicker, testRuntime } from '../../_util/fixtures.js';
import { normalizeHashtag } from '../../../src/normalize/text.js';
import { createRng } from '../../../src/worker/sample-stream.js';

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);

describe('emerging terms', () => {
  it('takes the tags and uncommon words a hit carries that its topic does not list, normalized, at most 5', () => {
    const runtime = testRuntime({ topics: ['self-harm'] });
    const known = runtime.lists.knownKeys.get('self-harm')!;
    expect(known.has(normalizeHashtag('wanttodie'))).toBe(true);
    const emergingTerms = (s: never, k: ReadonlySet<string>) => pickEmerging(emergingCandidates(s), k);
    const signal = (text: string, hashtags: string[] = []) => ({ id: 's', tsMs: T0, text, surface: 'post', hashtags, truncated: false }) as never;
    // Listed tags and the words of listed terms are not news; common words and numbers are noise.
    expect(emergingTerms(signal('again I want to kill myself, unalive 2026 #KMS_now and #kms_now', ['#WantToDie', 'sewerslide', '#a']), known)).toEqual(['#sewerslide', '#kmsnow', 'unalive']);
    expect(emergingTerms(signal('brixo dranel fositu gravik hulmet jorvan'), known)).toHaveLength(5);
  });

  it('turns a new hashtag surging with a topic into an alert that suggests adding it to the list', async () => {
    const runtime = testRuntime({ topics: ['self-harm'], windows: { dimensions: [] } });
    const { ticker, windows, openedAlerts } = memoryTicker(runtime, T0);
    const rng = createRng(3);
    let offset = 0;
    const records: RawRecord[] = [];
    const add = (tsMs: number, text: string, author: string, hashtags: string[] = []) =>
      records.push({ offset: String(offset++), value: Buffer.from(JSON.stringify({ id: `s${offset}`, ts: tsMs, text, surface: 'post', author, hashtags })) });
    // 50 minutes of steady self-harm talk (with a listed tag and a common one), then a new
    // coded tag arrives with a burst from 30 accounts.
    for (let t = T0 - 50 * 60_000; t < T0 - 60_000; t += 5_000) add(t, 'i want to kill myself', `a${Math.floor(rng() * 500)}`, rng() < 0.5 ? ['#wanttodie'] : ['#sad']);
    for (let i = 0; i < 40; i++) add(T0 - 50_000 + i * 1_000, 'i want to kill myself #unaliveparty', `burst${i % 30}`);
    const out = await processRecords(records, runtime, { authorHashKey: 'k'.repeat(16), watermark: { maxEventMs: -Infinity } });
    await windows.applyBatch({ pipeline: runtime.config.id, layout: runtime.layout, position: null, signals: out.signals, totals: out.totals });
    expect(out.signals.some((s) => s.series.includes('self-harm|term=#wanttodie'))).toBe(false);

    for (let tick = 0; tick < runtime.config.detect.openAfterTicks; tick++) await ticker.tick(T0 + tick * 1000);
    const opened = openedAlerts();
    const term = opened.filter((a) => a.kind === 'emerging_term');
    expect(term.map((a) => a.suggested_term)).toEqual(['#unaliveparty']);
    // The tag is counted from its third author on (emergingMinAuthors): 38 of its 40 uses.
    expect(term[0]).toMatchObject({ topic: 'self-harm', dimension: 'term=#unaliveparty', window: { observed: 38 } });
    expect(term[0]!.summary).toMatch(/Emerging term #unaliveparty with Self-harm: .*not seen in the baseline.*Consider adding #unaliveparty to the Self-harm list/);
    // The steady tag, seen all along, is not news.
    expect(opened.filter((a) => a.suggested_term === '#sad')).toEqual([]);
  });
});
