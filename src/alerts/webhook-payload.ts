import { createHash } from 'node:crypto';
import { severityTiers, type SeverityTier } from '../config/topic-schema.js';
import type { WebhookRoute } from '../config/webhook-schema.js';
import type { AlertEvent, AlertEventType } from './alert.js';

/** What a delivery sends, fixed when the event is accepted: replays send the same bytes. */
export interface DeliveryContent {
  /** dl_..., one per (webhook, alert version): enqueueing it again is a no-op. */
  id: string;
  pipeline: string;
  webhook: string;
  alertId: string;
  event: AlertEventType;
  /** The same for every webhook that receives this alert version. */
  idempotencyKey: string;
  body: string;
  createdAtMs: number;
}

const rank = (s: SeverityTier) => severityTiers.length - severityTiers.indexOf(s);

/** One key per alert version: the alert id, the event and the time of the version. */
export function idempotencyKey(event: AlertEvent): string {
  return `${event.alert.id}.${event.type}.${Date.parse(event.alert.updated_at)}`;
}

export function deliveryId(pipeline: string, webhook: string, key: string): string {
  return `dl_${createHash('sha256').update(`${pipeline}\0${webhook}\0${key}`).digest('hex').slice(0, 24)}`;
}

/** Whether a route takes an event: its pipeline, topic, severity (or above), kind and event type. */
export function routeMatches(route: WebhookRoute, event: AlertEvent): boolean {
  const a = event.alert;
  return (
    route.pipeline === a.pipeline &&
    (route.topics === 'all' || route.topics.includes(a.topic)) &&
    rank(a.severity) >= rank(route.minSeverity) &&
    route.kinds.includes(a.kind) &&
    route.events.includes(event.type)
  );
}

/** The deliveries of one alert event: one per matching route, its body rendered in the route's format. */
export function deliveriesFor(event: AlertEvent, routes: readonly WebhookRoute[], nowMs: number): DeliveryContent[] {
  const key = idempotencyKey(event);
  return routes
    .filter((r) => routeMatches(r, event))
    .map((r) => ({
      id: deliveryId(r.pipeline, r.id, key),
      pipeline: r.pipeline,
      webhook: r.id,
      alertId: event.alert.id,
      event: event.type,
      idempotencyKey: key,
      body: r.format === 'slack' ? JSON.stringify(slackMessage(event)) : JSON.stringify({ id: key, event: event.type, alert: event.alert }),
      createdAtMs: nowMs,
    }));
}

const HEADLINE: Record<AlertEventType, string> = { opened: 'new alert', updated: 'update', resolved: 'resolved' };

/** Slack's mrkdwn treats &, < and > as markup. */
const escapeMrkdwn = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const cut = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);
const fmt = (x: number) => (Math.abs(x) >= 10 ? x.toFixed(0) : x.toFixed(1));

/**
 * A Slack-compatible message (incoming webhooks, chat.postMessage): `text` for notifications
 * and clients without blocks, `blocks` for the layout. No signal text is ever included.
 */
export function slackMessage(event: AlertEvent): { text: string; blocks: unknown[] } {
  const a = event.alert;
  const where = a.dimension === 'all' ? 'all of the platform' : a.dimension;
  const title = `[${a.severity.toUpperCase()}] ${a.topic_name}: ${HEADLINE[event.type]}`;
  return {
    text: cut(escapeMrkdwn(`${title}. ${a.summary}`), 3000),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: cut(title, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: cut(escapeMrkdwn(a.summary), 3000) } },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: `*Where*\n${cut(escapeMrkdwn(where), 200)}` },
          { type: 'mrkdwn', text: `*Severity*\n${a.severity}${a.severity !== a.base_severity ? ` (from ${a.base_severity})` : ''}` },
          { type: 'mrkdwn', text: `*Observed / expected*\n${a.window.observed} / ${fmt(a.window.expected)} (${fmt(a.window.ratio)}x)` },
          { type: 'mrkdwn', text: `*Distinct accounts*\n${a.distinct_authors}${a.coordinated ? ' (likely coordinated)' : ''}` },
        ],
      },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: escapeMrkdwn(`${a.id} · ${a.kind} · status ${a.status} · pipeline ${a.pipeline} · lists ${a.list_version} · opened ${a.opened_at}`) }],
      },
    ],
  };
}
