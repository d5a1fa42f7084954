/**
 * `surgewatch train <labelled.jsonl> --out <heads.json>`: fits a classifier head per topic on
 * the model's sentence vectors (both stages), calibrates it on a held-out split, picks its
 * threshold for a stated benign false-positive rate (and precision), measures it on the test
 * split, and writes a versioned head file with a datasheet beside it.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { AppConfig } from '../config/load.js';
import type { ModelSpec } from '../config/model-schema.js';
import { loadStaticStage } from '../models/static-stage.js';
import { EmbedPool } from '../scoring/embed-pool.js';
import { embeddingText } from '../scoring/embedder.js';
import { HEADS_FORMAT, serializeHeadSet, type HeadSet, type Probes, type StageFigures, type TopicHead } from '../scoring/heads.js';
import { silentLogger } from '../shared/logger.js';
import { evaluateCrossDataset, type TopicEvaluation } from '../training/evaluate.js';
import { DEFAULT_TRAIN, measure, splitRows, trainTopic, type HeldOutFigures, type TrainOptions } from '../training/train.js';
import { UsageError, type Io } from './commands.js';
import { embedTrainingRows, progressLine, readTrainingRows, rowFilter, trainingModel, type DataSelection, type DatasetLicences, type TrainingData } from './training-data.js';

export interface TrainCommandOptions extends DataSelection {
  out: string;
  name?: string;
  pipeline?: string;
  model?: string;
  topics?: readonly string[];
  /** Also measure each topic across data sets (slower: one more training per data set). */
  crossDataset?: boolean;
  train?: Partial<TrainOptions>;
  /** The benign false-positive rate at which recall is also reported. */
  atFpr?: number;
}

/** Texts whose vectors the head file records, to recognise its model at load. */
export const PROBE_TEXTS = [
  'I just want everything to stop forever',
  'congratulations you have won a free prize, reply now to claim',
  'they are animals and should be driven out of our country',
  'best pizza in town, open until midnight',
  'join the brothers, the caliphate needs fighters',
  'you are so stupid nobody at school likes you',
];

/** Transformer and static vectors of the probe texts under a model. */
export async function probeVectors(spec: ModelSpec): Promise<Probes> {
  const pool = await EmbedPool.start(spec, { workers: 1, cacheDir: dirname(spec.path!), logger: silentLogger });
  try {
    const transformer = await pool.embed(PROBE_TEXTS.map((t) => embeddingText(t, spec.maxTokens * 8)));
    const probes: Probes = { texts: PROBE_TEXTS, transformer: transformer.map((v) => Float32Array.from(v)) };
    if (spec.static) {
      const { embedder } = loadStaticStage(spec, spec.path!, spec.static.maxTokens);
      probes.static = PROBE_TEXTS.map((t) => embedder.embed(t));
    }
    return probes;
  } finally {
    await pool.close();
  }
}

/** The date and a hash of everything the heads decide with: weights, calibration, thresholds. */
function version(set: Omit<HeadSet, 'version'>): string {
  const content = serializeHeadSet({ ...set, version: '', createdAt: '', topics: set.topics.map((t) => ({ ...t, transformer: { ...t.transformer, figures: undefined }, ...(t.static && { static: { ...t.static, figures: undefined } }) })) });
  return `${set.createdAt.slice(0, 10)}.${createHash('sha256').update(content).digest('hex').slice(0, 8)}`;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function figureRow(stage: string, f: StageFigures | undefined): string {
  if (!f) return '';
  return `| ${stage} | ${f.positives} | ${f.precision.toFixed(3)} | ${f.recall.toFixed(3)} | ${f.f1.toFixed(3)} | ${pct(f.benignFpr)} of ${f.benign} |`;
}

/** The datasheet: which rows, which licences, how it was trained, and the figures. */
export function datasheet(
  set: HeadSet,
  data: TrainingData,
  opts: { file: string; licences?: DatasetLicences | undefined; train: TrainOptions; heldOut: Map<string, HeldOutFigures>; cross?: TopicEvaluation[]; trainCounts: Map<string, { positives: number; negatives: number }> },
): string {
  const lines: string[] = [
    `# Datasheet: head set "${set.name}" ${set.version}`,
    '',
    `Classifier heads for the topics below, on the vectors of the embedding model \`${set.model}\` and of its static first stage (${set.staticDim ?? 'none'} dims). The static stage's heads read the static vector; the transformer stage's heads read ${set.transformerInput === 'transformer+static' ? 'the transformer vector followed by the static one' : 'the transformer vector'}. Written by \`surgewatch train\` on ${set.createdAt}.`,
    '',
    '## Rows',
    '',
    `From \`${basename(opts.file)}\`: ${data.lines.toLocaleString('en')} lines, ${data.bad} rejected, ${data.rows.length.toLocaleString('en')} used. Rows are split by a hash of their id: 60% train (fitting), 20% calibration (Platt scaling and thresholds), 20% test (the figures below).`,
    '',
    '| data set | licence | rows used, by label |',
    '|---|---|---|',
  ];
  for (const [ds, byLabel] of [...data.counts].sort((a, b) => a[0].localeCompare(b[0]))) {
    const lic = opts.licences?.[ds];
    const labels = [...byLabel].sort((a, b) => b[1] - a[1]).map(([l, n]) => `${l} ${n.toLocaleString('en')}`).join(', ');
    lines.push(`| ${ds}${lic?.source ? ` (${lic.source})` : ''} | ${lic ? lic.licence : 'not stated'}${lic?.attribution ? `; ${lic.attribution}` : ''} | ${labels} |`);
  }
  if (data.leftOut.size > 0) {
    lines.push('', 'Left out:', '');
    for (const [ds, n] of data.leftOut) {
      const lic = opts.licences?.[ds];
      lines.push(`- ${ds}: ${n.toLocaleString('en')} rows${lic ? ` (licence: ${lic.licence}${lic.why ? `; ${lic.why}` : ''})` : ''}`);
    }
  }
  const t = opts.train;
  lines.push(
    '',
    '## Training',
    '',
    `- Head: ${t.kind === 'mlp' ? `one hidden layer of ${t.mlp.hidden} units (ReLU, dropout ${t.mlp.dropout}), Adam, ${t.mlp.epochs} epochs, L2 ${t.mlp.l2}, seed ${t.mlp.seed}` : `logistic regression, L2 ${t.l2}`}.`,
    `- Per topic, positives are its rows; every other row is a negative. Hard negatives weigh ${t.hardNegativeWeight}x: offensive rows, and benign rows of a data set that also holds the topic's positives (counter-speech, support threads, news about the harm, a forum's other posts). Positives carry as much weight in all as the negatives.`,
    `- Probabilities are Platt-scaled on the calibration split. The hit threshold is the lowest probability at which at most ${pct(t.maxBenignFpr)} of the calibration split's benign rows hit${t.minPrecision > 0 ? `, raised until the precision there reaches ${t.minPrecision}` : ''}, then raised while recall there stays within ${t.recallSlack} of that (fewer false hits where the curve is flat).`,
    `- The static stage flags a signal for the transformer at a threshold that keeps ${pct(t.flagRecall)} of the transformer head's hits on the calibration split, unless that would flag more than ${pct(t.maxFlagShare)} of its benign rows (then the threshold rises to that share: it bounds the transformer's load). Its own hit threshold (used when the transformer cannot re-score) follows the same benign rule as the transformer's.`,
    '',
    '## Figures on the test split (in-set)',
    '',
    'Precision depends on the test split\'s mix of labels, which is not a platform\'s: read recall and the benign false-positive rate first.',
    '',
  );
  for (const head of set.topics) {
    const f = opts.heldOut.get(head.topic);
    const n = opts.trainCounts.get(head.topic);
    lines.push(`### ${head.topic} (labels: ${head.labels.join(', ')})`, '', `Trained on ${n?.positives ?? 0} positives and ${n?.negatives ?? 0} negatives. Thresholds: transformer ${head.transformer.threshold}${head.static ? `, static ${head.static.threshold}, static flag ${head.static.flagThreshold}` : ''}.`, '');
    if (f) {
      lines.push('| stage | positives | precision | recall | F1 | benign false positives |', '|---|---|---|---|---|---|');
      lines.push(figureRow('transformer', f.transformer));
      if (f.static) lines.push(figureRow('static alone', f.static));
      if (f.twoStage) lines.push(figureRow('static flags, transformer decides', f.twoStage));
      lines.push('', `Recall at ≤ ${pct(f.recallAtFpr.fpr)} benign false positives (threshold set on the test split): transformer ${f.recallAtFpr.transformer}${f.recallAtFpr.static !== undefined ? `, static ${f.recallAtFpr.static}` : ''}.${f.recallKept !== undefined ? ` The static stage flags ${pct(f.recallKept)} of the transformer head's hits.` : ''}`, '');
    }
  }
  if (opts.cross) {
    lines.push('## Across data sets', '', 'A topic whose positives come from several data sets is trained without one and tested on all of its rows (plus the test split\'s benign rows of the others), for each in turn. A topic from one data set has no such test: its figure is the held-out split above.', '');
    lines.push('| topic | how | precision | recall | F1 | benign FP | recall at ≤ 2% benign FP |', '|---|---|---|---|---|---|---|');
    for (const e of opts.cross) {
      const f = e.figures.transformer;
      lines.push(`| ${e.topic} | ${e.mode}${e.folds.length > 1 ? ` (${e.folds.map((x) => `${x.heldOut}: ${x.figures.recallAtFpr.transformer}`).join('; ')})` : ''} | ${f.precision} | ${f.recall} | ${f.f1} | ${pct(f.benignFpr)} | ${e.figures.recallAtFpr.transformer} |`);
    }
    lines.push('');
  }
  return `${lines.filter((l, i, a) => !(l === '' && a[i - 1] === '')).join('\n')}\n`;
}

export async function trainCommand(config: AppConfig, file: string, opts: TrainCommandOptions, io: Io): Promise<HeadSet> {
  const spec = trainingModel(config, opts.model, opts.pipeline);
  const { filter, licences } = rowFilter(opts);
  const data = await readTrainingRows(file, config.topics, filter, io);
  if (opts.topics) {
    const unknown = opts.topics.filter((t) => !config.topics.some((d) => d.id === t));
    if (unknown.length > 0) throw new UsageError(`--topics: unknown topic ${unknown.join(', ')}`);
    for (const t of [...data.topics.keys()]) if (!opts.topics.includes(t)) data.topics.delete(t);
  }
  const train: TrainOptions = { ...DEFAULT_TRAIN, ...opts.train, mlp: { ...DEFAULT_TRAIN.mlp, ...opts.train?.mlp } };
  io.stderr.write(`train: ${data.rows.length.toLocaleString('en')} rows, topics ${[...data.topics.keys()].join(', ') || 'none'}; embedding with ${spec.id}\n`);
  const stages = await embedTrainingRows(spec, data.texts, { progress: progressLine(io.stderr, 'embedded') });

  const trainIdx = splitRows(data.rows, 'train');
  const calIdx = splitRows(data.rows, 'calibration');
  const testIdx = splitRows(data.rows, 'test');
  const heads: TopicHead[] = [];
  const heldOut = new Map<string, HeldOutFigures>();
  const trainCounts = new Map<string, { positives: number; negatives: number }>();
  for (const [topic, labels] of data.topics) {
    const positives = trainIdx.filter((i) => data.rows[i]!.topic === topic).length;
    if (positives < train.minPositives) {
      io.stderr.write(`train: ${topic}: ${positives} training positives, fewer than ${train.minPositives}; no head\n`);
      continue;
    }
    io.stderr.write(`train: ${topic}: fitting on ${positives} positives\n`);
    const trained = trainTopic(data.rows, topic, labels, stages, trainIdx, calIdx, train);
    const figures = measure(data.rows, trained.head, stages, testIdx, 'test', opts.atFpr ?? 0.02);
    trained.head.transformer.figures = figures.transformer;
    if (trained.head.static && figures.static) trained.head.static.figures = figures.static;
    heads.push(trained.head);
    heldOut.set(topic, figures);
    trainCounts.set(topic, { positives: trained.trainPositives, negatives: trained.trainNegatives });
    io.stderr.write(
      `train: ${topic}: test split recall ${figures.transformer.recall} at ${pct(figures.transformer.benignFpr)} benign FP (precision ${figures.transformer.precision})` +
        (figures.twoStage ? `; two-stage recall ${figures.twoStage.recall}, static stage keeps ${pct(figures.recallKept ?? 0)}` : '') +
        '\n',
    );
  }
  if (heads.length === 0) throw new UsageError(`${file}: no topic has enough labelled positives for a head`);
  const cross = opts.crossDataset
    ? evaluateCrossDataset({ rows: data.rows, topics: new Map([...data.topics].filter(([t]) => heads.some((h) => h.topic === t))), stages, opts: train, atFpr: opts.atFpr ?? 0.02, progress: (w) => io.stderr.write(`train: ${w}\n`) })
    : undefined;

  const createdAt = new Date().toISOString();
  const unversioned: Omit<HeadSet, 'version'> = {
    format: HEADS_FORMAT,
    name: opts.name ?? basename(opts.out).replace(/\.json$/, ''),
    model: spec.id,
    ...(stages.static && { staticDim: stages.static.dim }),
    transformerInput: stages.static ? 'transformer+static' : 'transformer',
    createdAt,
    datasheet: basename(opts.out).replace(/\.json$/, '') + '.md',
    topics: heads,
    probes: await probeVectors(spec),
  };
  const set: HeadSet = { ...unversioned, version: version(unversioned) };
  mkdirSync(dirname(opts.out), { recursive: true });
  const sheet = datasheet(set, data, { file, licences, train, heldOut, ...(cross && { cross }), trainCounts });
  const sheetPath = opts.out.replace(/\.json$/, '') + '.md';
  // Written beside, then renamed: a worker never reads half a head file.
  writeFileSync(`${opts.out}.tmp`, serializeHeadSet(set));
  writeFileSync(sheetPath, sheet);
  renameSync(`${opts.out}.tmp`, opts.out);
  io.stdout.write(`${JSON.stringify({ out: opts.out, datasheet: sheetPath, name: set.name, version: set.version, model: set.model, topics: heads.map((h) => ({ topic: h.topic, threshold: h.transformer.threshold, test: h.transformer.figures })) })}\n`);
  return set;
}
