import { z } from 'zod';
import type { Alert } from '../alerts/alert.js';

const isoTime = z.string().refine((s) => Number.isFinite(Date.parse(s)), 'must be an ISO-8601 time');

/**
 * A truth file: the surges injected into a replayed stream (what `generateStream` and
 * `surgewatch synth` write), and the benign waves (decoys) that must not alert.
 */
export const truthSchema = z.object({
  from: isoTime.optional(),
  to: isoTime.optional(),
  surges: z
    .array(
      z.object({
        topic: z.string().min(1),
        dimension: z.string().min(1).default('all'),
        start: isoTime,
        end: isoTime,
        factor: z.number().optional(),
        shape: z.string().optional(),
        coordinated: z.boolean().optional(),
      }),
    )
    .min(1),
  decoys: z
    .array(
      z.object({
        /** e.g. repost, hard_negative, traffic_wave. */
        kind: z.string().min(1),
        dimension: z.string().min(1).default('all'),
        start: isoTime,
        end: isoTime,
        factor: z.number().optional(),
        /** The harm topic (or data label) the decoy looks like. */
        near: z.string().optional(),
      }),
    )
    .optional(),
});
export type TruthInput = z.input<typeof truthSchema>;

export interface SurgeResult {
  topic: string;
  dimension: string;
  start: string;
  factor?: number | undefined;
  shape?: string | undefined;
  detected: boolean;
  /** Event-time seconds from the surge's start to the first alert that covers it. */
  delay_sec: number | null;
  alert_id: string | null;
  /** Whether the alert flagged it as coordinated (for surges injected as coordinated). */
  coordinated_flag: boolean | null;
}

export interface DecoyResult {
  kind: string;
  dimension: string;
  start: string;
  near?: string | undefined;
  /** False alerts that opened during the decoy in a dimension it touches. */
  alerts: number;
  alert_ids: string[];
}

export interface TruthReport {
  surges: SurgeResult[];
  decoys: DecoyResult[];
  /** Distinct false alerts that opened during a decoy (part of false_alerts). */
  decoy_alerts: number;
  recall: number;
  /** Alerts that a surge explains, over all alerts opened. */
  precision: number;
  false_alerts: number;
  false_alerts_per_day: number;
  alerts: number;
  days: number;
}

/** The alert's dimension covers the surge's: the same, the whole topic, or the region's country. */
function covers(alertDimension: string, surgeDimension: string): boolean {
  if (alertDimension === surgeDimension || alertDimension === 'all') return true;
  const dash = surgeDimension.indexOf('-');
  return surgeDimension.startsWith('region=') && dash > 0 && alertDimension === surgeDimension.slice(0, dash);
}

/** A decoy in `decoyDimension` could have raised an alert in `alertDimension`. */
function touches(alertDimension: string, decoyDimension: string): boolean {
  if (decoyDimension === 'all' || !alertDimension.startsWith('region=')) return true;
  return covers(alertDimension, decoyDimension) || covers(decoyDimension, alertDimension);
}

/** When a version of an alert first named a surge's dimension: its own scope, or one it lists as related. */
function coveredAt(versions: readonly Alert[], surgeDimension: string): string | undefined {
  for (const v of versions) {
    if (covers(v.dimension, surgeDimension) || (v.related ?? []).some((r) => covers(r.dimension, surgeDimension))) return v.updated_at ?? v.opened_at;
  }
  return undefined;
}

/**
 * Scores a replay's alerts against the truth. `published` holds every alert version the replay
 * published, in order (a single version per alert is fine); an alert is judged on its versions.
 * A surge is detected by the first alert of its topic that opens between the surge's start and
 * its end plus `graceSec` and covers the surge's dimension: in its own scope, or in one it lists
 * as related (one surge, one incident: a global surge that lifts one region most is named on
 * that region, with the whole topic related). The delay runs to the version that first named
 * the surge's dimension. An alert is true when any surge of its topic is under way when it opens
 * (whatever its dimension: a surge shows in several series); the others are false alerts. A
 * false alert that opens during a decoy (a benign wave), up to `graceSec` after its end, in a
 * dimension the decoy touches, is counted against that decoy.
 */
export function evaluateTruth(published: readonly Alert[], truthInput: TruthInput, graceSec = 300): TruthReport {
  const truth = truthSchema.parse(truthInput);
  const versionsOf = new Map<string, Alert[]>();
  for (const a of published) if (a.kind === 'spike') versionsOf.set(a.id, [...(versionsOf.get(a.id) ?? []), a]);
  // The newest version of each alert, flagged coordinated if any version was.
  const latest = [...versionsOf.values()].map((vs) => ({ ...vs.at(-1)!, coordinated: vs.some((v) => v.coordinated) }));
  const spikes = latest.sort((a, b) => a.opened_at.localeCompare(b.opened_at));
  const ms = (s: string) => Date.parse(s);
  const within = (t: string, s: { start: string; end: string }) => ms(t) >= ms(s.start) && ms(t) <= ms(s.end) + graceSec * 1000;
  const during = (a: Alert, s: { start: string; end: string }) => within(a.opened_at, s);

  const surges: SurgeResult[] = truth.surges.map((s) => {
    let hit: { alert: Alert; at: string } | undefined;
    for (const a of spikes) {
      if (a.topic !== s.topic || !during(a, s)) continue;
      const at = coveredAt(versionsOf.get(a.id)!, s.dimension);
      if (at !== undefined && within(at, s) && (!hit || ms(at) < ms(hit.at))) hit = { alert: a, at };
    }
    // Coordination shows in the surge's own series; a wider one mixes in organic accounts.
    const own = spikes.find((a) => a.topic === s.topic && a.dimension === s.dimension && during(a, s)) ?? hit?.alert;
    return {
      topic: s.topic,
      dimension: s.dimension,
      start: s.start,
      factor: s.factor,
      shape: s.shape,
      detected: Boolean(hit),
      delay_sec: hit ? Math.round((ms(hit.at) - ms(s.start)) / 1000) : null,
      alert_id: hit?.alert.id ?? null,
      coordinated_flag: own && s.coordinated ? own.coordinated : null,
    };
  });
  const explained = spikes.filter((a) => truth.surges.some((s) => a.topic === s.topic && during(a, s)));
  const isExplained = new Set(explained);
  const unexplained = spikes.filter((a) => !isExplained.has(a));
  const inDecoys = new Set<string>();
  const decoys: DecoyResult[] = (truth.decoys ?? []).map((d) => {
    const hits = unexplained.filter((a) => touches(a.dimension, d.dimension) && during(a, d));
    for (const a of hits) inDecoys.add(a.id);
    return { kind: d.kind, dimension: d.dimension, start: d.start, ...(d.near !== undefined && { near: d.near }), alerts: hits.length, alert_ids: hits.map((a) => a.id) };
  });
  const from = truth.from ? ms(truth.from) : Math.min(...truth.surges.map((s) => ms(s.start)));
  const to = truth.to ? ms(truth.to) : Math.max(...truth.surges.map((s) => ms(s.end)));
  const days = Math.max((to - from) / 86_400_000, 1e-9);
  const falseAlerts = spikes.length - explained.length;
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return {
    surges,
    decoys,
    decoy_alerts: inDecoys.size,
    recall: r3(surges.filter((s) => s.detected).length / surges.length),
    precision: spikes.length === 0 ? 1 : r3(explained.length / spikes.length),
    false_alerts: falseAlerts,
    false_alerts_per_day: r3(falseAlerts / days),
    alerts: spikes.length,
    days: r3(days),
  };
}

/** The report as a few lines a person reads. */
export function formatTruthReport(r: TruthReport): string {
  const lines = [
    `truth: ${r.surges.filter((s) => s.detected).length}/${r.surges.length} surges detected (recall ${r.recall}), precision ${r.precision}, ${r.false_alerts} false alerts (${r.false_alerts_per_day} per simulated day over ${r.days} days)`,
    'topic                      dimension            factor  shape     detected  delay s  coordinated',
    ...r.surges.map(
      (s) =>
        `${s.topic.padEnd(26)} ${s.dimension.padEnd(20)} ${String(s.factor ?? '').padStart(6)}  ${(s.shape ?? '').padEnd(8)}  ${String(s.detected).padEnd(8)}  ${String(s.delay_sec ?? '-').padStart(7)}  ${s.coordinated_flag === null ? '-' : String(s.coordinated_flag)}`,
    ),
  ];
  if (r.decoys.length > 0)
    lines.push(
      `decoys: ${r.decoy_alerts} false alerts during ${r.decoys.length} benign waves that must not alert`,
      'kind            dimension            near                       start                     alerts',
      ...r.decoys.map((d) => `${d.kind.padEnd(15)} ${d.dimension.padEnd(20)} ${(d.near ?? '-').padEnd(26)} ${d.start.padEnd(25)} ${String(d.alerts).padStart(6)}`),
    );
  return `${lines.join('\n')}\n`;
}
