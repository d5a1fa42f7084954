/**
 * `npm run bench:detect` (also the last part of `npm run bench`): the cost of detection.
 *   1. one detection tick (DetectionTicker.tickPipeline) against 1,000, 10,000 and 100,000 live
 *      series on the real Redis: ms per tick, series/s, ms per 1,000 series, and where the time
 *      goes (every window store, alert store and lease call timed, and the detector's evaluate,
 *      judge and correct; node and Redis CPU time; commands sent to Redis);
 *   2. Redis memory per live series: INFO used_memory before and after building the state,
 *      with a census of the keys it is made of (MEMORY USAGE on a sample of each kind);
 *   3. replay speed: `surgewatch replay` (replayCommand: in-memory stores, semantic off) over the
 *      synthetic stream of tests/_util/synthetic-spec.ts: signals/s, per core, and the alerts.
 * The state of section 1 is written with RedisWindowStore.applyBatch, shaped as a live pipeline
 * would have left it at the tick's time (see buildState). Prints figures; asserts nothing.
 *
 * Redis at REDIS_URL (default redis://127.0.0.1:6379); sections 1 and 2 are skipped when it is
 * not reachable. Keys go under a prefix unique to the run and are deleted after each size and
 * once more at the end. Redis is shared with whatever else runs on the machine: its memory and
 * CPU figures include other clients' work, if any.
 *
 * Each size gets a first tick (it opens the surging series' alerts, and reads every series: a
 * new process's first tick), then steady ticks while they fit in
 * BENCH_DETECT_TICK_BUDGET_MS (default 20000) of steady ticking per size, two at least (one of
 * each kind below). Before each steady tick, a batch counts one signal into
 * BENCH_DETECT_CHANGED (default 0.01) of the series, in the tick's bucket, as a live stream
 * would between ticks. Ticks come every tickSec (5 s) and buckets are 10 s: every other steady
 * tick is the first of a new bucket, where every series' windows slide; the two kinds are
 * reported apart. A second ticker follows without the lease after each tick (as a second worker
 * process does); then the first stops and the second's first tick as the holder is timed
 * ("taking over"). BENCH_DETECT_SIZES (comma-separated, default 1000,10000,100000),
 * BENCH_DETECT_TICKS (steady ticks per size at most, default 10, 6 and 4 by size) and
 * BENCH_DETECT_REPLAY_MINUTES (default 60; 0 leaves section 3 out) tune it.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { seriesId, type AlertEventType } from '../src/alerts/alert.js';
import { RedisAlertStore } from '../src/alerts/redis-alert-store.js';
import { replayCommand } from '../src/cli/commands.js';
import { loadConfig } from '../src/config/load.js';
import { pipelineSchema } from '../src/config/pipeline-schema.js';
import { termObject } from '../src/config/topic-schema.js';
import type { Detector } from '../src/detect/detector.js';
import { ManualClock } from '../src/shared/clock.js';
import { silentLogger } from '../src/shared/logger.js';
import { generateStream } from '../src/synthetic/stream.js';
import { createKeys } from '../src/windows/keys.js';
import { RedisLease } from '../src/windows/lease.js';
import { RedisWindowStore } from '../src/windows/redis-window-store.js';
import { BUCKETS_PER_CHUNK, bucketStart, type CountedSignal, type WindowLayout } from '../src/windows/window-store.js';
import { DetectionTicker } from '../src/worker/detection-ticker.js';
import { buildPipelineRuntime, type PipelineRuntime } from '../src/worker/pipeline-runtime.js';
import { hashAuthor } from '../src/worker/process-records.js';
import { createRng } from '../src/worker/sample-stream.js';
import { spec } from '../tests/_util/synthetic-spec.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SIZES = (process.env.BENCH_DETECT_SIZES ?? '1000,10000,100000').split(',').map(Number);
const TICKS = process.env.BENCH_DETECT_TICKS ? Number(process.env.BENCH_DETECT_TICKS) : undefined;
const TICK_BUDGET_MS = Number(process.env.BENCH_DETECT_TICK_BUDGET_MS ?? 20_000);
const REPLAY_MINUTES = Number(process.env.BENCH_DETECT_REPLAY_MINUTES ?? 60);
const CHANGED_SHARE = Number(process.env.BENCH_DETECT_CHANGED ?? 0.01);
/** Set on the benchmark's pipeline so that every live series is tested (the shipped one caps it). */
const MAX_SERIES = 200_000;
/** Count signals per applyBatch call while building the state. */
const APPLY_BATCH = 5000;
/** Each series gets 2..10 signals over the ticked range (mean 6)... */
const MIN_SIGNALS = 2;
const MAX_SIGNALS = 10;
/** ...and a few series a surge in the current window, from this many signals and accounts. */
const SURGE_SIGNALS = 60;
const SURGE_AUTHORS = 30;
const AUTHORS = 50_000;
/** The key prefix of production (REDIS_KEY_PREFIX's default), for the memory estimate. */
const DEFAULT_PREFIX = 'sw';
const PREFIX = `bench-detect-${randomBytes(3).toString('hex')}`;
const benchStart = performance.now();

const config = loadConfig({ env: {}, cwd: root });
const shipped = config.pipelines[0]!;
const topicIds = config.topics.map((t) => t.id);
const termsOf = new Map(config.topics.map((t) => [t.id, t.terms.map((x) => termObject(x).term)]));
const rand = createRng(20_261_122);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

// ---------------------------------------------------------------------------------------------
// Helpers: formatting and tables (as in bench/semantic.ts).

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmt1 = (n: number) => n.toFixed(1);
const fmtMs = (n: number) => (n >= 100 ? fmtInt(n) : n.toFixed(1));
const fmtMB = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const fmtPct = (part: number, whole: number) => (whole === 0 ? '-' : `${((part / whole) * 100).toFixed(1)}%`);
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const table = (rows: string[][], align: ('l' | 'r')[]) => {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) console.log(r.map((cell, c) => (align[c] === 'l' ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd());
};
const progress = (what: string) => process.stderr.write(`  ${what}...\n`);

// ---------------------------------------------------------------------------------------------
// Series ids, as seriesFor (src/worker/process-records.ts) makes them: each topic as a whole,
// by surface, by language, by region. Real region and language values come first; beyond them,
// made-up subdivisions of real countries ("BR-117": ISO-3166-shaped, valid for the signal
// schema), as a large deployment's long tail of regions would look.

const SURFACES = ['post', 'comment', 'caption', 'search'];
const LANGS = ['en', 'es', 'pt', 'fr', 'de', 'ar', 'hi', 'id', 'ja', 'tr'];
const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'BR', 'IN', 'MX', 'CA', 'AU', 'JP', 'ES', 'IT', 'NL', 'PL', 'TR', 'ID', 'PH', 'NG', 'ZA', 'AR', 'CO', 'EG', 'KE', 'PK', 'SA', 'AE', 'SE', 'NO', 'KR', 'VN'];
const SUBDIVISIONS = ['US-TX', 'US-CA', 'US-NY', 'US-FL', 'US-IL', 'BR-SP', 'BR-RJ', 'IN-MH', 'IN-DL', 'MX-CMX', 'DE-BY', 'GB-ENG', 'CA-ON', 'AU-NSW'];
type Dimension = { name: string; value: string } | undefined;
const NAMED_DIMENSIONS: Dimension[] = [
  undefined,
  ...SURFACES.map((value) => ({ name: 'surface', value })),
  ...LANGS.map((value) => ({ name: 'lang', value })),
  ...[...COUNTRIES, ...SUBDIVISIONS].map((value) => ({ name: 'region', value })),
];

/** The j-th dimension of a topic: the named ones, then made-up subdivisions (at most 1,000 per country). */
function dimension(j: number): Dimension {
  if (j < NAMED_DIMENSIONS.length) return NAMED_DIMENSIONS[j];
  const k = j - NAMED_DIMENSIONS.length;
  if (k >= COUNTRIES.length * 1000) throw new Error(`too many series per topic (${j})`);
  return { name: 'region', value: `${COUNTRIES[k % COUNTRIES.length]}-${Math.floor(k / COUNTRIES.length)}` };
}

/** `size` series ids, spread evenly over the topics. */
function seriesIds(size: number): string[] {
  return Array.from({ length: size }, (_, i) => seriesId(topicIds[i % topicIds.length]!, dimension(Math.floor(i / topicIds.length))));
}

/** One surging series per topic, all among the first 1,000 ids (so every size has them). */
const SURGING = [
  'self-harm|region=US-TX',
  'scams-fraud|surface=post',
  'hate-speech|region=DE',
  'harassment|lang=es',
  'violent-extremism|region=GB',
  'child-safety|surface=comment',
  'dangerous-challenges|region=US-CA',
  'coordinated-inauthentic|lang=en',
].filter((s) => topicIds.includes(s.slice(0, s.indexOf('|'))));

// ---------------------------------------------------------------------------------------------
// The state at the tick's time, built with applyBatch.

/** The tick's ranges, computed as DetectionTicker.tickPipeline does. */
function tickRange(rt: PipelineRuntime, nowMs: number) {
  const w = rt.config.windows;
  const bucketMs = rt.layout.bucketMs;
  const toBucket = bucketStart(nowMs, bucketMs);
  const windowStart = toBucket - (w.currentSec / w.bucketSec - 1) * bucketMs;
  const fromBucket = windowStart - ((w.baselineSec + w.baselineGapSec) / w.bucketSec) * bucketMs;
  return { bucketMs, toBucket, windowStart, fromBucket, buckets: (toBucket - fromBucket) / bucketMs + 1 };
}

/**
 * Writes every series' history over the range the tick reads (baseline, gap and current
 * window): MIN_SIGNALS..MAX_SIGNALS signals each, the first in the baseline's first 5 minutes
 * (an established series, not a cold start), the rest anywhere in the range; the SURGING series
 * get SURGE_SIGNALS more in the current window. Details (authors, terms, samples) are only
 * written for the last detailTtlSec of event time: older ones would have expired by their TTL
 * in a live pipeline, where event time is about wall time. Each signal counts towards one
 * series (a real hit also counts towards the topic and its other dimensions).
 */
async function buildState(store: RedisWindowStore, rt: PipelineRuntime, ids: readonly string[], nowMs: number) {
  const { bucketMs, toBucket, windowStart, fromBucket, buckets } = tickRange(rt, nowMs);
  const detailsFrom = toBucket - rt.layout.detailTtlSec * 1000;
  // Older buckets: counts only (their details have expired); no samples either.
  const countsOnly: WindowLayout = { ...rt.layout, samplesPerBucket: 0 };
  const pending = { old: [] as CountedSignal[], recent: [] as CountedSignal[] };
  let signals = 0;
  let applyMs = 0;
  /** Distinct (series, bucket) pairs written: the count fields stored. */
  let storedFields = 0;
  const flush = async (which: 'old' | 'recent') => {
    const batch = pending[which];
    if (batch.length === 0) return;
    pending[which] = [];
    const start = performance.now();
    const result = await store.applyBatch({
      pipeline: rt.config.id,
      layout: which === 'old' ? countsOnly : rt.layout,
      position: null,
      signals: batch,
      totals: { signals: batch.length, hits: batch.length },
    });
    applyMs += performance.now() - start;
    if (result.status !== 'applied') throw new Error(`applyBatch: ${result.status}`);
  };
  const add = async (series: string, bucket: number, author: string) => {
    const recent = bucket >= detailsFrom;
    const s: CountedSignal = { id: `sig-${(signals++).toString(36).padStart(8, '0')}`, bucketMs: bucket, series: [series], terms: [] };
    if (recent) {
      s.authorHash = hashAuthor(config.authorHashKey, author);
      s.terms = [pick(termsOf.get(series.split('|')[0]!)!)];
    }
    const which = recent ? 'recent' : 'old';
    pending[which].push(s);
    if (pending[which].length >= APPLY_BATCH) await flush(which);
  };
  const surging = new Set(SURGING);
  const account = () => `acct-${Math.floor(rand() ** 2 * AUTHORS)}`;
  for (const series of ids) {
    const n = MIN_SIGNALS + Math.floor(rand() * (MAX_SIGNALS - MIN_SIGNALS + 1));
    const used = new Set<number>();
    const at = async (bucket: number, author: string) => {
      used.add(bucket);
      await add(series, bucket, author);
    };
    await at(fromBucket + Math.floor(rand() * 30) * bucketMs, account());
    for (let i = 1; i < n; i++) await at(fromBucket + Math.floor(rand() * buckets) * bucketMs, account());
    if (surging.has(series)) {
      const current = (toBucket - windowStart) / bucketMs + 1;
      for (let i = 0; i < SURGE_SIGNALS; i++) await at(windowStart + (i % current) * bucketMs, `surge-${series}-${i % SURGE_AUTHORS}`);
    }
    storedFields += used.size;
  }
  await flush('old');
  await flush('recent');
  return { signals, applyMs, storedFields };
}

// ---------------------------------------------------------------------------------------------
// Instrumentation: store calls timed, commands counted, Redis INFO read.

interface CallStats {
  calls: number;
  ms: number;
}
type Timings = Map<string, CallStats>;

/**
 * The object with each of its (async) methods timed into `timings` under "label.method". The
 * ticker awaits its stores one call at a time, so the sum is the tick's time spent in them:
 * Redis round trips, plus the client's encoding and parsing on this thread.
 */
function timed<T extends object>(target: T, label: string, timings: Timings): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value: unknown = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      return async (...args: unknown[]) => {
        const start = performance.now();
        try {
          return await method.apply(obj, args);
        } finally {
          const key = `${label}.${String(prop)}`;
          const s = timings.get(key) ?? { calls: 0, ms: 0 };
          s.calls++;
          s.ms += performance.now() - start;
          timings.set(key, s);
        }
      };
    },
  });
}

/**
 * The detector with each method timed into `timings` as "detector.<method>"; they are
 * synchronous, and stay so (the ticker uses their results directly).
 */
function timedDetector(detector: Detector, timings: Timings): Detector {
  const time = <A extends unknown[], R>(name: string, fn: (...args: A) => R) => (...args: A): R => {
    const start = performance.now();
    try {
      return fn(...args);
    } finally {
      const s = timings.get(`detector.${name}`) ?? { calls: 0, ms: 0 };
      s.calls++;
      s.ms += performance.now() - start;
      timings.set(`detector.${name}`, s);
    }
  };
  return {
    evaluate: time('evaluate', detector.evaluate.bind(detector)),
    evaluateSparse: time('evaluate', detector.evaluateSparse.bind(detector)),
    scopeTraffic: detector.scopeTraffic.bind(detector),
    decide: time('decide', detector.decide.bind(detector)),
    judge: time('judge', detector.judge.bind(detector)),
    correct: time('correct', detector.correct.bind(detector)),
    correction: time('correct', detector.correction.bind(detector)),
    decisionOf: detector.decisionOf.bind(detector),
  };
}

/** Commands this client has sent (pipelined and transaction commands one by one). */
function countCommands(redis: Redis): () => number {
  let sent = 0;
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (...args: Parameters<typeof send>) => {
    sent++;
    return send(...args);
  };
  return () => sent;
}

async function info(redis: Redis, section: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const line of (await redis.info(section)).split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) out[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return out;
}

/** used_memory, once background frees (UNLINK of large values) are done. */
async function usedMemory(redis: Redis): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const m = await info(redis, 'memory');
    if (Number(m.lazyfree_pending_objects ?? 0) === 0) return Number(m.used_memory);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Number((await info(redis, 'memory')).used_memory);
}

/** Redis server CPU time so far (user + system, ms). */
async function redisCpuMs(redis: Redis): Promise<number> {
  const c = await info(redis, 'cpu');
  return (Number(c.used_cpu_user) + Number(c.used_cpu_sys)) * 1000;
}

/** Keys matching each pattern, page by page. */
async function* scanKeys(redis: Redis, patterns: readonly string[]): AsyncGenerator<string[]> {
  for (const match of patterns) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 5000);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}

/** Every key of the run: "<prefix>...", and any hash-tagged "{<prefix>:...}" (keys.ts makes none). */
const RUN_PATTERNS = [`${PREFIX}*`, `{${PREFIX}:*`];

async function deleteRunKeys(redis: Redis): Promise<number> {
  let n = 0;
  for await (const keys of scanKeys(redis, RUN_PATTERNS)) {
    await redis.unlink(...keys);
    n += keys.length;
  }
  return n;
}

const KIND_LABELS: Record<string, string> = {
  c: 'count chunks (hash per series per 64 buckets)',
  h: 'hourly rollups (hash per series per day)',
  a: 'authors (HyperLogLog per series per bucket)',
  t: 'terms (zset per series per bucket)',
  s: 'samples (list per series per bucket)',
  series: 'live-series index (one zset)',
  first: 'first-seen (one hash)',
  changed: 'changed series (one zset: series -> seq of its last batch)',
  changeseq: 'change sequence (one hash)',
  totals: 'totals (one hash)',
};
const SAMPLE_PER_KIND = 300;

interface KindCensus {
  keys: number;
  /** Mean MEMORY USAGE of a sample of the kind's keys. */
  avgBytes: number;
}

/** The run's keys by kind (the part after "<base>:" up to the next ":"), with sampled sizes. */
async function census(redis: Redis, base: string): Promise<Map<string, KindCensus>> {
  const counts = new Map<string, number>();
  const samples = new Map<string, string[]>();
  for await (const keys of scanKeys(redis, RUN_PATTERNS)) {
    for (const key of keys) {
      const rest = key.startsWith(`${base}:`) ? key.slice(base.length + 1) : key;
      const kind = rest.split(':')[0]!;
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
      let sample = samples.get(kind);
      if (!sample) samples.set(kind, (sample = []));
      if (sample.length < SAMPLE_PER_KIND) sample.push(key);
    }
  }
  const out = new Map<string, KindCensus>();
  for (const [kind, keys] of samples) {
    const pipe = redis.pipeline();
    for (const key of keys) pipe.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
    const replies = (await pipe.exec()) ?? [];
    const bytes = replies.reduce((sum, [err, v]) => sum + (err ? 0 : Number(v ?? 0)), 0);
    out.set(kind, { keys: counts.get(kind)!, avgBytes: bytes / keys.length });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 1 and 2: ticks and memory, per size.

interface TickSample {
  ms: number;
  /** The first tick of a new bucket (every series' windows slid). */
  bucketClose: boolean;
  series: number;
  events: EventCounts;
  nodeCpuMs: number;
  redisCpuMs: number;
  commands: number;
  timings: Timings;
}

interface SizeResult {
  size: number;
  signals: number;
  applyMs: number;
  storedFields: number;
  memBefore: number;
  memAfter: number;
  kinds: Map<string, KindCensus>;
  /** This process's heap growth over the ticks: what the ticker keeps of the series (a GC before each reading when exposed). */
  tickerHeapBytes: number;
  /** What a second ticker, following without the lease, keeps (its heap, as tickerHeapBytes). */
  standbyHeapBytes: number;
  first: TickSample;
  /** A following ticker's first follow (it reads every series) and, after the holder stopped, its first tick as the holder. */
  standbyFirstMs: number;
  /** The following ticker's later ticks without the lease (the median). */
  followMs: number;
  handover: TickSample;
  /** A third process, started after the others stopped: what it reads at its start (DetectionTicker.prepare), from the held series they stored... */
  restartPrepareMs: number;
  /** ...and then its first tick. */
  restart: TickSample;
  /** MEMORY USAGE of the stored held series (one hash) after the ticks. */
  heldBytes: number;
  steady: TickSample[];
  /** The largest size ticked once more with the shipped pipeline (its maxSeries cap). */
  capped?: TickSample;
}

const NOW_MS = Date.UTC(2026, 10, 1, 12, 0, 0);

/**
 * A ticker over the Redis stores (a worker process), every store call and its own runtime's
 * detector timed: the runtime it ticks is returned with it.
 */
function makeTicker(redis: Redis, build: () => PipelineRuntime, timings: Timings) {
  const rt = build();
  rt.detector = timedDetector(rt.detector, timings);
  const windows = new RedisWindowStore(redis, PREFIX);
  const alerts = new RedisAlertStore(redis, PREFIX, [rt.config.id], new Map([[rt.config.id, rt.config.alerts.retentionDays * 86_400]]));
  // As src/context.ts names the lease key ("tick:<pipeline>" -> the pipeline's lease key).
  const lease = new RedisLease(redis, (name) => createKeys(PREFIX, name.split(':')[1] ?? name).lease(name));
  const ticker = new DetectionTicker({
    runtimes: [rt],
    windows: timed(windows, 'windows', timings),
    alerts: timed(alerts, 'alerts', timings),
    lease: timed(lease, 'lease', timings),
    clock: new ManualClock(NOW_MS),
    logger: silentLogger,
  });
  return { ticker, rt };
}

async function measureTick(redis: Redis, sent: () => number, ticker: DetectionTicker, rt: PipelineRuntime, timings: Timings, nowMs: number): Promise<TickSample> {
  timings.clear();
  const redisBefore = await redisCpuMs(redis);
  const sentBefore = sent();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const report = await ticker.tickPipeline(rt, nowMs);
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const commands = sent() - sentBefore;
  const redisCpu = (await redisCpuMs(redis)) - redisBefore;
  if (!report.ran) throw new Error('the tick did not get the lease');
  const events: EventCounts = {};
  for (const e of report.events) events[e.type] = (events[e.type] ?? 0) + 1;
  const bucketMs = rt.layout.bucketMs;
  const bucketClose = bucketStart(nowMs, bucketMs) !== bucketStart(nowMs - rt.config.detect.tickSec * 1000, bucketMs);
  return { ms, bucketClose, series: report.series, events, nodeCpuMs: (used.user + used.system) / 1000, redisCpuMs: redisCpu, commands, timings: new Map(timings) };
}

/** Heap in use, after a full GC when node runs with --expose-gc (as `npm run bench:detect` does). */
const heapUsed = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
};

/** The batch a live stream applies between two ticks: one signal for CHANGED_SHARE of the series. */
async function countBetweenTicks(store: RedisWindowStore, rt: PipelineRuntime, ids: readonly string[], nowMs: number, tick: number) {
  const bucket = bucketStart(nowMs, rt.layout.bucketMs);
  const changed = ids.filter(() => rand() < CHANGED_SHARE);
  const signals: CountedSignal[] = changed.map((series, k) => ({ id: `tick-${tick}-${k}`, bucketMs: bucket, series: [series], terms: [] }));
  const result = await store.applyBatch({ pipeline: rt.config.id, layout: rt.layout, position: null, signals, totals: { signals: signals.length, hits: signals.length } });
  if (result.status !== 'applied') throw new Error(`applyBatch: ${result.status}`);
}

async function runSize(redis: Redis, sent: () => number, size: number): Promise<SizeResult> {
  const build = () => buildPipelineRuntime(pipelineSchema.parse({ ...shipped, detect: { ...shipped.detect, maxSeries: MAX_SERIES } }), config.topics);
  const rt = build();
  const ids = seriesIds(size);
  const store = new RedisWindowStore(redis, PREFIX);
  const memBefore = await usedMemory(redis);
  progress(`${fmtInt(size)} series: building the state`);
  const { signals, applyMs, storedFields } = await buildState(store, rt, ids, NOW_MS);
  const memAfter = await usedMemory(redis);
  const kinds = await census(redis, createKeys(PREFIX, rt.config.id).base);

  const timings: Timings = new Map();
  const heapBefore = heapUsed();
  let holder: ReturnType<typeof makeTicker> | undefined = makeTicker(redis, build, timings);
  // A second process's ticker: it follows without the lease, then takes it over.
  const standbyTimings: Timings = new Map();
  let standby: ReturnType<typeof makeTicker> | undefined = makeTicker(redis, build, standbyTimings);
  const tickMs = rt.config.detect.tickSec * 1000;
  const steadyTicks = TICKS ?? (size <= 1000 ? 10 : size <= 10_000 ? 6 : 4);
  progress(`${fmtInt(size)} series: ticks (1 + up to ${steadyTicks}, ${(TICK_BUDGET_MS / 1000).toFixed(0)} s time box), a second ticker following`);
  const first = await measureTick(redis, sent, holder.ticker, holder.rt, timings, NOW_MS);
  const follow = async (nowMs: number) => {
    const start = performance.now();
    if ((await standby!.ticker.tickPipeline(standby!.rt, nowMs)).ran) throw new Error('the following ticker took the lease');
    return performance.now() - start;
  };
  const standbyFirstMs = await follow(NOW_MS);
  const followMs: number[] = [];
  const steady: TickSample[] = [];
  let spent = 0;
  for (let i = 1; i <= steadyTicks; i++) {
    // The first tick reads everything: the time box is for the steady ones, of which two run at least (one of each kind).
    const last = steady[steady.length - 1]?.ms ?? 0;
    if (steady.length >= 2 && spent + last > TICK_BUDGET_MS) break; // the next one would not fit in the time box
    await countBetweenTicks(store, rt, ids, NOW_MS + i * tickMs, i);
    steady.push(await measureTick(redis, sent, holder.ticker, holder.rt, timings, NOW_MS + i * tickMs));
    spent += steady[steady.length - 1]!.ms;
    followMs.push(await follow(NOW_MS + i * tickMs));
  }
  const bothHeap = heapUsed() - heapBefore;
  await holder.ticker.close(); // releases the lease
  holder = undefined; // what it kept is garbage now
  const standbyHeapBytes = heapUsed() - heapBefore;
  const tickerHeapBytes = bothHeap - standbyHeapBytes;
  // The holder stopped: the follower's first tick as the holder, after one more batch.
  const handoverAt = NOW_MS + (steady.length + 1) * tickMs;
  await countBetweenTicks(store, rt, ids, handoverAt, steady.length + 1);
  const handover = await measureTick(redis, sent, standby.ticker, standby.rt, standbyTimings, handoverAt);
  await standby.ticker.close();
  standby = undefined;
  heapUsed(); // a new process starts without the others' garbage
  // Both stopped: a new process (a restart, a deploy) starts from the held series they stored, after one more batch.
  const restartAt = handoverAt + tickMs;
  await countBetweenTicks(store, rt, ids, restartAt, steady.length + 2);
  const restartTimings: Timings = new Map();
  const restarted = makeTicker(redis, build, restartTimings);
  const prepareStart = performance.now();
  await restarted.ticker.prepare(restarted.rt, restartAt);
  const restartPrepareMs = performance.now() - prepareStart;
  const restart = await measureTick(redis, sent, restarted.ticker, restarted.rt, restartTimings, restartAt);
  await restarted.ticker.close();
  const heldBytes = Number(await redis.call('MEMORY', 'USAGE', createKeys(PREFIX, rt.config.id).heldSeries, 'SAMPLES', '0'));

  let capped: TickSample | undefined;
  if (size > shipped.detect.maxSeries && size === Math.max(...SIZES)) {
    progress(`${fmtInt(size)} series: one tick with the shipped maxSeries (${fmtInt(shipped.detect.maxSeries)})`);
    const cappedTicker = makeTicker(redis, () => buildPipelineRuntime(shipped, config.topics), timings);
    capped = await measureTick(redis, sent, cappedTicker.ticker, cappedTicker.rt, timings, restartAt + tickMs);
    await cappedTicker.ticker.close();
  }
  await deleteRunKeys(redis);
  return { size, signals, applyMs, storedFields, memBefore, memAfter, kinds, tickerHeapBytes, standbyHeapBytes, first, standbyFirstMs, followMs: median(followMs), handover, restartPrepareMs, restart, heldBytes, steady, capped };
}

/** The median sample (by wall time) among ticks. */
const medianTick = (ticks: readonly TickSample[]) => {
  const m = median(ticks.map((t) => t.ms));
  return ticks.reduce((best, t) => (Math.abs(t.ms - m) < Math.abs(best.ms - m) ? t : best));
};
/** The median steady tick of the slower kind (within a bucket, or a bucket's first); the first tick when there was no other. */
const typical = (r: SizeResult) => {
  const kinds = tickKinds(r);
  return kinds.length === 0 ? r.first : kinds.map((k) => k.tick).reduce((a, b) => (b.ms > a.ms ? b : a));
};
/** The median steady tick of each kind that ran. */
const tickKinds = (r: SizeResult) =>
  (
    [
      ['within a bucket', r.steady.filter((t) => !t.bucketClose)],
      ['bucket close', r.steady.filter((t) => t.bucketClose)],
    ] as const
  ).flatMap(([kind, ticks]) => (ticks.length > 0 ? [{ kind, tick: medianTick(ticks) }] : []));
type EventCounts = Partial<Record<AlertEventType, number>>;
const fmtEvents = (events: EventCounts) =>
  Object.entries(events)
    .map(([type, n]) => `${n} ${type}`)
    .join(', ') || 'none';
/** Events of several ticks, added up by type. */
const sumEvents = (ticks: readonly TickSample[]) =>
  ticks.reduce<EventCounts>((acc, t) => {
    for (const [type, n] of Object.entries(t.events) as [AlertEventType, number][]) acc[type] = (acc[type] ?? 0) + n;
    return acc;
  }, {});

const { buckets } = tickRange(buildPipelineRuntime(shipped, config.topics), NOW_MS);
const w = shipped.windows;
console.log(
  `detection bench: pipeline "${shipped.id}" (bucket ${w.bucketSec} s, current ${w.currentSec} s, gap ${w.baselineGapSec} s, baseline ${w.baselineSec} s: ` +
    `${buckets} buckets per series and tick, in ${BUCKETS_PER_CHUNK}-bucket chunks), ${topicIds.length} topics, ` +
    `${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown cpu'}), node ${process.version}, load average ${loadavg()[0]!.toFixed(2)} at start`,
);

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
const results: SizeResult[] = [];
let redisVersion = '';
try {
  await redis.connect();
  redisVersion = (await info(redis, 'server')).redis_version ?? '?';
  const sent = countCommands(redis);
  for (const size of SIZES) results.push(await runSize(redis, sent, size));
} catch (err) {
  if (results.length === 0 && redis.status !== 'ready') console.log(`Redis at ${redisUrl} not reachable (${(err as Error).message}); skipped sections 1 and 2`);
  else throw err;
} finally {
  if (redis.status === 'ready') {
    const left = await deleteRunKeys(redis);
    if (left > 0) console.log(`(deleted ${left} keys left under ${PREFIX})`);
  }
  redis.disconnect();
}

if (results.length > 0) {
  console.log('');
  console.log(
    `1. detection tick (DetectionTicker.tickPipeline) on Redis ${redisVersion} at ${redisUrl}, maxSeries ${fmtInt(MAX_SERIES)}; ` +
      `each series ${MIN_SIGNALS}-${MAX_SIGNALS} signals over the ticked range, ${SURGING.length} of them surging (${SURGE_SIGNALS} signals, ${SURGE_AUTHORS} accounts, in the current window)`,
  );
  table(
    [
      ['series', 'first tick ms', 'first tick events', 'taking over ms', 'a new process: start ms', 'its first tick ms', 'steady ticks', 'tick ms within a bucket', 'at a bucket close', 'min-max', 'series/s', 'ms per 1k series', 'node CPU ms', 'Redis CPU ms', 'store calls', 'commands', 'later events'],
      ...results.map((r) => {
        const t = typical(r);
        const ms = r.steady.map((s) => s.ms);
        return [
          fmtInt(t.series),
          fmtMs(r.first.ms),
          fmtEvents(r.first.events),
          fmtMs(r.handover.ms),
          fmtMs(r.restartPrepareMs),
          fmtMs(r.restart.ms),
          r.steady.length > 0 ? String(r.steady.length) : '0: first only',
          ...(['within a bucket', 'bucket close'] as const).map((kind) => {
            const k = tickKinds(r).find((x) => x.kind === kind);
            return k ? fmtMs(k.tick.ms) : '-';
          }),
          ms.length > 0 ? `${fmtMs(Math.min(...ms))}-${fmtMs(Math.max(...ms))}` : '-',
          fmtInt((t.series / t.ms) * 1000),
          (t.ms / (t.series / 1000)).toFixed(2),
          fmtMs(t.nodeCpuMs),
          fmtMs(t.redisCpuMs),
          fmtInt([...t.timings].reduce((n, [key, s]) => (key.startsWith('detector.') ? n : n + s.calls), 0)),
          fmtInt(t.commands),
          r.steady.length > 0 ? fmtEvents(sumEvents(r.steady)) : '-',
        ];
      }),
    ],
    ['r', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
  );
  console.log(
    `   steady ticks (each advances ${shipped.detect.tickSec} s of event time, after a batch counting into ${fmtPct(CHANGED_SHARE, 1)} of the series): the median of each kind; ` +
      `the columns from series/s on are the slower kind's median, within a ${(TICK_BUDGET_MS / 1000).toFixed(0)} s time box for steady ticks; ` +
      'store calls: awaited window store, alert store and lease calls, one at a time;',
  );
  console.log('   commands: sent by this client (a pipeline of N commands counts N); Redis CPU: the server process, all clients.');
  console.log(
    '   taking over: a second ticker ticks without the lease after each of the holder\'s ticks (it follows the counts); the holder stops, a batch is counted, and the second ticker\'s first tick as the holder is this figure ' +
      `(its first follow, which starts from the held series the holder stored, took ${results.map((r) => `${fmtMs(r.standbyFirstMs)} ms at ${fmtInt(r.size)}`).join(', ')}; ` +
        `its later ones, the median: ${results.map((r) => `${fmtMs(r.followMs)} ms at ${fmtInt(r.size)}`).join(', ')}).`,
  );
  console.log(
    '   a new process: both tickers stop, a batch is counted, and a third one (which never followed) starts: at its start (DetectionTicker.prepare, as start() runs it) it reads the held series the others stored ' +
      `(WindowStore.readHeldSeries: ${results.map((r) => `${fmtMB(r.heldBytes)}, ${fmtInt(r.heldBytes / r.size)} B per series at ${fmtInt(r.size)}`).join('; ')}) and the counts of the series counted since; then it ticks as the holder. ` +
      'The first tick reads every series: no process stored any before it (a cold start).',
  );
  for (const r of results) {
    console.log(`   the first tick at ${fmtInt(r.size)} series: node CPU ${fmtMs(r.first.nodeCpuMs)} ms, Redis CPU ${fmtMs(r.first.redisCpuMs)} ms, ${fmtInt(r.first.commands)} commands.`);
  }

  console.log('');
  console.log('   where a tick\'s time goes, the first and the median of each kind (timed store and detector calls; "ticker" is the rest: chunking, lookups, lifecycle, in JS)');
  const parts: [string, string[]][] = [
    ['windows.changedSeries', ['windows.changedSeries']],
    ['windows.liveSeries', ['windows.liveSeries']],
    ['windows.readNonZeroCounts', ['windows.readNonZeroCounts', 'windows.readCounts']],
    ['windows.readDetails', ['windows.readDetails']],
    ['windows.pruneSeries', ['windows.pruneSeries']],
    ['windows (held series)', ['windows.readHeldSeries', 'windows.writeHeldSeries']],
    ['alerts (listOpen, inCooldown, save)', ['alerts.listOpen', 'alerts.inCooldown', 'alerts.save']],
    ['lease.acquire', ['lease.acquire']],
    ['detector.evaluate', ['detector.evaluate']],
    ['detector.judge', ['detector.judge']],
    ['detector.correct', ['detector.correct']],
  ];
  table(
    [
      ['series', 'tick', ...parts.map(([name]) => name), 'other store calls', 'ticker'],
      ...results.flatMap((r) => [{ kind: 'first', tick: r.first }, { kind: 'taking over', tick: r.handover }, { kind: 'a new process', tick: r.restart }, ...tickKinds(r)].map(({ kind, tick: t }) => {
        const of = (keys: string[]) => keys.reduce((acc, k) => ({ ms: acc.ms + (t.timings.get(k)?.ms ?? 0), calls: acc.calls + (t.timings.get(k)?.calls ?? 0) }), { ms: 0, calls: 0 });
        const listed = new Set(parts.flatMap(([, keys]) => keys));
        const cells = [...parts.map(([, keys]) => of(keys)), of([...t.timings.keys()].filter((k) => !listed.has(k)))];
        const rest = t.ms - cells.reduce((s, c) => s + c.ms, 0);
        return [
          fmtInt(t.series),
          kind,
          ...cells.map((c) => `${fmtMs(c.ms)} ms ${fmtPct(c.ms, t.ms)} (${fmtInt(c.calls)}x)`),
          `${fmtMs(rest)} ms ${fmtPct(rest, t.ms)}`,
        ];
      })),
    ],
    ['r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
  for (const r of results) {
    const asked = r.first.series * buckets;
    console.log(
      `   the first tick at ${fmtInt(r.size)} series reads the counts of every series: ${fmtInt(asked)} bucket fields (HGETALL of each ${BUCKETS_PER_CHUNK}-bucket chunk in range and within the series' activity), ` +
        `${fmtInt(r.storedFields)} of them (${fmtPct(r.storedFields, asked)}) holding a count; later ticks read those of the series counted into since.`,
    );
  }
  const biggest = results[results.length - 1]!;
  if (biggest.capped) {
    const c = biggest.capped;
    console.log(
      `   with the shipped maxSeries (${fmtInt(shipped.detect.maxSeries)}), a tick at ${fmtInt(biggest.size)} live series tests ${fmtInt(c.series)} of them ` +
        `(the most recently active, plus open alerts) in ${fmtMs(c.ms)} ms; the rest are not tested at all.`,
    );
  }
  const perWorker = topicIds.length * (1 + SURFACES.length + 2 * (w.maxValuesPerDimension + 1));
  console.log(
    `   shipped limits: maxValuesPerDimension ${fmtInt(w.maxValuesPerDimension)} lets one worker count at most about ${fmtInt(perWorker)} series ` +
      `(${topicIds.length} topics x (1 + ${SURFACES.length} surfaces + regions and languages up to the cap, plus "other")); more needs a higher cap or several workers.`,
  );

  console.log('');
  const extraPerKey = 2 * (PREFIX.length - DEFAULT_PREFIX.length);
  console.log(
    `2. Redis memory per live series (INFO used_memory after building the state minus before; the state as section 1 describes it). ` +
      `Keys here carry the ${PREFIX.length}-char prefix "${PREFIX}" twice (${extraPerKey} bytes more per key than the default "${DEFAULT_PREFIX}"): ` +
      `the last column takes that off.`,
  );
  table(
    [
      ['series', 'count signals', 'build s', 'used_memory before', 'after', 'delta', 'keys', 'keys/series', 'bytes/series', `bytes/series, prefix "${DEFAULT_PREFIX}" (est.)`, 'ticker heap bytes/series', 'following heap bytes/series'],
      ...results.map((r) => {
        const delta = r.memAfter - r.memBefore;
        const keys = [...r.kinds.values()].reduce((n, k) => n + k.keys, 0);
        return [
          fmtInt(r.size),
          fmtInt(r.signals),
          (r.applyMs / 1000).toFixed(1),
          fmtMB(r.memBefore),
          fmtMB(r.memAfter),
          fmtMB(delta),
          fmtInt(keys),
          fmt1(keys / r.size),
          fmtInt(delta / r.size),
          fmtInt((delta - keys * extraPerKey) / r.size),
          fmtInt(r.tickerHeapBytes / r.size),
          fmtInt(r.standbyHeapBytes / r.size),
        ];
      }),
    ],
    ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
  console.log(
    `   ticker heap: this process's heap after the ticks less before them (${(globalThis as { gc?: unknown }).gc ? 'after a full GC each time' : 'no --expose-gc: includes garbage'}), ` +
      'what the lease holder keeps of each series between ticks (activity, non-zero counts, the last judgement); following heap: what a process without the lease keeps (activity, non-zero counts).',
  );
  console.log('');
  console.log(`   what the state is made of: keys by kind, MEMORY USAGE averaged over up to ${SAMPLE_PER_KIND} keys of each kind (excludes the keyspace's own per-key overhead)`);
  table(
    [
      ['series', 'kind', 'keys', 'keys/series', 'avg bytes/key', 'bytes/series'],
      ...results.flatMap((r) =>
        [...r.kinds]
          .sort((a, b) => b[1].keys * b[1].avgBytes - a[1].keys * a[1].avgBytes)
          .map(([kind, k]) => [fmtInt(r.size), KIND_LABELS[kind] ?? kind, fmtInt(k.keys), k.keys / r.size >= 0.1 ? fmt1(k.keys / r.size) : (k.keys / r.size).toFixed(4), fmtInt(k.avgBytes), fmtInt((k.keys * k.avgBytes) / r.size)]),
      ),
    ],
    ['r', 'l', 'r', 'r', 'r', 'r'],
  );
  console.log(
    `   counts cover the ${buckets} buckets the tick reads; a series active through the whole retention (${w.retentionSec} s) keeps about ` +
      `${Math.ceil(w.retentionSec / (w.bucketSec * BUCKETS_PER_CHUNK))} count chunks instead. Details (authors, terms, samples) exist only for buckets of the last ` +
      `${buildPipelineRuntime(shipped, config.topics).layout.detailTtlSec} s (their TTL), for series with signals there.`,
  );
}

// ---------------------------------------------------------------------------------------------
// 3. Replay speed: `surgewatch replay` over the synthetic stream.

/** Generates the stream into a temporary JSONL (not timed), then times replayCommand over it. */
async function runReplay(minutes: number) {
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-bench-detect-'));
  try {
    progress(`replay: generating ${minutes} minutes of the synthetic stream`);
    const genStart = performance.now();
    const { signals, truth } = generateStream({ ...spec, minutes });
    // Only surges that start within the stream can be found.
    truth.surges = truth.surges.filter((s) => s.start < truth.to);
    const file = join(dir, 'signals.jsonl');
    const out = createWriteStream(file);
    for (const s of signals) if (!out.write(`${JSON.stringify(s)}\n`)) await once(out, 'drain');
    out.end();
    await once(out, 'finish');
    // replay --truth wants at least one surge.
    const truthFile = truth.surges.length > 0 ? join(dir, 'truth.json') : undefined;
    if (truthFile) writeFileSync(truthFile, JSON.stringify(truth));
    const genMs = performance.now() - genStart;

    progress(`replay: ${fmtInt(signals.length)} signals`);
    const io = { stdout: new PassThrough().resume(), stderr: new PassThrough().resume() };
    const cpu = process.cpuUsage();
    const start = performance.now();
    const result = await replayCommand(config, file, { semantic: 'off', out: join(dir, 'alerts.jsonl'), ...(truthFile && { truth: truthFile }) }, io);
    const ms = performance.now() - start;
    const used = process.cpuUsage(cpu);
    // The series alerted on, from the alert versions written (one JSON line each).
    const alertSeries = new Set(
      readFileSync(join(dir, 'alerts.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { series: string }).series),
    );
    return { result, ms, cpuMs: (used.user + used.system) / 1000, genMs, bytes: statSync(file).size, minutes, surges: truth.surges.length, alertSeries: [...alertSeries].sort() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const replay = REPLAY_MINUTES > 0 ? await runReplay(REPLAY_MINUTES) : undefined;
if (replay) {
  const { result: rr } = replay;
  const ticks = Math.round((replay.minutes * 60) / shipped.detect.tickSec);
  console.log('');
  console.log(
    `3. replay (replayCommand: in-memory windows and alerts, semantic off) of the synthetic stream of tests/_util/synthetic-spec.ts, ${replay.minutes} minutes ` +
      `(${spec.perSec}/s at the daily mean; generated and written in ${(replay.genMs / 1000).toFixed(1)} s, not counted)`,
  );
  table(
    [
      ['signals', 'file', 'wall s', 'signals/s', 'cores used', 'signals/s per core', 'ticks (event time)', 'alerts', 'alert events', 'surges found', 'false alerts'],
      [
        fmtInt(rr.signals),
        fmtMB(replay.bytes),
        (replay.ms / 1000).toFixed(1),
        fmtInt((rr.signals / replay.ms) * 1000),
        (replay.cpuMs / replay.ms).toFixed(2),
        fmtInt((rr.signals / replay.cpuMs) * 1000),
        `about ${fmtInt(ticks)}`,
        fmtInt(rr.alerts),
        fmtInt(rr.events),
        rr.truth ? `${rr.truth.surges.filter((s) => s.detected).length} of ${replay.surges}` : '-',
        rr.truth ? fmtInt(rr.truth.false_alerts) : '-',
      ],
    ],
    ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
  console.log(`   alerted series: ${replay.alertSeries.join(', ') || 'none'}`);
  console.log('   cores used: this process\'s CPU time (all threads: GC, file reads) over wall time; per core = signals per CPU-second. Includes the runtime\'s start (no model: semantic off).');
}

// ---------------------------------------------------------------------------------------------
// Summary.

console.log('');
console.log('summary');
const summary: [string, string][] = results.map((r) => {
  const t = typical(r);
  const share = (k: string) => fmtPct(t.timings.get(k)?.ms ?? 0, t.ms);
  const kinds = tickKinds(r).map((k) => `${k.kind} ${fmtMs(k.tick.ms)} ms`);
  return [
    `tick, ${fmtInt(r.size)} series`,
    `${kinds.length > 0 ? `${kinds.join(', ')}, first ${fmtMs(r.first.ms)} ms, taking over ${fmtMs(r.handover.ms)} ms, a new process ${fmtMs(r.restartPrepareMs)} ms at its start and ${fmtMs(r.restart.ms)} ms its first tick` : `${fmtMs(t.ms)} ms`} ` +
      `(the slower: ${(t.ms / (t.series / 1000)).toFixed(2)} ms per 1k series; ${share('detector.evaluate')} evaluate, ${share('detector.correct')} correct); ` +
      `${fmtInt((r.memAfter - r.memBefore) / r.size)} B of Redis per series`,
  ];
});
if (replay) summary.push(['replay', `${fmtInt((replay.result.signals / replay.ms) * 1000)} signals/s (${fmtInt((replay.result.signals / replay.cpuMs) * 1000)} per core), ${fmtInt(replay.result.alerts)} alerts`]);
summary.push(
  ['machine', `${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(2)} at the end`],
  ['wall time', `${((performance.now() - benchStart) / 1000).toFixed(0)} s`],
);
table(summary, ['l', 'l']);
