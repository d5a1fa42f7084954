/**
 * `npm run bench:backtest` (also part of `npm run bench`): detection on real text. Builds a
 * replay stream from the real labelled posts of ../shared/data/text (`surgewatch synth
 * --corpus`: diurnal background over regions, surges of 2x-20x, sharp and 10-minute ramps,
 * global and regional, benign viral waves), replays it through the shipped pipeline on event
 * time (`surgewatch replay --truth`: in-memory stores, the shipped scorer) and prints:
 *   - per surge: detected or not, delay from its start, and for a missed one the detector's
 *     decisions on its series during the surge (reasons, and the best p, ratio and count seen);
 *   - the share of 2x-3x and of >= 3x surges detected, 10-minute ramps found within 5 minutes;
 *   - false alerts per simulated day, and those raised during benign waves;
 *   - replay speed (signals/s) and where the time went (scoring, the rest).
 *
 * Scoring a signal does not depend on the detector, and the stream repeats the corpus' texts
 * (about 14k rows of the test split make 500k signals), so the shipped scorer runs once per
 * distinct text: its per-text scores are kept in memory during the run and in a file under the
 * system's temp folder between runs (keyed by the pipeline's scoring settings and list version;
 * BACKTEST_FRESH=1 scores afresh). Detection then runs on exactly the scores the product gives.
 *
 * BACKTEST_DAYS (default 3), BACKTEST_RATE (signals/s, default 2), BACKTEST_SEED (default 1),
 * BACKTEST_PIPELINE (default the first), BACKTEST_SEMANTIC (off|all|candidates: default the
 * pipeline's own), BACKTEST_KEEP=1 (keep the stream, truth and alerts written, and say where). Prints figures; asserts nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Alert } from '../src/alerts/alert.js';
import { replayCommand } from '../src/cli/commands.js';
import { synthCommand } from '../src/cli/synth.js';
import type { SurgeResult } from '../src/cli/truth.js';
import { loadConfig } from '../src/config/load.js';
import type { SemanticMode } from '../src/config/pipeline-schema.js';
import type { Decision, WindowFigures } from '../src/detect/detector.js';
import type { TopicScore } from '../src/scoring/score.js';
import type { SemanticScorer } from '../src/scoring/semantic-scorer.js';
import type { CorpusTruth } from '../src/synthetic/corpus-stream.js';
import type { Signal } from '../src/ingest/signal.js';
import { scoreForRuntime } from '../src/worker/process-records.js';
import { sharedDataDir } from '../tests/_util/shared-data.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const corpus = resolve(sharedDataDir, 'text/labelled-dev.jsonl');
const DAYS = Number(process.env.BACKTEST_DAYS ?? 3);
const RATE = Number(process.env.BACKTEST_RATE ?? 2);
const SEED = Number(process.env.BACKTEST_SEED ?? 1);
const SEMANTIC = process.env.BACKTEST_SEMANTIC as SemanticMode | undefined;
/** A ramp counts as found in time when its alert opens within this many seconds of its start. */
const RAMP_DEADLINE_SEC = 300;
/** Texts per call when scoring the corpus up front. */
const PRESCORE_BATCH = 256;

if (!existsSync(corpus)) {
  console.error(`bench:backtest: the labelled data is missing (${corpus}); see ../shared/data/README.md`);
  process.exit(1);
}

const config = loadConfig({ env: { ...process.env, REDIS_URL: '' }, cwd: root });
const dir = mkdtempSync(join(tmpdir(), 'surgewatch-backtest-'));
const signalsFile = join(dir, 'signals.jsonl');
const truthFile = join(dir, 'truth.json');
const alertsFile = join(dir, 'alerts.jsonl');
const quiet = () => new PassThrough().resume();

const t0 = performance.now();
const synth = await synthCommand(config.topics, { corpus, out: signalsFile, truth: truthFile, days: DAYS, seed: SEED, ratePerSec: RATE }, { stdout: quiet(), stderr: quiet() });
const synthSec = (performance.now() - t0) / 1000;
const truth = synth.truth;

// --- the shipped scorer, once per distinct text -------------------------------------------
type Memo = Map<string, TopicScore[]>;
let memo: Memo = new Map();
let memoFile = '';
let scoringMs = 0;
let scoredTexts = 0;
let memoHits = 0;

function saveMemo(): void {
  if (memoFile && scoredTexts > 0) writeFileSync(memoFile, JSON.stringify([...memo]));
}

function memoize(rtSemantic: SemanticScorer, key: string): SemanticScorer {
  memoFile = join(tmpdir(), `surgewatch-backtest-scores-${createHash('sha256').update(key).digest('hex').slice(0, 16)}.json`);
  if (process.env.BACKTEST_FRESH !== '1' && existsSync(memoFile)) memo = new Map(JSON.parse(readFileSync(memoFile, 'utf8')) as [string, TopicScore[]][]);
  const score: SemanticScorer['score'] = async (items, index, keepAlive) => {
    const missing = items.filter((item) => !memo.has(item.signal.text));
    memoHits += items.length - missing.length;
    // One text once, even when a batch repeats it.
    const unique = [...new Map(missing.map((m) => [m.signal.text, m])).values()];
    if (unique.length > 0) {
      const started = performance.now();
      const r = await rtSemantic.score(unique, index, keepAlive);
      scoringMs += performance.now() - started;
      scoredTexts += unique.length;
      unique.forEach((item, i) => memo.set(item.signal.text, r.scores[i]!));
    }
    return { scores: items.map((item) => memo.get(item.signal.text)!), embedded: 0, failed: false };
  };
  return Object.assign(Object.create(rtSemantic) as SemanticScorer, { score });
}

// --- the detector's decisions on each surge's own series, during the surge -----------------
interface SurgeTrace {
  reasons: Map<string, number>;
  bestP: number;
  bestRatio: number;
  maxObserved: number;
  /** A ramp's series at its deadline: the window that stood highest above its baseline (z). */
  atDeadline?: WindowFigures;
}
const seriesOf = (topic: string, dimension: string) => (dimension === 'all' ? topic : `${topic}|${dimension}`);
const traces = truth.surges.map((): SurgeTrace => ({ reasons: new Map(), bestP: 1, bestRatio: 0, maxObserved: 0 }));
const watched = new Map<string, number[]>();
truth.surges.forEach((s, i) => {
  const key = seriesOf(s.topic, s.dimension);
  watched.set(key, [...(watched.get(key) ?? []), i]);
});
const spans = truth.surges.map((s) => [Date.parse(s.start), Date.parse(s.end)] as const);
let ticks = 0;
function onDecisions(_pipeline: string, nowMs: number, decisions: readonly { series: string; decision: Decision }[]): void {
  ticks++;
  for (const { series, decision } of decisions) {
    for (const i of watched.get(series) ?? []) {
      if (nowMs < spans[i]![0] || nowMs > spans[i]![1]) continue;
      const t = traces[i]!;
      t.reasons.set(decision.reason, (t.reasons.get(decision.reason) ?? 0) + 1);
      t.bestP = Math.min(t.bestP, decision.p);
      t.bestRatio = Math.max(t.bestRatio, decision.ratio);
      t.maxObserved = Math.max(t.maxObserved, decision.observed);
      if (truth.surges[i]!.shape === 'gradual' && !t.atDeadline && nowMs >= spans[i]![0] + RAMP_DEADLINE_SEC * 1000)
        t.atDeadline = (decision.windows ?? []).reduce<WindowFigures | undefined>((best, w) => (best === undefined || w.z > best.z ? w : best), undefined);
    }
  }
}

const pipeline = process.env.BACKTEST_PIPELINE;
const t1 = performance.now();
const replay = await replayCommand(
  config,
  signalsFile,
  {
    ...(pipeline && { pipeline }),
    ...(SEMANTIC && { semantic: SEMANTIC }),
    out: alertsFile,
    truth: truthFile,
    progress: process.stderr.isTTY || process.env.BACKTEST_PROGRESS === '1',
    observe: {
      runtime: async (rt) => {
        if (!rt.semantic) return;
        rt.semantic = memoize(rt.semantic, JSON.stringify([rt.config.semantic, rt.lists.set.version, rt.semantic.model]));
        // Every text the stream can draw, scored up front in large batches.
        const texts = [...new Set([...[...synth.plan.pools.byCategory.values()].flat().map((r) => r.text), ...Object.values(synth.plan.repostTexts), ...[...synth.plan.pools.nearBenign.values()].flat().map((r) => r.text)])];
        const todo = texts.filter((t) => !memo.has(t));
        for (let i = 0; i < todo.length; i += PRESCORE_BATCH) {
          const items = todo.slice(i, i + PRESCORE_BATCH).map((text, k) => ({ signal: { id: `pre-${i + k}`, text }, lexicon: scoreForRuntime(rt, { id: `pre-${i + k}`, text, tsMs: 0, truncated: false, surface: 'post', hashtags: [] } satisfies Signal) }));
          await rt.semantic.score(items, rt.lists.semantic);
          if (process.env.BACKTEST_PROGRESS === '1') process.stderr.write(`\rscoring distinct texts: ${Math.min(todo.length, i + PRESCORE_BATCH)}/${todo.length} `);
          if ((i / PRESCORE_BATCH) % 20 === 19) saveMemo();
        }
        saveMemo();
      },
      decisions: onDecisions,
    },
  },
  { stdout: quiet(), stderr: process.stderr },
);
const replaySec = (performance.now() - t1) / 1000;
saveMemo();

// --- report --------------------------------------------------------------------------------
const report = replay.truth!;
const opened = readFileSync(alertsFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Alert & { event: string })
  .filter((a) => a.event === 'opened');
const pct = (part: number, whole: number) => (whole === 0 ? '-' : `${((100 * part) / whole).toFixed(0)}% (${part}/${whole})`);
const share = (xs: readonly SurgeResult[]) => pct(xs.filter((s) => s.detected).length, xs.length);
const factor = (s: SurgeResult) => s.factor ?? 0;
const replayed = config.pipelines.find((p) => p.id === pipeline) ?? config.pipelines[0]!;
const minutes = (buckets: number) => (buckets * replayed.windows.bucketSec) / 60;
const truthSurge = (i: number) => (truth as CorpusTruth).surges[i]!;

console.log(`bench:backtest: ${synth.stats.signals.toLocaleString('en')} real posts over ${DAYS} simulated days (seed ${SEED}, ${RATE} signals/s), pipeline "${replayed.id}"`);
console.log('');
const scopeOf = new Map(opened.map((a) => [a.id, a.dimension]));
console.log('start                     topic                dimension       factor  shape    base  injected  detected  delay s  detected: the alert\'s scope where it is another; missed: decisions on its series during the surge');
report.surges.forEach((s, i) => {
  const t = traces[i]!;
  const ts = truthSurge(i);
  const named = s.alert_id === null ? undefined : scopeOf.get(s.alert_id);
  const d = t.atDeadline;
  const deadline = ts.shape === 'gradual' ? `at ${RAMP_DEADLINE_SEC / 60} min: ${d ? `z ${d.z} (${minutes(d.buckets)}-min window, ${d.observed} vs ${d.expected} expected)` : 'not tested'}; ` : '';
  const why = deadline + (s.detected
    ? named !== undefined && named !== s.dimension
      ? `on ${named}, ${s.dimension} related`
      : ''
    : `${[...t.reasons]
        .sort((a, b) => b[1] - a[1])
        .map(([r, n]) => `${r} ${n}`)
        .join(', ')}; best p ${t.bestP.toPrecision(2)}, ratio ${t.bestRatio}, max count ${t.maxObserved}`);
  console.log(
    `${s.start.padEnd(24)}  ${s.topic.padEnd(19)}  ${s.dimension.padEnd(14)}  ${String(s.factor).padStart(6)}  ${(s.shape ?? '').padEnd(7)}  ${String(ts.base).padStart(5)}  ${String(ts.injected ?? '').padStart(8)}  ${String(s.detected).padEnd(8)}  ${String(s.delay_sec ?? '-').padStart(7)}  ${why}`,
  );
});
const small = report.surges.filter((s) => factor(s) >= 2 && factor(s) <= 3);
const big = report.surges.filter((s) => factor(s) >= 3);
const ramps = report.surges.filter((s) => s.shape === 'gradual');
console.log('');
console.log(`surges detected: ${share(report.surges)}; 2x-3x: ${share(small)}; >= 3x: ${share(big)}`);
console.log(`10-minute ramps found within ${RAMP_DEADLINE_SEC / 60} minutes of their start: ${pct(ramps.filter((s) => s.detected && s.delay_sec! <= RAMP_DEADLINE_SEC).length, ramps.length)}`);
// What a ramp's own series showed by the deadline, in the window that stood highest: a ramp whose
// flagged posts stand only a few standard deviations above the baseline by then cannot be told from
// chance among the tick's series at the configured false-discovery rate.
const rampZ = ramps.map((s) => traces[report.surges.indexOf(s)]!.atDeadline?.z ?? 0).sort((a, b) => a - b);
console.log(`  their series at ${RAMP_DEADLINE_SEC / 60} minutes, best window: z >= 4 for ${pct(rampZ.filter((z) => z >= 4).length, ramps.length)}; median z ${rampZ[Math.floor(rampZ.length / 2)] ?? '-'}`);
const delays = report.surges.filter((s) => s.detected).map((s) => s.delay_sec!).sort((a, b) => a - b);
if (delays.length > 0) console.log(`delay from a surge's start to its alert: median ${delays[Math.floor(delays.length / 2)]} s, max ${delays.at(-1)} s`);
console.log(`false alerts: ${report.false_alerts} (${report.false_alerts_per_day} per simulated day over ${report.days} days), of them ${report.decoy_alerts} during ${report.decoys.length} benign waves; precision ${report.precision}`);
const explained = new Set(report.surges.map((s) => s.alert_id));
const falseOnes = opened.filter((a) => a.kind === 'spike' && !explained.has(a.id) && !truth.surges.some((s) => s.topic === a.topic && Date.parse(a.opened_at) >= Date.parse(s.start) && Date.parse(a.opened_at) <= Date.parse(s.end) + 300_000));
for (const a of falseOnes) console.log(`  false: ${a.opened_at} ${a.series} observed ${a.window.observed} expected ${a.window.expected} ratio ${a.window.ratio} p ${a.window.p.toPrecision(2)}`);
for (const d of report.decoys) console.log(`  benign wave ${d.kind.padEnd(13)} ${d.dimension.padEnd(14)} near ${(d.near ?? '-').padEnd(18)} ${d.start}: ${d.alerts} alerts`);
console.log('');
const otherSec = replaySec - scoringMs / 1000;
console.log(
  `speed: synth ${synthSec.toFixed(1)} s; replay ${replaySec.toFixed(1)} s = ${Math.round(replay.signals / replaySec).toLocaleString('en')} signals/s ` +
    `(scoring ${(scoringMs / 1000).toFixed(1)} s for ${scoredTexts.toLocaleString('en')} distinct texts${memoHits > 0 ? `, ${memoHits.toLocaleString('en')} signals answered from the per-text cache` : ''}; ` +
    `counting and ${ticks.toLocaleString('en')} detection ticks ${otherSec.toFixed(1)} s)`,
);
if (process.env.BACKTEST_KEEP === '1') console.log(`kept: ${dir} (signals, truth, alerts)`);
else rmSync(dir, { recursive: true, force: true });
