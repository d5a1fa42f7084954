/**
 * Training and measuring topic heads on labelled sentence vectors. Pure: rows and vectors in,
 * heads and figures out. The command line (`surgewatch train`, `calibrate`) and the quality
 * benchmark do the reading and embedding.
 */
import { headProbability, type HeadModel, type StageFigures, type StageHead, type TopicHead } from '../scoring/heads.js';
import { BENIGN, OFFENSIVE, type Split } from './labelled.js';
import { fitLogistic, fitPlatt } from './logistic.js';
import { DEFAULT_MLP, fitMlp, type MlpOptions } from './mlp.js';

/** One labelled row as training sees it. */
export interface TrainingRow {
  id: string;
  /** The data label: a topic's label, "benign", "offensive", or one no topic claims. */
  label: string;
  /** The topic id the label maps to, if any. */
  topic?: string | undefined;
  dataset: string;
  split: Split;
}

/** Vectors of every row, n x dim, for one stage. */
export interface StageVectors {
  x: Float32Array;
  dim: number;
}

export interface TrainOptions {
  kind: 'mlp' | 'linear';
  mlp: MlpOptions;
  /** L2 penalty of the linear head. */
  l2: number;
  /**
   * Weight of hard negatives: offensive rows, and benign rows from a data set that also has the
   * topic's positives (counter-speech, support threads, news about the harm, a forum's other
   * posts). They look most like the topic and must not hit.
   */
  hardNegativeWeight: number;
  /** The hit threshold is the lowest probability whose benign false-positive rate on the calibration rows stays within this. */
  maxBenignFpr: number;
  /** ...and whose precision on the calibration rows reaches this (0 = no condition). */
  minPrecision: number;
  /**
   * Then the threshold rises as long as recall on the calibration rows stays within this of
   * what the false-positive budget allows: where the curve is flat, the budget is not spent on
   * a sliver of recall (false hits are baseline noise for spike detection).
   */
  recallSlack: number;
  /** The static stage flags for the transformer at a threshold that keeps this share of the transformer head's hits... */
  flagRecall: number;
  /**
   * ...unless that flags more than this share of the calibration split's benign rows: the
   * flag threshold then rises to this share, which bounds the transformer's load per topic.
   */
  maxFlagShare: number;
  /** A topic needs this many training positives for a head. */
  minPositives: number;
}

export const DEFAULT_TRAIN: TrainOptions = {
  kind: 'mlp',
  mlp: DEFAULT_MLP,
  l2: 1e-4,
  hardNegativeWeight: 3,
  maxBenignFpr: 0.015,
  minPrecision: 0,
  recallSlack: 0.02,
  flagRecall: 0.97,
  maxFlagShare: 0.04,
  minPositives: 30,
};

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const r4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** Labels and loss weights of one topic's head over the rows `use` admits. */
export function topicTargets(rows: readonly TrainingRow[], topic: string, use: (i: number) => boolean, hardNegativeWeight: number): { labels: Uint8Array; weights: Float32Array; positives: number } {
  const positiveSets = new Set(rows.filter((r) => r.topic === topic).map((r) => r.dataset));
  const labels = new Uint8Array(rows.length);
  const weights = new Float32Array(rows.length);
  let positives = 0;
  let negativeWeight = 0;
  rows.forEach((r, i) => {
    if (!use(i)) return;
    if (r.topic === topic) {
      labels[i] = 1;
      positives++;
      return;
    }
    const hard = r.label === OFFENSIVE || (r.label === BENIGN && positiveSets.has(r.dataset));
    weights[i] = hard ? hardNegativeWeight : 1;
    negativeWeight += weights[i]!;
  });
  // Positives carry as much weight in all as the negatives.
  const positiveWeight = positives > 0 ? negativeWeight / positives : 0;
  for (let i = 0; i < rows.length; i++) if (labels[i]) weights[i] = positiveWeight;
  return { labels, weights, positives };
}

function fitModel(v: StageVectors, labels: Uint8Array, weights: Float32Array, opts: TrainOptions): HeadModel {
  if (opts.kind === 'linear') {
    const m = fitLogistic(v.x, v.dim, labels, weights, { l2: opts.l2 });
    return { kind: 'linear', dim: v.dim, w: Float32Array.from(m.weights), b: m.bias };
  }
  return fitMlp(v.x, v.dim, labels, weights, opts.mlp);
}

/** The probabilities of rows `idx` under a head. */
export function probabilities(head: Pick<StageHead, 'model' | 'calibration'>, v: StageVectors, idx: readonly number[]): Float64Array {
  const out = new Float64Array(idx.length);
  idx.forEach((i, k) => {
    out[k] = headProbability(head as StageHead, v.x.subarray(i * v.dim, (i + 1) * v.dim));
  });
  return out;
}

/** The threshold that lets at most `share` of `scores` reach it: above the (1 - share) quantile. */
export function thresholdForShare(scores: ArrayLike<number>, share: number): number {
  const sorted = Float64Array.from(scores).sort().reverse();
  const allowed = Math.floor(sorted.length * share);
  if (sorted.length === 0) return 0.5;
  if (allowed >= sorted.length) return 0;
  // Strictly above the first score that must not pass.
  const bar = sorted[allowed]!;
  return Math.min(1, bar + Math.max(1e-9, bar * 1e-9));
}

export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  /** Benign rows among the negatives, and those that hit. */
  benign: number;
  benignHits: number;
}

export function figures(c: Confusion, split: string): StageFigures {
  const precision = c.tp + c.fp === 0 ? 1 : c.tp / (c.tp + c.fp);
  const recall = c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn);
  return {
    split,
    positives: c.tp + c.fn,
    tp: c.tp,
    fp: c.fp,
    benign: c.benign,
    precision: r3(precision),
    recall: r3(recall),
    f1: r3(precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall)),
    benignFpr: r4(c.benign === 0 ? 0 : c.benignHits / c.benign),
  };
}

/** Confusion counts of `hit` over rows `idx` for one topic. */
export function confusion(rows: readonly TrainingRow[], topic: string, idx: readonly number[], hit: (k: number) => boolean): Confusion {
  const c: Confusion = { tp: 0, fp: 0, fn: 0, benign: 0, benignHits: 0 };
  idx.forEach((i, k) => {
    const pos = rows[i]!.topic === topic;
    const h = hit(k);
    if (pos && h) c.tp++;
    else if (pos) c.fn++;
    else if (h) c.fp++;
    if (rows[i]!.label === BENIGN) {
      c.benign++;
      if (h) c.benignHits++;
    }
  });
  return c;
}

/**
 * Fits one stage's head on `trainIdx`, calibrates it (Platt) on `calIdx`, and picks its hit
 * threshold there: the lowest probability whose benign false-positive rate stays within
 * maxBenignFpr and whose precision reaches minPrecision.
 */
export function trainStage(rows: readonly TrainingRow[], topic: string, v: StageVectors, trainIdx: readonly number[], calIdx: readonly number[], opts: TrainOptions): StageHead {
  const inTrain = new Uint8Array(rows.length);
  for (const i of trainIdx) inTrain[i] = 1;
  const { labels, weights } = topicTargets(rows, topic, (i) => inTrain[i] === 1, opts.hardNegativeWeight);
  const model = fitModel(v, labels, weights, opts);
  const raw = probabilities({ model, calibration: { a: 1, b: 0 } }, v, calIdx).map((p) => Math.log(p / (1 - p)));
  const calLabels = calIdx.map((i) => (rows[i]!.topic === topic ? 1 : 0));
  const calibration = fitPlatt([...raw], calLabels);
  const head: StageHead = { model, calibration, threshold: 0.5 };
  const p = probabilities(head, v, calIdx);
  const benign = [...p].filter((_, k) => rows[calIdx[k]!]!.label === BENIGN);
  let threshold = thresholdForShare(benign, opts.maxBenignFpr);
  if (opts.recallSlack > 0) {
    const pos = [...p].filter((_, k) => rows[calIdx[k]!]!.topic === topic).sort((a, b) => b - a);
    const reached = pos.filter((x) => x >= threshold).length;
    // The (reached - slack * positives)-th best positive score is as high as the bar can go.
    const keep = Math.ceil(reached - opts.recallSlack * pos.length);
    if (keep > 0 && keep <= pos.length) threshold = Math.max(threshold, pos[keep - 1]!);
  }
  if (opts.minPrecision > 0) {
    // Raise the bar until the precision on the calibration rows is reached, if it can be.
    const candidates = [...p].filter((x) => x >= threshold).sort((a, b) => a - b);
    for (const t of candidates) {
      const c = confusion(rows, topic, calIdx, (k) => p[k]! >= t);
      if (c.tp + c.fp > 0 && c.tp / (c.tp + c.fp) >= opts.minPrecision) {
        threshold = t;
        break;
      }
    }
  }
  head.threshold = r4(threshold);
  return head;
}

export interface TrainedTopic {
  head: TopicHead;
  /** Training rows: positives and negatives. */
  trainPositives: number;
  trainNegatives: number;
}

/**
 * Trains a topic's heads for both stages. The static stage's flag threshold keeps
 * `flagRecall` of the calibration rows the transformer head hits, flagging at most
 * `maxFlagShare` of the benign ones; its own hit threshold (used when the transformer cannot
 * re-score) follows the same benign false-positive rule as the transformer's.
 */
export function trainTopic(
  rows: readonly TrainingRow[],
  topic: string,
  labels: readonly string[],
  stages: { transformer: StageVectors; static?: StageVectors | undefined },
  trainIdx: readonly number[],
  calIdx: readonly number[],
  opts: TrainOptions,
): TrainedTopic {
  const transformer = trainStage(rows, topic, stages.transformer, trainIdx, calIdx, opts);
  const head: TopicHead = { topic, labels: [...labels], transformer };
  if (stages.static) {
    const s = trainStage(rows, topic, stages.static, trainIdx, calIdx, opts);
    const pt = probabilities(transformer, stages.transformer, calIdx);
    const ps = probabilities(s, stages.static, calIdx);
    const flagged = [...ps].filter((_, k) => pt[k]! >= transformer.threshold);
    // The static probability below which only (1 - flagRecall) of the transformer's hits lie.
    const sorted = flagged.sort((a, b) => a - b);
    const byRecall = sorted.length > 0 ? sorted[Math.floor(sorted.length * (1 - opts.flagRecall))]! : s.threshold;
    const benign = [...ps].filter((_, k) => rows[calIdx[k]!]!.label === BENIGN);
    const flag = Math.max(byRecall, thresholdForShare(benign, opts.maxFlagShare));
    s.flagThreshold = r4(Math.min(flag, s.threshold));
    head.static = s;
  }
  const positives = trainIdx.filter((i) => rows[i]!.topic === topic).length;
  return { head, trainPositives: positives, trainNegatives: trainIdx.length - positives };
}

/** A topic's figures on held-out rows: each stage alone, and the two stages together. */
export interface HeldOutFigures {
  transformer: StageFigures;
  static?: StageFigures;
  /** Static flags, transformer decides. */
  twoStage?: StageFigures;
  /** Share of the transformer head's hits that the static stage flags. */
  recallKept?: number;
  /**
   * Recall at the threshold that gives at most `fpr` benign false positives on these rows: of
   * each stage's head alone, and of the two stages together (the static stage flags at its own
   * flag threshold, the transformer's threshold is the one that moves).
   */
  recallAtFpr: { fpr: number; transformer: number; static?: number; twoStage?: number };
}

/** Measures trained heads on rows `idx` (none of which trained or calibrated them). */
export function measure(rows: readonly TrainingRow[], head: TopicHead, stages: { transformer: StageVectors; static?: StageVectors | undefined }, idx: readonly number[], split: string, atFpr: number): HeldOutFigures {
  const topic = head.topic;
  const pt = probabilities(head.transformer, stages.transformer, idx);
  const out: HeldOutFigures = {
    transformer: figures(
      confusion(rows, topic, idx, (k) => pt[k]! >= head.transformer.threshold),
      split,
    ),
    recallAtFpr: { fpr: atFpr, transformer: recallAtFpr(rows, topic, idx, pt, atFpr) },
  };
  if (head.static && stages.static) {
    const s = head.static;
    const ps = probabilities(s, stages.static, idx);
    out.static = figures(
      confusion(rows, topic, idx, (k) => ps[k]! >= s.threshold),
      split,
    );
    const flag = s.flagThreshold ?? s.threshold;
    out.twoStage = figures(
      confusion(rows, topic, idx, (k) => ps[k]! >= flag && pt[k]! >= head.transformer.threshold),
      split,
    );
    let hits = 0;
    let kept = 0;
    pt.forEach((p, k) => {
      if (p < head.transformer.threshold) return;
      hits++;
      if (ps[k]! >= flag) kept++;
    });
    out.recallKept = r3(hits === 0 ? 1 : kept / hits);
    out.recallAtFpr.static = recallAtFpr(rows, topic, idx, ps, atFpr);
    out.recallAtFpr.twoStage = recallAtFpr(rows, topic, idx, pt.map((p, k) => (ps[k]! >= flag ? p : 0)), atFpr);
  }
  return out;
}

/** Recall at the threshold that lets at most `fpr` of the benign rows among `idx` through. */
export function recallAtFpr(rows: readonly TrainingRow[], topic: string, idx: readonly number[], p: ArrayLike<number>, fpr: number): number {
  const benign: number[] = [];
  idx.forEach((i, k) => {
    if (rows[i]!.label === BENIGN) benign.push(p[k]!);
  });
  const t = thresholdForShare(benign, fpr);
  let pos = 0;
  let hit = 0;
  idx.forEach((i, k) => {
    if (rows[i]!.topic !== topic) return;
    pos++;
    if (p[k]! >= t) hit++;
  });
  return r3(pos === 0 ? 0 : hit / pos);
}

/** Row indexes of a split. */
export function splitRows(rows: readonly TrainingRow[], split: Split, keep: (r: TrainingRow) => boolean = () => true): number[] {
  const out: number[] = [];
  rows.forEach((r, i) => {
    if (r.split === split && keep(r)) out.push(i);
  });
  return out;
}
