import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import { closeOnce, sleep } from '../shared/once.js';
import type { SignalSource, SourceBatch } from './source.js';
import { createRng } from '../shared/random.js';

/**
 * The embedded mode's bundled stream: a steady mix of benign and harmful signals over several
 * regions, with a backfilled baseline, and a self-harm surge in one region shortly after start
 * (repeating), so that a new user sees an alert within a minute.
 */

const BENIGN = [
  'best pizza in town, no contest',
  'who else is watching the game tonight?',
  'my cat knocked over the plant again',
  'new recipe: lemon garlic pasta, so good',
  'traffic on the bridge is terrible this morning',
  'just finished a 10k run, feeling great',
  'this song has been stuck in my head all week',
  'anyone have tips for learning guitar?',
  'the sunset at the beach was unreal',
  'finally got tickets for the concert',
  'coffee first, then emails',
  'that movie ending though',
];

const HARMFUL: Record<string, string[]> = {
  'self-harm': ['i just want to die honestly', 'thinking about how to kill myself', 'no reason to live anymore', 'i keep cutting myself and nobody knows'],
  harassment: ['kys nobody likes you', 'everyone hates you, just leave', 'i know where you live btw'],
  'scams-fraud': ['guaranteed returns, dm me to invest', 'double your bitcoin today only', 'crypto giveaway, verify your account here'],
  'dangerous-challenges': ['who is doing the blackout challenge tonight', 'tried the benadryl challenge lol'],
  'hate-speech': ['go back to your country', 'the great replacement is real'],
  'violent-extremism': ['race war now', 'read the manifesto and join the jihad'],
  'coordinated-inauthentic': ['copy and paste this before they delete it', 'share before they delete this'],
};

const REGIONS = ['US-TX', 'US-CA', 'US-NY', 'GB', 'DE', 'BR', 'IN'];
const SURFACES = ['post', 'comment', 'caption', 'search'] as const;
const SURGE_TOPIC = 'self-harm';
const SURGE_REGION = 'US-TX';

export interface SampleStreamOptions {
  clock: Clock;
  logger: Logger;
  /** Signals per second in the steady stream. */
  ratePerSec?: number;
  /** Share of steady signals that are harmful (spread over topics). */
  harmfulShare?: number;
  /** Event-time history generated at start, so a baseline exists at once. */
  backfillMs?: number;
  surgeAfterMs?: number;
  surgeDurationMs?: number;
  surgeEveryMs?: number;
  /** Extra surge signals per second. */
  surgeRatePerSec?: number;
  seed?: number;
  emitEveryMs?: number;
}

export { createRng };

const pick = <T>(rng: () => number, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;

export class SampleStreamSource implements SignalSource {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private offset = 0;
  private seq = 0;
  private readonly rng: () => number;
  private readonly o: Required<Omit<SampleStreamOptions, 'clock' | 'logger'>>;
  private startedAtMs = 0;

  constructor(private readonly opts: SampleStreamOptions) {
    this.o = {
      ratePerSec: opts.ratePerSec ?? 20,
      harmfulShare: opts.harmfulShare ?? 0.1,
      backfillMs: opts.backfillMs ?? 35 * 60_000,
      surgeAfterMs: opts.surgeAfterMs ?? 20_000,
      surgeDurationMs: opts.surgeDurationMs ?? 3 * 60_000,
      surgeEveryMs: opts.surgeEveryMs ?? 20 * 60_000,
      surgeRatePerSec: opts.surgeRatePerSec ?? 3,
      seed: opts.seed ?? 7,
      emitEveryMs: opts.emitEveryMs ?? 500,
    };
    this.rng = createRng(this.o.seed);
  }

  /** Wire-format signals with event times in [fromMs, toMs). */
  generate(fromMs: number, toMs: number): object[] {
    const out: object[] = [];
    const span = toMs - fromMs;
    const steady = this.poisson((this.o.ratePerSec * span) / 1000);
    for (let i = 0; i < steady; i++) out.push(this.steadySignal(fromMs + this.rng() * span));
    const sinceStart = fromMs - this.startedAtMs;
    const phase = ((sinceStart % this.o.surgeEveryMs) + this.o.surgeEveryMs) % this.o.surgeEveryMs;
    if (sinceStart >= 0 && phase >= this.o.surgeAfterMs && phase < this.o.surgeAfterMs + this.o.surgeDurationMs) {
      const surge = this.poisson((this.o.surgeRatePerSec * span) / 1000);
      for (let i = 0; i < surge; i++) out.push(this.surgeSignal(fromMs + this.rng() * span));
    }
    return out.sort((a, b) => (a as { ts: number }).ts - (b as { ts: number }).ts);
  }

  private poisson(mean: number): number {
    // Knuth for small means; normal approximation above.
    if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.gauss()));
    const l = Math.exp(-mean);
    let k = 0;
    for (let p = this.rng(); p > l; p *= this.rng()) k++;
    return k;
  }

  private gauss(): number {
    return Math.sqrt(-2 * Math.log(this.rng() || 1e-12)) * Math.cos(2 * Math.PI * this.rng());
  }

  private steadySignal(ts: number): object {
    const harmful = this.rng() < this.o.harmfulShare;
    const text = harmful ? pick(this.rng, HARMFUL[pick(this.rng, Object.keys(HARMFUL))]!) : pick(this.rng, BENIGN);
    return {
      id: `sample-${++this.seq}`,
      ts: Math.floor(ts),
      text,
      surface: pick(this.rng, SURFACES),
      lang: 'en',
      region: pick(this.rng, REGIONS),
      author: `user-${Math.floor(this.rng() * 5000)}`,
    };
  }

  private surgeSignal(ts: number): object {
    return {
      id: `sample-${++this.seq}`,
      ts: Math.floor(ts),
      text: pick(this.rng, HARMFUL[SURGE_TOPIC]!),
      surface: pick(this.rng, SURFACES),
      lang: 'en',
      region: SURGE_REGION,
      hashtags: this.rng() < 0.5 ? ['wanttodie'] : [],
      author: `user-${Math.floor(this.rng() * 5000)}`,
    };
  }

  private batchOf(signals: object[]): SourceBatch {
    return {
      topic: 'sample',
      partition: 0,
      records: signals.map((s) => ({ offset: String(this.offset++), value: Buffer.from(JSON.stringify(s)) })),
    };
  }

  async start(handler: (batch: SourceBatch) => Promise<void>): Promise<void> {
    const { clock, logger } = this.opts;
    this.startedAtMs = clock.now();
    const signal = this.abort.signal;
    this.loop = (async () => {
      let cursor = this.startedAtMs - this.o.backfillMs;
      const stepMs = 60_000;
      for (; cursor < this.startedAtMs && !signal.aborted; cursor += stepMs) {
        await handler(this.batchOf(this.generate(cursor, Math.min(cursor + stepMs, this.startedAtMs))));
      }
      cursor = this.startedAtMs;
      logger.info(
        { surgeAt: new Date(this.startedAtMs + this.o.surgeAfterMs).toISOString(), topic: SURGE_TOPIC, region: SURGE_REGION },
        'sample stream: baseline backfilled; live stream running, a surge is scheduled',
      );
      while (!signal.aborted) {
        await sleep(this.o.emitEveryMs, signal);
        const now = clock.now();
        if (now <= cursor) continue;
        await handler(this.batchOf(this.generate(cursor, now)));
        cursor = now;
      }
    })().catch((err) => logger.error({ err }, 'sample stream stopped'));
  }

  async ping(): Promise<void> {}

  close = closeOnce(async () => {
    this.abort.abort();
    await this.loop;
  });
}
