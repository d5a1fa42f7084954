/**
 * Reads a labelled JSON-lines file (`{"text","topic"}` plus optional id, dataset, lang, ...;
 * the layout of ../shared/data/text/labelled-dev.jsonl) for every command that takes one:
 * train, calibrate, synth and lists lint --labelled. A bad line is reported and skipped; a text
 * longer than a signal may be is cut as a signal's is.
 */
import { signalLimits } from '../ingest/signal.js';
import { labelledRowSchema, rowId, type LabelledRow } from '../training/labelled.js';
import { readLines } from './lines.js';

/** A labelled row is at most a few tens of kB; longer lines are reported as oversize. */
const MAX_LINE_BYTES = 1024 * 1024;

export interface BadLabelledLine {
  line: number;
  error: 'oversize' | 'not_utf8' | 'not_json' | 'invalid' | 'unknown_label';
  reason: string;
}

export interface LabelledFile {
  rows: LabelledRow[];
  lines: number;
  bad: BadLabelledLine[];
  /** Rows whose text was cut to the signal limit. */
  truncated: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes one line. The row's id is its own, or a hash of its whole text (before any cut), so
 * that its split never depends on the cut.
 */
export function decodeLabelledLine(bytes: Uint8Array): { ok: true; row: LabelledRow; truncated: boolean } | { ok: false; error: BadLabelledLine['error']; reason: string } {
  if (bytes.length > MAX_LINE_BYTES) return { ok: false, error: 'oversize', reason: `line is over ${MAX_LINE_BYTES} bytes` };
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch (err) {
    return err instanceof SyntaxError ? { ok: false, error: 'not_json', reason: `line is not JSON: ${err.message}` } : { ok: false, error: 'not_utf8', reason: 'line is not valid UTF-8' };
  }
  let whole: string | undefined;
  if (typeof value === 'object' && value !== null && 'text' in value && typeof value.text === 'string' && value.text.length > signalLimits.maxTextChars) {
    whole = value.text;
    let text = whole.slice(0, signalLimits.maxTextChars);
    if (/[\uD800-\uDBFF]$/.test(text)) text = text.slice(0, -1);
    (value as { text: string }).text = text;
  }
  const parsed = labelledRowSchema.safeParse(value);
  if (!parsed.success) return { ok: false, error: 'invalid', reason: parsed.error.issues.map((i) => `${i.path.join('.') || 'line'}: ${i.message}`).join('; ') };
  return { ok: true, row: { ...parsed.data, id: rowId({ id: parsed.data.id, text: whole ?? parsed.data.text }) }, truncated: whole !== undefined };
}

/**
 * Reads every line; `onBad` hears of each bad one as it is found. `labelProblem`, when given,
 * says why a well-formed row's label is not one the caller can use (the line is then bad, as
 * `unknown_label`).
 */
export async function readLabelledFile(file: string, onBad?: (bad: BadLabelledLine) => void | Promise<void>, labelProblem?: (label: string) => string | undefined): Promise<LabelledFile> {
  const out: LabelledFile = { rows: [], lines: 0, bad: [], truncated: 0 };
  for await (const { line, bytes } of readLines(file, MAX_LINE_BYTES)) {
    out.lines++;
    let r = decodeLabelledLine(bytes);
    const problem = r.ok ? labelProblem?.(r.row.topic) : undefined;
    if (problem) r = { ok: false, error: 'unknown_label', reason: problem };
    if (r.ok) {
      out.rows.push(r.row);
      if (r.truncated) out.truncated++;
    } else {
      const b: BadLabelledLine = { line, error: r.error, reason: r.reason };
      out.bad.push(b);
      await onBad?.(b);
    }
  }
  return out;
}

/** Reports a bad line on stderr as the other commands do: {"line","error","reason"}. */
export function badLineReporter(stderr: NodeJS.WritableStream): (bad: BadLabelledLine) => Promise<void> {
  return async (b) => {
    if (!stderr.write(`${JSON.stringify(b)}\n`)) await new Promise((done) => stderr.once('drain', done));
  };
}
