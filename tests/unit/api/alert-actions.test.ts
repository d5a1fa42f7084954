import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/alerts/alert.js';
import { MemoryAlertStore } from '../../../src/alerts/memory-alert-store.js';
import { registerOperationsMetrics } from '../../../src/alerts/operations-metrics.js';
import { buildApi } from '../../../src/api/app.js';
import { MemoryAuditLog } from '../../../src/audit/audit-log.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { createMetricsRegistry, exposition } from '../../../src/shared/metrics.js';
import { labelledRowSchema } from '../../../src/training/labelled.js';
import { iso, makeAlert, MIN, T0 } from '../../_util/alerts.js';
import { sample } from '../../_util/metrics.js';
import type { Role } from '../../../src/config/api-keys.js';
import { auth, roleKeyring } from '../../_util/role-keys.js';


const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

/** The API on in-memory stores, a clock at T0 + 10 min, one key per role (named "<role>-key"). */
function build() {
  const clock = new ManualClock(T0 + 10 * MIN);
  const alerts = new MemoryAlertStore();
  const auditLog = new MemoryAuditLog(clock);
  const keys = roleKeyring();
  let woken = 0;
  const app = buildApi({
    alerts,
    audit: auditLog,
    keys,
    checks: {},
    mode: 'embedded',
    logger: pino({ level: 'silent' }),
    alertActions: { clock, cooldownSecByPipeline: new Map([['high-harm', 900]]), onEvent: () => woken++ },
  });
  apps.push(app);
  const post = (path: string, payload: unknown, role: Role = 'analyst') => app.inject({ method: 'POST', url: `/v1/alerts${path}`, payload: payload as object, headers: auth(role) });
  const get = (url: string, role: Role = 'viewer') => app.inject({ url, headers: auth(role) });
  return { app, alerts, auditLog, clock, post, get, woken: () => woken };
}

async function seeded(series = 'self-harm|region=US-TX') {
  const built = build();
  const alert = makeAlert({ series });
  await built.alerts.save(alert, 'opened', 0);
  return { ...built, alert };
}

describe('alert actions', () => {
  it('acknowledges: status, who and when in the answer and the store, an audit entry and an outbox event', async () => {
    const { alert, post, alerts, auditLog, woken } = await seeded();
    const res = await post(`/${alert.id}/ack`, { note: 'looking into it' });
    expect(res.statusCode).toBe(200);
    const body = res.json() as Alert;
    expect(body).toMatchObject({ id: alert.id, status: 'acknowledged', acknowledged_by: 'analyst-key', acknowledged_at: iso(T0 + 10 * MIN), notes: [{ by: 'analyst-key', text: 'looking into it' }] });
    expect(await alerts.get(alert.id)).toEqual(body);
    const [entry] = (await auditLog.list({ limit: 10 })).entries;
    expect(entry).toMatchObject({ actor: { name: 'analyst-key', role: 'analyst' }, action: 'alert.acknowledge', target: alert.id, details: { note: 'looking into it', changed: true, topic: 'self-harm' } });
    expect((await alerts.pendingEvents('high-harm', 10)).map((e) => [e.type, e.alert.status])).toEqual([
      ['opened', 'open'],
      ['updated', 'acknowledged'],
    ]);
    expect(woken()).toBe(1);
  });

  it('acknowledges without a body', async () => {
    const { alert, app } = await seeded();
    const res = await app.inject({ method: 'POST', url: `/v1/alerts/${alert.id}/ack`, headers: auth('analyst') });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'acknowledged', notes: [] });
  });

  it('assigns, reassigns and unassigns, keeping the history', async () => {
    const { alert, post, clock } = await seeded();
    expect((await post(`/${alert.id}/assign`, { assignee: 'ana' })).json()).toMatchObject({ assignee: 'ana' });
    clock.advance(MIN);
    await post(`/${alert.id}/assign`, { assignee: 'bo' }, 'editor');
    const res = await post(`/${alert.id}/assign`, { assignee: null });
    expect(res.json()).toMatchObject({
      assignee: null,
      assignments: [
        { by: 'analyst-key', assignee: 'ana' },
        { by: 'editor-key', assignee: 'bo' },
        { by: 'analyst-key', assignee: null },
      ],
      status: 'open',
    });
  });

  it('resolves by hand with resolved_by, starts the cooldown, and then refuses ack and resolve with 409 CONFLICT', async () => {
    const { alert, post, alerts, auditLog } = await seeded();
    const res = await post(`/${alert.id}/resolve`, { note: 'coordinated spam wave, handled by the spam team' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'resolved', resolved_by: 'analyst-key', resolved_at: iso(T0 + 10 * MIN) });
    expect(await alerts.inCooldown('high-harm', alert.series, T0 + 20 * MIN)).toBe(true);
    expect(await alerts.inCooldown('high-harm', alert.series, T0 + 25 * MIN)).toBe(false);
    expect((await alerts.pendingEvents('high-harm', 10)).map((e) => e.type)).toEqual(['opened', 'resolved']);

    for (const action of ['ack', 'resolve']) {
      const refused = await post(`/${alert.id}/${action}`, {});
      expect(refused.statusCode, action).toBe(409);
      expect(refused.json()).toEqual({ error: { code: 'CONFLICT', message: expect.stringContaining('resolved') } });
    }
    // Notes and feedback still go on a resolved alert.
    expect((await post(`/${alert.id}/notes`, { text: 'post-mortem on the wiki' })).statusCode).toBe(200);
    expect((await post(`/${alert.id}/feedback`, { verdict: 'true_trend' })).statusCode).toBe(200);
    expect((await auditLog.list({ limit: 10 })).entries.map((e) => e.action)).toEqual(['alert.feedback', 'alert.note', 'alert.resolve']);
  });

  it('adds notes and feedback in order', async () => {
    const { alert, post } = await seeded();
    await post(`/${alert.id}/notes`, { text: 'first' });
    await post(`/${alert.id}/feedback`, { verdict: 'false_alarm', note: 'a song lyric trending' });
    const res = await post(`/${alert.id}/notes`, { text: 'second' });
    expect(res.json()).toMatchObject({
      notes: [{ text: 'first' }, { text: 'second' }],
      feedback: [{ by: 'analyst-key', verdict: 'false_alarm', note: 'a song lyric trending' }],
    });
  });

  it.each(['ack', 'assign', 'resolve', 'notes', 'feedback'])('refuses %s to a viewer with 403 FORBIDDEN, and changes nothing', async (action) => {
    const { alert, post, alerts, auditLog } = await seeded();
    const res = await post(`/${alert.id}/${action}`, { assignee: 'x', text: 'x', verdict: 'true_trend' }, 'viewer');
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(await alerts.get(alert.id)).toEqual(alert);
    expect((await auditLog.list({ limit: 10 })).entries).toEqual([]);
  });

  it.each([
    ['feedback', { verdict: 'maybe' }, /body\.verdict/],
    ['feedback', {}, /body\.verdict/],
    ['assign', {}, /body\.assignee/],
    ['assign', { assignee: '' }, /body\.assignee/],
    ['notes', { text: '   ' }, /body\.text/],
    ['notes', { text: 'x'.repeat(4001) }, /body\.text/],
    ['notes', { text: 'ok', by: 'someone-else' }, /by/],
    ['ack', { note: 42 }, /body\.note/],
  ])('answers a bad %s body %j with 400 VALIDATION', async (action, payload, message) => {
    const { alert, post, alerts, auditLog } = await seeded();
    const res = await post(`/${alert.id}/${action}`, payload);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: { code: 'VALIDATION', message: expect.stringMatching(message) } });
    expect(await alerts.get(alert.id)).toEqual(alert);
    expect((await auditLog.list({ limit: 10 })).entries).toEqual([]);
  });

  it('answers an unknown alert with 404 NOT_FOUND and a bad id with 400', async () => {
    const { post, get } = await seeded();
    for (const [action, payload] of [['ack', {}], ['resolve', {}], ['notes', { text: 'x' }], ['feedback', { verdict: 'true_trend' }]] as const) {
      const res = await post(`/al_00000000000000000000/${action}`, payload);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    }
    expect((await get('/v1/alerts/al_00000000000000000000/report')).statusCode).toBe(404);
    expect((await post('/../../etc/ack', {})).statusCode).toBeGreaterThanOrEqual(400);
    expect((await post('/not-an-id/ack', {})).json()).toMatchObject({ error: { code: 'VALIDATION' } });
  });
});

describe('workflow figures on /metrics', () => {
  it('counts feedback per topic and observes time to acknowledge and resolve', async () => {
    // A topic of its own: the process registry is shared by every test in this process.
    const { alert, post, clock } = await seeded('metrics-topic|region=GB');
    const before = await exposition();
    const count = (text: string, verdict: string) => sample(text, 'surgewatch_alert_feedback_total', { topic: 'metrics-topic', verdict }) ?? 0;
    await post(`/${alert.id}/ack`, {});
    clock.advance(20 * MIN);
    await post(`/${alert.id}/feedback`, { verdict: 'false_alarm' });
    await post(`/${alert.id}/feedback`, { verdict: 'false_alarm', note: 'still a meme' });
    await post(`/${alert.id}/resolve`, {});
    const text = await exposition();
    expect(count(text, 'false_alarm') - count(before, 'false_alarm')).toBe(2);
    expect(count(text, 'true_trend')).toBe(count(before, 'true_trend'));
    const labels = { pipeline: 'high-harm', topic: 'metrics-topic', severity: 'critical' };
    expect(sample(text, 'surgewatch_alert_time_to_acknowledge_seconds_count', labels)).toBe(1);
    expect(sample(text, 'surgewatch_alert_time_to_acknowledge_seconds_sum', labels)).toBe(600);
    // Each version is at least a millisecond after the previous one.
    expect(sample(text, 'surgewatch_alert_time_to_resolve_seconds_sum', { ...labels, resolved_by: 'person' })).toBeCloseTo(1800, 1);
  });

  it('serves escalations, false-alarm share and recent medians as gauges read from the store', async () => {
    const clock = new ManualClock(T0 + 60 * MIN);
    const alerts = new MemoryAlertStore();
    const registry = createMetricsRegistry();
    registerOperationsMetrics(registry, { alerts, clock, logger: pino({ level: 'silent' }) });
    const escalated = { ...makeAlert({ series: 'self-harm', severity: 'critical' }), base_severity: 'high' as const };
    await alerts.save(escalated, 'opened', 0);
    await alerts.save(makeAlert({ series: 'self-harm|region=GB', severity: 'critical' }), 'opened', 0);
    const judged = makeAlert({ series: 'self-harm|region=US', severity: 'critical' });
    await alerts.save({ ...judged, feedback: [{ at: iso(T0 + MIN), by: 'ana', verdict: 'false_alarm', note: null }], acknowledged_at: iso(T0 + 2 * MIN) }, 'opened', 0);
    await alerts.save({ ...escalated, id: 'al_feed', series: 'self-harm|surface=live', feedback: [{ at: iso(T0 + MIN), by: 'ana', verdict: 'true_trend', note: null }], acknowledged_at: iso(T0 + 4 * MIN) }, 'opened', 0);
    const text = await registry.metrics();
    const labels = { pipeline: 'high-harm', topic: 'self-harm', severity: 'critical' };
    expect(sample(text, 'surgewatch_alerts_escalated', labels)).toBe(2);
    expect(sample(text, 'surgewatch_alert_false_alarm_share', labels)).toBe(0.5);
    expect(sample(text, 'surgewatch_alert_acknowledge_seconds_recent', { ...labels, quantile: '0.5' })).toBe(120);
    expect(sample(text, 'surgewatch_alert_acknowledge_seconds_recent', { ...labels, quantile: '0.9' })).toBe(240);
  });
});

describe('operations report', () => {
  it('gives per topic and severity the median and p90 times, escalations and the false-alarm share for the alerts opened in the range', async () => {
    const { alerts, get } = build();
    // Five self-harm alerts acknowledged after 1..5 minutes; two resolved, one by detection.
    for (let i = 1; i <= 5; i++) {
      const a = makeAlert({ series: `self-harm|region=R${i}`, openedMs: T0 + i * 1000 });
      const opened = Date.parse(a.opened_at);
      await alerts.save({ ...a, acknowledged_at: iso(opened + i * MIN), acknowledged_by: 'ana' }, 'opened', 0);
    }
    const resolved = makeAlert({ series: 'self-harm|region=R9', openedMs: T0 });
    await alerts.save({ ...resolved, status: 'resolved', resolved_at: iso(T0 + 30 * MIN), resolved_by: 'bo', feedback: [{ at: iso(T0 + 31 * MIN), by: 'bo', verdict: 'true_trend', note: null }] }, 'opened', 0);
    const byDetection = makeAlert({ series: 'self-harm|region=R8', openedMs: T0 });
    await alerts.save({ ...byDetection, status: 'resolved', resolved_at: iso(T0 + 90 * MIN), feedback: [{ at: iso(T0 + 91 * MIN), by: 'bo', verdict: 'false_alarm', note: null }] }, 'opened', 0);
    await alerts.save({ ...makeAlert({ series: 'extremism', openedMs: T0, severity: 'critical' }), base_severity: 'medium' }, 'opened', 0);
    // Opened before the range: not counted.
    await alerts.save(makeAlert({ series: 'self-harm|region=OLD', openedMs: T0 - 60 * MIN }), 'opened', 0);

    const res = await get(`/v1/reports/operations?since=${T0}&until=${T0 + 120 * MIN}`);
    expect(res.statusCode).toBe(200);
    const body = res.json() as { alerts: number; groups: Record<string, unknown>[] };
    expect(body.alerts).toBe(8);
    expect(body.groups).toEqual([
      expect.objectContaining({ topic: 'extremism', severity: 'critical', alerts: 1, escalated: 1, false_alarm_share: null }),
      expect.objectContaining({
        topic: 'self-harm',
        severity: 'critical',
        alerts: 7,
        acknowledged: 5,
        resolved: 2,
        resolved_by_person: 1,
        time_to_acknowledge_sec: { count: 5, median: 180, p90: 300 },
        time_to_resolve_sec: { count: 2, median: 1800, p90: 5400 },
        escalated: 0,
        feedback: { true_trend: 1, false_alarm: 1 },
        false_alarm_share: 0.5,
      }),
    ]);
  });

  it('answers a range that ends before it starts with 400 VALIDATION, and is open to viewers', async () => {
    const { get } = build();
    const res = await get(`/v1/reports/operations?since=${T0}&until=${T0 - 1}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'VALIDATION', message: expect.stringMatching(/since/) } });
    expect((await get('/v1/reports/operations')).statusCode).toBe(200);
  });
});

describe('feedback export', () => {
  it('writes one labelled line per sample signal of each judged alert, in the layout calibrate and train read (once text is joined)', async () => {
    const { alert, post, get, app, alerts } = await seeded();
    const other = makeAlert({ series: 'extremism', openedMs: T0 + MIN });
    await alerts.save({ ...other, sample_signal_ids: ['s9'] }, 'opened', 0);
    await alerts.save(makeAlert({ series: 'self-harm|region=GB' }), 'opened', 0); // never judged
    await post(`/${alert.id}/feedback`, { verdict: 'true_trend' });
    await post(`/${other.id}/feedback`, { verdict: 'false_alarm', note: 'news coverage' });

    expect((await get('/v1/feedback/export', 'viewer')).statusCode).toBe(403);
    const res = await get(`/v1/feedback/export?since=${T0}`, 'analyst');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = res.body.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.id, l.topic, l.label_raw, l.source])).toEqual([
      ['s1', 'self-harm', 'true_trend', `alert:${alert.id}`],
      ['s2', 'self-harm', 'true_trend', `alert:${alert.id}`],
      ['s9', 'benign', 'false_alarm', `alert:${other.id}`],
    ]);
    // No content leaves: with the text joined from the signal archive, each line is a labelled row.
    expect(lines.every((l) => !('text' in l))).toBe(true);
    for (const l of lines) expect(labelledRowSchema.safeParse({ ...l, text: 'joined text' }).success).toBe(true);
    // The range is on the judgement's time (given at T0 + 10 min; until is exclusive).
    const before = await app.inject({ url: `/v1/feedback/export?since=${T0}&until=${T0 + 10 * MIN}`, headers: auth('analyst') });
    expect(before.statusCode).toBe(200);
    expect(before.body).toBe('');
  });
});

describe('incident record', () => {
  async function worked() {
    const built = await seeded();
    const { alert, post, clock, alerts } = built;
    // Detection escalated it meanwhile.
    await alerts.save({ ...alert, severity: 'critical', base_severity: 'high', escalations: [{ at: iso(T0 + 5 * MIN), from: 'high', to: 'critical' }], updated_at: iso(T0 + 5 * MIN) }, 'updated', 0);
    await post(`/${alert.id}/ack`, {});
    clock.advance(MIN);
    await post(`/${alert.id}/assign`, { assignee: 'escalations-lead' }, 'editor');
    clock.advance(MIN);
    await post(`/${alert.id}/notes`, { text: 'Same wording as the | table *breaker*\n# heading' });
    clock.advance(MIN);
    await post(`/${alert.id}/feedback`, { verdict: 'true_trend', note: 'confirmed by policy' });
    clock.advance(MIN);
    await post(`/${alert.id}/resolve`, {});
    return built;
  }

  it('gives the timeline with who did what, the figures, list version and top terms as JSON', async () => {
    const { alert, get } = await worked();
    const res = await get(`/v1/alerts/${alert.id}/report`);
    expect(res.statusCode).toBe(200);
    const r = res.json() as { timeline: { event: string; by: string; at: string }[]; [k: string]: unknown };
    expect(r.timeline.map((e) => [e.event, e.by])).toEqual([
      ['opened', 'detection'],
      ['peak', 'detection'],
      ['escalated', 'detection'],
      ['acknowledged', 'analyst-key'],
      ['assigned', 'editor-key'],
      ['note', 'analyst-key'],
      ['feedback', 'analyst-key'],
      ['resolved', 'analyst-key'],
    ]);
    expect(r).toMatchObject({
      alert_id: alert.id,
      list_version: 'v1',
      top_terms: [{ term: 'kys', count: 20 }],
      verdict: 'true_trend',
      resolved_by: 'analyst-key',
      sample_signal_ids: ['s1', 's2'],
      figures: { time_to_acknowledge_sec: 600, time_to_resolve_sec: 840, peak: { observed: 50 } },
    });
  });

  it('renders Markdown for an incident document, with ids for samples and no way for a note to break the layout', async () => {
    const { alert, get } = await worked();
    const res = await get(`/v1/alerts/${alert.id}/report?format=markdown`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/markdown/);
    const md = res.body;
    expect(md).toMatch(/^# Incident record: self-harm \(region=US-TX\)/);
    expect(md).toContain('| Severity | critical (escalated from high) |');
    expect(md).toContain('| Status | resolved (resolved by analyst-key) |');
    expect(md).toContain('| Time to acknowledge | 10 min |');
    expect(md).toContain('| List version | v1 |');
    expect(md).toMatch(/\*\*assigned\*\* by editor-key: to escalations-lead/);
    expect(md).toMatch(/\*\*feedback\*\* by analyst-key: true\\_trend: confirmed by policy/);
    expect(md).toContain('Same wording as the \\| table \\*breaker\\* \\# heading');
    expect(md).not.toMatch(/^# heading/m);
    expect(md).toContain('- kys: 20');
    expect(md).toContain('- `s1`');
    expect(md).toContain('their text is not part of this record');
  });

  it('answers an unknown format with 400 VALIDATION', async () => {
    const { alert, get } = await seeded();
    expect((await get(`/v1/alerts/${alert.id}/report?format=pdf`)).json()).toMatchObject({ error: { code: 'VALIDATION' } });
  });
});
