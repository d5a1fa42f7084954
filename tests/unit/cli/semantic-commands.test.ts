import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { calibrateCommand, type TopicCalibration } from '../../../src/cli/calibrate.js';
import { scoreCommand, UsageError } from '../../../src/cli/commands.js';
import { loadConfig } from '../../../src/config/load.js';
import { shippedPipelinesOn } from '../../_util/pipelines.js';
import { captureIo } from '../../_util/capture-io.js';

const dir = mkdtempSync(join(tmpdir(), 'surgewatch-cli-'));
// The shipped pipelines and lists, on USE Lite (the shipped pipeline names a fetched model).
const pipelines = shippedPipelinesOn('use-lite');
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  pipelines.remove();
});
const config = loadConfig({ env: { SURGEWATCH_PIPELINES_DIR: pipelines.dir } });


describe('surgewatch score with semantic scoring', () => {
  it('adds the nearest exemplar and similarity, and marks hits the lexicon alone would miss', async () => {
    const file = join(dir, 'signals.jsonl');
    writeFileSync(
      file,
      [
        { id: 'para', ts: '2026-11-01T00:00:00Z', text: "honestly I don't want to wake up tomorrow", surface: 'post' },
        { id: 'term', ts: '2026-11-01T00:00:00Z', text: 'I want to kill myself', surface: 'post' },
        { id: 'pizza', ts: '2026-11-01T00:00:00Z', text: 'best pizza in town', surface: 'post' },
      ]
        .map((s) => JSON.stringify(s))
        .join('\n') + '\n{"broken"\n',
    );
    const c = captureIo();
    expect(await scoreCommand(config, file, { semantic: 'all' }, c.io)).toEqual({ scored: 3, bad: 1 });
    const byId = new Map(c.out().map((l) => JSON.parse(l) as { id: string; topics: { topic: string; hit: boolean; hitBy?: string; score: number; semantic?: { exemplar: string } }[] }).map((r) => [r.id, r.topics]));
    expect(byId.get('para')!.find((t) => t.topic === 'self-harm')).toMatchObject({ hit: true, hitBy: 'semantic', score: 0, semantic: { exemplar: "I don't want to wake up tomorrow" } });
    expect(byId.get('term')!.find((t) => t.topic === 'self-harm')).toMatchObject({ hit: true, hitBy: 'lexicon' });
    expect(byId.get('pizza')!.filter((t) => t.hit)).toEqual([]);
    expect(c.err()).toEqual([expect.stringContaining('"line":4')]);
  });

  it('says on stderr when the pipeline\'s model is not fetched and it scores with the fallback', async () => {
    // The shipped manifest, read from a folder where nothing has been fetched.
    const models = join(dir, 'models');
    mkdirSync(models, { recursive: true });
    copyFileSync('models/manifest.yaml', join(models, 'manifest.yaml'));
    // The shipped heads come with the manifest (they are small and committed); the model does not.
    mkdirSync(join(models, 'heads'));
    copyFileSync('models/heads/all-minilm-l6-v2-q.json', join(models, 'heads', 'all-minilm-l6-v2-q.json'));
    const unfetched = loadConfig({ env: { SURGEWATCH_MODELS_FILE: join(models, 'manifest.yaml') } });
    expect(unfetched.pipelines[0]!.semantic.model).toBe('all-minilm-l6-v2-q');
    const file = join(dir, 'fallback.jsonl');
    writeFileSync(file, `${JSON.stringify({ id: 'para', ts: '2026-11-01T00:00:00Z', text: "honestly I don't want to wake up tomorrow", surface: 'post' })}\n`);
    const c = captureIo();
    await scoreCommand(unfetched, file, { semantic: 'all' }, c.io);
    expect(c.err()).toEqual([
      `surgewatch: pipeline "high-harm" scores with the fallback model "use-lite": model "all-minilm-l6-v2-q" is not fetched (${join(models, 'cache', 'all-minilm-l6-v2-q')} does not exist); fetch it with: npm run cli -- models fetch all-minilm-l6-v2-q; running on the fallback model "use-lite"`,
    ]);
    expect(JSON.parse(c.out()[0]!)).toMatchObject({ id: 'para', topics: [{ topic: 'self-harm', hit: true, hitBy: 'semantic' }] });
  });

  it('with --semantic off gives the lexicon-only output', async () => {
    const file = join(dir, 'off.jsonl');
    writeFileSync(file, `${JSON.stringify({ id: 'para', ts: '2026-11-01T00:00:00Z', text: "honestly I don't want to wake up tomorrow", surface: 'post' })}\n`);
    const c = captureIo();
    await scoreCommand(config, file, { semantic: 'off' }, c.io);
    expect(JSON.parse(c.out()[0]!)).toEqual({ id: 'para', topics: [] });
  });
});

describe('surgewatch calibrate', () => {
  it('reports a precision/recall sweep per topic and proposes a threshold that reaches the target where it can', async () => {
    const c = captureIo();
    const r = await calibrateCommand(config, 'config/corpus/labeled-semantic.jsonl', { minPrecision: 0.9 }, c.io);
    expect(r.bad).toBe(0);
    const rows = c.out().map((l) => JSON.parse(l) as TopicCalibration);
    // One row per configured topic with lines in the file; a topic without any (misinformation
    // and spam have none) cannot be calibrated on it.
    const inFile = new Set(readFileSync('config/corpus/labeled-semantic.jsonl', 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { topic: string }).topic));
    expect(rows.map((x) => x.topic).sort()).toEqual(config.topics.map((t) => t.id).filter((id) => inFile.has(id)).sort());
    expect(rows.length).toBeGreaterThanOrEqual(8);
    for (const row of rows) {
      expect(row.sweep[0]!.threshold).toBe(0.3);
      expect(row.sweep.at(-1)!.threshold).toBe(0.95);
      // Raising the threshold never raises recall.
      for (let i = 1; i < row.sweep.length; i++) expect(row.sweep[i]!.recall).toBeLessThanOrEqual(row.sweep[i - 1]!.recall);
      const proposed = row.sweep.find((p) => p.threshold === row.proposed_threshold)!;
      expect(row.semantic).toEqual({ precision: proposed.precision, recall: proposed.recall });
      if (row.basis === 'target_precision') expect(proposed.precision).toBeGreaterThanOrEqual(0.9);
      // Lexicon + semantic never catches less than semantic alone.
      expect(row.combined.recall).toBeGreaterThanOrEqual(row.semantic.recall);
    }
    expect(rows.filter((x) => x.basis === 'target_precision').length).toBeGreaterThanOrEqual(6);
    expect(c.err()[0]).toMatch(/calibrated on 82 lines \(0 bad\), target precision 0.9/);
  });

  it('reports bad lines with their number and reason, and keeps the good ones', async () => {
    const file = join(dir, 'labeled.jsonl');
    writeFileSync(
      file,
      [
        JSON.stringify({ text: 'I want it all to end tonight', topic: 'self-harm' }),
        JSON.stringify({ text: 'nice day', topic: 'no-such-topic' }),
        '{not json',
        JSON.stringify({ text: 42, topic: 'benign' }),
        JSON.stringify({ text: 'what a lovely morning', topic: 'benign' }),
      ].join('\n'),
    );
    const c = captureIo();
    const r = await calibrateCommand(config, file, {}, c.io);
    expect(r).toMatchObject({ lines: 2, bad: 3 });
    // Reported as every command that reads labelled files reports them: {line, error, reason}.
    const errors = c.err().filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { line: number; error: string; reason: string });
    expect(errors.map((e) => [e.line, e.error])).toEqual([
      [2, 'unknown_label'],
      [3, 'not_json'],
      [4, 'invalid'],
    ]);
    expect(errors[0]!.reason).toMatch(/unknown topic "no-such-topic"/);
    expect(errors[1]!.reason).toMatch(/not JSON/);
    expect(errors[2]!.reason).toMatch(/text: /);
    expect(r.topics.map((t) => t.topic)).toEqual(['self-harm']);
  });

  it('refuses an empty sweep range', async () => {
    await expect(calibrateCommand(config, 'config/corpus/labeled-semantic.jsonl', { from: 0.9, to: 0.5 }, captureIo().io)).rejects.toThrow(UsageError);
  });
});
