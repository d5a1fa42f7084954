import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { pipelineSchema } from '../config/pipeline-schema.js';
import { createDetector, type Guards } from '../detect/detector.js';
import type { Io } from './commands.js';
import { readLines } from './lines.js';

export interface DetectSeriesOptions {
  out?: string;
  /** Rows of history each row is tested against. */
  baseline?: number;
  /** Half-life of the baseline's weights, in rows. */
  halfLife?: number;
  /** Rows left out between the baseline and the row tested. */
  gap?: number;
  /** A row alerts when its p-value is at most this... */
  p?: number;
  /** ...its value at least this multiple of the expected one... */
  minRatio?: number;
  /** ...and at least this count. */
  minCount?: number;
  /** Rows of history needed before anything is flagged. */
  minHistory?: number;
}

const MAX_LINE_BYTES = 4096;
const HEADER = 'timestamp,value,expected,ratio,z,p,anomaly_score,alert';

/**
 * `surgewatch detect-series <series.csv>`: the detector over a plain `timestamp,value` count
 * series exported from another system. Each row is one bucket, tested against the rows before
 * it (EWMA baseline, negative-binomial or Poisson tail). Writes every row with its expected
 * value, ratio, z, p, anomaly score (-log10 p) and alert flag (0/1). A bad row is reported on
 * stderr with its line number and left out of the baseline.
 */
export async function detectSeriesCommand(file: string, opts: DetectSeriesOptions, io: Io): Promise<{ rows: number; bad: number; alerts: number }> {
  const baseline = opts.baseline ?? 60;
  const cfg = pipelineSchema.parse({ id: 'series' }).detect;
  const detect = { ...cfg, halfLifeSec: opts.halfLife ?? Math.max(1, baseline / 2), minExpected: 1 };
  const detector = createDetector(detect);
  const guards: Guards = { minCount: opts.minCount ?? 1, minRatio: opts.minRatio ?? 2, zThreshold: 0, minAuthors: 0, fdr: opts.p ?? 1e-4 };
  const gap = opts.gap ?? 0;
  const minHistory = opts.minHistory ?? Math.ceil(baseline / 2);
  const out: WriteStream | NodeJS.WritableStream = opts.out ? createWriteStream(opts.out) : io.stdout;
  const write = async (line: string) => {
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  };

  const history: number[] = [];
  let rows = 0;
  let bad = 0;
  let alerts = 0;
  let lastTs = -Infinity;
  let streak = 0;
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
    const past = history.slice(Math.max(0, history.length - gap - baseline), Math.max(0, history.length - gap));
    const e = detector.evaluate({ counts: [...past, value], currentBuckets: 1, bucketMs: 1000, fromBucketMs: 0, firstSeenMs: 0 });
    const d = detector.decide([{ ...e, coverage: past.length >= minHistory ? 1 : 0 }], [guards])[0]!;
    if (d.significant) alerts++;
    const score = d.p > 0 ? Math.min(300, -Math.log10(d.p)) : 300;
    await write([ts, raw, d.expected, d.ratio, d.z, d.p.toPrecision(3), score.toFixed(2), d.significant ? 1 : 0].join(','));
    // Flagged rows are not learned, so a spike does not inflate the baseline of the rows after
    // it; a level shift that lasts half a baseline becomes the new normal.
    streak = d.significant ? streak + 1 : 0;
    if (streak === 0 || streak > baseline / 2) {
      history.push(value);
      if (history.length > baseline + gap) history.shift();
    }
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
