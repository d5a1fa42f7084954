import { BENIGN } from '../training/labelled.js';
import type { Alert, AlertFeedback, FeedbackVerdict } from './alert.js';
import type { AlertStore } from './alert-store.js';
import { MAX_REPORT_ALERTS } from './operations.js';

/**
 * Feedback as labelled lines for `surgewatch calibrate` and `train`: one line per sample signal
 * of each judged alert, in the labelled-file layout (`topic` is the label, plus `id`, `dataset`,
 * `label_raw`, `source`). The alert's topic id labels the samples of a true trend, "benign"
 * those of a false alarm (they matched the lists or the model, yet people judged the surge not
 * to be the harm). Alerts keep signal ids, not text: a line gets its `text` from the team's own
 * signal archive (`surgewatch feedback-labels` joins them), so the export never carries content.
 */
export interface FeedbackLine {
  /** The signal id. */
  id: string;
  /** The label: the alert's topic id, or "benign". */
  topic: string;
  dataset: string;
  label_raw: FeedbackVerdict;
  /** "alert:<id>": where the label comes from. */
  source: string;
  alert_id: string;
  pipeline: string;
  dimension: string;
  judged_at: string;
}

export const FEEDBACK_DATASET = 'surgewatch-feedback';

/** The verdict that counts at untilMs: the latest given before it. */
function verdictAt(a: Alert, untilMs: number): AlertFeedback | undefined {
  for (let i = a.feedback.length - 1; i >= 0; i--) if (Date.parse(a.feedback[i]!.at) < untilMs) return a.feedback[i];
  return undefined;
}

/**
 * Lines for the alerts whose counting verdict was given in [sinceMs, untilMs), oldest judgement
 * first. A signal sampled by several alerts of one topic gets one line: the latest judgement's.
 */
export function feedbackLines(alerts: readonly Alert[], range: { sinceMs: number; untilMs: number }): FeedbackLine[] {
  const judged = alerts
    .map((a) => ({ a, f: verdictAt(a, range.untilMs) }))
    .filter((x): x is { a: Alert; f: AlertFeedback } => x.f !== undefined && Date.parse(x.f.at) >= range.sinceMs)
    .sort((x, y) => Date.parse(x.f.at) - Date.parse(y.f.at) || (x.a.id < y.a.id ? -1 : 1));
  const lines = new Map<string, FeedbackLine>();
  for (const { a, f } of judged) {
    for (const id of a.sample_signal_ids) {
      const key = `${a.pipeline}\0${a.topic}\0${id}`;
      lines.delete(key); // the later judgement wins and moves to the end
      lines.set(key, {
        id,
        topic: f.verdict === 'true_trend' ? a.topic : BENIGN,
        dataset: FEEDBACK_DATASET,
        label_raw: f.verdict,
        source: `alert:${a.id}`,
        alert_id: a.id,
        pipeline: a.pipeline,
        dimension: a.dimension,
        judged_at: f.at,
      });
    }
  }
  return [...lines.values()];
}

/** Alerts updated since sinceMs (feedback updates an alert, so every judged one is among them). */
export async function alertsUpdatedSince(store: Pick<AlertStore, 'list'>, sinceMs: number, pipeline?: string): Promise<{ alerts: Alert[]; truncated: boolean }> {
  const out: Alert[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list({ limit: 500, sinceMs, ...(pipeline && { pipeline }), ...(cursor && { cursor }) });
    out.push(...page.alerts.filter((a) => a.feedback.length > 0));
    if (out.length >= MAX_REPORT_ALERTS) return { alerts: out, truncated: true };
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return { alerts: out, truncated: false };
}
