import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { detectSeriesCommand } from '../../../src/cli/detect-series.js';
import { createRng } from '../../../src/worker/sample-stream.js';

const dir = mkdtempSync(join(tmpdir(), 'surgewatch-series-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Hourly counts around 20 with a daily rhythm and noise; spikes at the given rows. */
function series(rows: number, spikes: Record<number, number>): string {
  const rng = createRng(7);
  const t0 = Date.UTC(2026, 9, 1);
  const lines = ['timestamp,value'];
  for (let i = 0; i < rows; i++) {
    const base = 20 + 6 * Math.sin((2 * Math.PI * i) / 24);
    const v = spikes[i] ?? Math.max(0, Math.round(base + (rng() - 0.5) * 2 * Math.sqrt(base)));
    lines.push(`${new Date(t0 + i * 3_600_000).toISOString()},${v}`);
  }
  return `${lines.join('\n')}\n`;
}

async function run(csv: string, opts = {}) {
  const file = join(dir, `s${Math.random().toString(36).slice(2)}.csv`);
  writeFileSync(file, csv);
  const out = join(dir, 'out.csv');
  const err: string[] = [];
  const stderr = new PassThrough();
  stderr.on('data', (c: Buffer) => err.push(c.toString()));
  const r = await detectSeriesCommand(file, { out, ...opts }, { stdout: new PassThrough().resume(), stderr });
  const rows = readFileSync(out, 'utf8').trim().split('\n');
  return { r, header: rows[0]!, rows: rows.slice(1).map((l) => l.split(',')), err: err.join('').trim().split('\n').filter(Boolean) };
}

describe('surgewatch detect-series', () => {
  it('flags the spikes of a noisy daily series and nothing else, and writes every row with its score', async () => {
    // Hourly rows: a baseline of five days (the default, 288 rows, suits 5-minute rows).
    const { r, header, rows } = await run(series(24 * 14, { 200: 80, 201: 75, 300: 90 }), { baseline: 120 });
    expect(header).toBe('timestamp,value,expected,ratio,z,p,anomaly_score,alert');
    expect(rows).toHaveLength(24 * 14);
    // One alert per episode: the two-row spike opens one at its first row.
    const flagged = rows.flatMap((row, i) => (row[7] === '1' ? [i] : []));
    expect(flagged).toEqual([200, 300]);
    expect(r.alerts).toBe(2);
    // Each alert says why: the expected level, the ratio, the row's robust z and its p.
    const [, , expected, ratio, z, p] = rows[200]!.map(Number);
    expect(expected).toBeGreaterThan(10);
    expect(expected).toBeLessThan(30);
    expect(ratio).toBeGreaterThan(2.5);
    expect(z).toBeGreaterThan(8);
    expect(p).toBeLessThan(1e-6);
    // The anomaly score (0..1) is 0.5 or more where a row alerts, and below it on ordinary rows.
    expect(Number(rows[200]![6])).toBeGreaterThanOrEqual(0.5);
    expect(Number(rows[300]![6])).toBeGreaterThanOrEqual(0.5);
    expect(rows.slice(0, 200).every((row) => Number(row[6]) < 0.5)).toBe(true);
    for (const row of rows) expect(Number(row[6])).toBeLessThanOrEqual(1);
  });

  it('flags nothing during the first rows (no history yet) and on a steady series', async () => {
    const { rows } = await run(series(24 * 7, { 2: 500 }));
    expect(rows.filter((row) => row[7] === '1')).toEqual([]);
  });

  it('reports bad rows with their line number and keeps going', async () => {
    const csv = series(100, {}).replace('\n', '\nyesterday,12\n2026-10-01T00:30:00Z,-3\n2026-10-01T00:40:00Z,lots\n');
    const { r, err } = await run(csv);
    expect(r).toMatchObject({ rows: 100, bad: 3 });
    expect(err.map((l) => JSON.parse(l) as { line: number; error: string })).toEqual([
      { line: 2, error: expect.stringContaining('timestamp "yesterday"') },
      { line: 3, error: expect.stringContaining('value "-3" is not a count') },
      { line: 4, error: expect.stringContaining('value "lots" is not a count') },
    ]);
  });

  it('learns a lasting level shift instead of alerting on it forever, and does not learn a lone outlier', async () => {
    const base = series(24 * 14, {});
    const lines = base.trim().split('\n');
    // From row 150 on, the series runs at 3x its level.
    const shifted = [lines[0], ...lines.slice(1).map((l, i) => (i >= 150 ? l.replace(/,(\d+)$/, (_, v: string) => `,${Number(v) * 3}`) : l))].join('\n');
    const { rows } = await run(`${shifted}\n`);
    const flagged = rows.flatMap((row, i) => (row[7] === '1' ? [i] : []));
    expect(flagged[0]).toBe(150);
    expect(flagged.filter((i) => i > 250)).toEqual([]);
    // A lone outlier leaves the expected level of the rows after it where it was.
    const { rows: spiky } = await run(series(24 * 14, { 200: 400 }));
    expect(Math.abs(Number(spiky[201]![2]) - Number(spiky[199]![2]))).toBeLessThan(5);
  });

  it('flags drops as well as rises by default, and only rises with --direction up', async () => {
    const dropped = series(24 * 14, { 200: 0, 201: 0, 202: 0, 203: 0 });
    const both = await run(dropped, { baseline: 120 });
    // The daily rhythm makes one empty hour borderline; the run of empty hours alerts, once.
    const flagged = both.rows.flatMap((row, i) => (row[7] === '1' ? [i] : []));
    expect(flagged).toHaveLength(1);
    expect(flagged[0]).toBeGreaterThanOrEqual(200);
    expect(flagged[0]).toBeLessThanOrEqual(203);
    expect(Number(both.rows[flagged[0]!]![4])).toBeLessThan(-2);
    expect(Number(both.rows[flagged[0]!]![5])).toBeLessThan(1e-3);
    expect((await run(dropped, { baseline: 120, direction: 'up' })).rows.filter((row) => row[7] === '1')).toEqual([]);
  });
});
