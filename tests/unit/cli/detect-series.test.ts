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
    const { r, header, rows } = await run(series(24 * 14, { 200: 80, 201: 75, 300: 90 }));
    expect(header).toBe('timestamp,value,expected,ratio,z,p,anomaly_score,alert');
    expect(rows).toHaveLength(24 * 14);
    const flagged = rows.flatMap((row, i) => (row[7] === '1' ? [i] : []));
    expect(flagged).toEqual([200, 201, 300]);
    expect(r.alerts).toBe(3);
    // The anomaly score is -log10 p: large for the spikes, small for ordinary rows.
    expect(Number(rows[200]![6])).toBeGreaterThan(10);
    expect(Number(rows[100]![6])).toBeLessThan(3);
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
});
