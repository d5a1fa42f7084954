/**
 * Realistic synthetic signal streams with known truth, for testing and tuning detection:
 * a diurnal baseline with Poisson noise over several topics, regions and surfaces, injected
 * surges (sharp or gradual), benign viral decoys, and coordinated bursts from a few accounts.
 * Deterministic for a seed.
 */
import { createRng } from '../worker/sample-stream.js';

/** A surge the detector should find: a topic in one dimension value, from start to end. */
export interface TruthSurge {
  topic: string;
  /** e.g. "region=US-TX". */
  dimension: string;
  start: string;
  end: string;
  factor: number;
  shape: 'sharp' | 'gradual';
  /** Posted by a handful of accounts. */
  coordinated?: boolean;
}

export interface Truth {
  /** Event-time span of the stream, for false alerts per day. */
  from: string;
  to: string;
  surges: TruthSurge[];
}

export interface SyntheticSignal {
  id: string;
  ts: string;
  text: string;
  surface: string;
  region: string;
  lang: string;
  author: string;
}

export interface SurgeSpec {
  topic: string;
  region: string;
  /** Minutes after the stream's start. */
  atMin: number;
  minutes: number;
  factor: number;
  shape?: 'sharp' | 'gradual';
  /** Posted by this many accounts only. */
  authors?: number;
}

export interface DecoySpec {
  region: string;
  atMin: number;
  minutes: number;
  /** Signals per second of the decoy. */
  perSec: number;
  text: string;
}

export interface StreamSpec {
  seed: number;
  startMs: number;
  minutes: number;
  /** All signals per second at the daily mean. */
  perSec: number;
  /** Daily swing of the rate: 0.5 means +-50% over 24 h. */
  diurnal?: number;
  regions: readonly string[];
  /** Harmful texts per topic, and each topic's share of all signals. */
  topics: readonly { id: string; texts: readonly string[]; share: number }[];
  benign: readonly string[];
  surges?: readonly SurgeSpec[];
  decoys?: readonly DecoySpec[];
  accounts?: number;
}

const SURFACES = ['post', 'comment', 'caption', 'search'] as const;
const GRADUAL_RAMP_MIN = 10;

/** Poisson draw (inversion; fine for the small per-second means used here). */
export function poisson(rng: () => number, mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian(rng)));
  const l = Math.exp(-mean);
  let k = 0;
  let p = rng();
  while (p > l) {
    k++;
    p *= rng();
  }
  return k;
}

function gaussian(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(rng() || 1e-12)) * Math.cos(2 * Math.PI * rng());
}

/** The stream, in event-time order, and the truth of its injected surges. */
export function generateStream(spec: StreamSpec): { signals: SyntheticSignal[]; truth: Truth } {
  const rng = createRng(spec.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  const accounts = spec.accounts ?? 20_000;
  // Activity is skewed: a few accounts post a lot (Zipf-like through a squared uniform).
  const author = () => `acct-${Math.floor(rng() ** 2 * accounts)}`;
  const signals: SyntheticSignal[] = [];
  let n = 0;
  const push = (tsMs: number, text: string, region: string, who: string) =>
    signals.push({ id: `syn-${spec.seed}-${n++}`, ts: new Date(tsMs).toISOString(), text, surface: pick(SURFACES), region, lang: 'en', author: who });

  const harmShare = spec.topics.reduce((s, t) => s + t.share, 0);
  for (let sec = 0; sec < spec.minutes * 60; sec++) {
    const t0 = spec.startMs + sec * 1000;
    const hourOfDay = ((t0 / 3_600_000) % 24) / 24;
    const rate = spec.perSec * (1 + (spec.diurnal ?? 0.4) * Math.sin(2 * Math.PI * hourOfDay));
    const at = () => t0 + Math.floor(rng() * 1000);

    for (let i = poisson(rng, rate * (1 - harmShare)); i > 0; i--) push(at(), pick(spec.benign), pick(spec.regions), author());
    for (const topic of spec.topics) {
      for (const region of spec.regions) {
        const base = (rate * topic.share) / spec.regions.length;
        let extra = 0;
        let coordinated: SurgeSpec | undefined;
        for (const s of spec.surges ?? []) {
          if (s.topic !== topic.id || s.region !== region) continue;
          const into = sec / 60 - s.atMin;
          if (into < 0 || into >= s.minutes) continue;
          const ramp = s.shape === 'gradual' ? Math.min(1, into / GRADUAL_RAMP_MIN) : 1;
          extra += base * (s.factor - 1) * ramp;
          if (s.authors) coordinated = s;
        }
        for (let i = poisson(rng, base); i > 0; i--) push(at(), pick(topic.texts), region, author());
        for (let i = poisson(rng, extra); i > 0; i--) push(at(), pick(topic.texts), region, coordinated ? `coord-${Math.floor(rng() * coordinated.authors!)}` : author());
      }
    }
    for (const d of spec.decoys ?? []) {
      const into = sec / 60 - d.atMin;
      if (into >= 0 && into < d.minutes) for (let i = poisson(rng, d.perSec); i > 0; i--) push(at(), d.text, d.region, author());
    }
  }
  signals.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  const iso = (min: number) => new Date(spec.startMs + min * 60_000).toISOString();
  return {
    signals,
    truth: {
      from: iso(0),
      to: iso(spec.minutes),
      surges: (spec.surges ?? []).map((s) => ({
        topic: s.topic,
        dimension: `region=${s.region}`,
        start: iso(s.atMin),
        end: iso(s.atMin + s.minutes),
        factor: s.factor,
        shape: s.shape ?? 'sharp',
        ...(s.authors && { coordinated: true }),
      })),
    },
  };
}
