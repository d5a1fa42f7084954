import { once } from 'node:events';
import { z } from 'zod';
import type { AppConfig } from '../config/load.js';
import { nearestExemplars } from '../scoring/semantic.js';
import { scoreSignal } from '../scoring/score.js';
import { startRuntime, UsageError, type Io } from './commands.js';
import { readLines } from './lines.js';

const MAX_LINE_BYTES = 64 * 1024;
export const BENIGN = 'benign';

const labeledSchema = z.strictObject({
  text: z.string().min(1).max(10_000),
  topic: z.string().min(1).max(64),
  id: z.string().max(128).optional(),
});

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

export interface TopicCalibration {
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

/**
 * `surgewatch calibrate <labeled.jsonl>`: lines `{"text","topic"}` where topic is a topic id or
 * "benign". Every text is embedded; per topic, a sweep of semantic thresholds reports precision
 * and recall (a line of another topic counts as a negative), and the lowest threshold that
 * reaches the target precision (else the best F1) is proposed. One JSON line per topic on
 * stdout; a table on stderr.
 */
export async function calibrateCommand(
  config: AppConfig,
  file: string,
  opts: { pipeline?: string; minPrecision?: number; from?: number; to?: number; step?: number },
  io: Io,
): Promise<{ topics: TopicCalibration[]; lines: number; bad: number }> {
  const minPrecision = opts.minPrecision ?? 0.9;
  const from = opts.from ?? 0.3;
  const to = opts.to ?? 0.95;
  const step = opts.step ?? 0.025;
  if (!(from > 0 && to <= 1 && from < to && step > 0)) throw new UsageError('the sweep needs 0 < --from < --to <= 1 and --step > 0');
  const { rt, setup } = await startRuntime(config, { ...(opts.pipeline && { pipeline: opts.pipeline }), semantic: 'all', stderr: io.stderr });
  try {
    const known = new Set([...rt.lists.topics.keys(), BENIGN]);
    const rows: { text: string; topic: string }[] = [];
    let bad = 0;
    for await (const { line, bytes } of readLines(file, MAX_LINE_BYTES)) {
      let problem: string | undefined;
      try {
        const parsed = labeledSchema.safeParse(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)));
        if (!parsed.success) problem = parsed.error.issues.map((i) => `${i.path.join('.') || 'line'}: ${i.message}`).join('; ');
        else if (!known.has(parsed.data.topic)) problem = `unknown topic "${parsed.data.topic}" (use a topic id of pipeline ${rt.config.id} or "${BENIGN}")`;
        else rows.push(parsed.data);
      } catch (err) {
        problem = err instanceof SyntaxError ? `not JSON: ${err.message}` : `not UTF-8`;
      }
      if (problem) {
        bad++;
        io.stderr.write(`${JSON.stringify({ line, error: problem })}\n`);
      }
    }
    const index = rt.lists.semantic;
    if (!index || !rt.semantic?.embedder) throw new UsageError(`pipeline ${rt.config.id}: semantic scoring is unavailable (${rt.semantic?.reason ?? 'off'})`);
    if (rows.length === 0) throw new UsageError(`${file} has no valid labeled lines`);

    const vectors = await rt.semantic.embedder.embed(rows.map((r) => r.text));
    // A counter-exemplar veto removes a line from the semantic route at every threshold.
    const sims = vectors.map((v) => new Map(nearestExemplars(index, v, rt.config.semantic).map((m) => [m.topic, m.counter ? -1 : m.similarity])));
    const lexicon = rows.map((r) => new Map(scoreSignal(rt.lists.lexicon, rt.lists.topics, { text: r.text, hashtags: [] }).map((s) => [s.topic, s])));
    const { assist } = rt.config.semantic;

    const results: TopicCalibration[] = [];
    for (const t of index.topics) {
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
    for (const r of results) if (!io.stdout.write(`${JSON.stringify(r)}\n`)) await once(io.stdout, 'drain');
    io.stderr.write(
      [
        `calibrated on ${rows.length} lines (${bad} bad), target precision ${minPrecision}:`,
        'topic                      pos  current  proposed  sem P/R      combined P/R',
        ...results.map(
          (r) =>
            `${r.topic.padEnd(26)} ${String(r.positives).padStart(3)}  ${r.current_threshold.toFixed(3).padStart(7)}  ${r.proposed_threshold.toFixed(3).padStart(8)}  ` +
            `${r.semantic.precision.toFixed(2)}/${r.semantic.recall.toFixed(2)}    ${r.combined.precision.toFixed(2)}/${r.combined.recall.toFixed(2)}${r.basis === 'best_f1' ? '  (target not reached: best F1)' : ''}`,
        ),
      ].join('\n') + '\n',
    );
    return { topics: results, lines: rows.length, bad };
  } finally {
    await setup.close();
  }
}
