import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { AppConfig } from '../config/load.js';
import { decodeSignal, signalLimits } from '../ingest/signal.js';
import { MemoryAlertStore } from '../alerts/memory-alert-store.js';
import { OutboxRelay } from '../alerts/outbox-relay.js';
import { RedisAlertStore } from '../alerts/redis-alert-store.js';
import type { AlertStore } from '../alerts/alert-store.js';
import { Redis } from 'ioredis';
import { RedisWindowStore } from '../windows/redis-window-store.js';
import type { WindowStore } from '../windows/window-store.js';
import type { AlertPublisher } from '../alerts/alert-store.js';
import { ManualClock } from '../shared/clock.js';
import { silentLogger } from '../shared/logger.js';
import { leaseKey } from '../windows/keys.js';
import { MemoryStreakStore, RedisStreakStore } from '../windows/streak-store.js';
import { MemoryLease, RedisLease, type Lease } from '../windows/lease.js';
import { MemoryWindowStore } from '../windows/memory-window-store.js';
import { BatchApplier } from '../worker/batch-applier.js';
import { DetectionTicker, type TickerOptions } from '../worker/detection-ticker.js';
import { MemoryDeadLetterSink } from '../worker/local-sinks.js';
import { buildPipelineRuntime, type PipelineRuntime } from '../worker/pipeline-runtime.js';
import { scoreForRuntime, type RawRecord } from '../worker/process-records.js';
import { readLines } from './lines.js';
import { readFile, stat } from 'node:fs/promises';
import type { Alert } from '../alerts/alert.js';
import { evaluateTruth, formatTruthReport, truthSchema, type TruthInput, type TruthReport } from './truth.js';
import type { SemanticMode } from '../config/pipeline-schema.js';
import type { Logger } from '../shared/logger.js';
import { indexLists, setupSemantic, type SemanticSetup } from '../worker/semantic-setup.js';
import type { Signal } from '../ingest/signal.js';

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export class UsageError extends Error {}

/**
 * A pipeline's runtime for the command line. Commands work offline on files, so the live
 * stream's `maxPerSec` budget (which sheds candidates to keep a consumer from lagging) does not
 * apply: every candidate is scored, and a replay scores the same run after run.
 */
export function pickRuntime(config: AppConfig, pipelineId: string | undefined, semantic?: SemanticMode): PipelineRuntime {
  const p = pipelineId ? config.pipelines.find((x) => x.id === pipelineId) : config.pipelines[0];
  if (!p) throw new UsageError(`unknown pipeline "${pipelineId}" (have: ${config.pipelines.map((x) => x.id).join(', ')})`);
  return buildPipelineRuntime({ ...p, semantic: { ...p.semantic, ...(semantic && { mode: semantic }), maxPerSec: 0 } }, config.topics);
}

/**
 * A pipeline's runtime with its semantic scoring started (when its mode is not off) and the
 * exemplars embedded. Close the setup when done. When the pipeline's model cannot load and it
 * runs on its fallback (or lexicon-only), a line on `stderr` says so: scores differ by model.
 */
export async function startRuntime(
  config: AppConfig,
  opts: { pipeline?: string; semantic?: SemanticMode; logger?: Logger; stderr?: NodeJS.WritableStream },
): Promise<{ rt: PipelineRuntime; setup: SemanticSetup }> {
  const rt = pickRuntime(config, opts.pipeline, opts.semantic);
  const setup = await setupSemantic([rt], { models: config.models, workers: config.env.SURGEWATCH_EMBED_WORKERS, logger: opts.logger ?? silentLogger });
  const used = setup.pipelines.get(rt.config.id);
  if (used?.reason) opts.stderr?.write(`surgewatch: pipeline "${rt.config.id}" scores ${used.loaded ? `with the fallback model "${used.loaded}"` : 'lexicon-only'}: ${used.reason}\n`);
  await indexLists([rt]);
  return { rt, setup };
}

/** A one-line progress bar on a terminal: share of the file read, lines and lines per second. */
function progressBar(err: NodeJS.WritableStream, totalBytes: number) {
  const started = performance.now();
  let bytes = 0;
  let lines = 0;
  let shownAt = 0;
  const show = () => {
    const share = totalBytes > 0 ? Math.min(1, bytes / totalBytes) : 1;
    const width = 30;
    const bar = '#'.repeat(Math.round(share * width)).padEnd(width, '.');
    const rate = Math.round(lines / Math.max(0.001, (performance.now() - started) / 1000));
    err.write(`\rreplay [${bar}] ${(share * 100).toFixed(0).padStart(3)}%  ${lines.toLocaleString('en')} lines  ${rate.toLocaleString('en')}/s `);
  };
  return {
    advance(n: number) {
      bytes += n;
      lines++;
      const now = performance.now();
      if (now - shownAt > 250) {
        shownAt = now;
        show();
      }
    },
    done() {
      show();
      err.write('\n');
    },
  };
}

async function write(out: NodeJS.WritableStream, line: string): Promise<void> {
  if (!out.write(line)) await once(out, 'drain');
}

/**
 * `surgewatch score <signals.jsonl>`: one JSON line per valid input signal with per-topic
 * scores and why; a bad line is reported on stderr with its line number and skipped.
 */
export async function scoreCommand(
  config: AppConfig,
  file: string,
  opts: { pipeline?: string; semantic?: SemanticMode },
  io: Io,
): Promise<{ scored: number; bad: number }> {
  const { rt, setup } = await startRuntime(config, { ...opts, stderr: io.stderr });
  let scored = 0;
  let bad = 0;
  let pending: Signal[] = [];
  // Signals are scored in groups, so that the model sees batches.
  const flush = async () => {
    const items = pending.map((signal) => ({ signal, lexicon: scoreForRuntime(rt, signal) }));
    pending = [];
    const scores = rt.semantic ? (await rt.semantic.score(items, rt.lists.semantic)).scores : items.map((i) => i.lexicon);
    for (const [i, { signal }] of items.entries()) {
      await write(io.stdout, `${JSON.stringify({ id: signal.id, topics: scores[i], ...(signal.truncated && { truncated: true }) })}\n`);
      scored++;
    }
  };
  try {
    for await (const { line, bytes } of readLines(file, signalLimits.maxRecordBytes)) {
      const d = decodeSignal(bytes);
      if (!d.ok) {
        bad++;
        await write(io.stderr, `${JSON.stringify({ line, error: d.code, reason: d.reason })}\n`);
        continue;
      }
      pending.push(d.signal);
      if (pending.length >= 256) await flush();
    }
    await flush();
  } finally {
    await setup.close();
  }
  return { scored, bad };
}

/**
 * `surgewatch replay <signals.jsonl> --out <alerts.jsonl>`: runs the pipeline over a file on
 * event time with in-memory stores; detection ticks fire as event time passes each tick
 * boundary. Every alert version is written as one JSON line (same id across versions).
 */
export interface ReplayResult {
  signals: number;
  deadLetters: number;
  alerts: number;
  events: number;
  /** With a truth file: per-surge detection, recall, precision and false alerts per day. */
  truth?: TruthReport;
  /** With REDIS_URL set: the key prefix of this run's windows and alerts in Redis. */
  redisPrefix?: string;
}

/** Hooks for backtests: adjust the runtime before the replay starts, see every tick's decisions. */
export interface ReplayObserver {
  runtime?: (rt: PipelineRuntime) => void | Promise<void>;
  decisions?: TickerOptions['onDecisions'];
}

export async function replayCommand(
  config: AppConfig,
  file: string,
  opts: { pipeline?: string; out?: string; semantic?: SemanticMode; truth?: string; progress?: boolean; observe?: ReplayObserver },
  io: Io,
): Promise<ReplayResult> {
  // A bad truth file is reported before the (possibly long) replay starts.
  let truth: TruthInput | undefined;
  if (opts.truth) {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(opts.truth, 'utf8'));
    } catch (err) {
      throw new UsageError(`--truth ${opts.truth}: ${(err as Error).message}`);
    }
    const parsed = truthSchema.safeParse(raw);
    if (!parsed.success) throw new UsageError(`--truth ${opts.truth}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'file'}: ${i.message}`).join('; ')}`);
    truth = parsed.data;
  }
  const { rt, setup } = await startRuntime(config, { ...opts, stderr: io.stderr });
  await opts.observe?.runtime?.(rt);
  // With REDIS_URL set, the windows and alerts live in Redis, under their own prefix so that a
  // replay never mixes with live counts; otherwise in process memory.
  const redis = config.env.REDIS_URL ? new Redis(config.env.REDIS_URL, { maxRetriesPerRequest: 2, connectionName: 'surgewatch-replay' }) : undefined;
  try {
    // Every alert version published, in order: the truth judges an alert on its versions.
    const published: Alert[] = [];
    const result: ReplayResult = await replayOn(config, rt, file, opts, io, published, redis);
    if (truth) {
      result.truth = evaluateTruth(published, truth);
      io.stderr.write(formatTruthReport(result.truth));
    }
    return result;
  } finally {
    await redis?.quit();
    await setup.close();
  }
}

/**
 * Where a replay run keeps its state in Redis: REDIS_KEY_PREFIX, ".replay." and the run's id.
 * Every run starts from a clean slate: replaying a file again counts it again, from zero (the
 * offset fence of an earlier run would otherwise skip every line), and runs at the same time do
 * not mix. The state expires with the pipeline's retention.
 */
export function replayKeyPrefix(config: AppConfig, runId: string): string {
  return `${config.env.REDIS_KEY_PREFIX}.replay.${runId}`;
}

/** A new replay run id: sortable by start time, unique across processes. */
export function newReplayRunId(nowMs = Date.now()): string {
  return `${nowMs.toString(36)}${randomBytes(3).toString('hex')}`;
}

async function replayOn(
  config: AppConfig,
  rt: PipelineRuntime,
  file: string,
  opts: { out?: string; progress?: boolean; observe?: ReplayObserver },
  io: Io,
  /** Every alert by id: its latest version, coordinated if any version was. */
  published: Alert[],
  redis: Redis | undefined,
): Promise<ReplayResult> {
  const clock = new ManualClock(0);
  const prefix = replayKeyPrefix(config, newReplayRunId());
  const windows: WindowStore = redis ? new RedisWindowStore(redis, prefix) : new MemoryWindowStore();
  // A replay is one process: the lease is a formality, but alert writes to Redis are fenced by it.
  const memoryLease = new MemoryLease(clock);
  const lease: Lease = redis ? new RedisLease(redis, (name) => leaseKey(prefix, name)) : memoryLease;
  const alerts: AlertStore = redis
    ? new RedisAlertStore(redis, prefix, [rt.config.id], new Map([[rt.config.id, rt.config.alerts.retentionDays * 86_400]]))
    : new MemoryAlertStore({ fenceCheck: memoryLease.holds });
  const deadLetters = new MemoryDeadLetterSink(silentLogger, 100_000);
  const out: WriteStream | NodeJS.WritableStream = opts.out ? createWriteStream(opts.out) : io.stdout;
  const events: string[] = [];
  let eventCount = 0;
  const publisher: AlertPublisher = {
    publish: async (_topic, e) => {
      eventCount++;
      events.push(JSON.stringify({ event: e.type, ...e.alert }));
      published.push(e.alert);
    },
    close: async () => {},
  };
  const applier = new BatchApplier(rt, { store: windows, deadLetters, authorHashKey: config.authorHashKey, clock, logger: silentLogger, checkFuture: false });
  const relay = new OutboxRelay({ store: alerts, publisher, pipelines: [{ id: rt.config.id, topic: rt.config.alerts.kafkaTopic }], logger: silentLogger });
  const ticker = new DetectionTicker({
    runtimes: [rt],
    windows,
    alerts,
    lease,
    streaks: redis ? new RedisStreakStore(redis, prefix) : new MemoryStreakStore(memoryLease.holds),
    clock,
    logger: silentLogger,
    ...(opts.observe?.decisions && { onDecisions: opts.observe.decisions }),
  });
  const tickMs = rt.config.detect.tickSec * 1000;

  let nextTickMs: number | undefined;
  let pending: RawRecord[] = [];
  let offset = 0;
  let badLines = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    await applier.handle({ topic: file, partition: 0, records: pending });
    pending = [];
  };
  const tickUntil = async (ms: number) => {
    while (nextTickMs !== undefined && nextTickMs <= ms) {
      await flush();
      clock.set(nextTickMs);
      await ticker.tick(nextTickMs);
      await relay.drain();
      for (const e of events.splice(0)) await write(out, `${e}\n`);
      nextTickMs += tickMs;
    }
  };

  const progress = opts.progress ? progressBar(io.stderr, (await stat(file)).size) : undefined;
  for await (const { line, bytes } of readLines(file, signalLimits.maxRecordBytes)) {
    progress?.advance(bytes.length + 1);
    // Peek at the event time to drive ticks; the applier decodes again and owns validation.
    const d = decodeSignal(bytes);
    if (d.ok) {
      nextTickMs ??= Math.ceil(d.signal.tsMs / tickMs) * tickMs;
      await tickUntil(d.signal.tsMs);
    } else {
      badLines++;
      await write(io.stderr, `${JSON.stringify({ line, error: d.code, reason: d.reason })}\n`);
    }
    pending.push({ offset: String(offset++), value: bytes });
    if (pending.length >= 1000) await flush();
  }
  await flush();
  if (nextTickMs !== undefined) await tickUntil(nextTickMs);
  progress?.done();
  if (out !== io.stdout) {
    (out as WriteStream).end();
    await once(out, 'finish');
  }
  const totals = await windows.totals(rt.config.id);
  return { signals: totals.signals ?? 0, deadLetters: badLines, alerts: new Set(published.map((a) => a.id)).size, events: eventCount, ...(redis && { redisPrefix: prefix }) };
}
