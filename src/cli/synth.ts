/**
 * `surgewatch synth --corpus labelled.jsonl --out signals.jsonl --truth truth.json`: a replay
 * stream made of real labelled posts, with surges and benign decoys injected, and the truth file
 * that `replay --truth` scores detection against.
 */
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TopicDefinition } from '../config/topic-schema.js';
import {
  corpusSignals,
  planCorpusStream,
  truthWithCounts,
  type CorpusStreamPlan,
  type CorpusStreamStats,
  type CorpusTruth,
} from '../synthetic/corpus-stream.js';
import { UsageError, type Io } from './commands.js';
import { badLineReporter, readLabelledFile } from './labelled-file.js';

/** Signals are written in chunks of about this many characters. */
const CHUNK_CHARS = 64 * 1024;
/** A Monday, so that a default stream starts the week (and repeats run after run). */
export const DEFAULT_SYNTH_START = '2026-11-02T00:00:00Z';

export interface SynthOptions {
  corpus: string;
  out: string;
  truth: string;
  days?: number;
  seed?: number;
  ratePerSec?: number;
  split?: 'test' | 'all';
  startMs?: number;
  warmupHours?: number;
}

export interface SynthResult {
  /** Corpus lines read, and of those the bad ones (reported and skipped). */
  lines: number;
  bad: number;
  plan: CorpusStreamPlan;
  stats: CorpusStreamStats;
  /** As written to the truth file. */
  truth: CorpusTruth;
}

export async function synthCommand(topics: readonly TopicDefinition[], opts: SynthOptions, io: Io): Promise<SynthResult> {
  const paths = [opts.corpus, opts.out, opts.truth].map((p) => resolve(p));
  if (new Set(paths).size < paths.length) throw new UsageError('--corpus, --out and --truth must be three different files');
  const { rows, lines, bad: badLines } = await readLabelledFile(opts.corpus, badLineReporter(io.stderr));
  const bad = badLines.length;
  if (rows.length === 0) throw new UsageError(`${opts.corpus} has no valid labelled lines`);

  let plan: CorpusStreamPlan;
  try {
    plan = planCorpusStream(rows, topics, {
      seed: opts.seed ?? 1,
      startMs: opts.startMs ?? Date.parse(DEFAULT_SYNTH_START),
      days: opts.days ?? 3,
      ratePerSec: opts.ratePerSec ?? 2,
      split: opts.split ?? 'test',
      ...(opts.warmupHours !== undefined && { warmupHours: opts.warmupHours }),
    });
  } catch (err) {
    throw new UsageError(`${opts.corpus}: ${(err as Error).message}`);
  }
  // replay --truth needs a surge to score.
  if (plan.surges.length === 0)
    throw new UsageError(
      Object.keys(plan.shares).length === 0
        ? `${opts.corpus}: no row maps to a configured topic, so there is nothing to surge`
        : `${opts.days ?? 3} days leave no room for a surge after the ${opts.warmupHours ?? 6} h warm-up: give more --days or fewer --warmup-hours`,
    );

  let stats: CorpusStreamStats | undefined;
  function* chunks(): Generator<string> {
    const it = corpusSignals(plan);
    let chunk = '';
    for (let r = it.next(); ; r = it.next()) {
      if (r.done) {
        stats = r.value;
        break;
      }
      chunk += `${JSON.stringify(r.value.signal)}\n`;
      if (chunk.length >= CHUNK_CHARS) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  await pipeline(Readable.from(chunks()), createWriteStream(opts.out));
  const truth = truthWithCounts(plan.truth, stats!);
  await writeFile(opts.truth, `${JSON.stringify(truth, null, 2)}\n`);
  io.stderr.write(summary(opts, plan, stats!, truth, { lines, bad }));
  return { lines, bad, plan, stats: stats!, truth };
}

const n = (x: number) => x.toLocaleString('en');
const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;

function summary(opts: SynthOptions, plan: CorpusStreamPlan, stats: CorpusStreamStats, truth: CorpusTruth, corpus: { lines: number; bad: number }): string {
  const { spec } = plan;
  const used = Object.values(plan.rows).reduce((a, b) => a + b, 0);
  const leftOut = Object.entries(plan.leftOut);
  const injected = (xs: readonly number[]) => n(xs.reduce((a, b) => a + b, 0));
  const categories = Object.entries(stats.background).sort(([, a], [, b]) => b - a);
  const lines = [
    `synth: ${n(stats.signals)} signals over ${spec.days} ${spec.days === 1 ? 'day' : 'days'} from ${truth.from} (seed ${spec.seed}, ${spec.ratePerSec} signals/s on average) -> ${opts.out}`,
    `corpus: ${n(corpus.lines)} lines (${n(corpus.bad)} bad); ${n(used)} rows of the ${spec.split === 'all' ? 'whole corpus' : 'test split'} drawn from` +
      (spec.split === 'all' ? '' : `, ${n(plan.outOfSplit)} outside it`) +
      (leftOut.length > 0 ? `; left out (no configured topic): ${leftOut.map(([label, count]) => `${label} ${n(count)}`).join(', ')}` : ''),
    `background: ${categories.map(([c, count]) => `${c} ${n(count)}${plan.shares[c] !== undefined ? ` (${pct(plan.shares[c])})` : ''}`).join(', ')}`,
    `surges: ${truth.surges.length} (${truth.surges.filter((s) => s.coordinated).length} coordinated), ${injected(stats.surges)} signals injected -> ${opts.truth}`,
    '  start                     topic                dimension        factor  shape    min   base  injected',
    ...truth.surges.map(
      (s) =>
        `  ${s.start.padEnd(24)}  ${s.topic.padEnd(19)}  ${s.dimension.padEnd(15)}  ${String(s.factor).padStart(6)}  ${s.shape.padEnd(7)}  ${String(minutes(s)).padStart(3)}  ${String(s.base).padStart(5)}  ${String(s.injected).padStart(8)}${s.coordinated ? '  coordinated' : ''}`,
    ),
    `decoys: ${truth.decoys.length}, ${injected(stats.decoys)} benign-wave signals injected`,
    '  start                     kind           dimension        factor  near                 min  injected',
    ...truth.decoys.map(
      (d) =>
        `  ${d.start.padEnd(24)}  ${d.kind.padEnd(13)}  ${d.dimension.padEnd(15)}  ${String(d.factor).padStart(6)}  ${(d.near ?? '-').padEnd(19)}  ${String(minutes(d)).padStart(3)}  ${String(d.injected).padStart(8)}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

const minutes = (e: { start: string; end: string }) => Math.round((Date.parse(e.end) - Date.parse(e.start)) / 60_000);
