/**
 * `npm run bench:nab` (also part of `npm run bench`): `surgewatch detect-series` on the Numenta
 * Anomaly Benchmark's labelled real and artificial series (../shared/data/nab), scored by NAB's
 * rules, per category and overall, for the standard, reward_low_FP_rate and reward_low_FN_rate
 * profiles, twice:
 *   - default flags: the `alert` column as detect-series writes it, untuned;
 *   - swept: the detector's setting (alert p-value, rises only or both ways) that scores best
 *     over the whole corpus, per profile (as NAB's optimiser picks one threshold per detector).
 *
 * NAB's scoring, as its README and scorer describe it: rows in the first 15% of a file (at most
 * 750) are a probation period and are not scored. Inside a labelled window, the first detection
 * earns tp x (2 sigmoid(-5 y) - 1), y the detection's position in the window from -1 (its start)
 * to 0 (its end), so early detection earns nearly 1; later detections in the window count
 * nothing. A detection outside every window costs fp x the same curve of its distance past the
 * last window (in window widths; -1 when no window came before). A window without detection
 * costs fn. A file set's score is normalised so that 0 is a detector that never fires and 100
 * one that flags every window's first row. Prints figures; asserts nothing.
 *
 * NAB_DETECT_ARGS passes extra detect-series options (e.g. "--baseline 120").
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { detectSeriesCommand, seriesOptions, type DetectSeriesOptions } from '../src/cli/detect-series.js';
import { createSeriesDetector } from '../src/detect/series.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nabDir = resolve(root, '../shared/data/nab');
if (!existsSync(join(nabDir, 'labels/combined_windows.json'))) {
  console.error(`bench:nab: the NAB data is missing (${nabDir}); see ../shared/data/README.md`);
  process.exit(1);
}

interface Profile {
  name: string;
  tp: number;
  fp: number;
  fn: number;
}
const PROFILES: Profile[] = [
  { name: 'standard', tp: 1, fp: 0.11, fn: 1 },
  { name: 'reward_low_FP_rate', tp: 1, fp: 0.22, fn: 1 },
  { name: 'reward_low_FN_rate', tp: 1, fp: 0.11, fn: 2 },
];
/** Published standard-profile scores on the whole NAB corpus (58 files; this copy holds 48). */
const PUBLISHED = 'ARTime 74.9, Numenta HTM 70.5, CAD OSE 69.9, earthgeckoSkyline 58.2, KNN CAD 58.0, Twitter ADVec 47.1, windowed Gaussian 39.6, random 11.0';

const scaledSigmoid = (y: number) => (y > 3 ? -1 : 2 / (1 + Math.exp(5 * y)) - 1);

interface ScoredFile {
  name: string;
  category: string;
  scores: number[];
  values: number[];
  flags: boolean[];
  /** Row index ranges [first, last] of the labelled windows. */
  windows: [number, number][];
  probation: number;
}

/** A file's raw NAB score for a set of detections. */
function rawScore(f: ScoredFile, detected: (i: number) => boolean, p: Profile): number {
  let score = 0;
  const hit = new Array<boolean>(f.windows.length).fill(false);
  let w = 0; // first window not yet ended
  for (let i = f.probation; i < f.scores.length; i++) {
    while (w < f.windows.length && f.windows[w]![1] < i) w++;
    if (!detected(i)) continue;
    const cur = f.windows[w];
    if (cur && i >= cur[0]) {
      if (!hit[w]) {
        hit[w] = true;
        const width = cur[1] - cur[0] + 1;
        score += p.tp * scaledSigmoid(-(cur[1] - i + 1) / width);
      }
      continue;
    }
    const prev = w > 0 ? f.windows[w - 1] : undefined;
    score += p.fp * (prev ? scaledSigmoid(Math.abs(i - prev[1]) / Math.max(1, prev[1] - prev[0])) : -1);
  }
  return score - p.fn * hit.filter((h) => !h).length;
}

/** NAB's normalised score of a file set: 0 = never fires, 100 = every window's first row flagged. */
function normalised(files: readonly ScoredFile[], detected: (f: ScoredFile, i: number) => boolean, p: Profile): number {
  let raw = 0;
  let nul = 0;
  let perfect = 0;
  for (const f of files) {
    raw += rawScore(f, (i) => detected(f, i), p);
    nul -= p.fn * f.windows.length;
    perfect += p.tp * scaledSigmoid(-1) * f.windows.length;
  }
  return perfect === nul ? 0 : (100 * (raw - nul)) / (perfect - nul);
}

const labels = JSON.parse(readFileSync(join(nabDir, 'labels/combined_windows.json'), 'utf8')) as Record<string, [string, string][]>;
const dir = mkdtempSync(join(tmpdir(), 'surgewatch-nab-'));
const extra = (process.env.NAB_DETECT_ARGS ?? '').split(/\s+/).filter(Boolean);
const opts: DetectSeriesOptions = {};
for (let i = 0; i < extra.length; i += 2) {
  const key = extra[i]!.replace(/^--/, '').replace(/-(.)/g, (_, c: string) => c.toUpperCase()) as keyof DetectSeriesOptions;
  const v = extra[i + 1]!;
  (opts as Record<string, number | string>)[key] = Number.isFinite(Number(v)) ? Number(v) : v;
}

const started = performance.now();
const files: ScoredFile[] = [];
let rowsTotal = 0;
for (const category of readdirSync(join(nabDir, 'data')).sort()) {
  for (const file of readdirSync(join(nabDir, 'data', category)).sort()) {
    const key = `${category}/${file}`;
    if (!(key in labels)) continue;
    const out = join(dir, file);
    await detectSeriesCommand(join(nabDir, 'data', key), { ...opts, out }, { stdout: new PassThrough().resume(), stderr: new PassThrough().resume() });
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    const header = lines[0]!.split(',');
    const [tsCol, valueCol, scoreCol, alertCol] = ['timestamp', 'value', 'anomaly_score', 'alert'].map((c) => header.indexOf(c));
    const rows = lines.slice(1).map((l) => l.split(','));
    const ts = rows.map((r) => Date.parse(`${r[tsCol!]!.replace(' ', 'T')}Z`));
    const windows = labels[key]!.map(([a, b]): [number, number] => {
      const from = Date.parse(`${a.replace(' ', 'T')}Z`);
      const to = Date.parse(`${b.replace(' ', 'T')}Z`);
      const first = ts.findIndex((t) => t >= from);
      let last = first;
      while (last + 1 < ts.length && ts[last + 1]! <= to) last++;
      return [first, last];
    });
    rowsTotal += rows.length;
    files.push({
      name: key,
      category,
      scores: rows.map((r) => Number(r[scoreCol!])),
      values: rows.map((r) => Number(r[valueCol!])),
      flags: rows.map((r) => r[alertCol!] === '1'),
      windows: windows.filter(([a]) => a >= 0),
      probation: Math.min(Math.floor(0.15 * rows.length), 750),
    });
  }
}
const detectSec = (performance.now() - started) / 1000;
rmSync(dir, { recursive: true, force: true });

const byFlags = (f: ScoredFile, i: number) => f.flags[i]!;

/**
 * Swept: the detector's alert flags at each of a grid of settings (alert p-value, direction),
 * the same setting for the whole corpus, the best per profile (as NAB's optimiser picks one
 * threshold per detector and profile). Runs the detector in process on the values read above.
 */
const GRID = (['up', 'both'] as const).flatMap((direction) => [1e-3, 1e-4, 1e-5, 1e-6, 1e-8, 1e-10, 1e-12, 1e-15].map((p) => ({ direction, p })));
const flagsAt = new Map<string, boolean[][]>();
for (const g of GRID) {
  const key = `${g.direction} p ${g.p}`;
  flagsAt.set(
    key,
    files.map((f) => {
      const d = createSeriesDetector(seriesOptions({ ...opts, ...g }));
      return f.values.map((v) => d.push(v).alert);
    }),
  );
}
function sweep(p: Profile): { setting: string; flags: boolean[][] } {
  let best = { setting: 'none', flags: files.map((f) => f.flags.map(() => false)), score: 0 };
  for (const [setting, flags] of flagsAt) {
    const s = normalised(files, (f, i) => flags[files.indexOf(f)]![i]!, p);
    if (s > best.score) best = { setting, flags, score: s };
  }
  return best;
}

const categories = [...new Set(files.map((f) => f.category))];
const fmt = (x: number) => x.toFixed(1).padStart(7);
const flagged = files.reduce((n, f) => n + f.flags.filter(Boolean).length, 0);
const windows = files.reduce((n, f) => n + f.windows.length, 0);
console.log(`bench:nab: ${files.length} series, ${rowsTotal.toLocaleString('en')} rows, ${windows} anomaly windows; detect-series ${detectSec.toFixed(1)} s (${Math.round(rowsTotal / detectSec).toLocaleString('en')} rows/s)${extra.length ? `, options ${extra.join(' ')}` : ''}`);
console.log(`default flags: ${flagged.toLocaleString('en')} rows flagged`);
console.log('');
console.log(`${'NAB score'.padEnd(28)}${PROFILES.map((p) => `${p.name.padStart(20)} flags / swept`).join('')}`);
const swept = PROFILES.map(sweep);
for (const c of [...categories, 'all']) {
  const set = c === 'all' ? files : files.filter((f) => f.category === c);
  const cells = PROFILES.map((p, k) => {
    const flags = normalised(set, byFlags, p);
    const best = normalised(set, (f, i) => swept[k]!.flags[files.indexOf(f)]![i]!, p);
    return `${fmt(flags).padStart(26)} / ${fmt(best).trim().padStart(5)}`;
  });
  console.log(`${`${c} (${set.length})`.padEnd(28)}${cells.join('')}`);
}
console.log(`swept settings: ${PROFILES.map((p, k) => `${p.name} ${swept[k]!.setting}`).join(', ')}`);
console.log(`published, standard profile, whole corpus: ${PUBLISHED}`);
