/**
 * `npm run bench:api` (also part of `npm run bench`): the alert list over HTTP.
 * The API runs in this process (one event loop: one core) on 1,000 stored alerts, in memory and,
 * when REDIS_URL (default redis://127.0.0.1:6379) answers, on Redis. A worker thread sends
 * GET /v1/alerts?limit=50 from BENCH_API_CLIENTS (default 32) keep-alive clients for
 * BENCH_API_REQUESTS (default 5,000) requests, without and with a current If-None-Match (a 304).
 * Prints requests/s and latency percentiles; asserts nothing.
 *
 * Then the alert stream's fan-out: BENCH_SSE_CLIENTS (default 1,000) clients connected to
 * GET /v1/alerts/stream (in a worker thread), one alert saved per round (BENCH_SSE_ROUNDS,
 * default 5) on the memory store; prints the delivery time to the clients (p50, p99, last) and
 * deliveries per second of the API's one core.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { AlertStore } from '../src/alerts/alert-store.js';
import { MemoryAlertStore } from '../src/alerts/memory-alert-store.js';
import { RedisAlertStore } from '../src/alerts/redis-alert-store.js';
import { buildApi } from '../src/api/app.js';
import { ApiKeyring } from '../src/api/auth.js';
import { MemoryAuditLog } from '../src/audit/audit-log.js';
import { hashKey } from '../src/config/api-keys.js';
import { pipelineSchema } from '../src/config/pipeline-schema.js';
import { systemClock } from '../src/shared/clock.js';
import { MemoryWindowStore } from '../src/windows/memory-window-store.js';
import { makeAlert, MIN, T0 } from '../tests/_util/alerts.js';

const KEY = 'bench-key-0123456789abcdefghij';
const ALERTS = 1000;

interface Job {
  url: string;
  headers: Record<string, string>;
  requests: number;
  clients: number;
}

/** The load generator, run in a worker thread (plain JS: the worker needs no TypeScript loader). */
const CLIENT = `
const { parentPort, workerData: job } = require('node:worker_threads');
(async () => {
  const ms = [];
  const statuses = {};
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: job.clients }, async () => {
    while (next++ < job.requests) {
      const t = performance.now();
      const res = await fetch(job.url, { headers: job.headers });
      await res.arrayBuffer();
      ms.push(performance.now() - t);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    }
  }));
  parentPort.postMessage({ ms, statuses, seconds: (performance.now() - started) / 1000 });
})();
`;

function run(job: Job): Promise<{ ms: number[]; statuses: Record<number, number>; seconds: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(CLIENT, { eval: true, workerData: job });
    w.once('message', (r: { ms: number[]; statuses: Record<number, number>; seconds: number }) => void w.terminate().then(() => resolve(r)));
    w.once('error', reject);
  });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function bench(name: string, alerts: AlertStore): Promise<void> {
  for (let i = 0; i < ALERTS; i++) {
    await alerts.save(makeAlert({ series: `self-harm|region=R${i}`, openedMs: T0 + i * MIN, severity: i % 3 ? 'critical' : 'high' }), 'opened', 0);
  }
  const app = buildApi({
    alerts,
    audit: new MemoryAuditLog(systemClock),
    keys: new ApiKeyring([{ name: 'bench', role: 'viewer', sha256: hashKey(KEY) }]),
    checks: {},
    mode: 'service',
    logger: pino({ level: 'silent' }),
    http: { rateLimitPerMin: 0 },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/v1/alerts?limit=50`;
  const headers = { authorization: `Bearer ${KEY}` };
  const tag = (await fetch(url, { headers })).headers.get('etag')!;
  const requests = Number(process.env.BENCH_API_REQUESTS ?? 5000);
  const clients = Number(process.env.BENCH_API_CLIENTS ?? 32);
  for (const [label, h] of [['no ETag (200, 50 alerts)', headers], ['If-None-Match hit (304)', { ...headers, 'if-none-match': tag }]] as const) {
    await run({ url, headers: h, requests: Math.min(500, requests), clients }); // warm-up
    const r = await run({ url, headers: h, requests, clients });
    const sorted = [...r.ms].sort((a, b) => a - b);
    console.log(
      `${name.padEnd(7)} ${label.padEnd(26)} ${(requests / r.seconds).toFixed(0).padStart(6)} req/s  p50 ${pct(sorted, 50).toFixed(2)} ms  p99 ${pct(sorted, 99).toFixed(2)} ms  statuses ${JSON.stringify(r.statuses)}`,
    );
  }
  await app.close();
}

/**
 * The stream's clients, in a worker thread: all connect, say "ready", then note (on the clock
 * shared by threads: timeOrigin + now) when each sees an event of the round, and report once all did.
 */
const SSE_CLIENTS = `
const { parentPort, workerData: job } = require('node:worker_threads');
const http = require('node:http');
const clock = () => performance.timeOrigin + performance.now();
(async () => {
  let round = [];
  let expected = 1;
  const seen = new Array(job.clients).fill(0);
  const requests = [];
  await Promise.all(Array.from({ length: job.clients }, (_, i) => new Promise((resolve, reject) => {
    const req = http.get(job.url, { headers: job.headers, agent: false }, (res) => {
      res.setEncoding('utf8');
      res.once('data', () => resolve()); // ": connected"
      res.on('data', (chunk) => {
        const events = (chunk.match(/^event: /gm) || []).length;
        if (events === 0) return;
        seen[i] += events;
        if (seen[i] >= expected) {
          round.push(clock());
          if (round.length === job.clients) { parentPort.postMessage({ round }); round = []; expected++; }
        }
      });
      res.on('error', () => {});
    });
    req.on('error', reject);
    requests.push(req);
  })));
  parentPort.postMessage({ ready: true });
  parentPort.on('message', (m) => { if (m === 'stop') { for (const r of requests) r.destroy(); parentPort.postMessage({ stopped: true }); } });
})();
`;

async function benchStream(): Promise<void> {
  const clients = Number(process.env.BENCH_SSE_CLIENTS ?? 1000);
  const rounds = Number(process.env.BENCH_SSE_ROUNDS ?? 5);
  const alerts = new MemoryAlertStore();
  const app = buildApi({
    alerts,
    audit: new MemoryAuditLog(systemClock),
    keys: new ApiKeyring([{ name: 'bench', role: 'viewer', sha256: hashKey(KEY) }]),
    checks: {},
    mode: 'embedded',
    logger: pino({ level: 'silent' }),
    http: { rateLimitPerMin: 0 },
    detail: { windows: new MemoryWindowStore(), pipelines: [pipelineSchema.parse({ id: 'high-harm' })], clock: systemClock, heartbeatMs: 60_000 },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const worker = new Worker(SSE_CLIENTS, { eval: true, workerData: { url: `http://127.0.0.1:${port}/v1/alerts/stream`, headers: { authorization: `Bearer ${KEY}` }, clients } });
  const messages: { ready?: boolean; round?: number[]; stopped?: boolean }[] = [];
  let wake: (() => void) | undefined;
  worker.on('message', (m: (typeof messages)[number]) => {
    messages.push(m);
    wake?.();
  });
  const nextMessage = async () => {
    while (messages.length === 0) await new Promise<void>((r) => (wake = r));
    return messages.shift()!;
  };
  const connectStart = performance.now();
  await nextMessage();
  const connectMs = performance.now() - connectStart;
  const delays: number[] = [];
  const lasts: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const savedAt = performance.timeOrigin + performance.now();
    await alerts.save(makeAlert({ series: `self-harm|region=S${i}`, openedMs: T0 + i * MIN }), 'opened', 0);
    const { round } = await nextMessage();
    const ms = round!.map((t) => t - savedAt);
    delays.push(...ms);
    lasts.push(Math.max(...ms));
  }
  worker.postMessage('stop');
  await nextMessage();
  await worker.terminate();
  await app.close();
  const sorted = [...delays].sort((a, b) => a - b);
  const last = [...lasts].sort((a, b) => a - b);
  const medianLast = last[Math.floor(last.length / 2)]!;
  console.log(
    `stream  fan-out to ${clients} clients, ${rounds} alerts: connect all ${connectMs.toFixed(0)} ms; delivery p50 ${pct(sorted, 50).toFixed(1)} ms  p99 ${pct(sorted, 99).toFixed(1)} ms  ` +
      `last client (median of rounds) ${medianLast.toFixed(1)} ms  ->  ${((clients / medianLast) * 1000).toFixed(0)} deliveries/s on the API's one core`,
  );
}

async function main(): Promise<void> {
  if (process.env.BENCH_API_ONLY === 'stream') return benchStream();
  console.log(`alert list over HTTP (${ALERTS} alerts stored, pages of 50; the API on one event loop; ${availableParallelism()} cores on this machine, the client in a worker thread)`);
  await bench('memory', new MemoryAlertStore());
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
  } catch {
    console.log('redis   skipped: REDIS_URL does not answer');
    return benchStream();
  }
  const prefix = `benchapi${process.pid}`;
  try {
    await bench('redis', new RedisAlertStore(redis, prefix, ['high-harm'], new Map()));
  } finally {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
  await benchStream();
}

await main();
