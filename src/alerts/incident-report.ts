import { latestVerdict, type Alert, type FeedbackVerdict } from './alert.js';
import { timeToAcknowledgeSec, timeToResolveSec } from './operations.js';

/**
 * An alert's incident record, for documentation and transparency reporting: what happened when
 * and who did it, the figures, the list version and the top terms. Signals appear by id only:
 * no sample text, whoever asks.
 */

export const timelineEvents = ['opened', 'escalated', 'peak', 'acknowledged', 'assigned', 'unassigned', 'note', 'feedback', 'resolved'] as const;
export type TimelineEvent = (typeof timelineEvents)[number];

export interface TimelineEntry {
  at: string;
  event: TimelineEvent;
  /** A key name, or "detection" for what surgewatch did itself. */
  by: string;
  detail: string;
}

export interface IncidentReport {
  alert_id: string;
  kind: Alert['kind'];
  pipeline: string;
  topic: string;
  topic_name: string;
  dimension: string;
  status: Alert['status'];
  severity: Alert['severity'];
  base_severity: Alert['base_severity'];
  summary: string;
  list_version: string;
  opened_at: string;
  resolved_at: string | null;
  resolved_by: string | null;
  assignee: string | null;
  /** The latest feedback verdict, null without any. */
  verdict: FeedbackVerdict | null;
  figures: {
    opened_observed: number;
    window: Alert['window'];
    peak: Alert['peak'];
    baseline: Alert['baseline'];
    distinct_authors: number | null;
    coordinated: boolean;
    significant_ticks: number;
    time_to_acknowledge_sec: number | null;
    time_to_resolve_sec: number | null;
  };
  top_terms: Alert['top_terms'];
  suggested_term: string | null;
  /** Sample signals by id; their text is never part of the record. */
  sample_signal_ids: string[];
  timeline: TimelineEntry[];
  generated_at: string;
}

const DETECTION = 'detection';
const fmt = (x: number) => (Math.abs(x) >= 10 ? x.toFixed(0) : x.toFixed(1));
const order: Record<TimelineEvent, number> = { opened: 0, escalated: 1, peak: 2, acknowledged: 3, assigned: 4, unassigned: 4, note: 5, feedback: 6, resolved: 7 };

function timeline(a: Alert): TimelineEntry[] {
  const entries: TimelineEntry[] = [
    { at: a.opened_at, event: 'opened', by: DETECTION, detail: `${a.opened_observed} matching signals, severity ${a.base_severity}` },
    ...a.escalations.map((e): TimelineEntry => ({ at: e.at, event: 'escalated', by: DETECTION, detail: `severity ${e.from} -> ${e.to}` })),
    {
      at: a.peak.at,
      event: 'peak',
      by: DETECTION,
      detail: `${a.peak.observed} signals, ${fmt(a.peak.ratio)}x the expected ${fmt(a.peak.expected)} (over ${a.significant_ticks} significant tick${a.significant_ticks === 1 ? '' : 's'})`,
    },
  ];
  if (a.acknowledged_at !== null) entries.push({ at: a.acknowledged_at, event: 'acknowledged', by: a.acknowledged_by ?? 'unknown', detail: '' });
  for (const x of a.assignments) entries.push({ at: x.at, event: x.assignee === null ? 'unassigned' : 'assigned', by: x.by, detail: x.assignee === null ? '' : `to ${x.assignee}` });
  for (const n of a.notes) entries.push({ at: n.at, event: 'note', by: n.by, detail: n.text });
  for (const f of a.feedback) entries.push({ at: f.at, event: 'feedback', by: f.by, detail: f.note === null ? f.verdict : `${f.verdict}: ${f.note}` });
  if (a.status === 'resolved' && a.resolved_at !== null) {
    entries.push({ at: a.resolved_at, event: 'resolved', by: a.resolved_by ?? DETECTION, detail: a.resolved_by === null ? 'volume back near its baseline' : 'resolved by hand' });
  }
  // Stable: entries at the same time keep the order of the lifecycle.
  return entries.map((e, i) => ({ e, i })).sort((x, y) => Date.parse(x.e.at) - Date.parse(y.e.at) || order[x.e.event] - order[y.e.event] || x.i - y.i).map(({ e }) => e);
}

export function incidentReport(a: Alert, nowMs: number): IncidentReport {
  return {
    alert_id: a.id,
    kind: a.kind,
    pipeline: a.pipeline,
    topic: a.topic,
    topic_name: a.topic_name,
    dimension: a.dimension,
    status: a.status,
    severity: a.severity,
    base_severity: a.base_severity,
    summary: a.summary,
    list_version: a.list_version,
    opened_at: a.opened_at,
    resolved_at: a.resolved_at,
    resolved_by: a.resolved_by,
    assignee: a.assignee,
    verdict: latestVerdict(a),
    figures: {
      opened_observed: a.opened_observed,
      window: a.window,
      peak: a.peak,
      baseline: a.baseline,
      distinct_authors: a.distinct_authors,
      coordinated: a.coordinated,
      significant_ticks: a.significant_ticks,
      time_to_acknowledge_sec: timeToAcknowledgeSec(a) ?? null,
      time_to_resolve_sec: timeToResolveSec(a) ?? null,
    },
    top_terms: a.top_terms,
    suggested_term: a.suggested_term,
    sample_signal_ids: a.sample_signal_ids,
    timeline: timeline(a),
    generated_at: new Date(nowMs).toISOString(),
  };
}

/** Markdown text is data here: table cells and list items must not break out of their place. */
function md(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/([\\`*_[\]|<>#])/g, '\\$1');
}

const duration = (sec: number | null) => {
  if (sec === null) return '-';
  if (sec < 120) return `${Math.round(sec)} s`;
  if (sec < 7200) return `${Math.round(sec / 60)} min`;
  return `${(sec / 3600).toFixed(1)} h`;
};

/** The record as Markdown, for pasting into an incident document. */
export function incidentMarkdown(r: IncidentReport): string {
  const f = r.figures;
  const lines = [
    `# Incident record: ${md(r.topic_name)} (${md(r.dimension)})`,
    '',
    `Alert \`${r.alert_id}\`, pipeline ${md(r.pipeline)}, ${r.kind === 'emerging_term' ? 'emerging term' : 'spike'}; generated ${r.generated_at}.`,
    '',
    `> ${md(r.summary)}`,
    '',
    '| | |',
    '|---|---|',
    `| Status | ${r.status}${r.resolved_by ? ` (resolved by ${md(r.resolved_by)})` : r.status === 'resolved' ? ' (resolved by detection)' : ''} |`,
    `| Severity | ${r.severity}${r.severity !== r.base_severity ? ` (escalated from ${r.base_severity})` : ''} |`,
    `| Opened | ${r.opened_at} |`,
    `| Resolved | ${r.resolved_at ?? '-'} |`,
    `| Assignee | ${r.assignee === null ? '-' : md(r.assignee)} |`,
    `| Verdict | ${r.verdict ?? '-'} |`,
    `| Time to acknowledge | ${duration(f.time_to_acknowledge_sec)} |`,
    `| Time to resolve | ${duration(f.time_to_resolve_sec)} |`,
    `| Opening window | ${f.opened_observed} signals |`,
    `| Peak | ${f.peak.observed} signals at ${f.peak.at}, ${fmt(f.peak.ratio)}x the expected ${fmt(f.peak.expected)} (z ${fmt(f.peak.z)}) |`,
    `| Latest window | ${f.window.observed} signals in ${f.window.seconds} s, ${fmt(f.window.ratio)}x the expected ${fmt(f.window.expected)} |`,
    `| Distinct accounts | ${f.distinct_authors ?? 'unknown (no author ids)'}${f.coordinated ? ', likely coordinated' : ''} |`,
    `| List version | ${md(r.list_version)} |`,
    '',
    '## Timeline',
    '',
    ...r.timeline.map((e) => `- ${e.at} **${e.event}** by ${md(e.by)}${e.detail ? `: ${md(e.detail)}` : ''}`),
    '',
    '## Top terms',
    '',
    ...(r.top_terms.length === 0 ? ['(none)'] : r.top_terms.map((t) => `- ${md(t.term)}: ${t.count}`)),
    ...(r.suggested_term ? ['', `Suggested term for the list: ${md(r.suggested_term)}`] : []),
    '',
    '## Sample signals',
    '',
    'By id only; their text is not part of this record.',
    '',
    ...(r.sample_signal_ids.length === 0 ? ['(none)'] : r.sample_signal_ids.map((id) => `- \`${id.replace(/`/g, '')}\``)),
    '',
  ];
  return lines.join('\n');
}
