import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { feedbackLines } from '../../../src/alerts/feedback-export.js';
import { feedbackLabelsCommand } from '../../../src/cli/feedback-labels.js';
import { readLabelledFile } from '../../../src/cli/labelled-file.js';
import { labelMap } from '../../../src/training/labelled.js';
import { captureIo } from '../../_util/capture-io.js';
import { iso, makeAlert, MIN, T0 } from '../../_util/alerts.js';
import { testTopics } from '../../_util/fixtures.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('surgewatch feedback-labels', () => {
  it('joins the feedback export with the signal archive into lines the labelled-file reader of calibrate and train accepts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fbl-'));
    dirs.push(dir);
    const trend = { ...makeAlert({ series: 'self-harm' }), sample_signal_ids: ['s1', 's2', 'gone'], feedback: [{ at: iso(T0 + MIN), by: 'ana', verdict: 'true_trend' as const, note: null }] };
    const alarm = { ...makeAlert({ series: 'self-harm|region=GB' }), sample_signal_ids: ['s3'], feedback: [{ at: iso(T0 + MIN), by: 'ana', verdict: 'false_alarm' as const, note: null }] };
    const exported = join(dir, 'export.jsonl');
    writeFileSync(exported, feedbackLines([trend, alarm], { sinceMs: T0, untilMs: T0 + 60 * MIN }).map((l) => JSON.stringify(l)).join('\n') + '\n');
    const signals = join(dir, 'signals.jsonl');
    writeFileSync(
      signals,
      [
        { id: 's1', ts: T0, text: 'i want to end it all', surface: 'post' },
        { id: 'other', ts: T0, text: 'not judged', surface: 'post' },
        { id: 's2', ts: T0, text: '', surface: 'hashtag', hashtags: ['endit', '#sadgirls'] },
        { id: 's3', ts: T0, text: 'killing it at the gym today', surface: 'comment' },
      ]
        .map((s) => JSON.stringify(s))
        .join('\n') + '\n{broken\n',
    );
    const out = join(dir, 'labelled.jsonl');
    const { io, err } = captureIo();
    const r = await feedbackLabelsCommand(exported, { signals, out }, io);
    expect(r).toEqual({ written: 3, missing: 1, bad: 1 });
    expect(err().map((l) => JSON.parse(l) as { error: string })).toEqual([
      expect.objectContaining({ line: 5, error: 'not_json' }),
      expect.objectContaining({ id: 'gone', error: 'no_signal' }),
    ]);

    const read = await readLabelledFile(out);
    expect(read.bad).toEqual([]);
    expect(read.rows.map((row) => [row.id, row.text, row.topic, row.dataset])).toEqual([
      ['s1', 'i want to end it all', 'self-harm', 'surgewatch-feedback'],
      ['s2', '#endit #sadgirls', 'self-harm', 'surgewatch-feedback'],
      ['s3', 'killing it at the gym today', 'benign', 'surgewatch-feedback'],
    ]);
    // The labels name the configured topic (train and calibrate map labels with this).
    expect(labelMap(testTopics).get('self-harm')).toBe('self-harm');
  });
});
