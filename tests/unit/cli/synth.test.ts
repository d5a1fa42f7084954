/**
 * `surgewatch synth`: corpus lines in, a signal stream and a truth file out, which
 * `replay --truth` reads. Reads ../shared/data/text/labelled-dev.jsonl.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { replayCommand, UsageError } from '../../../src/cli/commands.js';
import { synthCommand } from '../../../src/cli/synth.js';
import { truthSchema } from '../../../src/cli/truth.js';
import { loadConfig } from '../../../src/config/load.js';
import { decodeSignal } from '../../../src/ingest/signal.js';
import { splitOf } from '../../../src/training/labelled.js';
import { readLabelledDev, requireLabelledDev } from '../../_util/shared-data.js';
import { captureIo } from '../../_util/capture-io.js';

const dir = mkdtempSync(join(tmpdir(), 'surgewatch-synth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const config = loadConfig({ env: {} });


const signalLines = (file: string) =>
  readFileSync(file)
    .toString('utf8')
    .split('\n')
    .filter(Boolean);

describe('surgewatch synth', () => {
  it('reports bad corpus lines with their number and reason, skips them, and writes a valid stream and truth', async () => {
    // A small corpus in a temporary folder: real rows of every label, with bad lines among them.
    const { rows } = readLabelledDev();
    const sample = [...new Set(rows.map((r) => r.topic))].flatMap((label) => rows.filter((r) => r.topic === label).slice(0, 150));
    const good = sample.map((r) => Buffer.from(`${JSON.stringify(r)}\n`));
    const bad = ['{"broken"\n', `${JSON.stringify({ text: 'no label here' })}\n`, null, '[1, 2]\n'];
    const lines = [good[0]!, Buffer.from(bad[0]!), ...good.slice(1, 3), Buffer.from(bad[1]!), good[3]!, Buffer.from([0xff, 0xfe, 0x0a]), good[4]!, Buffer.from(bad[3]!), ...good.slice(5)];
    const corpus = join(dir, 'small.jsonl');
    writeFileSync(corpus, Buffer.concat(lines));
    const c = captureIo();
    const out = join(dir, 'small-signals.jsonl');
    const truthFile = join(dir, 'small-truth.json');
    const r = await synthCommand(config.topics, { corpus, out, truth: truthFile, days: 0.5, ratePerSec: 1, split: 'all', warmupHours: 1, seed: 2 }, c.io);

    expect(r.lines).toBe(sample.length + 4);
    expect(r.bad).toBe(4);
    const reported = c.err().filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { line: number; error: string; reason: string });
    expect(reported.map(({ line, error }) => ({ line, error }))).toEqual([
      { line: 2, error: 'not_json' },
      { line: 5, error: 'invalid' },
      { line: 7, error: 'not_utf8' },
      { line: 9, error: 'invalid' },
    ]);
    expect(reported[1]!.reason).toMatch(/topic/);
    expect(c.err().some((l) => l.startsWith('synth: ') && l.includes(`${r.stats.signals.toLocaleString('en')} signals`))).toBe(true);

    const written = signalLines(out);
    expect(written).toHaveLength(r.stats.signals);
    for (const line of written) {
      const d = decodeSignal(Buffer.from(line));
      if (!d.ok) throw new Error(`${line}: ${d.reason}`);
    }
    const truth = JSON.parse(readFileSync(truthFile, 'utf8')) as unknown;
    expect(truthSchema.safeParse(truth).success).toBe(true);
    expect(truth).toEqual(r.truth);
  });

  // Half a day of real posts, synthesized and then replayed: the slowest test of the file, over the
  // default minute on a busy 2-core machine.
  it('writes a stream of test-split posts whose truth file replay --truth scores, decoys included', { timeout: 180_000 }, async () => {
    const corpus = requireLabelledDev();
    const out = join(dir, 'signals.jsonl');
    const truthFile = join(dir, 'truth.json');
    const c = captureIo();
    const r = await synthCommand(config.topics, { corpus, out, truth: truthFile, days: 0.5, ratePerSec: 0.5, warmupHours: 1, seed: 5 }, c.io);
    // The corpus's overlong rows (over 10k characters) are reported, like any bad line.
    expect(r.bad).toBe(readLabelledDev().bad);
    expect(r.truth.surges.length).toBeGreaterThanOrEqual(2);
    expect(r.truth.decoys.length).toBeGreaterThanOrEqual(1);

    // Every text is a test-split post of the corpus.
    const testTexts = new Set(readLabelledDev().rows.filter((row) => splitOf(row.id) === 'test').map((row) => row.text));
    const texts = signalLines(out).map((l) => (JSON.parse(l) as { text: string }).text);
    expect(texts.length).toBe(r.stats.signals);
    expect(texts.filter((t) => !testTexts.has(t))).toEqual([]);

    const replay = captureIo();
    const result = await replayCommand(config, out, { semantic: 'off', truth: truthFile, out: join(dir, 'alerts.jsonl') }, replay.io);
    expect(result.signals).toBe(r.stats.signals);
    expect(result.deadLetters).toBe(0);
    const report = result.truth!;
    expect(report.surges.map((s) => [s.topic, s.dimension, s.start])).toEqual(r.truth.surges.map((s) => [s.topic, s.dimension, s.start]));
    for (const s of report.surges) expect(typeof s.detected).toBe('boolean');
    expect(report.decoys.map((d) => [d.kind, d.dimension, d.start, d.near])).toEqual(r.truth.decoys.map((d) => [d.kind, d.dimension, d.start, d.near]));
    for (const d of report.decoys) expect(d.alerts).toBe(d.alert_ids.length);
    expect(report.decoy_alerts).toBeLessThanOrEqual(report.false_alerts);
    expect(report.recall).toBeGreaterThanOrEqual(0);
    expect(report.recall).toBeLessThanOrEqual(1);
    expect(report.days).toBe(0.5);
    expect(replay.err().some((l) => /^decoys: \d+ false alerts during \d+ benign waves/.test(l))).toBe(true);
  });

  it('refuses a stream too short for any surge, and outputs that would overwrite the corpus', async () => {
    const corpus = requireLabelledDev();
    const c = captureIo();
    await expect(synthCommand(config.topics, { corpus, out: join(dir, 'short.jsonl'), truth: join(dir, 'short.json'), days: 0.25 }, c.io)).rejects.toThrow(/no room for a surge after the 6 h warm-up/);
    await expect(synthCommand(config.topics, { corpus, out: corpus, truth: join(dir, 'x.json') }, c.io)).rejects.toThrow(UsageError);
  });
});
