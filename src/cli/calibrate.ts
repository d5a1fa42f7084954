import { once } from 'node:events';
import type { AppConfig } from '../config/load.js';
import { nearestExemplars } from '../scoring/semantic.js';
import { scoreSignal } from '../scoring/score.js';
import { DEFAULT_TRAIN, type TrainOptions } from '../training/train.js';
import { startRuntime, UsageError, type Io } from './commands.js';
import { evaluateHeads, headEvaluationLines, headEvaluationTable, type HeadEvaluation } from './head-evaluation.js';
import { embedTrainingRows, progressLine, readTrainingRows, rowFilter, trainingModel, type DataSelection } from './training-data.js';

/** One threshold of the sweep for one topic. */
export interface SweepPoint {
  topic: string;
  threshold: number;
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
}

/** The exemplar-similarity calibration of one topic scored by exemplars (one JSON line). */
export interface TopicCalibration {
  kind: 'exemplar';
  topic: string;
  positives: number;
  negatives: number;
  current_threshold: number;
  proposed_threshold: number;
  /** The proposed threshold's figures with semantic scoring alone and with lexicon + semantic. */
  semantic: { precision: number; recall: number };
  combined: { precision: number; recall: number };
  /** Why this threshold: the target precision was reached, or (if not) the best F1. */
  basis: 'target_precision' | 'best_f1';
  sweep: SweepPoint[];
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

function point(topic: string, threshold: number, labels: boolean[], predicted: boolean[]): SweepPoint {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  labels.forEach((pos, i) => {
    if (predicted[i] && pos) tp++;
    else if (predicted[i]) fp++;
    else if (pos) fn++;
  });
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 1 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { topic, threshold: r3(threshold), tp, fp, fn, precision: r3(precision), recall: r3(recall), f1: r3(f1) };
}

export interface CalibrateOptions extends DataSelection {
  pipeline?: string;
  /** Exemplar sweep: the target precision, and the thresholds swept. */
  minPrecision?: number;
  from?: number;
  to?: number;
  step?: number;
  /** Only these topics (ids of the pipeline's topics). */
  topics?: readonly string[];
  /** Head evaluation: how heads are trained (the defaults are `train`'s). */
  train?: Partial<TrainOptions>;
  /** Head evaluation: recall is also reported at this benign false-positive rate. */
  atFpr?: number;
}

export interface CalibrateResult {
  /** Exemplar sweeps, one per topic scored by exemplars with positives in the file. */
  topics: TopicCalibration[];
  /** Head evaluation; absent when the pipeline does not run on a local transformers model. */
  heads?: HeadEvaluation;
  /** Rows used, and bad lines. */
  lines: number;
  bad: number;
}

async function writeLine(out: NodeJS.WritableStream, value: unknown): Promise<void> {
  if (!out.write(`${JSON.stringify(value)}\n`)) await once(out, 'drain');
}

/**
 * `surgewatch calibrate <labelled.jsonl>`: lines `{"text","topic"}` (plus optional id, dataset,
 * ...: the layout of ../shared/data/text/labelled-dev.jsonl) where topic is a label of one of
 * the pipeline's topics, "benign" or "offensive". Two reports, as JSON lines on stdout and
 * tables on stderr:
 *
 * - for each topic scored by exemplar similarity (no trained head in the pipeline's head file,
 *   or any topic on a model without heads such as USE Lite): a sweep of similarity thresholds
 *   with precision and recall (a row of another topic counts as a negative), and the lowest
 *   threshold that reaches the target precision (else the best F1) proposed;
 * - when the pipeline runs on a local transformers model: heads trained per topic on the rows
 *   (as `surgewatch train` would), measured in-set and across data sets.
 */
export async function calibrateCommand(config: AppConfig, file: string, opts: CalibrateOptions, io: Io): Promise<CalibrateResult> {
  const minPrecision = opts.minPrecision ?? 0.9;
  const from = opts.from ?? 0.3;
  const to = opts.to ?? 0.95;
  const step = opts.step ?? 0.025;
  if (!(from > 0 && to <= 1 && from < to && step > 0)) throw new UsageError('the sweep needs 0 < --from < --to <= 1 and --step > 0');
  const atFpr = opts.atFpr ?? 0.02;
  if (!(atFpr > 0 && atFpr < 1)) throw new UsageError('--at-fpr must be a number in (0, 1)');
  const { filter } = rowFilter(opts);
  const train: TrainOptions = { ...DEFAULT_TRAIN, ...opts.train, mlp: { ...DEFAULT_TRAIN.mlp, ...opts.train?.mlp } };
  const { rt, setup } = await startRuntime(config, { ...(opts.pipeline && { pipeline: opts.pipeline }), semantic: 'all', stderr: io.stderr });
  try {
    const unknown = opts.topics?.filter((t) => !rt.lists.topics.has(t)) ?? [];
    if (unknown.length > 0) throw new UsageError(`--topic: ${unknown.join(', ')} is not a topic of pipeline ${rt.config.id}`);
    const data = await readTrainingRows(file, [...rt.lists.topics.values()], filter, io, { knownLabelsOnly: { pipeline: rt.config.id } });
    const { rows, texts } = data;
    const index = rt.lists.semantic;
    if (!index || !rt.semantic?.embedder) throw new UsageError(`pipeline ${rt.config.id}: semantic scoring is unavailable (${rt.semantic?.reason ?? 'off'})`);
    const wanted = (topic: string) => !opts.topics || opts.topics.includes(topic);

    // A local transformers model: the rows' vectors come from the vector cache beside it, and
    // heads can be trained on them. Another model (USE Lite): embedded here, exemplars only.
    const loaded = setup.pipelines.get(rt.config.id)?.loaded;
    const spec = loaded === undefined ? undefined : config.models.get(loaded);
    let vectors: Float32Array[];
    let heads: HeadEvaluation | undefined;
    if (spec?.backend === 'transformers' && spec.path) {
      io.stderr.write(`calibrate: ${rows.length.toLocaleString('en')} rows; embedding with ${spec.id} (cached beside the model)\n`);
      const stages = await embedTrainingRows(trainingModel(config, spec.id, undefined), texts, { progress: progressLine(io.stderr, 'embedded') });
      const { x, dim } = stages.transformer;
      vectors = rows.map((_, i) => x.subarray(i * dim, i * dim + stages.modelDim));
      heads = evaluateHeads(data, stages, { train, atFpr, topics: opts.topics, progress: (what) => io.stderr.write(`calibrate: training heads, ${what}\n`) });
    } else {
      vectors = await rt.semantic.embedder.embed(texts);
    }

    // A counter-exemplar veto removes a line from the semantic route at every threshold.
    const sims = vectors.map((v) => new Map(nearestExemplars(index, v, rt.config.semantic).map((m) => [m.topic, m.counter ? -1 : m.similarity])));
    const lexicon = texts.map((text) => new Map(scoreSignal(rt.lists.lexicon, rt.lists.topics, { text, hashtags: [] }).map((s) => [s.topic, s])));
    const { assist } = rt.config.semantic;
    const results: TopicCalibration[] = [];
    for (const t of index.topics) {
      if (!wanted(t.topic)) continue;
      const labels = rows.map((r) => r.topic === t.topic);
      const positives = labels.filter(Boolean).length;
      if (positives === 0) continue;
      const sim = sims.map((m) => m.get(t.topic) ?? 0);
      const combinedAt = (th: number) =>
        rows.map((_, i) => {
          const lex = lexicon[i]!.get(t.topic);
          return Boolean(lex?.hit) || sim[i]! >= th || ((lex?.score ?? 0) > 0 && sim[i]! >= assist * th);
        });
      const sweep: SweepPoint[] = [];
      for (let th = from; th <= to + 1e-9; th += step) sweep.push(point(t.topic, th, labels, sim.map((s) => s >= th)));
      const reaching = sweep.filter((p) => p.precision >= minPrecision && p.tp > 0);
      const best = reaching.length > 0 ? reaching.reduce((a, b) => (b.recall > a.recall ? b : a)) : sweep.reduce((a, b) => (b.f1 > a.f1 ? b : a));
      const combined = point(t.topic, best.threshold, labels, combinedAt(best.threshold));
      results.push({
        kind: 'exemplar',
        topic: t.topic,
        positives,
        negatives: rows.length - positives,
        current_threshold: t.threshold,
        proposed_threshold: best.threshold,
        semantic: { precision: best.precision, recall: best.recall },
        combined: { precision: combined.precision, recall: combined.recall },
        basis: reaching.length > 0 ? 'target_precision' : 'best_f1',
        sweep,
      });
    }
    for (const r of results) await writeLine(io.stdout, r);
    if (heads) for (const l of headEvaluationLines(heads)) await writeLine(io.stdout, l);

    const report: string[] = [];
    if (results.length === 0 && heads) report.push(`exemplar thresholds: no topic scored by exemplars (${index.topics.map((t) => t.topic).join(', ') || 'none'}) has labelled rows among those used`);
    else {
      report.push(
        `calibrated on ${rows.length} lines (${data.bad} bad), target precision ${minPrecision}:`,
        'topic                      pos  current  proposed  sem P/R      combined P/R',
        ...results.map(
          (r) =>
            `${r.topic.padEnd(26)} ${String(r.positives).padStart(3)}  ${r.current_threshold.toFixed(3).padStart(7)}  ${r.proposed_threshold.toFixed(3).padStart(8)}  ` +
            `${r.semantic.precision.toFixed(2)}/${r.semantic.recall.toFixed(2)}    ${r.combined.precision.toFixed(2)}/${r.combined.recall.toFixed(2)}${r.basis === 'best_f1' ? '  (target not reached: best F1)' : ''}`,
        ),
      );
    }
    if (heads) {
      const datasets = new Set(rows.map((r) => r.dataset));
      report.push('', `heads on ${spec!.id}, ${rows.length.toLocaleString('en')} rows of ${datasets.size} data set(s), ${data.bad} bad line(s) left out:`, ...headEvaluationTable(heads));
    }
    io.stderr.write(`${report.join('\n')}\n`);
    return { topics: results, ...(heads && { heads }), lines: rows.length, bad: data.bad };
  } finally {
    await setup.close();
  }
}
