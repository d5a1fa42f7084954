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

describe('truth with one incident per surge', () => {
  const global: TruthInput = { from: at(0), to: at(24 * 60), surges: [{ topic: 'scams-fraud', dimension: 'all', start: at(600), end: at(640), factor: 20, shape: 'gradual' }] };
  const related = (dimension: string) => ({ series: `scams-fraud|${dimension}`, dimension, observed: 80, expected: 8, ratio: 10 });
  const version = (a: Alert, min: number, dims: string[]): Alert => ({ ...a, updated_at: at(min), related: dims.map(related) });

  it('counts a global surge named on the region it lifts most, from the version that lists the whole topic as related', () => {
    const opened = alert('a-us', 'scams-fraud', 'region=US', 605);
    const report = evaluateTruth([version(opened, 605, []), version(opened, 612, ['all', 'lang=en']), version(opened, 620, ['all'])], global);
    expect(report.surges[0]).toMatchObject({ detected: true, alert_id: 'a-us', delay_sec: 12 * 60 });
    expect(report).toMatchObject({ alerts: 1, false_alerts: 0, precision: 1 });
  });

  it('does not count an incident that never names the surge scope, nor one that names it only after the grace', () => {
    const us = alert('a-us', 'scams-fraud', 'region=US', 605);
    const late = alert('a-br', 'scams-fraud', 'region=BR', 606);
    const report = evaluateTruth([version(us, 605, ['lang=en']), version(late, 606, []), version(late, 700, ['all'])], global);
    expect(report.surges[0]).toMatchObject({ detected: false, delay_sec: null });
    // Both opened while the surge was under way: they are its alerts, not false ones.
    expect(report).toMatchObject({ alerts: 2, false_alerts: 0 });
  });

  it('keeps the coordinated flag an earlier version raised', () => {
    const coordinated: TruthInput = { ...global, surges: [{ ...global.surges[0]!, coordinated: true }] };
    const a = alert('a-all', 'scams-fraud', 'all', 604);
    const report = evaluateTruth([{ ...version(a, 604, []), coordinated: true }, version(a, 610, [])], coordinated);
    expect(report.surges[0]).toMatchObject({ detected: true, delay_sec: 4 * 60, coordinated_flag: true });
  });
});
