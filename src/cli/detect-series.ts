import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createSeriesDetector, type SeriesDetectorOptions } from '../detect/series.js';
import { normalUpperTail } from '../detect/stats.js';
import type { Io } from './commands.js';
import { readLines } from './lines.js';

export interface DetectSeriesOptions {
  out?: string;
  /** Rows of history each row is tested against (default 288: a day of 5-minute rows). */
  baseline?: number;
  /** A row alerts when its p-value (Bonferroni over its tests) is at most this (default 1e-3) and it goes beyond the recent extremes. */
  p?: number;
  /** `both` (default): rises and drops; `up`: rises only. */
  direction?: 'up' | 'both';
  /** Quiet rows (no test beyond its threshold and recent extreme) after which a new episode can alert (default baseline / 12). */
  refractory?: number;
  /** Rows of history needed before anything is flagged (default baseline / 2). */
  minHistory?: number;
  /** Rows over which an alert must go beyond every earlier deviation of its kind (default 14 x baseline; 0: off). */
  memory?: number;
  /** Rows in a season (e.g. 288: a day of 5-minute rows): the same row of earlier seasons sets the expected value where that fits better (default 0: none). */
  period?: number;
}

const MAX_LINE_BYTES = 4096;
const HEADER = 'timestamp,value,expected,ratio,z,p,anomaly_score,alert';

/** The z at which the normal upper tail is p (bisection; p in (0, 0.5]). */
function zFor(p: number): number {
  let lo = 0;
  let hi = 40;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (normalUpperTail(mid) > p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** The series detector's settings for the command's options, defaults filled in. */
export function seriesOptions(opts: DetectSeriesOptions): SeriesDetectorOptions {
  const baseline = opts.baseline ?? 288;
  const p = opts.p ?? 1e-3;
  const direction = opts.direction ?? 'both';
  // Runs of a 48th and an 8th of the baseline: half an hour and three hours of 5-minute rows.
  const runs = [...new Set([Math.round(baseline / 48), Math.round(baseline / 8)].filter((k) => k >= 2))];
  const tests = 1 + runs.length;
  return {
    baseline,
    minHistory: opts.minHistory ?? Math.ceil(baseline / 2),
    direction,
    zAlert: zFor(p / tests / (direction === 'both' ? 2 : 1)),
    refractory: opts.refractory ?? Math.ceil(baseline / 12),
    memory: opts.memory ?? 14 * baseline,
    shiftRows: Math.ceil(baseline / 8),
    runs,
    period: opts.period ?? 0,
  };
}

/**
 * `surgewatch detect-series <series.csv>`: the detector over a plain `timestamp,value` series
 * exported from another system (counts or metrics). Each row, and the runs of rows ending on it,
 * are tested against a robust baseline of the rows before (median and MAD; outliers are not
 * learned, a lasting level shift is; see src/detect/series.ts). Writes every row with its
 * expected value (the baseline's median), ratio, robust z, p (the smallest of its tests'),
 * anomaly score (0..1, 0.5 at the alert line) and alert flag (0/1: the row where an episode
 * opens). The header stays `timestamp,value,expected,ratio,z,p,anomaly_score,alert`. A bad row
 * is reported on stderr with its line number and left out of the baseline.
 *
 * The defaults (rises and drops, p 1e-3, a memory of 14 baselines, runs of a 48th and an 8th of
 * the baseline, a new episode after a twelfth of a baseline of quiet rows) are the ones that
 * score best on the NAB corpus by `npm run bench:nab`, which also reports how settings chosen on
 * half of its categories fare on the other half.
 */
export async function detectSeriesCommand(file: string, opts: DetectSeriesOptions, io: Io): Promise<{ rows: number; bad: number; alerts: number }> {
  const detector = createSeriesDetector(seriesOptions(opts));
  const out: WriteStream | NodeJS.WritableStream = opts.out ? createWriteStream(opts.out) : io.stdout;
  const write = async (line: string) => {
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  };

  let rows = 0;
  let bad = 0;
  let alerts = 0;
  let lastTs = -Infinity;
  await write(HEADER);
  for await (const { line, bytes } of readLines(file, MAX_LINE_BYTES)) {
    const text = new TextDecoder().decode(bytes).trim();
    if (text === '' || (line === 1 && /^[^0-9-]/.test(text) && /value/i.test(text))) continue; // blank or header
    const cells = text.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
    const row = parseRow(cells);
    if ('error' in row) {
      bad++;
      io.stderr.write(`${JSON.stringify({ line, error: row.error })}\n`);
      continue;
    }
    const { ts, raw, tsMs, value } = row;
    if (tsMs <= lastTs) io.stderr.write(`${JSON.stringify({ line, warning: 'timestamp not after the previous row; tested in file order' })}\n`);
    lastTs = tsMs;
    const r = detector.push(value);
    if (r.alert) alerts++;
    const num = (x: number) => String(Math.round(x * 1000) / 1000);
    await write([ts, raw, num(r.expected), num(r.ratio), num(r.z), r.p.toPrecision(3), r.score.toFixed(6), r.alert ? 1 : 0].join(','));
    rows++;
  }
  if (out !== io.stdout) {
    (out as WriteStream).end();
    await once(out, 'finish');
  }
  return { rows, bad, alerts };
}

/** A row's timestamp and count, or why it is not one. */
function parseRow(cells: string[]): { ts: string; raw: string; tsMs: number; value: number } | { error: string } {
  if (cells.length < 2) return { error: 'expected timestamp,value' };
  const [ts, raw] = cells as [string, string];
  const tsMs = /^\d+$/.test(ts) ? Number(ts) : Date.parse(ts);
  if (!Number.isFinite(tsMs)) return { error: `timestamp "${ts.slice(0, 40)}" is neither ISO-8601 nor epoch milliseconds` };
  const value = Number(raw);
  if (raw === '' || !Number.isFinite(value) || value < 0) return { error: `value "${raw.slice(0, 40)}" is not a count (a number at least 0)` };
  return { ts, raw, tsMs, value };
}
