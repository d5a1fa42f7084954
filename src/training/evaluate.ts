/**
 * Honest quality figures for topic heads: in-set (train split -> test split) and across data
 * sets (a topic whose positives come from several data sets is trained without one of them and
 * tested on it, for each in turn; a topic from one data set can only be tested on its held-out
 * split, and says so). Pure.
 */
import type { StageFigures } from '../scoring/heads.js';
import { measure, splitRows, trainTopic, type HeldOutFigures, type StageVectors, type TrainingRow, type TrainOptions } from './train.js';
import { BENIGN } from './labelled.js';

export type EvaluationMode = 'held-out split' | 'leave one data set out';

export interface TopicEvaluation {
  topic: string;
  mode: EvaluationMode;
  /** Data sets the topic's positives come from. */
  datasets: string[];
  /** Pooled over the folds (one fold for a held-out split). */
  figures: HeldOutFigures;
  folds: { heldOut: string; positives: number; figures: HeldOutFigures }[];
}

export interface EvaluationInput {
  rows: readonly TrainingRow[];
  /** Topic id -> the labels of its rows (for the head file). */
  topics: ReadonlyMap<string, readonly string[]>;
  stages: { transformer: StageVectors; static?: StageVectors | undefined };
  opts: TrainOptions;
  /** The benign false-positive rate at which recall is also reported. */
  atFpr: number;
  /** Called as each head is trained (they take a while). */
  progress?: (what: string) => void;
}

function datasetsOf(rows: readonly TrainingRow[], topic: string): string[] {
  return [...new Set(rows.filter((r) => r.topic === topic).map((r) => r.dataset))].sort();
}

/** In-set: train on the train split, calibrate on the calibration split, measure on the test split. */
export function evaluateInSet(input: EvaluationInput): TopicEvaluation[] {
  const { rows } = input;
  const train = splitRows(rows, 'train');
  const cal = splitRows(rows, 'calibration');
  const test = splitRows(rows, 'test');
  const out: TopicEvaluation[] = [];
  for (const [topic, labels] of input.topics) {
    if (train.filter((i) => rows[i]!.topic === topic).length < input.opts.minPositives) continue;
    input.progress?.(`in-set ${topic}`);
    const { head } = trainTopic(rows, topic, labels, input.stages, train, cal, input.opts);
    const figures = measure(rows, head, input.stages, test, 'test', input.atFpr);
    out.push({ topic, mode: 'held-out split', datasets: datasetsOf(rows, topic), figures, folds: [{ heldOut: 'test split', positives: figures.transformer.positives, figures }] });
  }
  return out;
}

/** Sums the confusion behind per-fold figures, so pooled precision, recall and F1 come out right. */
function pool(folds: readonly HeldOutFigures[], pick: (f: HeldOutFigures) => StageFigures | undefined, split: string): StageFigures | undefined {
  let tp = 0;
  let fp = 0;
  let pos = 0;
  let benign = 0;
  let benignHits = 0;
  for (const f of folds) {
    const s = pick(f);
    if (!s) return undefined;
    tp += s.tp;
    fp += s.fp;
    pos += s.positives;
    benign += s.benign;
    benignHits += Math.round(s.benignFpr * s.benign);
  }
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = pos === 0 ? 0 : tp / pos;
  const r = (x: number, d = 1000) => Math.round(x * d) / d;
  return {
    split,
    positives: pos,
    tp,
    fp,
    benign,
    precision: r(precision),
    recall: r(recall),
    f1: r(precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall)),
    benignFpr: r(benign === 0 ? 0 : benignHits / benign, 10_000),
  };
}

/**
 * Across data sets. For a topic with positives from several data sets, one fold per data set:
 * heads trained and calibrated without any row of it, measured on all its rows plus the test
 * split's benign rows of the others. A topic from one data set falls back to its held-out split.
 */
export function evaluateCrossDataset(input: EvaluationInput, inSet?: readonly TopicEvaluation[]): TopicEvaluation[] {
  const { rows } = input;
  const out: TopicEvaluation[] = [];
  for (const [topic, labels] of input.topics) {
    const datasets = datasetsOf(rows, topic);
    if (datasets.length < 2) {
      const same = inSet?.find((e) => e.topic === topic) ?? evaluateInSet({ ...input, topics: new Map([[topic, labels]]) })[0];
      if (same) out.push(same);
      continue;
    }
    const folds: TopicEvaluation['folds'] = [];
    for (const held of datasets) {
      const train = splitRows(rows, 'train', (r) => r.dataset !== held);
      const cal = splitRows(rows, 'calibration', (r) => r.dataset !== held);
      if (train.filter((i) => rows[i]!.topic === topic).length < input.opts.minPositives) continue;
      input.progress?.(`cross-dataset ${topic} without ${held}`);
      const { head } = trainTopic(rows, topic, labels, input.stages, train, cal, input.opts);
      const test: number[] = [];
      rows.forEach((r, i) => {
        if (r.dataset === held || (r.split === 'test' && r.label === BENIGN)) test.push(i);
      });
      const figures = measure(rows, head, input.stages, test, `all of ${held}`, input.atFpr);
      folds.push({ heldOut: held, positives: figures.transformer.positives, figures });
    }
    if (folds.length === 0) continue;
    const f = folds.map((x) => x.figures);
    const positives = folds.reduce((n, x) => n + x.positives, 0);
    const weighted = (pick: (h: HeldOutFigures) => number | undefined) => {
      const vals = folds.map((x) => pick(x.figures));
      if (vals.some((v) => v === undefined)) return undefined;
      return Math.round((vals.reduce((s, v, k) => s! + v! * folds[k]!.positives, 0)! / positives) * 1000) / 1000;
    };
    const figures: HeldOutFigures = {
      transformer: pool(f, (x) => x.transformer, 'left-out data sets')!,
      recallAtFpr: { fpr: input.atFpr, transformer: weighted((x) => x.recallAtFpr.transformer)! },
    };
    const st = pool(f, (x) => x.static, 'left-out data sets');
    if (st) figures.static = st;
    const two = pool(f, (x) => x.twoStage, 'left-out data sets');
    if (two) figures.twoStage = two;
    const kept = weighted((x) => x.recallKept);
    if (kept !== undefined) figures.recallKept = kept;
    const rs = weighted((x) => x.recallAtFpr.static);
    if (rs !== undefined) figures.recallAtFpr.static = rs;
    const r2 = weighted((x) => x.recallAtFpr.twoStage);
    if (r2 !== undefined) figures.recallAtFpr.twoStage = r2;
    out.push({ topic, mode: 'leave one data set out', datasets, figures, folds });
  }
  return out;
}
