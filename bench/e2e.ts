/**
 * `npm run bench:e2e`: end to end on the real Kafka and Redis (KAFKA_BROKERS, REDIS_URL; default
 * the local services). Produces a backlog of sample signals (30 minutes of event time) to a fresh
 * topic with 4 partitions, then for 1 and for 2 worker processes (`src/bin/surgewatch.ts`, each
 * run with its own consumer group and Redis prefix):
 * - signals/s from the first counted signal to the whole backlog counted, and consumer lag over time;
 * - alert latency: a surge of self-harm signals is produced live, and each alert it opens is timed
 *   from the first surge signal to its arrival on the alerts topic (p50, p99);
 * - worker RSS (peak, per process) and the Redis memory of the run's keys;
 * and, on the same topic, the rate of a kafkajs consumer that does nothing, so the overhead is a ratio.
 * Writes bench/results/e2e.json and prints it. Figures, no assertions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { ManualClock } from '../src/shared/clock.js';
import { silentLogger } from '../src/shared/logger.js';
import { RedisWindowStore } from '../src/windows/redis-window-store.js';
import { SampleStreamSource } from '../src/worker/sample-stream.js';
import { deleteKeys } from '../tests/_util/services.js';

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const BACKLOG = Number(process.env.BENCH_E2E_SIGNALS ?? 150_000);
const WORKER_COUNTS = (process.env.BENCH_E2E_WORKERS ?? '1,2').split(',').map(Number);
const PARTITIONS = 4;
const SURGE_REGIONS = ['US', 'GB', 'BR', 'IN'];
const SURGE_PER_SEC = 40;
const SURGE_MAX_MS = 150_000;
const PIPELINE = 'e2e';

const id = `e2e${randomBytes(4).toString('hex')}`;
const topic = `${id}-signals`;
const kafka = new Kafka({ clientId: id, brokers: BROKERS, logLevel: logLevel.NOTHING });
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;

function quantile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

async function sumHigh(admin: Admin): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
}

async function produceBacklog(): Promise<number> {
  const now = Date.now();
  const fromMs = now - 31 * 60_000;
  const toMs = now - 60_000;
  // No scheduled surges in the backlog: it is the baseline.
  const gen = new SampleStreamSource({ clock: new ManualClock(now), logger: silentLogger, ratePerSec: (BACKLOG / (toMs - fromMs)) * 1000, surgeRatePerSec: 0, seed: 11 });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let n = 0;
  for (let t = fromMs; t < toMs; t += 10_000) {
    const signals = gen.generate(t, Math.min(t + 10_000, toMs)) as { id: string; author: string }[];
    for (const s of signals) s.id = `${id}-${s.id}`;
    for (let i = 0; i < signals.length; i += 1000) {
      await producer.send({ topic, messages: signals.slice(i, i + 1000).map((s) => ({ key: s.author, value: JSON.stringify(s) })) });
    }
    n += signals.length;
  }
  await producer.disconnect();
  return n;
}

/** The rate of a kafkajs consumer that reads the first `count` records and does nothing else. */
async function rawConsumeRate(count: number): Promise<{ signalsPerSec: number; seconds: number }> {
  const consumer = kafka.consumer({ groupId: `${id}-raw`, sessionTimeout: 10_000 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let seen = 0;
  let firstAt = 0;
  let doneAt = 0;
  await new Promise<void>((done) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        if (seen === 0) firstAt = performance.now();
        seen += batch.messages.length;
        if (seen >= count && doneAt === 0) {
          doneAt = performance.now();
          done();
        }
      },
    });
  });
  await consumer.disconnect();
  const seconds = (doneAt - firstAt) / 1000;
  return { signalsPerSec: round(count / seconds), seconds: round(seconds, 2) };
}

function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

async function redisBytes(prefix: string): Promise<{ keys: number; bytes: number }> {
  let cursor = '0';
  let keys = 0;
  let bytes = 0;
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    const pipe = redis.pipeline();
    for (const k of batch) pipe.call('MEMORY', 'USAGE', k);
    for (const [, usage] of (await pipe.exec()) ?? []) bytes += Number(usage ?? 0);
    keys += batch.length;
  } while (cursor !== '0');
  return { keys, bytes };
}

async function runWorkers(workers: number, admin: Admin) {
  const run = `${id}-w${workers}`;
  const store = new RedisWindowStore(redis, run);
  // Everything on the topic so far: the backlog, and the surges of earlier runs.
  const backlog = await sumHigh(admin);
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-e2e-'));
  const alertsTopic = `${run}-alerts`;
  writeFileSync(
    join(dir, `${PIPELINE}.yaml`),
    [`id: ${PIPELINE}`, `source: { topic: ${topic} }`, 'topics: all', `alerts: { kafkaTopic: ${alertsTopic} }`].join('\n'),
  );
  await admin.createTopics({ topics: [{ topic: alertsTopic, numPartitions: 1 }], waitForLeaders: true });
  const env = {
    ...process.env,
    KAFKA_BROKERS: BROKERS.join(','),
    REDIS_URL,
    REDIS_KEY_PREFIX: run,
    AUTHOR_HASH_KEY: 'bench-e2e-hash-key-0123',
    KAFKA_GROUP_ID: run,
    KAFKA_DEAD_LETTER_TOPIC: `${id}-dlq`,
    SURGEWATCH_PIPELINES_DIR: dir,
    SURGEWATCH_ROLE: 'worker',
    SURGEWATCH_SEMANTIC_MODE: 'off',
    SURGEWATCH_SAMPLE_STREAM: 'off',
    LOG_LEVEL: 'warn',
  };

  // Alerts, timed on arrival.
  const alerts: { at: number; dimension: string; topic: string }[] = [];
  const alertConsumer = kafka.consumer({ groupId: `${run}-alerts-reader`, sessionTimeout: 10_000 });
  await alertConsumer.connect();
  await alertConsumer.subscribe({ topics: [alertsTopic], fromBeginning: true });
  await alertConsumer.run({
    eachMessage: async ({ message }) => {
      const e = JSON.parse(message.value!.toString()) as { event: string; alert: { topic: string; dimension?: string } };
      if (e.event === 'opened') alerts.push({ at: performance.now(), topic: e.alert.topic, dimension: e.alert.dimension ?? '' });
    },
  });

  const startedAt = performance.now();
  const children: ChildProcess[] = [];
  for (let i = 0; i < workers; i++) {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/surgewatch.ts'], { cwd: resolve('.'), env, stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(child);
  }
  const peakRssKb = children.map(() => 0);
  const lag: { sec: number; lag: number }[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      children.forEach((c, i) => (peakRssKb[i] = Math.max(peakRssKb[i]!, rssKb(c.pid!))));
      try {
        const committed = await admin.fetchOffsets({ groupId: `${run}.${PIPELINE}`, topics: [topic] });
        const high = await admin.fetchTopicOffsets(topic);
        const done = new Map(committed[0]!.partitions.map((p) => [p.partition, Math.max(0, Number(p.offset))]));
        lag.push({ sec: round((performance.now() - startedAt) / 1000, 1), lag: high.reduce((n, p) => n + Number(p.high) - (done.get(p.partition) ?? 0), 0) });
      } catch {
        // The group may not exist yet.
      }
      await sleep(1000);
    }
  })();

  // Throughput over the backlog.
  let firstAt = 0;
  let counted = 0;
  while (counted < backlog) {
    counted = (await store.totals(PIPELINE)).signals ?? 0;
    if (counted > 0 && firstAt === 0) firstAt = performance.now();
    await sleep(100);
  }
  const drainedAt = performance.now();

  // Live surge: self-harm in a few regions until every region raised an alert (or time runs out).
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const surgeStart = performance.now();
  const alertsBefore = alerts.length;
  let surgeSeq = 0;
  const regionAlerted = () => SURGE_REGIONS.every((r) => alerts.slice(alertsBefore).some((a) => a.dimension === `region=${r}`));
  while (!regionAlerted() && performance.now() - surgeStart < SURGE_MAX_MS) {
    const messages = Array.from({ length: Math.round(SURGE_PER_SEC / 4) * SURGE_REGIONS.length }, () => {
      const i = surgeSeq++;
      const author = `surger-${i % 300}`;
      const signal = { id: `${run}-surge-${i}`, ts: Date.now(), text: 'i want to kill myself tonight', surface: 'post', lang: 'en', region: SURGE_REGIONS[i % SURGE_REGIONS.length], author };
      return { key: author, value: JSON.stringify(signal) };
    });
    await producer.send({ topic, messages });
    await sleep(250);
  }
  const surgeSec = (performance.now() - surgeStart) / 1000;
  await producer.disconnect();
  const surgeAlerts = alerts.slice(alertsBefore).filter((a) => a.topic === 'self-harm');
  const latencies = surgeAlerts.map((a) => (a.at - surgeStart) / 1000);

  sampling = false;
  await sampler;
  const memory = await redisBytes(run);
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
  await alertConsumer.disconnect();
  await deleteKeys(redis, run);
  await admin.deleteTopics({ topics: [alertsTopic] }).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });

  const seconds = (drainedAt - firstAt) / 1000;
  return {
    workers,
    signals: backlog,
    signalsPerSec: round(backlog / seconds),
    drainSeconds: round(seconds, 2),
    startToDrainedSeconds: round((drainedAt - startedAt) / 1000, 2),
    maxLag: Math.max(0, ...lag.map((l) => l.lag)),
    lag,
    surge: {
      signalsProduced: surgeSeq,
      seconds: round(surgeSec, 1),
      alertsOpened: surgeAlerts.length,
      regionsAlerted: SURGE_REGIONS.filter((r) => surgeAlerts.some((a) => a.dimension === `region=${r}`)),
      alertLatencySec: { p50: round(quantile(latencies, 0.5) ?? NaN, 2), p99: round(quantile(latencies, 0.99) ?? NaN, 2), all: latencies.map((l) => round(l, 2)) },
    },
    peakRssMb: peakRssKb.map((kb) => round(kb / 1024, 1)),
    redis: { keys: memory.keys, mb: round(memory.bytes / 2 ** 20, 2) },
  };
}

async function main(): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }, { topic: `${id}-dlq`, numPartitions: 1 }], waitForLeaders: true });
  try {
    console.error(`bench:e2e: producing ${BACKLOG} signals to ${topic} (${PARTITIONS} partitions)`);
    const produced = await produceBacklog();
    const backlog = await sumHigh(admin);
    console.error(`bench:e2e: ${produced} produced; raw kafkajs consumer`);
    const raw = await rawConsumeRate(backlog);
    const runs = [];
    for (const workers of WORKER_COUNTS) {
      console.error(`bench:e2e: ${workers} worker process(es)`);
      runs.push(await runWorkers(workers, admin));
    }
    const one = runs.find((r) => r.workers === 1);
    const two = runs.find((r) => r.workers === 2);
    const result = {
      at: new Date().toISOString(),
      node: process.version,
      cores: (await import('node:os')).availableParallelism(),
      topic: { partitions: PARTITIONS, backlog },
      semantic: 'off (SURGEWATCH_SEMANTIC_MODE=off: lexicon path)',
      rawConsumer: raw,
      runs,
      ratios: {
        pipelineToRaw: Object.fromEntries(runs.map((r) => [`${r.workers}w`, round(r.signalsPerSec / raw.signalsPerSec, 3)])),
        ...(one && two && { twoWorkersToOne: round(two.signalsPerSec / one.signalsPerSec, 3) }),
      },
    };
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/e2e.json', `${JSON.stringify(result, null, 2)}\n`);
    const brief = { ...result, runs: runs.map((r) => ({ ...r, lag: `${r.lag.length} samples (in the JSON file)`, surge: { ...r.surge, alertLatencySec: { ...r.surge.alertLatencySec, all: undefined } } })) };
    console.log(JSON.stringify(brief, null, 2));
    console.log('written to bench/results/e2e.json');
  } finally {
    await admin.deleteTopics({ topics: [topic, `${id}-dlq`] }).catch(() => undefined);
    await admin.disconnect();
    await redis.quit();
  }
}

await main();
