/**
 * The replay stream built from real labelled posts (`surgewatch synth`): surges counted against
 * the same stream without them, regional scope, ramps, accounts, splits, decoys and the truth.
 * Reads ../shared/data/text/labelled-dev.jsonl.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { validateSignal } from '../../../src/ingest/signal.js';
import {
  corpusSignals,
  expectedBase,
  planCorpusStream,
  type CorpusStreamPlan,
  type CorpusStreamSpec,
  type CorpusStreamStats,
  type SynthEvent,
} from '../../../src/synthetic/corpus-stream.js';
import { BENIGN, OFFENSIVE, splitOf } from '../../../src/training/labelled.js';
import { readLabelledDev } from '../../_util/shared-data.js';

const config = loadConfig({ env: {} });
/** The shipped topics without misinformation and spam, whose rows must then be left out. */
const fewerTopics = config.topics.filter((t) => t.id !== 'misinformation' && t.id !== 'spam');
const { rows } = readLabelledDev();
const START = Date.UTC(2026, 10, 2, 0, 0, 0);
const iso = (min: number) => new Date(START + min * 60_000).toISOString();

/** Eight hours at 10 signals/s with large harm shares, so that every window holds hundreds. */
const spec: CorpusStreamSpec = {
  seed: 11,
  startMs: START,
  days: 8 / 24,
  ratePerSec: 10,
  shares: { 'hate-speech': 0.1, harassment: 0.1, 'self-harm': 0.1, 'scams-fraud': 0.05, 'violent-extremism': 0.05 },
  surges: [
    { topic: 'hate-speech', atMin: 60, minutes: 40, factor: 5, shape: 'sharp' },
    { topic: 'harassment', region: 'IN', atMin: 150, minutes: 40, factor: 3, shape: 'sharp' },
    { topic: 'self-harm', atMin: 240, minutes: 40, factor: 10, shape: 'gradual' },
    { topic: 'scams-fraud', region: 'US-CA', atMin: 330, minutes: 40, factor: 20, shape: 'sharp', coordinatedAccounts: 4 },
    { topic: 'violent-extremism', atMin: 400, minutes: 40, factor: 2, shape: 'sharp' },
  ],
  decoys: [
    { kind: 'repost', near: 'self-harm', atMin: 100, minutes: 30, factor: 10 },
    { kind: 'hard_negative', near: 'misinformation', atMin: 200, minutes: 30, factor: 10 },
    { kind: 'traffic_wave', region: 'GB', atMin: 290, minutes: 30, factor: 2 },
    { kind: 'traffic_wave', atMin: 440, minutes: 30, factor: 2 },
  ],
};

function generate(s: CorpusStreamSpec): { plan: CorpusStreamPlan; events: SynthEvent[]; stats: CorpusStreamStats } {
  const plan = planCorpusStream(rows, fewerTopics, s);
  const it = corpusSignals(plan);
  const events: SynthEvent[] = [];
  for (let r = it.next(); ; r = it.next()) {
    if (r.done) return { plan, events, stats: r.value };
    events.push(r.value);
  }
}

function digest(events: readonly SynthEvent[]): string {
  const h = createHash('sha256');
  for (const e of events) h.update(`${JSON.stringify(e.signal)}\n`);
  return h.digest('hex');
}

/** Signals of a category in [fromMin, toMin) of the stream, in one region or (unset) all. */
function count(events: readonly SynthEvent[], category: string, fromMin: number, toMin: number, region?: string, where: (e: SynthEvent) => boolean = () => true): number {
  const from = iso(fromMin);
  const to = iso(toMin);
  let n = 0;
  for (const e of events) if (e.category === category && e.signal.ts >= from && e.signal.ts < to && (region === undefined || e.signal.region === region) && where(e)) n++;
  return n;
}

describe('a replay stream built from real labelled posts', () => {
  let surged: ReturnType<typeof generate>;
  let quiet: ReturnType<typeof generate>;
  beforeAll(() => {
    surged = generate(spec);
    // The same stream without the surges: background and decoys draw from their own random streams.
    quiet = generate({ ...spec, surges: [] });
  });

  it('is the same stream for the same seed, and another for another seed', () => {
    const day: CorpusStreamSpec = { seed: 3, startMs: START, days: 1, ratePerSec: 1 };
    const a = generate(day);
    expect(a.plan.truth.surges.length).toBeGreaterThan(2);
    const again = generate(day);
    expect(digest(again.events)).toBe(digest(a.events));
    expect(again.plan.truth).toEqual(a.plan.truth);
    const other = generate({ ...day, seed: 4 });
    expect(digest(other.events)).not.toBe(digest(a.events));
    expect(other.plan.truth).not.toEqual(a.plan.truth);
  });

  it('yields valid signals in event-time order, with unique ids', () => {
    const { events } = surged;
    expect(events.length).toBeGreaterThan(250_000);
    for (let i = 1; i < events.length; i++) if (events[i]!.signal.ts < events[i - 1]!.signal.ts) throw new Error(`signal ${i} is earlier than the one before it`);
    expect(new Set(events.map((e) => e.signal.id)).size).toBe(events.length);
    const invalid = events.filter((e) => !validateSignal(e.signal).ok);
    expect(invalid.slice(0, 3)).toEqual([]);
    for (const e of events.slice(0, 1000)) {
      expect(e.signal.text).toBe(e.row.text);
      expect(e.signal.lang).toBe(e.row.lang);
    }
    expect(new Set(events.map((e) => e.signal.region)).size).toBeGreaterThan(10);
    expect(new Set(events.map((e) => e.signal.surface)).size).toBeGreaterThan(2);
  });

  it('keeps each harm topic at its base share, over mostly benign (and some offensive) text', () => {
    const { background } = surged.stats;
    const total = Object.values(background).reduce((a, b) => a + b, 0);
    for (const [topic, share] of Object.entries(spec.shares!)) expect(background[topic]! / total, topic).toBeCloseTo(share, 2);
    expect(background[BENIGN]! / total).toBeCloseTo(0.6 * 0.85, 2);
    expect(background[OFFENSIVE]! / total).toBeCloseTo(0.6 * 0.15, 2);
  });

  it('raises each sharp surge to its factor in its scope, against the same window without surges and against the expected base', () => {
    spec.surges!.forEach((s, i) => {
      if (s.shape !== 'sharp') return;
      const during = count(surged.events, s.topic, s.atMin, s.atMin + s.minutes, s.region);
      const without = count(quiet.events, s.topic, s.atMin, s.atMin + s.minutes, s.region);
      expect(without, `surge ${i}: base`).toBeGreaterThan(80);
      // Against a realised base of ~100 signals the ratio carries its noise (~10%)...
      expect(during / without, `surge ${i}: ${s.topic} x${s.factor}`).toBeGreaterThan(s.factor * 0.75);
      expect(during / without, `surge ${i}: ${s.topic} x${s.factor}`).toBeLessThan(s.factor * 1.25);
      // ...against the expected base, only that of the count during the surge (~2%).
      const expected = expectedBase(surged.plan, s.topic, s.region, s.atMin, s.atMin + s.minutes);
      expect(during / expected, `surge ${i}: against the expected base`).toBeGreaterThan(s.factor * 0.9);
      expect(during / expected, `surge ${i}: against the expected base`).toBeLessThan(s.factor * 1.1);
      // Just before and after, the topic is at its usual level.
      const before = count(surged.events, s.topic, s.atMin - 10, s.atMin, s.region);
      expect(before).toBe(count(quiet.events, s.topic, s.atMin - 10, s.atMin, s.region));
      expect(count(surged.events, s.topic, s.atMin + s.minutes, s.atMin + s.minutes + 10, s.region)).toBe(count(quiet.events, s.topic, s.atMin + s.minutes, s.atMin + s.minutes + 10, s.region));
    });
  });

  it('raises a regional surge in its region only', () => {
    for (const s of spec.surges!.filter((x) => x.region)) {
      const elsewhere = (e: SynthEvent) => e.signal.region !== s.region;
      const outside = count(surged.events, s.topic, s.atMin, s.atMin + s.minutes, undefined, elsewhere);
      expect(outside).toBeGreaterThan(100);
      expect(outside).toBe(count(quiet.events, s.topic, s.atMin, s.atMin + s.minutes, undefined, elsewhere));
      expect(count(surged.events, s.topic, s.atMin, s.atMin + s.minutes, s.region)).toBeGreaterThan(2 * count(quiet.events, s.topic, s.atMin, s.atMin + s.minutes, s.region));
    }
  });

  it('ramps a gradual surge up to its factor over its first 10 minutes, then holds it', () => {
    const s = spec.surges![2]!;
    const ratio = (from: number, to: number) => count(surged.events, s.topic, s.atMin + from, s.atMin + to) / count(quiet.events, s.topic, s.atMin + from, s.atMin + to);
    // Mean factor 1 + 9 x the mean of the ramp over each part: 0.25, 0.75, then 1.
    const first = ratio(0, 5);
    const second = ratio(5, 10);
    const held = ratio(10, s.minutes);
    expect(first).toBeGreaterThan(3.25 * 0.8);
    expect(first).toBeLessThan(3.25 * 1.2);
    expect(second).toBeGreaterThan(7.75 * 0.85);
    expect(second).toBeLessThan(7.75 * 1.15);
    expect(held).toBeGreaterThan(10 * 0.9);
    expect(held).toBeLessThan(10 * 1.1);
  });

  it('posts surges from many accounts, the coordinated one from a handful, and lets some accounts post a lot', () => {
    const authors = (i: number) => new Set(surged.events.filter((e) => e.origin === 'surge' && e.index === i).map((e) => e.signal.author));
    expect(authors(0).size).toBeGreaterThan(1000);
    expect(authors(3).size).toBe(4);
    expect(surged.stats.surges[3]).toBeGreaterThan(500);
    const perAuthor = new Map<string, number>();
    for (const e of surged.events) perAuthor.set(e.signal.author, (perAuthor.get(e.signal.author) ?? 0) + 1);
    const counts = [...perAuthor.values()].sort((a, b) => b - a);
    expect(counts.length).toBeGreaterThan(30_000);
    // The busiest 1% of accounts post a large part of the stream; the median account a few times.
    const top = counts.slice(0, Math.ceil(counts.length / 100)).reduce((a, b) => a + b, 0);
    expect(top / surged.events.length).toBeGreaterThan(0.2);
    expect(counts[Math.floor(counts.length / 2)]).toBeLessThan(5);
  });

  it('draws only test-split rows by default, and rows of every split with split "all"', () => {
    const splits = new Set(surged.events.map((e) => splitOf(e.row.id)));
    expect([...splits]).toEqual(['test']);
    expect(surged.plan.outOfSplit).toBeGreaterThan(40_000);
    const all = generate({ seed: 3, startMs: START, days: 1, ratePerSec: 0.5, split: 'all' });
    expect(new Set(all.events.map((e) => splitOf(e.row.id)))).toEqual(new Set(['train', 'calibration', 'test']));
    expect(all.plan.outOfSplit).toBe(0);
  });

  it('leaves out labels that map to no configured topic, and says how many', () => {
    const unmapped = (label: string) => rows.filter((r) => r.topic === label).length;
    expect(surged.plan.leftOut).toEqual({ misinformation: unmapped('misinformation'), spam: unmapped('spam') });
    expect(surged.events.filter((e) => e.row.topic === 'misinformation' || e.row.topic === 'spam')).toEqual([]);
    expect(Object.keys(surged.plan.shares).sort()).toEqual(['harassment', 'hate-speech', 'scams-fraud', 'self-harm', 'violent-extremism']);
  });

  it('makes decoys of benign rows: one text reposted by many accounts, and hard negatives from the datasets next to a harm', () => {
    const decoy = (i: number) => surged.events.filter((e) => e.origin === 'decoy' && e.index === i);
    const repost = decoy(0);
    expect(repost.length).toBeGreaterThan(500);
    expect(new Set(repost.map((e) => e.signal.text))).toEqual(new Set([surged.plan.repostTexts[0]]));
    expect(new Set(repost.map((e) => e.signal.author)).size).toBeGreaterThan(300);
    expect(new Set(repost.map((e) => e.row.dataset))).toEqual(new Set(['reddit_cssrs']));
    const hard = decoy(1);
    expect(hard.length).toBeGreaterThan(500);
    expect(new Set(hard.map((e) => e.row.dataset))).toEqual(new Set(['constraint_covid_fake']));
    expect(new Set(hard.map((e) => e.signal.text)).size).toBeGreaterThan(200);
    for (const e of [...repost, ...hard]) expect(e.row.topic).toBe(BENIGN);
  });

  it('doubles all traffic in a traffic wave, in its region only, harm at its usual share', () => {
    const [, , regional, global] = spec.decoys!;
    const wave = (i: number) => surged.events.filter((e) => e.origin === 'decoy' && e.index === i);
    const inGb = wave(2);
    expect(new Set(inGb.map((e) => e.signal.region))).toEqual(new Set(['GB']));
    const usualGb = quiet.events.filter((e) => e.origin === 'background' && e.signal.region === 'GB' && e.signal.ts >= iso(regional!.atMin) && e.signal.ts < iso(regional!.atMin + regional!.minutes)).length;
    expect(inGb.length / usualGb).toBeGreaterThan(0.9);
    expect(inGb.length / usualGb).toBeLessThan(1.1);
    const everywhere = wave(3);
    const usual = quiet.events.filter((e) => e.origin === 'background' && e.signal.ts >= iso(global!.atMin) && e.signal.ts < iso(global!.atMin + global!.minutes)).length;
    expect(everywhere.length / usual).toBeGreaterThan(0.95);
    expect(everywhere.length / usual).toBeLessThan(1.05);
    const harm = everywhere.filter((e) => e.category !== BENIGN && e.category !== OFFENSIVE).length;
    expect(harm / everywhere.length).toBeCloseTo(0.4, 1);
  });

  it('has a truth that matches the stream', () => {
    const { plan, events, stats } = surged;
    expect(plan.truth.from).toBe(iso(0));
    expect(plan.truth.to).toBe(iso(8 * 60));
    expect(events[0]!.signal.ts >= plan.truth.from && events.at(-1)!.signal.ts < plan.truth.to).toBe(true);
    expect(plan.truth.surges.map(({ topic, dimension, start, end, factor, shape, coordinated }) => ({ topic, dimension, start, end, factor, shape, coordinated }))).toEqual(
      spec.surges!.map((s) => ({
        topic: s.topic,
        dimension: s.region ? `region=${s.region}` : 'all',
        start: iso(s.atMin),
        end: iso(s.atMin + s.minutes),
        factor: s.factor,
        shape: s.shape,
        coordinated: s.coordinatedAccounts ? true : undefined,
      })),
    );
    expect(plan.truth.decoys.map((d) => [d.kind, d.dimension, d.start, d.end, d.near])).toEqual(
      spec.decoys!.map((d) => [d.kind, d.region ? `region=${d.region}` : 'all', iso(d.atMin), iso(d.atMin + d.minutes), d.near]),
    );
    // Every injected signal lies inside its event, in its scope, of its topic; the counts agree.
    const injected = { surge: plan.truth.surges.map(() => 0), decoy: plan.truth.decoys.map(() => 0) };
    for (const e of events) {
      if (e.origin === 'background') continue;
      const t = e.origin === 'surge' ? plan.truth.surges[e.index]! : plan.truth.decoys[e.index]!;
      injected[e.origin][e.index]!++;
      if (!(e.signal.ts >= t.start && e.signal.ts < t.end) || (t.dimension !== 'all' && t.dimension !== `region=${e.signal.region}`))
        throw new Error(`${e.origin} ${e.index} has a signal outside its window or scope: ${e.signal.ts} ${e.signal.region}`);
      if (e.origin === 'surge') expect(e.category).toBe((t as { topic: string }).topic);
    }
    expect(injected.surge).toEqual(stats.surges);
    expect(injected.decoy).toEqual(stats.decoys);
    expect(stats.signals).toBe(events.length);
    expect(events.length - quiet.events.length).toBe(stats.surges.reduce((a, b) => a + b, 0));
    plan.truth.surges.forEach((s, i) => expect(s.base).toBeCloseTo(expectedBase(plan, s.topic, spec.surges![i]!.region, spec.surges![i]!.atMin, spec.surges![i]!.atMin + spec.surges![i]!.minutes), 0));
  });
});

describe('the default schedule', () => {
  const plan = (ratePerSec: number) => planCorpusStream(rows, config.topics, { seed: 1, startMs: START, days: 3, ratePerSec });

  it('spreads surges over 3 days after a 6-hour warm-up, 2 hours apart: every factor, both shapes, one coordinated, and decoys of each kind', () => {
    const { truth } = plan(2);
    const ms = (s: string) => Date.parse(s);
    const events = [...truth.surges, ...truth.decoys].sort((a, b) => ms(a.start) - ms(b.start));
    expect(truth.surges.length).toBeGreaterThanOrEqual(15);
    expect(ms(events[0]!.start) - START).toBeGreaterThanOrEqual(6 * 3_600_000);
    expect(ms(events.at(-1)!.end)).toBeLessThanOrEqual(ms(truth.to));
    for (let i = 1; i < events.length; i++) expect(ms(events[i]!.start) - ms(events[i - 1]!.end)).toBeGreaterThanOrEqual(120 * 60_000);
    for (const s of truth.surges) {
      expect(config.topics.map((t) => t.id)).toContain(s.topic);
      const minutes = (ms(s.end) - ms(s.start)) / 60_000;
      expect(minutes).toBeGreaterThanOrEqual(30);
      expect(minutes).toBeLessThanOrEqual(45);
      expect(s.base).toBeGreaterThan(0);
    }
    expect(new Set(truth.surges.map((s) => s.factor))).toEqual(new Set([2, 3, 5, 10, 20]));
    expect(new Set(truth.surges.map((s) => s.shape))).toEqual(new Set(['sharp', 'gradual']));
    // Every shipped topic the data has rows for: hate speech, harassment, self-harm, scams, extremism, misinformation, spam.
    expect(new Set(truth.surges.map((s) => s.topic)).size).toBe(7);
    expect(truth.surges.filter((s) => s.coordinated)).toHaveLength(1);
    expect(new Set(truth.decoys.map((d) => d.kind))).toEqual(new Set(['repost', 'hard_negative', 'traffic_wave']));
  });

  it('keeps regional surges where their region has the volume for them (at a higher rate), else makes them global', () => {
    const dense = plan(20).truth.surges;
    const regional = dense.filter((s) => s.dimension.startsWith('region='));
    expect(regional.length).toBeGreaterThanOrEqual(4);
    expect(dense.filter((s) => s.dimension === 'all').length).toBeGreaterThanOrEqual(4);
    for (const s of regional) expect(s.base * (s.factor! - 1)).toBeGreaterThanOrEqual(20);
    for (const s of plan(2).truth.surges.filter((x) => x.dimension !== 'all')) expect(s.base * (s.factor! - 1)).toBeGreaterThanOrEqual(20);
  });
});
