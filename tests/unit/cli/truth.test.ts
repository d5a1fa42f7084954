import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/alerts/alert.js';
import { evaluateTruth, formatTruthReport, type TruthInput } from '../../../src/cli/truth.js';

const at = (min: number) => new Date(Date.UTC(2026, 10, 2) + min * 60_000).toISOString();
const alert = (id: string, topic: string, dimension: string, openedMin: number) => ({ id, kind: 'spike', topic, dimension, opened_at: at(openedMin), coordinated: false }) as Alert;

const truth: TruthInput = {
  from: at(0),
  to: at(24 * 60),
  surges: [{ topic: 'self-harm', dimension: 'region=US-TX', start: at(600), end: at(640), factor: 5, shape: 'sharp' }],
  decoys: [
    { kind: 'repost', dimension: 'all', start: at(300), end: at(340), near: 'self-harm' },
    { kind: 'traffic_wave', dimension: 'region=BR', start: at(900), end: at(960) },
  ],
};

describe('truth with decoys', () => {
  it('counts the false alerts that open during a decoy, in a dimension the decoy touches', () => {
    const report = evaluateTruth(
      [
        alert('a-repost', 'self-harm', 'all', 310),
        alert('a-repost-grace', 'hate-speech', 'surface=post', 343),
        alert('a-surge', 'self-harm', 'region=US-TX', 602),
        alert('a-wave', 'harassment', 'region=BR', 905),
        alert('a-wave-all', 'harassment', 'all', 910),
        alert('a-other-region', 'harassment', 'region=GB', 915),
        alert('a-quiet', 'harassment', 'all', 1200),
      ],
      truth,
    );
    expect(report.surges[0]).toMatchObject({ detected: true, alert_id: 'a-surge' });
    expect(report.decoys).toEqual([
      { kind: 'repost', dimension: 'all', start: at(300), near: 'self-harm', alerts: 2, alert_ids: ['a-repost', 'a-repost-grace'] },
      { kind: 'traffic_wave', dimension: 'region=BR', start: at(900), alerts: 2, alert_ids: ['a-wave', 'a-wave-all'] },
    ]);
    expect(report).toMatchObject({ decoy_alerts: 4, false_alerts: 6, alerts: 7 });
    expect(formatTruthReport(report)).toMatch(/decoys: 4 false alerts during 2 benign waves/);
  });

  it('reads a truth file without decoys as before', () => {
    const { decoys: _decoys, ...withoutDecoys } = truth;
    const report = evaluateTruth([alert('a', 'self-harm', 'all', 610)], withoutDecoys);
    expect(report).toMatchObject({ recall: 1, decoys: [], decoy_alerts: 0, false_alerts: 0 });
    expect(formatTruthReport(report)).not.toMatch(/decoys/);
  });
});
