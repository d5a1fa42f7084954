/**
 * Detection on a realistic synthetic stream replayed through the whole pipeline on event time
 * (`surgewatch replay` with a truth file): diurnal baseline with noise over topics and regions,
 * surges of 2x, 5x and 20x (sharp and gradual), benign viral decoys, a surge during cold start
 * and a coordinated burst from three accounts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayCommand, type ReplayResult } from '../../../src/cli/commands.js';
import { loadConfig } from '../../../src/config/load.js';
import { generateStream } from '../../../src/synthetic/stream.js';
import { spec, START, min, writeJsonl } from '../../_util/synthetic-spec.js';
import type { Alert } from '../../../src/alerts/alert.js';

/** A 20x surge during cold start (minutes 3-10 of the stream): it must not alert. */
const coldStartSurge = { topic: 'self-harm', region: 'GB', atMin: 3, minutes: 7, factor: 20 };

describe('detection on a synthetic stream (replayed on event time)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-synthetic-'));
  const config = loadConfig({ env: {} });
  let result: ReplayResult;
  let events: (Alert & { event: string })[];

  beforeAll(async () => {
    const { signals, truth } = generateStream({ ...spec, surges: [...spec.surges!, coldStartSurge] });
    // The cold-start surge is not in the truth: any alert for it counts as false.
    truth.surges = truth.surges.filter((s) => s.start !== min(coldStartSurge.atMin));
    const file = join(dir, 'signals.jsonl');
    await writeJsonl(file, signals);
    writeFileSync(join(dir, 'truth.json'), JSON.stringify(truth));
    const stderr = new PassThrough().resume();
    result = await replayCommand(config, file, { semantic: 'off', out: join(dir, 'alerts.jsonl'), truth: join(dir, 'truth.json') }, { stdout: new PassThrough().resume(), stderr });
    events = readFileSync(join(dir, 'alerts.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Alert & { event: string });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const surge = (topic: string, dimension: string) => result.truth!.surges.find((s) => s.topic === topic && s.dimension === dimension)!;

  it('detects every 5x and 20x surge: sharp ones within 2 minutes, gradual ones within 10', () => {
    const sharp = [surge('self-harm', 'region=US-TX'), surge('scams-fraud', 'region=GB'), surge('scams-fraud', 'region=US-CA')];
    for (const s of sharp) {
      expect(s.detected, `${s.topic} ${s.dimension}`).toBe(true);
      expect(s.delay_sec!).toBeLessThanOrEqual(120);
    }
    const gradual = surge('hate-speech', 'region=DE');
    expect(gradual.detected).toBe(true);
    expect(gradual.delay_sec!).toBeLessThanOrEqual(600);
  });

  it('raises no false alert: none on the decoys, none during cold start, none on the steady baseline', () => {
    expect(result.truth!.false_alerts).toBe(0);
    expect(result.truth!.precision).toBe(1);
    const opened = events.filter((e) => e.event === 'opened');
    expect(opened.filter((a) => Date.parse(a.opened_at) < START + 15 * 60_000)).toEqual([]);
  });

  it('flags the burst from three accounts as coordinated, and no organic surge', () => {
    expect(surge('scams-fraud', 'region=US-CA').coordinated_flag).toBe(true);
    const organic = events.filter((e) => e.event === 'opened' && !(e.topic === 'scams-fraud' && e.dimension.startsWith('region=US')));
    expect(organic.length).toBeGreaterThan(0);
    for (const a of organic) expect(a.coordinated, `${a.series}`).toBe(false);
  });

  it('keeps a sustained spike as one alert that updates with its peak, then resolves', () => {
    const series = 'self-harm|region=US-TX';
    const versions = events.filter((e) => e.series === series);
    expect(new Set(versions.map((v) => v.id)).size).toBe(1);
    expect(versions.filter((v) => v.event === 'updated').length).toBeGreaterThan(10);
    const last = versions.at(-1)!;
    expect(last.event).toBe('resolved');
    expect(last.peak.observed).toBeGreaterThan(last.opened_observed);
  });

  it('reports recall, precision and false alerts per simulated day', () => {
    expect(result.truth).toMatchObject({ false_alerts_per_day: 0, days: 0.104 });
    expect(result.truth!.recall).toBeGreaterThanOrEqual(0.8); // the 2x surge may go unseen
  });
});
