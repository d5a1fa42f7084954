/**
 * `surgewatch feedback-labels`: turns GET /v1/feedback/export lines (signal ids and labels, no
 * content) into labelled lines that `calibrate` and `train` read, by taking each signal's text
 * from the team's own signal archive (JSON lines in the signal contract, as `score` and `replay`
 * read them).
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { z } from 'zod';
import { decodeSignal, signalLimits } from '../ingest/signal.js';
import type { Io } from './commands.js';
import { readLines } from './lines.js';

const exportLineSchema = z.object({
  id: z.string().min(1).max(128),
  topic: z.string().min(1).max(64),
  dataset: z.string().min(1).max(128),
  label_raw: z.string().max(512).optional(),
  source: z.string().max(512).optional(),
});
type ExportLine = z.output<typeof exportLineSchema>;

export interface FeedbackLabelsResult {
  /** Labelled lines written. */
  written: number;
  /** Export lines whose signal is not in the archive. */
  missing: number;
  /** Export lines that are not export lines, and archive lines that are not signals. */
  bad: number;
}

async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/** Text a labelled row can carry: the signal's, else its hashtags (a hashtag-only signal). */
function labelText(text: string, hashtags: readonly string[]): string {
  const t = text.trim() !== '' ? text : hashtags.map((h) => (h.startsWith('#') ? h : `#${h}`)).join(' ');
  return t.slice(0, signalLimits.maxTextChars);
}

export async function feedbackLabelsCommand(exportFile: string, opts: { signals: string; out?: string }, io: Io): Promise<FeedbackLabelsResult> {
  const result: FeedbackLabelsResult = { written: 0, missing: 0, bad: 0 };
  const report = (v: unknown) => write(io.stderr, `${JSON.stringify(v)}\n`);
  // The export is small (ids and labels): held whole, in its order; the archive is streamed.
  const wanted = new Map<string, ExportLine[]>();
  const order: ExportLine[] = [];
  for await (const { line, bytes } of readLines(exportFile, 64 * 1024)) {
    let parsed;
    try {
      parsed = exportLineSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      result.bad++;
      await report({ file: exportFile, line, error: 'invalid', reason: 'not a feedback export line' });
      continue;
    }
    order.push(parsed.data);
    wanted.set(parsed.data.id, [...(wanted.get(parsed.data.id) ?? []), parsed.data]);
  }
  const texts = new Map<string, string>();
  for await (const { line, bytes } of readLines(opts.signals, signalLimits.maxRecordBytes)) {
    const r = decodeSignal(bytes);
    if (!r.ok) {
      result.bad++;
      await report({ file: opts.signals, line, error: r.code, reason: r.reason });
      continue;
    }
    if (wanted.has(r.signal.id)) {
      const text = labelText(r.signal.text, r.signal.hashtags);
      if (text !== '') texts.set(r.signal.id, text);
    }
  }
  const out = opts.out ? createWriteStream(opts.out) : io.stdout;
  try {
    for (const l of order) {
      const text = texts.get(l.id);
      if (text === undefined) {
        result.missing++;
        await report({ id: l.id, error: 'no_signal', reason: `signal ${l.id} is not in ${opts.signals} (or has no text)` });
        continue;
      }
      await write(out, `${JSON.stringify({ id: l.id, text, topic: l.topic, dataset: l.dataset, ...(l.label_raw && { label_raw: l.label_raw }), ...(l.source && { source: l.source }) })}\n`);
      result.written++;
    }
  } finally {
    if (opts.out) {
      (out as NodeJS.WritableStream & { end(): void }).end();
      await once(out, 'finish');
    }
  }
  return result;
}
