/**
 * `surgewatch calibrate` with trained heads: a subset of the real labelled data (../shared/data,
 * every 15th line, through a temp file) on the shipped pipeline and its model (fetched by
 * `npm test`; the vector cache beside it makes re-embedding instant). Linear heads, for speed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calibrateCommand, type CalibrateResult, type TopicCalibration } from '../../../src/cli/calibrate.js';
import type { HeadEvaluationLine } from '../../../src/cli/head-evaluation.js';
import { decodeLabelledLine } from '../../../src/cli/labelled-file.js';
import { loadConfig } from '../../../src/config/load.js';
import { labelMap, splitOf } from '../../../src/training/labelled.js';
import { defaultModelDir } from '../../_util/default-model.js';
import { requireLabelledDev } from '../../_util/shared-data.js';

const dir = mkdtempSync(join(tmpdir(), 'surgewatch-calibrate-heads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = loadConfig({ env: {} });
const labels = labelMap(config.topics);
const file = join(dir, 'labelled.jsonl');
// The subset as the command should read it: topic -> data set -> rows, and the test split's.
const expected = new Map<string, { datasets: Map<string, number>; test: number }>();
let good = 0;

let result: CalibrateResult;
let out: string[];
let err: string[];

beforeAll(async () => {
  defaultModelDir();
  const lines = readFileSync(requireLabelledDev(), 'utf8').split('\n').filter(Boolean).filter((_, i) => i % 15 === 0);
  for (const line of lines) {
    const d = decodeLabelledLine(Buffer.from(line));
    if (!d.ok) continue;
    good++;
    const topic = labels.get(d.row.topic);
    if (!topic) continue;
    const e = expected.get(topic) ?? { datasets: new Map<string, number>(), test: 0 };
    e.datasets.set(d.row.dataset!, (e.datasets.get(d.row.dataset!) ?? 0) + 1);
    if (splitOf(d.row.id) === 'test') e.test++;
    expected.set(topic, e);
  }
  // Bad lines at 2, 4 and 6: not JSON, an unknown label, a text that is not a string.
  const bad = ['{not json', JSON.stringify({ id: 'x1', text: 'hello there', topic: 'no-such-topic', dataset: 'mine' }), JSON.stringify({ id: 'x2', text: 42, topic: 'benign' })];
  writeFileSync(file, [lines[0], bad[0], lines[1], bad[1], lines[2], bad[2], ...lines.slice(3)].join('\n') + '\n');

  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const o: string[] = [];
  const e: string[] = [];
  stdout.on('data', (c: Buffer) => o.push(c.toString()));
  stderr.on('data', (c: Buffer) => e.push(c.toString()));
  result = await calibrateCommand(config, file, { train: { kind: 'linear' } }, { stdout, stderr });
  out = o.join('').split('\n').filter(Boolean);
  err = e.join('').split('\n').filter(Boolean);
}, 120_000);

const expectShare = (x: number) => {
  expect(x).toBeGreaterThanOrEqual(0);
  expect(x).toBeLessThanOrEqual(1);
};
const headLines = () => out.map((l) => JSON.parse(l) as HeadEvaluationLine | TopicCalibration).filter((l): l is HeadEvaluationLine => l.kind === 'head');
const measured = () => [...expected].filter(([topic]) => headLines().some((l) => l.topic === topic)).map(([topic]) => topic);

describe('surgewatch calibrate with trained heads, on real labelled posts', () => {
  it('reports bad lines with their number and reason, and uses every good row', () => {
    const bad = err.filter((l) => l.startsWith('{"line"')).map((l) => JSON.parse(l) as { line: number; error: string; reason: string });
    expect(bad.map((b) => [b.line, b.error])).toEqual([
      [2, 'not_json'],
      [4, 'unknown_label'],
      [6, 'invalid'],
    ]);
    expect(bad[1]!.reason).toMatch(/unknown topic "no-such-topic"/);
    expect(bad[2]!.reason).toMatch(/^text: /);
    expect(result).toMatchObject({ lines: good, bad: 3 });
  });

  it('measures every topic with enough positives twice, in-set and across data sets, and says which topics it could not', () => {
    const lines = headLines();
    const topics = measured();
    expect(topics).toEqual(expect.arrayContaining(['hate-speech', 'self-harm', 'harassment', 'violent-extremism', 'misinformation']));
    for (const topic of topics) expect(lines.filter((l) => l.topic === topic).map((l) => l.evaluation)).toEqual(['in-set', 'cross-dataset']);
    // spam has a handful of rows in this subset: too few for a head, and said so.
    expect(topics).not.toContain('spam');
    expect(err).toContainEqual(expect.stringMatching(/^spam: \d+ training positives, fewer than 30: not measured$/));
    expect(result.heads!.inSet.map((e) => e.topic)).toEqual(topics);
  });

  it('measures hate speech leaving one data set out, one fold per data set, and the other topics on the held-out split', () => {
    const lines = headLines();
    const hate = lines.find((l) => l.topic === 'hate-speech' && l.evaluation === 'cross-dataset')!;
    const hateSets = expected.get('hate-speech')!.datasets;
    expect(hate.mode).toBe('leave one data set out');
    expect(hate.datasets).toEqual(['davidson', 'hatecheck', 'stormfront']);
    // Each fold is tested on every hate-speech row of the data set it left out.
    expect(hate.folds.map((f) => [f.held_out, f.positives])).toEqual(hate.datasets.map((ds) => [ds, hateSets.get(ds)]));
    expect(hate.positives).toBe([...hateSets.values()].reduce((a, b) => a + b, 0));

    for (const l of lines.filter((x) => x.topic !== 'hate-speech')) {
      expect(l.mode).toBe('held-out split');
      expect(l.datasets).toHaveLength(1);
    }
    // A topic from one data set has no other to be tested on: its cross-dataset line repeats the held-out split's figures.
    for (const topic of measured().filter((t) => t !== 'hate-speech')) {
      const [inSet, cross] = lines.filter((l) => l.topic === topic);
      expect({ ...cross!, evaluation: 'in-set' }).toEqual(inSet);
    }
    // The table on stderr says which mode each topic used, in words.
    expect(err).toContainEqual(expect.stringMatching(/^hate-speech .*\| leave one data set out \(3 folds\)/));
    expect(err).toContainEqual(expect.stringMatching(/^\s+\|.*\|\s+davidson left out/));
    expect(err).toContainEqual(expect.stringMatching(/^self-harm .*\| held-out split \(1 data set: reddit_cssrs\)/));
  });

  it('gives figures within [0, 1] that agree with their counts and with the rows of the file', () => {
    const lines = headLines();
    for (const l of lines) {
      const e = expected.get(l.topic)!;
      if (l.evaluation === 'in-set') {
        expect(l.positives).toBe(e.test);
        expect(l.folds).toEqual([expect.objectContaining({ held_out: 'test split', positives: e.test })]);
      }
      for (const f of [l, l.static!, l.two_stage!, ...l.folds]) {
        for (const x of [f.precision, f.recall, f.f1, f.benign_fpr]) expectShare(x);
        expect(f.tp).toBeLessThanOrEqual(f.positives);
        expect(f.recall).toBeCloseTo(f.positives === 0 ? 0 : f.tp / f.positives, 3);
        expect(f.precision).toBeCloseTo(f.tp + f.fp === 0 ? 1 : f.tp / (f.tp + f.fp), 3);
        const harmonic = f.precision + f.recall === 0 ? 0 : (2 * f.precision * f.recall) / (f.precision + f.recall);
        expect(Math.abs(f.f1 - harmonic)).toBeLessThan(0.002);
      }
      expect(l.static!.positives).toBe(l.positives);
      // The second stage only ever removes hits.
      expect(l.two_stage!.tp).toBeLessThanOrEqual(l.tp);
      for (const r of [l.recall_at_fpr.transformer, l.recall_at_fpr.static!, l.recall_at_fpr.two_stage!, l.recall_kept!]) expectShare(r);
      expect(l.recall_at_fpr.fpr).toBe(0.02);
    }
    // The heads learn something: violent extremism (tweets of one kind) is found in the held-out split.
    expect(lines.find((l) => l.topic === 'violent-extremism')!.recall_at_fpr.transformer).toBeGreaterThan(0.5);
  });

  it('keeps the exemplar threshold sweep for the topics the shipped heads do not cover', () => {
    const sweeps = out.map((l) => JSON.parse(l) as HeadEvaluationLine | TopicCalibration).filter((l): l is TopicCalibration => l.kind === 'exemplar');
    expect(sweeps.map((s) => s.topic).sort()).toEqual(['harassment', 'misinformation']);
    for (const s of sweeps) expect(s.positives).toBe([...expected.get(s.topic)!.datasets.values()].reduce((a, b) => a + b, 0));
  });
});
