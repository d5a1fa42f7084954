/**
 * `npm run bench:nab` (also part of `npm run bench`): `surgewatch detect-series` on the Numenta
 * Anomaly Benchmark's labelled real and artificial series (../shared/data/nab), scored by NAB's
 * rules (bench/nab-score.ts), per category and overall, for the standard, reward_low_FP_rate and
 * reward_low_FN_rate profiles:
 *   - default flags: the `alert` column exactly as the command writes it with its default options,
 *     untuned: the figure the product reports;
 *   - swept: the best of a grid of settings (direction, alert p-value, refractory rows), the same
 *     setting for the whole corpus, per profile (as NAB's optimiser picks one threshold per
 *     detector and profile). The grid runs the detector in process on the same rows;
 *   - with --period: the default flags with daily seasonality (a day of rows, from each file's
 *     timestamps), which the command leaves off by default;
 *   - cross-check: the grid's best setting chosen on one half of the categories and scored on the
 *     other half, both ways, so that a setting tuned on this corpus is not reported as if it were
 *     not.
 * Also counts, for the default flags, the windows hit and the detections outside every window.
 *
 * The command rejects negative values (its input is counts), so rows below 0 (one artificial file
 * has them) are left out of the baseline and never flagged, in process as in the command.
 * Published scores are for NAB's whole corpus (58 files, with the tweet-volume series this copy
 * does not hold), so they are a reference, not a like-for-like comparison. Prints figures;
 * asserts nothing.
 *
 * NAB_DETECT_ARGS passes extra detect-series options to the default run and the grid (e.g.
 * "--baseline 144").
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { detectSeriesCommand, seriesOptions, type DetectSeriesOptions } from '../src/cli/detect-series.js';
import { createSeriesDetector } from '../src/detect/series.js';
import { PROFILES, counts, loadNab, normalised, type NabFile } from './nab-score.js';
import { sharedDataDir } from '../tests/_util/shared-data.js';

const nabDir = resolve(sharedDataDir, 'nab');
if (!existsSync(join(nabDir, 'labels/combined_windows.json'))) {
  console.error(`bench:nab: the NAB data is missing (${nabDir}); see ../shared/data/README.md`);
  process.exit(1);
}

/** Published standard-profile scores on the whole NAB corpus (58 files; this copy holds 48). */
const PUBLISHED = 'ARTime 74.9, Numenta HTM 70.5, CAD OSE 69.9, earthgeckoSkyline 58.2, KNN CAD 58.0, Twitter ADVec 47.1, windowed Gaussian 39.6, random 11.0';
/** The cross-check's halves: settings chosen on one are scored on the other. */
const HALF_A = new Set(['artificialNoAnomaly', 'artificialWithAnomaly', 'realAdExchange', 'realTraffic']);

const extra = (process.env.NAB_DETECT_ARGS ?? '').split(/\s+/).filter(Boolean);
const opts: DetectSeriesOptions = {};
for (let i = 0; i < extra.length; i += 2) {
  const key = extra[i]!.replace(/^--/, '').replace(/-(.)/g, (_, c: string) => c.toUpperCase()) as keyof DetectSeriesOptions;
  const v = extra[i + 1]!;
  (opts as Record<string, number | string>)[key] = Number.isFinite(Number(v)) ? Number(v) : v;
}

const files = loadNab(nabDir);
const rowsTotal = files.reduce((n, f) => n + f.values.length, 0);

// Default flags: the command itself, its CSV read back and matched to the file's rows by timestamp.
const dir = mkdtempSync(join(tmpdir(), 'surgewatch-nab-'));
const started = performance.now();
const defaults: boolean[][] = [];
for (const f of files) {
  const out = join(dir, 'scored.csv');
  await detectSeriesCommand(f.path, { ...opts, out }, { stdout: new PassThrough().resume(), stderr: new PassThrough().resume() });
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  const header = lines[0]!.split(',');
  const [tsCol, alertCol] = ['timestamp', 'alert'].map((c) => header.indexOf(c));
  const flagged = new Set(lines.slice(1).flatMap((l) => {
    const cells = l.split(',');
    return cells[alertCol!] === '1' ? [Date.parse(`${cells[tsCol!]!.replace(' ', 'T')}Z`)] : [];
  }));
  defaults.push(f.timestamps.map((t) => flagged.has(t)));
}
const detectSec = (performance.now() - started) / 1000;
rmSync(dir, { recursive: true, force: true });

/** The grid: direction x alert p-value x refractory (a share of the baseline). */
const baseline = opts.baseline ?? 288;
const GRID = (['up', 'both'] as const).flatMap((direction) =>
  [1e-2, 1e-3, 1e-4, 1e-6, 1e-8].flatMap((p) => [12, 6, 3].map((share) => ({ direction, p, refractory: Math.ceil(baseline / share) }))),
);
const gridStarted = performance.now();
const flagsAt = GRID.map((g) => ({
  setting: `${g.direction} p ${g.p} refractory ${g.refractory}`,
  flags: files.map((f) => {
    const d = createSeriesDetector(seriesOptions({ ...opts, ...g }));
    return f.values.map((v) => v >= 0 && d.push(v).alert);
  }),
}));
const gridSec = (performance.now() - gridStarted) / 1000;

/** Rows in a day, from a file's median row interval (0 when a day is not a whole number of rows). */
function dayRows(timestamps: readonly number[]): number {
  const gaps = timestamps.slice(1).map((t, i) => t - timestamps[i]!).sort((a, b) => a - b);
  const gap = gaps[gaps.length >> 1] ?? 0;
  const rows = gap > 0 ? Math.round(86_400_000 / gap) : 0;
  return rows >= 4 && Math.abs(rows * gap - 86_400_000) < gap / 2 ? rows : 0;
}
/** The default flags with daily seasonality (--period: a day of rows). */
const seasonal = files.map((f) => {
  const d = createSeriesDetector(seriesOptions({ ...opts, period: dayRows(f.timestamps) }));
  return f.values.map((v) => v >= 0 && d.push(v).alert);
});

type Flags = readonly (readonly boolean[])[];
const subset = (keep: (f: NabFile) => boolean, flags: Flags): [NabFile[], Flags] => {
  const ix = files.flatMap((f, k) => (keep(f) ? [k] : []));
  return [ix.map((k) => files[k]!), ix.map((k) => flags[k]!)];
};
const scoreOn = (keep: (f: NabFile) => boolean, flags: Flags, p = PROFILES[0]!) => normalised(...subset(keep, flags), p);
const best = (keep: (f: NabFile) => boolean, p = PROFILES[0]!) =>
  flagsAt.reduce((a, b) => (scoreOn(keep, b.flags, p) > scoreOn(keep, a.flags, p) ? b : a));

const categories = [...new Set(files.map((f) => f.category))];
const fmt = (x: number) => x.toFixed(1).padStart(6);
const all = () => true;
const windows = files.reduce((n, f) => n + f.windows.length, 0);
console.log(
  `bench:nab: ${files.length} series, ${rowsTotal.toLocaleString('en')} rows, ${windows} anomaly windows; detect-series ${detectSec.toFixed(1)} s (${Math.round(rowsTotal / detectSec).toLocaleString('en')} rows/s), grid of ${GRID.length} settings ${gridSec.toFixed(1)} s${extra.length ? `; options ${extra.join(' ')}` : ''}`,
);
const d = seriesOptions(opts);
console.log(`default flags: direction ${d.direction}, p ${opts.p ?? 1e-3}, baseline ${d.baseline}, refractory ${d.refractory}, memory ${d.memory}, runs ${d.runs.join('/')} rows`);
console.log('');
const swept = PROFILES.map((p) => best(all, p));
console.log(`${'NAB score (flags / swept)'.padEnd(28)}${PROFILES.map((p) => p.name.padStart(22)).join('')}   default flags: windows hit, detections outside`);
for (const c of [...categories, 'all']) {
  const keep = (f: NabFile) => c === 'all' || f.category === c;
  const n = files.filter(keep).length;
  const cells = PROFILES.map((p, k) => `${fmt(scoreOn(keep, defaults, p))} / ${fmt(scoreOn(keep, swept[k]!.flags, p))}`.padStart(22));
  const m = counts(...subset(keep, defaults));
  console.log(`${`${c} (${n})`.padEnd(28)}${cells.join('')}   ${`${m.hit}/${m.windows}`.padStart(7)}, ${m.outside}`);
}
console.log(`swept settings: ${PROFILES.map((p, k) => `${p.name} ${swept[k]!.setting}`).join('; ')}`);
console.log('');
console.log(`${'with --period (a day of rows)'.padEnd(28)}${PROFILES.map((p) => p.name.padStart(22)).join('')}   windows hit, detections outside`);
for (const c of [...categories, 'all']) {
  const keep = (f: NabFile) => c === 'all' || f.category === c;
  const m = counts(...subset(keep, seasonal));
  console.log(`${`${c} (${files.filter(keep).length})`.padEnd(28)}${PROFILES.map((p) => fmt(scoreOn(keep, seasonal, p)).padStart(22)).join('')}   ${`${m.hit}/${m.windows}`.padStart(7)}, ${m.outside}`);
}
console.log('');
console.log('cross-check, standard profile: the grid setting best on one half, scored on the other');
const halves = [
  { name: 'A (artificial, realAdExchange, realTraffic)', keep: (f: NabFile) => HALF_A.has(f.category) },
  { name: 'B (realAWSCloudwatch, realKnownCause)', keep: (f: NabFile) => !HALF_A.has(f.category) },
];
for (const [from, to] of [halves, [...halves].reverse()] as [typeof halves[0], typeof halves[0]][]) {
  const chosen = best(from.keep);
  const own = best(to.keep);
  console.log(
    `  chosen on ${from.name}: ${chosen.setting} -> on ${to.name} ${scoreOn(to.keep, chosen.flags).toFixed(1)} (its own best ${scoreOn(to.keep, own.flags).toFixed(1)}, default flags ${scoreOn(to.keep, defaults).toFixed(1)})`,
  );
}
console.log('');
console.log(`published, standard profile, whole corpus: ${PUBLISHED}`);
