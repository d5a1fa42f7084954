/**
 * `npm run bench:semantic` (also the third part of `npm run bench`): the cost of semantic
 * scoring with the default model (Universal Sentence Encoder Lite, TensorFlow.js WASM).
 *   1. embeddings/s by batch size through the worker_threads pool, with 1 and 2 workers, on
 *      short texts (40-80 chars) and realistic posts (150-500 chars: about 35-140 tokens, the
 *      model cuts at 128, which only the longest reach);
 *   2. the naive baseline: the model loaded in the main thread, one text per call;
 *   3. event-loop delay (perf_hooks) while the pool works and while the naive loop runs;
 *   4. the cache: a stream with viral repeats through CachingBatcher, cache on and off;
 *   5. end to end: processRecords over generated raw records, semantic mode off, candidates, all.
 * Texts are generated from the bundled benign corpus with a seeded PRNG and are distinct
 * (after normalization) except where section 4 repeats them on purpose. Prints figures;
 * asserts nothing.
 *
 * Figures are for this machine as it is during the run: the header and the summary print the
 * load average, and the tables the cores the process actually got (CPU time over wall time,
 * all threads), so that other work competing for the cores shows.
 *
 * BENCH_SEMANTIC_MS (time per throughput figure, default 3000), BENCH_SEMANTIC_CACHE_SIGNALS
 * (section 4 stream, default 2000) and, for section 5, BENCH_SEMANTIC_OFF_SIGNALS (default
 * 20000), BENCH_SEMANTIC_CANDIDATES_SIGNALS (default 1000) and BENCH_SEMANTIC_ALL_SIGNALS
 * (default 700) tune it.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startRuntime } from '../src/cli/commands.js';
import { loadConfig } from '../src/config/load.js';
import { DEFAULT_MODEL } from '../src/config/model-schema.js';
import type { SemanticMode } from '../src/config/pipeline-schema.js';
import { termObject } from '../src/config/topic-schema.js';
import { normalizeText } from '../src/normalize/text.js';
import { loadBackend } from '../src/scoring/backends/backend.js';
import { CachingBatcher, type BatcherStats } from '../src/scoring/batcher.js';
import { EmbedPool } from '../src/scoring/embed-pool.js';
import { embeddingText, type Backend } from '../src/scoring/embedder.js';
import { silentLogger } from '../src/shared/logger.js';
import { processRecords, type RawRecord } from '../src/worker/process-records.js';
import { createRng } from '../src/worker/sample-stream.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MIN_MS = Number(process.env.BENCH_SEMANTIC_MS ?? 3000);
const CACHE_SIGNALS = Number(process.env.BENCH_SEMANTIC_CACHE_SIGNALS ?? 2000);
const OFF_SIGNALS = Number(process.env.BENCH_SEMANTIC_OFF_SIGNALS ?? 20_000);
const CANDIDATES_SIGNALS = Number(process.env.BENCH_SEMANTIC_CANDIDATES_SIGNALS ?? 1000);
const ALL_SIGNALS = Number(process.env.BENCH_SEMANTIC_ALL_SIGNALS ?? 700);
const BATCH_SIZES = [1, 8, 32, 64];
const WORKER_COUNTS = [1, 2];
/** Texts are cut to this many characters before the model's token limit, as semantic-setup does. */
const MAX_CHARS = DEFAULT_MODEL.maxTokens * 8;
const cacheDir = join(root, 'models/cache');
const benchStart = performance.now();

// ---------------------------------------------------------------------------------------------
// Texts: lines of the benign corpus joined up to a target length, one word swapped for another
// corpus word, so that every text is new (to the model, and to any cache keyed on it).

const rand = createRng(20_261_201);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

const corpus = readFileSync(join(root, 'config/corpus/benign-en.txt'), 'utf8')
  .split(/\r?\n/)
  .filter((l) => l.trim() !== '');
const vocabulary = [...new Set(corpus.flatMap((l) => l.toLowerCase().match(/\b[a-z]{3,}\b/g) ?? []))];

/** Normalized forms handed out so far: no text is generated twice. */
const issued = new Set<string>();

/** A new text of minChars..maxChars characters, cut at a word boundary where possible. */
function freshText(minChars: number, maxChars: number): string {
  for (;;) {
    const target = between(minChars, maxChars);
    let text = pick(corpus);
    while (text.length < target) text += ` ${pick(corpus)}`;
    if (text.length > target) {
      const space = text.lastIndexOf(' ', target);
      text = space >= minChars ? text.slice(0, space) : text.slice(0, target);
    }
    const words = text.split(' ');
    words[Math.floor(rand() * words.length)] = pick(vocabulary);
    text = words.join(' ');
    if (text.length < minChars || text.length > maxChars) continue;
    const key = embeddingText(text, MAX_CHARS);
    if (issued.has(key)) continue;
    issued.add(key);
    return text;
  }
}

const shortText = () => freshText(40, 80);
const postText = () => freshText(150, 500);
/** A feed's mix of lengths: half short, a third medium, the rest long posts. */
const feedText = () => {
  const r = rand();
  return r < 0.5 ? freshText(40, 80) : r < 0.85 ? freshText(80, 200) : freshText(200, 500);
};

// The pool and the batcher see normalized texts (CachingBatcher normalizes before the pool).
const normalized = (gen: () => string) => () => embeddingText(gen(), MAX_CHARS);
const KINDS = [
  { name: 'short', label: 'short texts (40-80 chars)', next: normalized(shortText) },
  { name: 'posts', label: 'posts (150-500 chars, about 35-140 tokens; the model cuts at 128)', next: normalized(postText) },
] as const;
type Kind = (typeof KINDS)[number]['name'];

// ---------------------------------------------------------------------------------------------
// Helpers: event-loop delay around a run, time-boxed loops, tables.

/** The monitor's timer interval: the figures include it (an idle loop reads about this much). */
const LOOP_RESOLUTION_MS = 1;

interface LoopDelay {
  p99: number;
  max: number;
  /** Timer samples taken: far fewer than ms / resolution means the loop was blocked. */
  samples: number;
}

interface Observed<T> {
  value: T;
  delay: LoopDelay;
  /** CPU time of the whole process (main thread and workers) over wall time. */
  cores: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs `run` with an event-loop delay histogram enabled (figures in ms) and CPU time counted. */
async function observe<T>(run: () => Promise<T>): Promise<Observed<T>> {
  const h = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  h.enable();
  // The histogram records the gap between two timer ticks: let it tick before the run, so that
  // a run that blocks the loop from its very start is recorded too, and after it, for the end.
  await sleep(LOOP_RESOLUTION_MS * 5);
  const cpu = process.cpuUsage();
  const start = performance.now();
  const value = await run();
  const used = process.cpuUsage(cpu);
  const wall = performance.now() - start;
  await sleep(LOOP_RESOLUTION_MS * 5);
  h.disable();
  return { value, delay: { p99: h.percentile(99) / 1e6, max: h.max / 1e6, samples: h.count }, cores: (used.user + used.system) / 1000 / wall };
}

interface Rate {
  texts: number;
  ms: number;
  perSec: number;
  delay: LoopDelay;
  cores: number;
}

/**
 * Texts/s through the pool: batches of `batchSize` fresh texts, one in flight per worker (a new
 * batch is posted as soon as one returns: the round trip is well under a millisecond, against
 * tens of milliseconds or more per batch), for about `ms`. Submitting stops once the batches in
 * flight would take the run past `ms`; the figure includes the time to drain them.
 */
async function poolRate(pool: EmbedPool, batchSize: number, next: () => string, ms: number): Promise<Rate> {
  const { value, delay, cores } = await observe(async () => {
    const inflight = new Set<Promise<void>>();
    let texts = 0;
    let batches = 0;
    const submit = () => {
      const batch = Array.from({ length: batchSize }, next);
      const p: Promise<void> = pool.embed(batch).then(() => {
        texts += batch.length;
        batches++;
        inflight.delete(p);
      });
      inflight.add(p);
    };
    const start = performance.now();
    for (;;) {
      while (inflight.size < pool.size) submit();
      await Promise.race(inflight);
      const elapsed = performance.now() - start;
      // Batches have been completing about elapsed / batches apart: those in flight need about that each.
      if (elapsed + (inflight.size * elapsed) / batches >= ms) break;
    }
    await Promise.all(inflight);
    return { texts, ms: performance.now() - start };
  });
  return { ...value, perSec: (value.texts / value.ms) * 1000, delay, cores };
}

/**
 * Texts/s with the model in the main thread, one text per call, as a per-signal consumer would
 * do it. With `yieldEachText` the loop gives the event loop a turn between texts (setImmediate),
 * as a consumer handling one message per turn would.
 */
async function naiveRate(backend: Backend, next: () => string, ms: number, yieldEachText: boolean): Promise<Rate> {
  const { value, delay, cores } = await observe(async () => {
    let texts = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      await backend.embed([next()]);
      texts++;
      if (yieldEachText) await new Promise((r) => setImmediate(r));
    }
    return { texts, ms: performance.now() - start };
  });
  return { ...value, perSec: (value.texts / value.ms) * 1000, delay, cores };
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmt1 = (n: number) => n.toFixed(1);
const fmtCores = (n: number) => n.toFixed(2);
const fmtMs = (n: number) => (n >= 100 ? fmtInt(n) : n.toFixed(1));
const fmtPct = (part: number, whole: number) => (whole === 0 ? '-' : `${((part / whole) * 100).toFixed(1)}%`);
const table = (rows: string[][], align: ('l' | 'r')[]) => {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) console.log(r.map((cell, c) => (align[c] === 'l' ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd());
};
const progress = (what: string) => process.stderr.write(`  ${what}...\n`);

console.log(
  `semantic bench: model ${DEFAULT_MODEL.id} (maxTokens ${DEFAULT_MODEL.maxTokens}), ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown cpu'}), ` +
    `node ${process.version}, ${fmtInt(corpus.length)} corpus lines, ${(MIN_MS / 1000).toFixed(1)} s per throughput figure, load average ${loadavg()[0]!.toFixed(2)} at start`,
);

// ---------------------------------------------------------------------------------------------
// 1. Embeddings/s by batch size through the pool.

const pools = new Map<number, EmbedPool>();
const poolStartMs = new Map<number, number>();
for (const workers of WORKER_COUNTS) {
  progress(`starting a pool of ${workers} worker(s)`);
  const start = performance.now();
  const pool = await EmbedPool.start(DEFAULT_MODEL, { workers, cacheDir, logger: silentLogger });
  poolStartMs.set(workers, performance.now() - start);
  // The first batches of a fresh worker are slower (WASM and JIT warm-up): not timed.
  await Promise.all(Array.from({ length: workers * 2 }, () => pool.embed(Array.from({ length: 8 }, KINDS[0].next))));
  pools.set(workers, pool);
}

const poolRates = new Map<string, Rate>();
const rateKey = (kind: Kind, workers: number, batch: number) => `${kind}/${workers}/${batch}`;
for (const kind of KINDS) {
  for (const workers of WORKER_COUNTS) {
    for (const batch of BATCH_SIZES) {
      progress(`pool: ${kind.name}, ${workers} worker(s), batch ${batch}`);
      poolRates.set(rateKey(kind.name, workers, batch), await poolRate(pools.get(workers)!, batch, kind.next, MIN_MS));
    }
  }
}

/** The fastest pool configuration for a kind of text. */
function bestPool(kind: Kind): { workers: number; batch: number; rate: Rate } {
  let best: { workers: number; batch: number; rate: Rate } | undefined;
  for (const workers of WORKER_COUNTS)
    for (const batch of BATCH_SIZES) {
      const rate = poolRates.get(rateKey(kind, workers, batch))!;
      if (!best || rate.perSec > best.rate.perSec) best = { workers, batch, rate };
    }
  return best!;
}

console.log('');
console.log(`1. embeddings/s through EmbedPool (distinct texts; pool start incl. model load: ${WORKER_COUNTS.map((w) => `${w} worker(s) ${fmtInt(poolStartMs.get(w)!)} ms`).join(', ')})`);
for (const kind of KINDS) {
  console.log(`   ${kind.label}`);
  table(
    [
      ['workers', 'batch', 'texts', 'texts/s', 'texts/s/worker', 'ms/batch', 'cores used', 'loop p99 ms'],
      ...WORKER_COUNTS.flatMap((workers) =>
        BATCH_SIZES.map((batch) => {
          const r = poolRates.get(rateKey(kind.name, workers, batch))!;
          // Wall time per batch as one worker sees it.
          const msPerBatch = (r.ms * workers) / (r.texts / batch);
          return [String(workers), String(batch), fmtInt(r.texts), fmt1(r.perSec), fmt1(r.perSec / workers), fmtInt(msPerBatch), fmtCores(r.cores), fmtMs(r.delay.p99)];
        }),
      ),
    ],
    ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}
console.log('   texts/s/worker: texts/s over the workers used. cores used: CPU time of all threads over wall time (at most the core count).');

// ---------------------------------------------------------------------------------------------
// 2. and 3. The naive baseline, and event-loop delay.

progress('loading the model in the main thread');
const loadStart = performance.now();
const backend = await loadBackend(DEFAULT_MODEL, cacheDir);
const mainLoadMs = performance.now() - loadStart;
for (let i = 0; i < 8; i++) await backend.embed([KINDS[0].next()]);

const naive = new Map<Kind, Rate>();
for (const kind of KINDS) {
  progress(`naive main-thread loop: ${kind.name}`);
  naive.set(kind.name, await naiveRate(backend, kind.next, kind.name === 'posts' ? MIN_MS + 2000 : MIN_MS, false));
}
progress('naive main-thread loop yielding between texts: posts');
const naiveYielding = await naiveRate(backend, KINDS[1].next, MIN_MS, true);

progress('idle event loop');
const idle = (await observe(() => sleep(1000))).delay;
const bestPosts = bestPool('posts');
const longRuns = new Map<number, Rate>();
for (const workers of WORKER_COUNTS) {
  progress(`pool long run: posts, ${workers} worker(s), batch ${bestPosts.batch}`);
  longRuns.set(workers, await poolRate(pools.get(workers)!, bestPosts.batch, KINDS[1].next, MIN_MS + 2000));
}

console.log('');
console.log(`2. naive baseline: the model in the main thread, one text per call (model load ${fmtInt(mainLoadMs)} ms)`);
table(
  [
    ['texts', 'texts/s naive', 'best pool texts/s', 'best pool config', 'pool/naive', 'pool per worker/naive'],
    ...KINDS.map((kind) => {
      const n = naive.get(kind.name)!;
      const best = bestPool(kind.name);
      return [
        kind.name,
        fmt1(n.perSec),
        fmt1(best.rate.perSec),
        `${best.workers} worker(s), batch ${best.batch}`,
        `${(best.rate.perSec / n.perSec).toFixed(2)}x`,
        `${(best.rate.perSec / best.workers / n.perSec).toFixed(2)}x`,
      ];
    }),
  ],
  ['l', 'r', 'r', 'l', 'r', 'r'],
);

console.log('');
console.log(`3. event-loop delay of the main thread (monitorEventLoopDelay, resolution ${LOOP_RESOLUTION_MS} ms; figures include the interval)`);
const delayRow = (what: string, r: Rate) => [what, (r.ms / 1000).toFixed(1), fmt1(r.perSec), fmtCores(r.cores), fmtMs(r.delay.p99), fmtMs(r.delay.max), fmtInt(r.delay.samples)];
table(
  [
    ['while', 's', 'texts/s', 'cores used', 'p99 ms', 'max ms', 'timer samples'],
    ['idle', '1.0', '-', '-', fmtMs(idle.p99), fmtMs(idle.max), fmtInt(idle.samples)],
    ...WORKER_COUNTS.map((w) => delayRow(`pool, ${w} worker(s), posts, batch ${bestPosts.batch}`, longRuns.get(w)!)),
    delayRow('naive main thread, posts', naive.get('posts')!),
    delayRow('naive main thread, short', naive.get('short')!),
    delayRow('naive, setImmediate between texts, posts', naiveYielding),
  ],
  ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
);
console.log(`   timer samples: an idle loop takes about ${fmtInt(1000 / LOOP_RESOLUTION_MS)} per second; a handful means the loop did not turn during the run.`);

// ---------------------------------------------------------------------------------------------
// 4. The cache, on a stream with viral repeats.

// Half the signals are one-off posts; the other half re-post one of a set of viral texts, drawn
// with probability ~ 1/rank^s (Zipf), so a few texts come back again and again. Viral texts are
// short to medium (40-200 chars). A quarter of them carry a link, which every re-post shortens
// differently; re-posts also change case and spacing. embeddingText maps all of these to the
// text's cache key.
const ONE_OFF_SHARE = 0.5;
const ZIPF_S = 1;
const viralText = () => (rand() < 0.6 ? freshText(40, 80) : freshText(80, 200));
const viral = Array.from({ length: Math.round(CACHE_SIGNALS / 8) }, () => ({ text: viralText(), link: rand() < 0.25 }));
const zipfCdf: number[] = [];
{
  let sum = 0;
  for (let r = 1; r <= viral.length; r++) zipfCdf.push((sum += 1 / r ** ZIPF_S));
  for (let i = 0; i < zipfCdf.length; i++) zipfCdf[i]! /= sum;
}
/** A viral text's index, by binary search in the cumulative distribution. */
function zipfRank(): number {
  const u = rand();
  let lo = 0;
  let hi = zipfCdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (zipfCdf[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
const shortCode = () => Array.from({ length: 10 }, () => pick([...'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'])).join('');
function repost(base: { text: string; link: boolean }): string {
  let text = base.text;
  const r = rand();
  if (r < 0.2) text = text.toUpperCase();
  else if (r < 0.4) text = text.charAt(0).toUpperCase() + text.slice(1);
  if (rand() < 0.3) text = `  ${text.replace(/ /g, () => (rand() < 0.1 ? '   ' : ' '))}\n`;
  if (base.link) text += ` https://t.co/${shortCode()}`;
  return text;
}
const cacheStream = Array.from({ length: CACHE_SIGNALS }, () => (rand() < ONE_OFF_SHARE ? repost({ text: viralText(), link: rand() < 0.25 }) : repost(viral[zipfRank()]!)));
const streamKeys = cacheStream.map((t) => embeddingText(t, MAX_CHARS));
const distinctInStream = new Set(streamKeys).size;
const rawDistinct = new Set(cacheStream).size;

const CHUNK = 200;
const defaultWorkers = Math.max(1, availableParallelism() - 1);
const cachePool = pools.get(defaultWorkers) ?? pools.get(1)!;

/** The stream through a fresh CachingBatcher in front of the pool, chunk by chunk like Kafka batches. */
async function cacheRun(cacheSize: number): Promise<{ ms: number; stats: BatcherStats; delay: LoopDelay; cores: number }> {
  // Not closed: closing a batcher closes its pool, which the next run needs.
  const batcher = new CachingBatcher(cachePool, { batchSize: 32, batchWaitMs: 5, cacheSize, maxChars: MAX_CHARS });
  const { value, delay, cores } = await observe(async () => {
    const start = performance.now();
    for (let i = 0; i < cacheStream.length; i += CHUNK) await batcher.embed(cacheStream.slice(i, i + CHUNK));
    return performance.now() - start;
  });
  return { ms: value, stats: { ...batcher.stats }, delay, cores };
}

progress(`cache: ${fmtInt(CACHE_SIGNALS)} signals, cacheSize 20000`);
const cacheOn = await cacheRun(20_000);
progress(`cache: ${fmtInt(CACHE_SIGNALS)} signals, cacheSize 0`);
const cacheOff = await cacheRun(0);
const cacheRate = (r: { ms: number }) => (CACHE_SIGNALS / r.ms) * 1000;

console.log('');
console.log(
  `4. cache: ${fmtInt(CACHE_SIGNALS)} signals (40-200 chars), ${fmtPct(ONE_OFF_SHARE, 1)} one-off, the rest re-posts of ${fmtInt(viral.length)} viral texts (Zipf s=${ZIPF_S}), chunks of ${CHUNK}, ` +
    `CachingBatcher (batch 32, wait 5 ms) over a pool of ${cachePool.size} worker(s)`,
);
console.log(
  `   ${fmtInt(distinctInStream)} distinct after normalization (${fmtInt(rawDistinct)} as posted): ${fmtPct(CACHE_SIGNALS - distinctInStream, CACHE_SIGNALS)} of signals repeat an earlier text; ` +
    `the most posted text appears ${fmtInt(Math.max(...[...streamKeys.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>()).values()]))} times`,
);
table(
  [
    ['cacheSize', 'signals/s', 's', 'cache hits', 'joined in flight', 'embedded', 'model batches', 'cores used', 'loop p99 ms'],
    ...[
      { size: '20000', run: cacheOn },
      { size: '0', run: cacheOff },
    ].map(({ size, run }) => [
      size,
      fmt1(cacheRate(run)),
      (run.ms / 1000).toFixed(1),
      `${fmtInt(run.stats.cacheHits)} (${fmtPct(run.stats.cacheHits, run.stats.requested)})`,
      fmtInt(run.stats.joined),
      fmtInt(run.stats.embedded),
      fmtInt(run.stats.batches),
      fmtCores(run.cores),
      fmtMs(run.delay.p99),
    ]),
  ],
  ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
);
console.log(`   speedup with the cache: ${(cacheRate(cacheOn) / cacheRate(cacheOff)).toFixed(2)}x ("joined": repeats of a text still on its way to the model, shared even without a cache)`);

for (const pool of pools.values()) await pool.close();

// ---------------------------------------------------------------------------------------------
// 5. End to end: decode + lexicon + semantic with processRecords, on the shipped config.

const config = loadConfig({ env: {}, cwd: root });
const harmfulTerms = config.topics.flatMap((t) => t.terms.map((x) => termObject(x).term));
const REGIONS = ['US-TX', 'US-CA', 'US-NY', 'GB', 'DE', 'BR', 'IN'];
const SURFACES = ['post', 'comment', 'caption', 'search'];
const HARMFUL_SHARE = 0.03;
const t0 = Date.UTC(2026, 10, 1);

/** Raw records shaped like the sample stream's, feed texts; 3% of them get a listed term inserted. */
function makeRecords(n: number): { records: RawRecord[]; texts: string[] } {
  const texts: string[] = [];
  const records = Array.from({ length: n }, (_, i) => {
    let text = feedText();
    if (rand() < HARMFUL_SHARE) {
      const words = text.split(' ');
      words.splice(Math.floor(rand() * words.length), 0, pick(harmfulTerms));
      text = words.join(' ');
    }
    texts.push(text);
    const signal = {
      id: `bench-${i}`,
      ts: t0 + i * 10,
      text,
      surface: pick(SURFACES),
      lang: 'en',
      region: pick(REGIONS),
      author: `user-${Math.floor(rand() * 5000)}`,
    };
    return { offset: String(i), value: Buffer.from(JSON.stringify(signal)) };
  });
  return { records, texts };
}

interface EndToEnd {
  mode: SemanticMode;
  signals: number;
  startMs: number;
  ms: number;
  hits: number;
  semanticHits: number;
  embedded: number;
  workers: number;
  candidates: Record<string, number>;
  skipped: number;
  cacheHits: number;
  /** Candidates mode: how often each cue word was the first in a text (what made it a candidate). */
  cueWords: Map<string, number>;
  delay: LoopDelay;
  cores: number;
}

const E2E_BATCH = 500;
async function endToEnd(mode: SemanticMode, signals: number): Promise<EndToEnd> {
  const { records, texts } = makeRecords(signals);
  const start = performance.now();
  const { rt, setup } = await startRuntime(config, { semantic: mode });
  const startMs = performance.now() - start;
  try {
    const watermark = { maxEventMs: -Infinity };
    let hits = 0;
    let semanticHits = 0;
    let embedded = 0;
    const { value: ms, delay, cores } = await observe(async () => {
      const begin = performance.now();
      for (let i = 0; i < records.length; i += E2E_BATCH) {
        const { totals } = await processRecords(records.slice(i, i + E2E_BATCH), rt, { authorHashKey: 'k'.repeat(16), watermark });
        hits += totals.hits ?? 0;
        semanticHits += totals.semantic_hits ?? 0;
        embedded += totals.semantic_embedded ?? 0;
      }
      return performance.now() - begin;
    });
    // Outside the timing: the cue word that candidateReason would find first in each text.
    const cueWords = new Map<string, number>();
    const cues = rt.lists.semantic?.cues;
    if (mode === 'candidates' && cues) {
      for (const text of texts) {
        const cue = normalizeText(text).tokens.find((t) => cues.has(t.key));
        if (cue) cueWords.set(cue.key, (cueWords.get(cue.key) ?? 0) + 1);
      }
    }
    const stats = rt.semantic?.stats;
    return {
      mode,
      signals,
      startMs,
      ms,
      hits,
      semanticHits,
      embedded,
      workers: [...setup.pools.values()].reduce((n, p) => n + p.size, 0),
      candidates: { ...(stats?.candidates ?? {}) },
      skipped: stats?.skipped ?? 0,
      cacheHits: [...setup.embedders.values()].reduce((n, e) => n + e.stats.cacheHits, 0),
      cueWords,
      delay,
      cores,
    };
  } finally {
    await setup.close();
  }
}

const e2e: EndToEnd[] = [];
for (const [mode, n] of [
  ['off', OFF_SIGNALS],
  ['candidates', CANDIDATES_SIGNALS],
  ['all', ALL_SIGNALS],
] as const) {
  progress(`end to end: semantic ${mode}, ${fmtInt(n)} signals`);
  e2e.push(await endToEnd(mode, n));
}
const e2eRate = (r: EndToEnd) => (r.signals / r.ms) * 1000;

console.log('');
console.log(
  `5. end to end: processRecords (decode + validate + normalize + lexicon + semantic), pipeline "${config.pipelines[0]!.id}", ${config.topics.length} topics, ` +
    `batches of ${E2E_BATCH}; distinct feed texts (40-500 chars), ${fmtPct(HARMFUL_SHARE, 1)} with a listed term inserted`,
);
table(
  [
    ['semantic', 'signals', 'workers', 'start s', 'signals/s', 'embedded', 'hits', 'semantic hits', 'cache hits', 'cores used', 'loop p99 ms'],
    ...e2e.map((r) => [
      r.mode,
      fmtInt(r.signals),
      String(r.workers),
      (r.startMs / 1000).toFixed(1),
      fmt1(e2eRate(r)),
      `${fmtInt(r.embedded)} (${fmtPct(r.embedded, r.signals)})`,
      `${fmtInt(r.hits)} (${fmtPct(r.hits, r.signals)})`,
      fmtInt(r.semanticHits),
      fmtInt(r.cacheHits),
      fmtCores(r.cores),
      fmtMs(r.delay.p99),
    ]),
  ],
  ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
);
const cand = e2e.find((r) => r.mode === 'candidates')!;
const chosen = Object.values(cand.candidates).reduce((s, n) => s + n, 0);
console.log(
  `   candidates mode embedded ${fmtInt(chosen)} of ${fmtInt(chosen + cand.skipped)} signals (${fmtPct(chosen, chosen + cand.skipped)}): ` +
    `${Object.entries(cand.candidates)
      .filter(([, n]) => n > 0)
      .map(([why, n]) => `${why} ${fmtInt(n)}`)
      .join(', ')}; skipped ${fmtInt(cand.skipped)}`,
);
const topCues = [...cand.cueWords].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 12);
console.log(`   most frequent first cue words: ${topCues.length ? topCues.map(([w, n]) => `${w} ${n}`).join(', ') : 'none'}`);
console.log('   hits: signals with a topic hit (lexicon, semantic or both); semantic hits: of those, hit by the semantic score.');
console.log('   start s: runtime + model load in the pool + topic exemplars embedded (startRuntime); not in signals/s.');
console.log('   loop p99: batches run back to back here, with no Kafka I/O between them; lexicon-only work never yields, so with semantic off the whole run is one block.');

// ---------------------------------------------------------------------------------------------
// Summary.

const bestShort = bestPool('short');
const naivePosts = naive.get('posts')!;
const e2eBy = (mode: SemanticMode) => e2e.find((r) => r.mode === mode)!;
console.log('');
console.log('summary');
const summary: [string, string][] = [
  ['pool, posts, best', `${fmt1(bestPosts.rate.perSec)} texts/s (${bestPosts.workers} worker(s), batch ${bestPosts.batch}; ${fmt1(bestPosts.rate.perSec / bestPosts.workers)}/worker)`],
  ['pool, short, best', `${fmt1(bestShort.rate.perSec)} texts/s (${bestShort.workers} worker(s), batch ${bestShort.batch}; ${fmt1(bestShort.rate.perSec / bestShort.workers)}/worker)`],
  ['naive main thread, posts', `${fmt1(naivePosts.perSec)} texts/s; pool best/naive ${(bestPosts.rate.perSec / naivePosts.perSec).toFixed(2)}x`],
  ['loop delay p99 / max, pool', WORKER_COUNTS.map((w) => `${w} worker(s) ${fmtMs(longRuns.get(w)!.delay.p99)} / ${fmtMs(longRuns.get(w)!.delay.max)} ms`).join(', ')],
  ['loop delay p99 / max, naive', `${fmtMs(naivePosts.delay.p99)} / ${fmtMs(naivePosts.delay.max)} ms (${fmtInt(naivePosts.delay.samples)} timer samples in ${(naivePosts.ms / 1000).toFixed(1)} s)`],
  ['cache', `hit rate ${fmtPct(cacheOn.stats.cacheHits, cacheOn.stats.requested)}, ${fmt1(cacheRate(cacheOn))} vs ${fmt1(cacheRate(cacheOff))} signals/s, ${(cacheRate(cacheOn) / cacheRate(cacheOff)).toFixed(2)}x`],
  ['end to end, semantic off', `${fmtInt(e2eRate(e2eBy('off')))} signals/s`],
  ['end to end, candidates', `${fmt1(e2eRate(cand))} signals/s, ${fmtPct(chosen, chosen + cand.skipped)} embedded`],
  ['end to end, all', `${fmt1(e2eRate(e2eBy('all')))} signals/s`],
  ['machine', `${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(2)} at the end`],
  ['wall time', `${((performance.now() - benchStart) / 1000).toFixed(0)} s`],
];
table(
  summary.map(([k, v]) => [k, v]),
  ['l', 'l'],
);
