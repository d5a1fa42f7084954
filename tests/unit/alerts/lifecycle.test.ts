import { describe, it, expect } from 'vitest';
import type { Alert } from '../../../src/alerts/alert.js';
import { stepAlert, type LifecycleStep, type TickContext } from '../../../src/alerts/lifecycle.js';
import type { Decision } from '../../../src/detect/detector.js';
import type { WindowDetails } from '../../../src/windows/window-store.js';

const T0 = Date.UTC(2026, 4, 1, 12, 0, 0);
const TICK_MS = 5_000;
const RESOLVE_AFTER = 3;

const surge = (observed = 120, expected = 24): Decision => ({
  significant: true,
  reason: 'significant',
  observed,
  expected,
  ratio: Math.round((observed / expected) * 1000) / 1000,
  z: Math.round(((observed - expected) / Math.sqrt(expected)) * 1000) / 1000,
  coverage: 1,
  seasonal: 1,
  p: 1e-20,
  q: 1e-18,
  strong: true,
});
const quiet: Decision = { significant: false, reason: 'below_min_ratio', observed: 30, expected: 24, ratio: 1.25, z: 1.225, coverage: 1, seasonal: 1, p: 0.1, q: 0.5, strong: false };

const details: WindowDetails = {
  distinctAuthors: 37,
  topTerms: [
    { term: 'kill myself', count: 80 },
    { term: '#wanttodie', count: 31 },
    { term: 'want to die', count: 12 },
    { term: 'goodbye forever', count: 3 },
  ],
  sampleIds: ['s-1', 's-2', 's-3'],
};

function ctx(tick: number, overrides: Partial<TickContext> = {}): TickContext {
  const nowMs = T0 + tick * TICK_MS;
  return {
    pipeline: 'high-harm',
    series: 'self-harm|region=US-TX',
    topic: { id: 'self-harm', name: 'Self-harm and suicide', severity: 'critical' },
    listVersion: 'abc123def456',
    nowMs,
    windowStartMs: nowMs - 60_000,
    windowEndMs: nowMs,
    currentSec: 60,
    baselineSec: 1800,
    bucketSec: 10,
    cfg: { resolveAfterTicks: RESOLVE_AFTER, coordinatedShare: 0.2 },
    ...overrides,
  };
}

/** Runs one tick; significant ticks come with window details, as the detection tick provides them. */
function step(open: Alert | undefined, decision: Decision, tick: number, inCooldown = false): LifecycleStep | undefined {
  return stepAlert({ open, inCooldown, decision, details: decision.significant ? details : undefined, ctx: ctx(tick) });
}

function opened(tick = 0, decision = surge()): Alert {
  const s = step(undefined, decision, tick);
  expect(s?.event).toBe('opened');
  return s!.alert;
}

describe('stepAlert: opening', () => {
  it('opens an alert with everything a policy lead needs on a significant tick', () => {
    const s = step(undefined, surge(120, 24), 0);
    expect(s?.event).toBe('opened');
    const a = s!.alert;
    expect(a.id).toMatch(/^al_[0-9a-f]{20}$/);
    expect(a).toMatchObject({
      kind: 'spike',
      pipeline: 'high-harm',
      topic: 'self-harm',
      topic_name: 'Self-harm and suicide',
      dimension: 'region=US-TX',
      series: 'self-harm|region=US-TX',
      status: 'open',
      severity: 'critical',
      opened_at: new Date(T0).toISOString(),
      updated_at: new Date(T0).toISOString(),
      resolved_at: null,
      window: {
        observed: 120,
        expected: 24,
        ratio: 5,
        z: 19.596,
        start: new Date(T0 - 60_000).toISOString(),
        end: new Date(T0).toISOString(),
        seconds: 60,
      },
      peak: { observed: 120, expected: 24, ratio: 5, at: new Date(T0).toISOString() },
      baseline: { seconds: 1800, mean_per_bucket: 4, bucket_seconds: 10 },
      distinct_authors: 37,
      top_terms: details.topTerms,
      sample_signal_ids: ['s-1', 's-2', 's-3'],
      list_version: 'abc123def456',
      significant_ticks: 1,
      quiet_ticks: 0,
    });
  });

  it('writes a summary naming the topic, the dimension, the ratio and the top terms', () => {
    const { summary } = opened();
    expect(summary).toContain('Self-harm and suicide');
    expect(summary).toContain('US-TX');
    expect(summary).toContain('5.0x');
    expect(summary).toContain('120');
    expect(summary).toContain('37 distinct accounts');
    expect(summary).toContain('kill myself, #wanttodie, want to die');
    expect(summary).not.toContain('goodbye forever');
  });

  it('says "across the platform" for the topic as a whole', () => {
    const s = stepAlert({ open: undefined, inCooldown: false, decision: surge(), details, ctx: ctx(0, { series: 'self-harm' }) });
    expect(s?.alert.dimension).toBe('all');
    expect(s?.alert.summary).toContain('across the platform');
  });

  it('takes severity from the topic tier', () => {
    const s = stepAlert({
      open: undefined,
      inCooldown: false,
      decision: surge(),
      details,
      ctx: ctx(0, { series: 'scams|surface=post', topic: { id: 'scams', name: 'Scams', severity: 'medium' } }),
    });
    expect(s?.alert).toMatchObject({ topic: 'scams', severity: 'medium', dimension: 'surface=post' });
  });

  it('gives alerts of different series or opening buckets different ids', () => {
    const a = opened(0);
    const b = opened(2); // 10 s later: the next 10 s bucket
    const c = stepAlert({ open: undefined, inCooldown: false, decision: surge(), details, ctx: ctx(0, { series: 'self-harm' }) })!.alert;
    expect(new Set([a.id, b.id, c.id]).size).toBe(3);
  });

  it('gives the same id to openings of one series in one bucket (a retried tick, a second ticker)', () => {
    const a = opened(0);
    const b = opened(1); // 5 s later, in the same 10 s bucket
    expect(b.opened_at).not.toBe(a.opened_at);
    expect(b.id).toBe(a.id);
  });

  it('does not open on a quiet tick', () => {
    expect(step(undefined, quiet, 0)).toBeUndefined();
  });

  it('does not open during cooldown', () => {
    expect(step(undefined, surge(), 0, true)).toBeUndefined();
  });
});

describe('stepAlert: a sustained spike', () => {
  it('is one alert, updated on every significant tick, keeping the peak', () => {
    const first = opened(0, surge(120, 24));
    const observedByTick = [150, 300, 200, 180];
    let alert = first;
    const events: (string | undefined)[] = [];
    observedByTick.forEach((observed, i) => {
      const s = step(alert, surge(observed, 24), i + 1)!;
      events.push(s.event);
      alert = s.alert;
    });

    expect(events).toEqual(['updated', 'updated', 'updated', 'updated']);
    expect(alert.id).toBe(first.id);
    expect(alert.opened_at).toBe(first.opened_at);
    expect(alert.updated_at).toBe(new Date(T0 + 4 * TICK_MS).toISOString());
    expect(alert.significant_ticks).toBe(5);
    expect(alert.status).toBe('open');
    // The current window shows the latest tick, the peak the highest.
    expect(alert.window.observed).toBe(180);
    expect(alert.peak).toMatchObject({ observed: 300, ratio: 12.5, at: new Date(T0 + 2 * TICK_MS).toISOString() });
    expect(alert.summary).toContain('180 matching signals');
  });

  it('stays acknowledged when a spike goes on after someone acknowledged it', () => {
    const acked: Alert = { ...opened(0), status: 'acknowledged' };
    const s = step(acked, surge(200, 24), 1);
    expect(s?.event).toBe('updated');
    expect(s?.alert.status).toBe('acknowledged');
  });
});

describe('stepAlert: resolution', () => {
  it(`resolves only after ${RESOLVE_AFTER} consecutive quiet ticks, with no event before`, () => {
    let alert = opened(0);
    for (let t = 1; t < RESOLVE_AFTER; t++) {
      const s = step(alert, quiet, t)!;
      expect(s.event).toBeUndefined();
      expect(s.alert.status).toBe('open');
      expect(s.alert.resolved_at).toBeNull();
      expect(s.alert.quiet_ticks).toBe(t);
      alert = s.alert;
    }
    const s = step(alert, quiet, RESOLVE_AFTER)!;
    expect(s.event).toBe('resolved');
    expect(s.alert).toMatchObject({
      id: alert.id,
      status: 'resolved',
      resolved_at: new Date(T0 + RESOLVE_AFTER * TICK_MS).toISOString(),
      updated_at: new Date(T0 + RESOLVE_AFTER * TICK_MS).toISOString(),
      window: { observed: quiet.observed, ratio: quiet.ratio },
    });
    expect(s.alert.peak.observed).toBe(120);
    expect(s.alert.summary).toContain('back near its baseline');
  });

  it('restarts the quiet count when a significant tick comes in between (hysteresis)', () => {
    // quiet, quiet, SIGNIFICANT, then RESOLVE_AFTER quiet ticks are needed again.
    const decisions = [...Array<Decision>(RESOLVE_AFTER - 1).fill(quiet), surge(130), ...Array<Decision>(RESOLVE_AFTER).fill(quiet)];
    let alert = opened(0);
    const events: (string | undefined)[] = [];
    decisions.forEach((d, i) => {
      const s = step(alert, d, i + 1)!;
      events.push(s.event);
      alert = s.alert;
    });
    expect(events).toEqual([
      ...Array(RESOLVE_AFTER - 1).fill(undefined),
      'updated',
      ...Array(RESOLVE_AFTER - 1).fill(undefined),
      'resolved',
    ]);
    expect(alert.status).toBe('resolved');
    expect(alert.resolved_at).toBe(new Date(T0 + decisions.length * TICK_MS).toISOString());
  });

  it('resolves an acknowledged alert too', () => {
    let alert: Alert = { ...opened(0), status: 'acknowledged' };
    let last: LifecycleStep | undefined;
    for (let t = 1; t <= RESOLVE_AFTER; t++) {
      last = step(alert, quiet, t);
      alert = last!.alert;
    }
    expect(last?.event).toBe('resolved');
    expect(alert.status).toBe('resolved');
  });
});

describe('stepAlert: escalation and coordination', () => {
  const medium = (decision: Decision, tick: number, open?: Alert, d: WindowDetails = details) =>
    stepAlert({ open, inCooldown: false, decision, details: d, ctx: ctx(tick, { series: 'scams', topic: { id: 'scams', name: 'Scams', severity: 'medium' } }) })!;

  it('raises severity one tier each time the volume doubles over the opening window, up to critical', () => {
    const a0 = medium(surge(100, 20), 0).alert;
    expect(a0).toMatchObject({ severity: 'medium', base_severity: 'medium', opened_observed: 100 });
    const a1 = medium(surge(190, 20), 1, a0).alert;
    expect(a1.severity).toBe('medium');
    const a2 = medium(surge(210, 20), 2, a1).alert;
    expect(a2.severity).toBe('high');
    expect(a2.summary).toContain('Escalated from medium to high');
    const a3 = medium(surge(900, 20), 3, a2).alert;
    expect(a3.severity).toBe('critical');
    // Volume falling back does not lower it: the peak decides.
    const a4 = medium(surge(120, 20), 4, a3).alert;
    expect(a4.severity).toBe('critical');
    // Each rise is kept, with its time, for the incident record.
    expect(a4.escalations).toEqual([
      { at: new Date(T0 + 2 * TICK_MS).toISOString(), from: 'medium', to: 'high' },
      { at: new Date(T0 + 3 * TICK_MS).toISOString(), from: 'high', to: 'critical' },
    ]);
  });

  it('flags volume from few accounts as coordinated, and says so', () => {
    const few: WindowDetails = { ...details, distinctAuthors: 4 };
    const a = medium(surge(100, 20), 0, undefined, few).alert;
    expect(a.coordinated).toBe(true);
    expect(a.summary).toContain('Likely coordinated');
    expect(medium(surge(100, 20), 0).alert.coordinated).toBe(false); // 37 accounts for 100 signals
  });

  it('carries the p-value and its adjustment for the tick', () => {
    expect(opened().window).toMatchObject({ p: 1e-20, q: 1e-18 });
  });
});
