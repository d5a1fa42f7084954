/**
 * The Numenta Anomaly Benchmark's corpus and scoring rules, for bench/nab.ts. Reads the labelled
 * series of ../shared/data/nab and scores a detector's detections the way NAB's README and scorer
 * describe it:
 *   - rows in the first 15% of a file (at most 750) are a probation period and are not scored;
 *   - inside a labelled window, the first detection earns tp x (2 sigmoid(-5 y) - 1), y the
 *     detection's position in the window from -1 (its start) to 0 (its end), so early detection
 *     earns nearly 1; later detections in the same window count nothing;
 *   - a detection outside every window costs fp x the same curve of its distance past the last
 *     window (in window widths; the full fp when no window came before);
 *   - a window without a detection costs fn;
 *   - a file set's score is normalised so that 0 is a detector that never fires and 100 one that
 *     flags every window's first row.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Profile {
  name: string;
  tp: number;
  fp: number;
  fn: number;
}
export const PROFILES: Profile[] = [
  { name: 'standard', tp: 1, fp: 0.11, fn: 1 },
  { name: 'reward_low_FP_rate', tp: 1, fp: 0.22, fn: 1 },
  { name: 'reward_low_FN_rate', tp: 1, fp: 0.11, fn: 2 },
];

export interface NabFile {
  /** `<category>/<file>`, as the labels name it. */
  name: string;
  category: string;
  path: string;
  timestamps: number[];
  values: number[];
  /** Row index ranges [first, last] of the labelled windows. */
  windows: [number, number][];
  /** Rows before this one are not scored. */
  probation: number;
}

const scaledSigmoid = (y: number) => (y > 3 ? -1 : 2 / (1 + Math.exp(5 * y)) - 1);
const parseTs = (s: string) => Date.parse(`${s.trim().replace(' ', 'T')}Z`);

/** Every labelled series of the corpus with its windows, in category and file order. */
export function loadNab(nabDir: string): NabFile[] {
  const labels = JSON.parse(readFileSync(join(nabDir, 'labels/combined_windows.json'), 'utf8')) as Record<string, [string, string][]>;
  const files: NabFile[] = [];
  for (const category of readdirSync(join(nabDir, 'data')).sort()) {
    for (const file of readdirSync(join(nabDir, 'data', category)).sort()) {
      const name = `${category}/${file}`;
      if (!(name in labels)) continue;
      const path = join(nabDir, 'data', name);
      const rows = readFileSync(path, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
      const timestamps = rows.map((r) => parseTs(r[0]!));
      const windows = labels[name]!.map(([a, b]): [number, number] => {
        const from = parseTs(a);
        const to = parseTs(b);
        const first = timestamps.findIndex((t) => t >= from);
        let last = first;
        while (last + 1 < timestamps.length && timestamps[last + 1]! <= to) last++;
        return [first, last];
      });
      files.push({
        name,
        category,
        path,
        timestamps,
        values: rows.map((r) => Number(r[1])),
        windows: windows.filter(([a]) => a >= 0),
        probation: Math.min(Math.floor(0.15 * rows.length), 750),
      });
    }
  }
  return files;
}

/** A file's raw NAB score for its detections (one flag per row). */
export function rawScore(f: NabFile, detected: readonly boolean[], p: Profile): number {
  let score = 0;
  const hit = new Array<boolean>(f.windows.length).fill(false);
  let w = 0; // first window not yet ended
  for (let i = f.probation; i < f.values.length; i++) {
    while (w < f.windows.length && f.windows[w]![1] < i) w++;
    if (!detected[i]) continue;
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

/**
 * NAB's normalised score of a file set, `detections[k]` being the flags of `files[k]`:
 * 0 = never fires, 100 = every window's first row flagged.
 */
export function normalised(files: readonly NabFile[], detections: readonly (readonly boolean[])[], p: Profile): number {
  let raw = 0;
  let nul = 0;
  let perfect = 0;
  files.forEach((f, k) => {
    raw += rawScore(f, detections[k]!, p);
    nul -= p.fn * f.windows.length;
    perfect += p.tp * scaledSigmoid(-1) * f.windows.length;
  });
  return perfect === nul ? 0 : (100 * (raw - nul)) / (perfect - nul);
}

/** Windows hit and detections outside every window (scored rows only), for a file set. */
export function counts(files: readonly NabFile[], detections: readonly (readonly boolean[])[]): { hit: number; windows: number; outside: number } {
  let hit = 0;
  let windows = 0;
  let outside = 0;
  files.forEach((f, k) => {
    const d = detections[k]!;
    windows += f.windows.length;
    for (const [a, b] of f.windows) if (d.slice(Math.max(a, f.probation), b + 1).some(Boolean)) hit++;
    for (let i = f.probation; i < f.values.length; i++) if (d[i] && !f.windows.some(([a, b]) => i >= a && i <= b)) outside++;
  });
  return { hit, windows, outside };
}
