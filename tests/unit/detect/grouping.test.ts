/**
 * One surge, one incident: a surge in one region lifts the topic as a whole, the wider region,
 * its language and its surfaces. A policy lead gets one alert, on the most specific scope, with
 * the others listed as related.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/alerts/alert.js';
import { replayCommand } from '../../../src/cli/commands.js';
import { loadConfig } from '../../../src/config/load.js';
import { groupScopes, openIncidentOf, tailOf, type GroupCandidate, type PastIncident } from '../../../src/detect/grouping.js';
import { generateStream } from '../../../src/synthetic/stream.js';
import { spec, writeJsonl } from '../../_util/synthetic-spec.js';

const scope = (dimension: string, observed: number, expected: number): GroupCandidate => ({
  series: dimension === 'all' ? 'self-harm' : `self-harm|${dimension}`,
  dimension,
  observed,
  expected,
  ratio: observed / expected,
});

describe('grouping the scopes of one surge', () => {
  it('makes the narrowest scope the incident, and the wider scopes it lifts its related ones', () => {
    // 60 extra posts in US-TX: the region, the country, the language and the whole topic all rise by about as much.
    const g = groupScopes([scope('all', 160, 100), scope('region=US', 100, 40), scope('region=US-TX', 70, 10), scope('lang=en', 150, 90)]);
    expect([...g.explainedBy.entries()].sort()).toEqual([
      ['self-harm', 'self-harm|region=US-TX'],
      ['self-harm|lang=en', 'self-harm|region=US-TX'],
      ['self-harm|region=US', 'self-harm|region=US-TX'],
    ]);
    expect(g.related.get('self-harm|region=US-TX')!.map((r) => r.dimension).sort()).toEqual(['all', 'lang=en', 'region=US']);
  });

  it('puts a global surge on the topic as a whole, not on the region whose ratio came out highest by chance', () => {
    // Ten times the usual everywhere: every scope's ratio is about 10.
    const g = groupScopes([scope('all', 300, 30), scope('region=US', 165, 15), scope('region=GB', 95, 10), scope('lang=en', 255, 25)]);
    expect([...g.related.keys()]).toEqual(['self-harm']);
    expect(g.related.get('self-harm')!.map((r) => r.dimension).sort()).toEqual(['lang=en', 'region=GB', 'region=US']);
    expect(g.explainedBy.has('self-harm')).toBe(false);
  });

  it('keeps the incident on the region when the region is most of what its country and the topic see', () => {
    // All US volume is US-TX's: the country's figures are the region's. The topic as a whole is
    // about as concentrated, but outside US-TX it is at its usual level: the surge is US-TX's.
    const g = groupScopes([scope('region=US', 169, 19), scope('region=US-TX', 169, 19), scope('all', 175, 23)]);
    expect([...g.related.keys()]).toEqual(['self-harm|region=US-TX']);
    expect(g.related.get('self-harm|region=US-TX')!.map((r) => r.dimension).sort()).toEqual(['all', 'region=US']);
  });

  it('names a surge by the dimension the pipeline lists first when two dimensions account for it alike', () => {
    // The surge is comments from US-TX, where comments are new: the surface is the most
    // concentrated scope, but it is the same surge as the region's, and regions come first.
    const candidates = [scope('surface=comment', 60, 0.5), scope('region=US-TX', 90, 30), scope('all', 90, 30)];
    const g = groupScopes(candidates, new Set(), 0.5, ['region', 'surface', 'lang']);
    expect([...g.related.keys()]).toEqual(['self-harm|region=US-TX']);
    expect(g.related.get('self-harm|region=US-TX')!.map((r) => r.dimension).sort()).toEqual(['all', 'surface=comment']);
    // Without an order, the most concentrated scope names it.
    expect([...groupScopes(candidates).related.keys()]).toEqual(['self-harm|surface=comment']);
  });

  it('keeps a second surge elsewhere an incident of its own', () => {
    // GB's excess (40) is not the work of US-TX (20 extra): two incidents; the topic as a whole has both.
    const g = groupScopes([scope('region=US-TX', 30, 10), scope('region=GB', 60, 20), scope('all', 160, 100)]);
    expect(g.explainedBy.has('self-harm|region=US-TX')).toBe(false);
    expect(g.explainedBy.has('self-harm|region=GB')).toBe(false);
    expect(g.explainedBy.get('self-harm')).toBe('self-harm|region=GB');
  });

  it('never folds an emerging term into a scope, and keeps an alert already open as the incident', () => {
    const term: GroupCandidate = { series: 'self-harm|term=#sh', dimension: 'term=#sh', observed: 40, expected: 1, ratio: 40 };
    const g = groupScopes([term, scope('region=US-TX', 70, 10), scope('all', 160, 100)], new Set(['self-harm']));
    expect(g.explainedBy.has(term.series)).toBe(false);
    // The topic-wide alert was open first: the region joins its incident rather than opening a second.
    expect(g.explainedBy.get('self-harm|region=US-TX')).toBe('self-harm');
  });
});

describe('the tail of a resolved incident', () => {
  const MIN = 60_000;
  // The topic-wide incident ran from minute 0 to minute 35 and resolved.
  const incident: PastIncident = { series: 'scams-fraud', dimension: 'all', openedMs: 0, resolvedMs: 35 * MIN };

  it('does not alert a region whose 30-minute window six minutes later is mostly that incident', () => {
    expect(tailOf('region=US', 11 * MIN, 41 * MIN, [incident])).toBe(incident);
    // The region's own scope named the incident just as well the other way round.
    expect(tailOf('all', 11 * MIN, 41 * MIN, [{ ...incident, dimension: 'lang=en', series: 'scams-fraud|lang=en' }])).toBeDefined();
    // Nor the incident's own scope.
    expect(tailOf('region=BR', 11 * MIN, 41 * MIN, [{ ...incident, dimension: 'region=BR', series: 'scams-fraud|region=BR' }])).toBeDefined();
  });

  it('alerts a window that is mostly after the incident (a second surge), an open incident (grouped as usual), a term, and a disjoint region', () => {
    expect(tailOf('region=US', 30 * MIN, 60 * MIN, [incident])).toBeUndefined();
    expect(tailOf('region=US', 11 * MIN, 41 * MIN, [{ ...incident, resolvedMs: undefined }])).toBeUndefined();
    expect(tailOf('term=#scam', 11 * MIN, 41 * MIN, [incident])).toBeUndefined();
    expect(tailOf('region=GB', 11 * MIN, 41 * MIN, [{ ...incident, dimension: 'region=US-TX', series: 'scams-fraud|region=US-TX' }])).toBeUndefined();
  });
});

describe('a scope of an incident still open', () => {
  // The topic-wide alert is open; its 1-minute window is back to normal, its 30-minute one is not.
  const incident = { dimension: 'all', windows: [{ buckets: 6, observed: 7, expected: 10.7 }, { buckets: 180, observed: 284, expected: 154.6 }] };

  it('joins it when the incident accounts for its excess over a window of the same length', () => {
    expect(openIncidentOf('surface=comment', { buckets: 180, observed: 110, expected: 52.2 }, [incident], 0.5)).toBe(incident);
  });

  it('opens its own alert when the incident has no such excess over its window, or for a term', () => {
    expect(openIncidentOf('surface=comment', { buckets: 6, observed: 30, expected: 4 }, [incident], 0.5)).toBeUndefined();
    expect(openIncidentOf('surface=comment', { buckets: 90, observed: 60, expected: 20 }, [incident], 0.5)).toBeUndefined();
    expect(openIncidentOf('term=#x', { buckets: 180, observed: 110, expected: 52.2 }, [incident], 0.5)).toBeUndefined();
  });
});

describe('a regional surge replayed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-grouping-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('opens one alert, on the region, listing the country, the language, the surfaces and the whole topic as related', async () => {
    // The shared stream's first hour: a 20x self-harm surge in US-TX at minute 45, on every surface.
    const { signals } = generateStream({ ...spec, minutes: 60, surges: [spec.surges![0]!] });
    const file = join(dir, 'signals.jsonl');
    await writeJsonl(file, signals);
    const config = loadConfig({ cwd: resolve('.'), env: {} });
    const io = { stdout: new PassThrough().resume(), stderr: new PassThrough().resume() };
    await replayCommand(config, file, { semantic: 'off', out: join(dir, 'alerts.jsonl') }, io);
    const events = readFileSync(join(dir, 'alerts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Alert & { event: string });

    const opened = events.filter((e) => e.event === 'opened' && e.topic === 'self-harm');
    expect(opened.map((a) => a.dimension)).toEqual(['region=US-TX']);
    const last = events.filter((e) => e.id === opened[0]!.id).at(-1)!;
    const related = last.related!.map((r) => r.dimension);
    expect(related).toEqual(expect.arrayContaining(['all', 'region=US', 'lang=en', 'surface=post']));
    expect(related).not.toContain('region=US-TX');
    expect(last.summary).toContain('It also lifts');
  });
});
