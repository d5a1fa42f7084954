import { describe, expect, it } from 'vitest';
import { pipelineSchema } from '../../../src/config/pipeline-schema.js';
import { bucketBands, createDetector, type SeriesWindowInput } from '../../../src/detect/detector.js';

const cfg = pipelineSchema.parse({ id: 't' }).detect;
const BUCKET_MS = 10_000;
const T0 = Date.UTC(2026, 4, 1, 12, 0, 0);
const BASELINE = 180;
const steady = Array.from({ length: BASELINE + 60 }, (_, i) => [3, 5, 4, 6, 2, 4][i % 6]!);
const input = (counts: number[], more: Partial<SeriesWindowInput> = {}): SeriesWindowInput => ({ counts, currentBuckets: 1, bucketMs: BUCKET_MS, fromBucketMs: T0, firstSeenMs: T0, ...more });

describe('bucketBands: the expected band of a chart', () => {
  it("agrees with the detector's own figures for a one-bucket window at every bucket", () => {
    const counts = [...steady.slice(0, BASELINE + 30), 25, 30, ...steady.slice(0, 28)];
    const bands = bucketBands(input(counts), BASELINE, BASELINE, cfg);
    expect(bands).toHaveLength(counts.length - BASELINE);
    const detector = createDetector(cfg);
    for (const i of [BASELINE, BASELINE + 30, BASELINE + 31, counts.length - 1]) {
      const e = detector.evaluate(input(counts.slice(i - BASELINE, i + 1), { fromBucketMs: T0 + (i - BASELINE) * BUCKET_MS }));
      const band = bands[i - BASELINE]!;
      expect(band.expected).toBeCloseTo(e.expected, 2);
      // The detector's z is measured in the same standard deviations the band is cfg.zThreshold of.
      const sd = (band.upper - band.expected) / cfg.zThreshold;
      expect((counts[i]! - band.expected) / sd).toBeCloseTo(e.z, 1);
    }
  });

  it('holds a steady series within the band and puts a surge above it', () => {
    const counts = [...steady.slice(0, BASELINE + 30), 25, 30];
    const bands = bucketBands(input(counts), BASELINE, BASELINE, cfg);
    const above = bands.map((b, k) => counts[BASELINE + k]! > b.upper);
    expect(above.slice(0, 30).some(Boolean)).toBe(false);
    expect(above.slice(30)).toEqual([true, true]);
    for (const b of bands) expect(b.lower >= 0 && b.lower <= b.expected && b.expected < b.upper).toBe(true);
  });

  it('follows the traffic of the scope: a wave of all traffic raises the expectation with it', () => {
    const counts = [...steady.slice(0, BASELINE), 12];
    const quiet = repeat(BASELINE + 1, 40);
    const busy = [...repeat(BASELINE, 40), 120];
    const flat = bucketBands(input(counts, { traffic: quiet.map((t, i) => t + counts[i]!) }), BASELINE, BASELINE, cfg)[0]!;
    const wave = bucketBands(input(counts, { traffic: busy.map((t, i) => t + counts[i]!) }), BASELINE, BASELINE, cfg)[0]!;
    expect(wave.expected).toBeCloseTo(flat.expected * 3, 1);
    expect(counts.at(-1)! > flat.upper).toBe(true);
    expect(counts.at(-1)! > wave.upper).toBe(false);
  });
});

function repeat(n: number, v: number): number[] {
  return Array.from({ length: n }, () => v);
}
