/**
 * `surgewatch train` on a slice of the real labelled data (../shared/data), with the fetched
 * default model: a head file and its datasheet come out, licences are honoured, and a pipeline
 * that names the new heads scores with them.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoreCommand } from '../../../src/cli/commands.js';
import { trainCommand } from '../../../src/cli/train.js';
import { loadConfig } from '../../../src/config/load.js';
import { parseHeadSet, type HeadSet } from '../../../src/scoring/heads.js';
import { captureIo } from '../../_util/capture-io.js';
import { DEFAULT_MODEL_ID, defaultModelDir } from '../../_util/default-model.js';
import { readLabelledDev } from '../../_util/shared-data.js';

const dir = mkdtempSync(join(tmpdir(), 'surgewatch-train-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Every 12th row: about 6,000 rows over every data set, enough positives for five topics.
const rows = readLabelledDev().rows.filter((_, i) => i % 12 === 0);
const file = join(dir, 'labelled.jsonl');
const out = join(dir, 'heads', 'slice.json');
const config = loadConfig({ env: {} });
let set: HeadSet;
let stderr: string[];

beforeAll(async () => {
  defaultModelDir();
  writeFileSync(file, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n{"text": "no label"}\nnot json\n`);
  const c = captureIo();
  set = await trainCommand(config, file, { out, name: 'slice', licences: 'models/heads/datasets.yaml', shippableOnly: true, train: { kind: 'linear' } }, c.io);
  stderr = c.err();
}, 300_000);

describe('surgewatch train', () => {
  it('writes a versioned head file for the topics the licence-permitted rows support, and nothing from the others', () => {
    const onDisk = parseHeadSet(JSON.parse(readFileSync(out, 'utf8')));
    expect(onDisk.version).toBe(set.version);
    expect(set.version).toMatch(/^\d{4}-\d{2}-\d{2}\.[0-9a-f]{8}$/);
    expect(set.model).toBe(DEFAULT_MODEL_ID);
    expect(set.transformerInput).toBe('transformer+static');
    const topics = set.topics.map((t) => t.topic).sort();
    // Harassment (cyberbullying_tweets: licence not verified) and misinformation (research use) are left out.
    expect(topics).toEqual(['hate-speech', 'scams-fraud', 'self-harm', 'violent-extremism']);
    for (const t of set.topics) {
      expect(t.static?.flagThreshold).toBeLessThanOrEqual(t.static!.threshold);
      expect(t.transformer.figures?.split).toBe('test');
    }
  });

  it('sets each threshold for the stated benign false-positive rate, and measures it on rows it never saw', () => {
    for (const t of set.topics) {
      const f = t.transformer.figures!;
      expect(f.benign).toBeGreaterThan(400);
      // 1.5% on the calibration split; the test split is a different sample.
      expect(f.benignFpr, t.topic).toBeLessThan(0.04);
      expect(f.tp + f.fp).toBeGreaterThan(0);
    }
    expect(set.topics.find((t) => t.topic === 'scams-fraud')!.transformer.figures!.recall).toBeGreaterThan(0.7);
  });

  it('writes a datasheet with the rows, the licences, what was left out and why, and the figures', () => {
    const sheet = readFileSync(out.replace(/\.json$/, '.md'), 'utf8');
    expect(sheet).toContain(`# Datasheet: head set "slice" ${set.version}`);
    expect(sheet).toMatch(/\| hatecheck \(paul-rottger\/hatecheck-data\) \| CC BY 4\.0; Röttger et al\./);
    expect(sheet).toMatch(/- cyberbullying_tweets: \d+ rows \(licence: CC BY 4\.0, reported by the source but not verified; the licence is not verified\)/);
    expect(sheet).toMatch(/- constraint_covid_fake: \d+ rows \(licence: research use; research use only\)/);
    expect(sheet).toContain('### hate-speech (labels: hate_speech)');
    expect(sheet).toMatch(/\| static flags, transformer decides \| \d+ \|/);
  });

  it('reports bad lines with their number and goes on', () => {
    expect(stderr.filter((l) => l.startsWith('{"line"')).map((l) => JSON.parse(l) as { line: number; error: string })).toEqual([
      expect.objectContaining({ line: rows.length + 1, error: 'invalid' }),
      expect.objectContaining({ line: rows.length + 2, error: 'not_json' }),
    ]);
  });

  it('gives a pipeline that names the file heads that score and explain', async () => {
    const pipelines = join(dir, 'pipelines');
    const shipped = config.pipelines[0]!;
    mkdirSync(pipelines, { recursive: true });
    writeFileSync(join(pipelines, 'p.yaml'), stringify({ id: 'p', topics: 'all', semantic: { mode: 'candidates', model: DEFAULT_MODEL_ID, heads: out } }));
    const withHeads = loadConfig({ env: { SURGEWATCH_PIPELINES_DIR: pipelines } });
    expect(withHeads.pipelines[0]!.semantic.heads).toBe(out);
    expect(shipped.semantic.heads).not.toBe(out);
    const signals = join(dir, 'signals.jsonl');
    writeFileSync(signals, `${JSON.stringify({ id: 'a', ts: '2026-11-01T00:00:00Z', text: 'URGENT! You have won a £1000 cash prize. To claim call 09061701461 now', surface: 'message' })}\n`);
    const c = captureIo();
    await scoreCommand(withHeads, signals, {}, c.io);
    const scored = JSON.parse(c.out()[0]!) as { topics: { topic: string; hit: boolean; head?: { head: string; stage: string } }[] };
    expect(scored.topics.find((t) => t.topic === 'scams-fraud')).toMatchObject({ hit: true, head: { head: `slice@${set.version}`, stage: 'transformer' } });
  });
});
