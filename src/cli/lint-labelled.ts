/**
 * `lists lint --labelled`: how the compiled lists do on labelled text (the layout of
 * ../shared/data/text/labelled-dev.jsonl). Per term, its hits per label and its precision; per
 * topic, the lexicon's recall and its false-positive rates on benign and on offensive rows.
 * Pure figures: lint.ts turns them into findings.
 */
import type { TopicDefinition } from '../config/topic-schema.js';
import type { Lexicon } from '../scoring/lexicon.js';
import { scoreSignal } from '../scoring/score.js';
import { BENIGN, labelMap, OFFENSIVE, splitOf, type Split } from '../training/labelled.js';
import { readLabelledFile, type BadLabelledLine } from './labelled-file.js';
import { entryKey, type Entry } from './list-entries.js';

export type SplitChoice = Split | 'all';
export const splitChoices: readonly SplitChoice[] = ['train', 'calibration', 'test', 'all'];

/** A labelled row as the figures need it. */
export interface LabelledText {
  text: string;
  /** The data label: a topic id or one of its `labels`, "benign", "offensive", or another label. */
  label: string;
  lang?: string | undefined;
  dataset?: string | undefined;
}

export type { BadLabelledLine };

export interface LabelledRows {
  rows: LabelledText[];
  /** Valid rows left out because they belong to another split. */
  otherSplit: number;
  /** Rows whose text was cut to the signal limit, as a signal's would be. */
  truncated: number;
  bad: BadLabelledLine[];
}

/**
 * Reads a labelled JSONL file, keeping the rows of one split (by `splitOf` of the row's id, or
 * of its whole text's hash when it has none). A bad line is passed to `onBad` and skipped.
 */
export async function readLabelled(file: string, split: SplitChoice = 'all', onBad?: (bad: BadLabelledLine) => void): Promise<LabelledRows> {
  const data = await readLabelledFile(file, onBad);
  const rows: LabelledText[] = [];
  let otherSplit = 0;
  for (const r of data.rows) {
    if (split !== 'all' && splitOf(r.id) !== split) otherSplit++;
    else rows.push({ text: r.text, label: r.topic, lang: r.lang, dataset: r.dataset });
  }
  return { rows, otherSplit, truncated: data.truncated, bad: data.bad };
}

/** A term's (or hashtag's) hits on labelled rows. */
export interface TermFigures {
  file: string;
  path: string;
  topic: string;
  term: string;
  /** Rows it matched (after exclusions), whatever the topic's score. */
  hits: number;
  /** Of those, rows labelled with its own topic. */
  own: number;
  benign: number;
  offensive: number;
  /** own / hits; null without hits. Rows of other topics, benign and offensive rows count against. */
  precision: number | null;
  /** Hits per data label, most first. */
  byLabel: Record<string, number>;
}

/** A rate and what it is made of. */
export interface Rate {
  rows: number;
  hits: number;
  /** hits / rows; null without rows. */
  rate: number | null;
}

/** The figures within one data set (rows with a `dataset`) that has rows of the topic. */
export interface DatasetFigures {
  dataset: string;
  /** The topic's rows in this data set and how many the lexicon hit. */
  recall: Rate;
  /** Benign rows of this data set that the topic hit. */
  benign: Rate;
}

export interface TopicFigures {
  file: string;
  topic: string;
  /** Data labels that mean this topic (its id, its id with underscores, its `labels`) found in the rows. */
  labels: string[];
  /** The topic's rows, and how many of them its lexicon score hit (score >= thresholds.lexicon). */
  recall: Rate;
  /** Benign rows the topic hit: its false-positive rate. */
  benign: Rate;
  /** Offensive (crude, not harmful) rows the topic hit. */
  offensive: Rate;
  /** Rows the topic hit, of any label. */
  hits: number;
  /** The share of those rows labelled with the topic; null without hits. */
  precision: number | null;
  datasets: DatasetFigures[];
}

export interface LabelledFigures {
  rows: number;
  /** Rows per data label. */
  labels: Record<string, number>;
  terms: TermFigures[];
  topics: TopicFigures[];
}

const rate = (hits: number, rows: number): Rate => ({ rows, hits, rate: rows === 0 ? null : hits / rows });
const countUp = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);
const sortedRecord = (m: Map<string, number>) => Object.fromEntries([...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));

/**
 * Scores every row with the compiled lexicon, as the product does (`scoreSignal`: distinct
 * terms' weights against the topic's threshold), and counts per term and per topic.
 */
export function labelledFigures(topics: readonly { file: string; value: TopicDefinition }[], entries: readonly Entry[], lexicon: Lexicon, rows: readonly LabelledText[]): LabelledFigures {
  const byId = new Map(topics.map((t) => [t.value.id, t.value]));
  const toTopic = labelMap(topics.map((t) => t.value));
  const entryIndex = new Map<string, number[]>();
  for (const e of entries) {
    const key = entryKey(e.topic.id, e.display);
    entryIndex.set(key, [...(entryIndex.get(key) ?? []), e.index]);
  }

  const termLabels = entries.map(() => new Map<string, number>());
  const labelRows = new Map<string, number>();
  // Per topic: rows hit, by label and by data set.
  const topicHits = new Map<string, Map<string, number>>();
  const datasetRows = new Map<string, number>();
  const datasetHits = new Map<string, Map<string, number>>();
  const dsKey = (label: string, dataset: string) => `${label}\u0000${dataset}`;

  for (const row of rows) {
    countUp(labelRows, row.label);
    if (row.dataset !== undefined) countUp(datasetRows, dsKey(row.label, row.dataset));
    for (const score of scoreSignal(lexicon, byId, { text: row.text, hashtags: [], lang: row.lang })) {
      for (const why of score.why) for (const i of entryIndex.get(entryKey(score.topic, why.term)) ?? []) countUp(termLabels[i]!, row.label);
      if (!score.hit) continue;
      let hits = topicHits.get(score.topic);
      if (!hits) topicHits.set(score.topic, (hits = new Map()));
      countUp(hits, row.label);
      if (row.dataset === undefined) continue;
      let ds = datasetHits.get(score.topic);
      if (!ds) datasetHits.set(score.topic, (ds = new Map()));
      countUp(ds, dsKey(row.label, row.dataset));
    }
  }

  const terms: TermFigures[] = entries.map((e) => {
    const labels = termLabels[e.index]!;
    let hits = 0;
    let own = 0;
    for (const [label, n] of labels) {
      hits += n;
      if (toTopic.get(label) === e.topic.id) own += n;
    }
    return {
      file: e.file,
      path: e.path,
      topic: e.topic.id,
      term: e.display,
      hits,
      own,
      benign: labels.get(BENIGN) ?? 0,
      offensive: labels.get(OFFENSIVE) ?? 0,
      precision: hits === 0 ? null : own / hits,
      byLabel: sortedRecord(labels),
    };
  });

  const figures: TopicFigures[] = topics.map(({ file, value: topic }) => {
    const labels = [...toTopic].filter(([, id]) => id === topic.id).map(([label]) => label);
    const own = new Set(labels);
    const hitsByLabel = topicHits.get(topic.id) ?? new Map<string, number>();
    const sum = (m: Map<string, number>, keep: (label: string) => boolean) => [...m].reduce((n, [k, v]) => n + (keep(k) ? v : 0), 0);
    const ownRows = sum(labelRows, (l) => own.has(l));
    const ownHits = sum(hitsByLabel, (l) => own.has(l));
    const hits = sum(hitsByLabel, () => true);
    const dsHits = datasetHits.get(topic.id) ?? new Map<string, number>();
    const datasets = new Map<string, DatasetFigures>();
    for (const [key, n] of datasetRows) {
      const [label, dataset] = key.split('\u0000') as [string, string];
      if (!own.has(label)) continue;
      const d = datasets.get(dataset) ?? { dataset, recall: rate(0, 0), benign: rate(0, 0) };
      d.recall = rate(d.recall.hits + (dsHits.get(key) ?? 0), d.recall.rows + n);
      datasets.set(dataset, d);
    }
    for (const d of datasets.values()) {
      const key = dsKey(BENIGN, d.dataset);
      d.benign = rate(dsHits.get(key) ?? 0, datasetRows.get(key) ?? 0);
    }
    return {
      file,
      topic: topic.id,
      labels: labels.filter((l) => labelRows.has(l)),
      recall: rate(ownHits, ownRows),
      benign: rate(hitsByLabel.get(BENIGN) ?? 0, labelRows.get(BENIGN) ?? 0),
      offensive: rate(hitsByLabel.get(OFFENSIVE) ?? 0, labelRows.get(OFFENSIVE) ?? 0),
      hits,
      precision: hits === 0 ? null : ownHits / hits,
      datasets: [...datasets.values()].sort((a, b) => b.recall.rows - a.recall.rows || a.dataset.localeCompare(b.dataset)),
    };
  });

  return { rows: rows.length, labels: sortedRecord(labelRows), terms, topics: figures };
}
