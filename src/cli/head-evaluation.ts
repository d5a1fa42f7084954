/**
 * Quality figures of trained heads on labelled rows, as `surgewatch calibrate` and
 * `npm run bench:quality` report them: per topic, in-set (train split -> test split) and across
 * data sets (training/evaluate.ts), as JSON lines and as a table a person can read cold.
 */
import type { StageFigures } from '../scoring/heads.js';
import { evaluateCrossDataset, evaluateInSet, type EvaluationMode, type TopicEvaluation } from '../training/evaluate.js';
import { splitRows, type HeldOutFigures, type TrainOptions } from '../training/train.js';
import type { TrainingData, TrainingStages } from './training-data.js';

export interface HeadEvaluation {
  /** Train split -> test split, per topic. */
  inSet: TopicEvaluation[];
  /** Leave one data set out where a topic has several, else the held-out split again. */
  cross: TopicEvaluation[];
  /** Topics with rows but fewer training positives than a head needs. */
  skipped: { topic: string; positives: number }[];
  train: TrainOptions;
  atFpr: number;
}

/** Trains and measures heads for every topic of `data` with enough positives (or those of `topics`). */
export function evaluateHeads(
  data: TrainingData,
  stages: TrainingStages,
  opts: { train: TrainOptions; atFpr: number; topics?: readonly string[] | undefined; progress?: (what: string) => void },
): HeadEvaluation {
  const train = splitRows(data.rows, 'train');
  const chosen = new Map<string, readonly string[]>();
  const skipped: HeadEvaluation['skipped'] = [];
  for (const [topic, labels] of data.topics) {
    if (opts.topics && !opts.topics.includes(topic)) continue;
    const positives = train.filter((i) => data.rows[i]!.topic === topic).length;
    if (positives < opts.train.minPositives) skipped.push({ topic, positives });
    else chosen.set(topic, labels);
  }
  const input = { rows: data.rows, topics: chosen, stages, opts: opts.train, atFpr: opts.atFpr, ...(opts.progress && { progress: opts.progress }) };
  const inSet = evaluateInSet(input);
  const cross = evaluateCrossDataset(input, inSet);
  return { inSet, cross, skipped, train: opts.train, atFpr: opts.atFpr };
}

/** One stage's figures at its threshold, as JSON lines spell them. */
export interface StageJson {
  positives: number;
  tp: number;
  fp: number;
  benign: number;
  precision: number;
  recall: number;
  f1: number;
  benign_fpr: number;
}

export interface RecallAtFprJson {
  fpr: number;
  transformer: number;
  static?: number;
  two_stage?: number;
}

/**
 * One JSON line of `calibrate` per topic and evaluation. The top-level figures are the
 * transformer head's at its own threshold; `static` is the first stage alone, `two_stage` the
 * product's decision (the static stage flags, the transformer decides).
 */
export interface HeadEvaluationLine extends StageJson {
  kind: 'head';
  evaluation: 'in-set' | 'cross-dataset';
  mode: EvaluationMode;
  topic: string;
  /** Data sets the topic's positives come from. */
  datasets: string[];
  head: TrainOptions['kind'];
  recall_at_fpr: RecallAtFprJson;
  static?: StageJson;
  two_stage?: StageJson;
  /** Share of the transformer head's hits that the static stage flags. */
  recall_kept?: number;
  folds: ({ held_out: string; recall_at_fpr: RecallAtFprJson } & StageJson)[];
}

function stageJson(f: StageFigures): StageJson {
  return { positives: f.positives, tp: f.tp, fp: f.fp, benign: f.benign, precision: f.precision, recall: f.recall, f1: f.f1, benign_fpr: f.benignFpr };
}

function recallJson(f: HeldOutFigures['recallAtFpr']): RecallAtFprJson {
  return { fpr: f.fpr, transformer: f.transformer, ...(f.static !== undefined && { static: f.static }), ...(f.twoStage !== undefined && { two_stage: f.twoStage }) };
}

function line(e: TopicEvaluation, evaluation: HeadEvaluationLine['evaluation'], kind: TrainOptions['kind']): HeadEvaluationLine {
  const f = e.figures;
  return {
    kind: 'head',
    evaluation,
    mode: e.mode,
    topic: e.topic,
    datasets: e.datasets,
    head: kind,
    ...stageJson(f.transformer),
    recall_at_fpr: recallJson(f.recallAtFpr),
    ...(f.static && { static: stageJson(f.static) }),
    ...(f.twoStage && { two_stage: stageJson(f.twoStage) }),
    ...(f.recallKept !== undefined && { recall_kept: f.recallKept }),
    folds: e.folds.map((x) => ({ held_out: x.heldOut, ...stageJson(x.figures.transformer), recall_at_fpr: recallJson(x.figures.recallAtFpr) })),
  };
}

/** The JSON lines of an evaluation: per topic, in-set then cross-dataset. */
export function headEvaluationLines(ev: HeadEvaluation): HeadEvaluationLine[] {
  return ev.inSet.flatMap((e) => {
    const cross = ev.cross.find((c) => c.topic === e.topic);
    return [line(e, 'in-set', ev.train.kind), ...(cross ? [line(cross, 'cross-dataset', ev.train.kind)] : [])];
  });
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const f3 = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(3));

/** Pads cells to columns; `|` cells separate the groups. */
export function formatTable(rows: string[][], rightAligned: (col: number) => boolean): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (rightAligned(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join(' ').trimEnd());
}

function figureCells(f: StageFigures, r: HeldOutFigures['recallAtFpr']): string[] {
  return [f.positives.toLocaleString('en'), f3(f.precision), f3(f.recall), f3(f.f1), pct(f.benignFpr), f3(r.transformer), f3(r.twoStage)];
}

/**
 * The table: a row per topic with the in-set figures and the cross-dataset ones side by side,
 * saying how each topic was measured across data sets, then a row per left-out data set.
 */
export function headEvaluationTable(ev: HeadEvaluation): string[] {
  const t = ev.train;
  const atFpr = pct(ev.atFpr).replace('.0%', '%');
  const blank = ['', '', '', '', '', '', ''];
  const rows: string[][] = [
    ['topic', '|', 'pos', 'P', 'R', 'F1', 'bFP', `R@${atFpr}`, '2-stage', '|', 'how', 'pos', 'P', 'R', 'F1', 'bFP', `R@${atFpr}`, '2-stage'],
  ];
  for (const e of ev.inSet) {
    const c = ev.cross.find((x) => x.topic === e.topic);
    const how = !c ? 'not measured' : c.mode === 'leave one data set out' ? `leave one data set out (${c.folds.length} folds)` : `held-out split (1 data set: ${c.datasets.join(', ')})`;
    rows.push([e.topic, '|', ...figureCells(e.figures.transformer, e.figures.recallAtFpr), '|', how, ...(c ? figureCells(c.figures.transformer, c.figures.recallAtFpr) : blank)]);
    if (c?.mode === 'leave one data set out')
      for (const fold of c.folds) rows.push(['', '|', ...blank, '|', `  ${fold.heldOut} left out`, ...figureCells(fold.figures.transformer, fold.figures.recallAtFpr)]);
  }
  const out = [
    `${t.kind === 'mlp' ? `MLP heads (${t.mlp.hidden} hidden units, ${t.mlp.epochs} epochs)` : 'linear heads (logistic regression)'}, each threshold set on the calibration split for <= ${pct(t.maxBenignFpr)} benign false positives.`,
    `pos: positives measured; P, R, F1, bFP: precision, recall, F1 and benign false-positive rate of the transformer head at its threshold; R@${atFpr}: its recall at <= ${atFpr} benign false positives (threshold set on the measured rows); 2-stage: the same for the static stage flagging and the transformer deciding.`,
    'Across data sets: a topic with positives from several data sets is trained without one and measured on all of its rows (plus the test split\'s benign rows of the others), once per data set, pooled; a topic from one data set has no other to test on: its figures are the held-out split\'s again.',
  ];
  if (ev.inSet.length === 0) return [`no topic has ${t.minPositives} training positives, the fewest a head is trained on:`, ...ev.skipped.map((s) => `${s.topic}: ${s.positives}`)];
  const table = formatTable(rows, (c) => c !== 0 && c !== 1 && c !== 9 && c !== 10);
  // The two groups' titles over their columns.
  const first = table[0]!.indexOf('|');
  const second = table[0]!.indexOf('|', first + 1);
  out.push(`${''.padEnd(first)}| ${'in-set: train split -> test split'.padEnd(second - first - 2)}| across data sets`, ...table);
  for (const s of ev.skipped) out.push(`${s.topic}: ${s.positives} training positives, fewer than ${t.minPositives}: not measured`);
  return out;
}
