/**
 * `npm run bench:webhooks`: the cost of webhook delivery.
 *   1. what the detection tick pays per alert event: WebhookDelivery.publish with three routes
 *      (routing, rendering json and Slack bodies, buffering), in microseconds per event; the
 *      queue here never answers, so that only the tick's side is timed;
 *   2. deliveries/s to a local HTTP receiver (node:http, answering 200) through the in-memory
 *      queue and through the Redis queue with one and with two workers (8 requests in flight
 *      per worker), each alert version delivered once (checked by idempotency key).
 * Redis at REDIS_URL (default redis://127.0.0.1:6379); keys go under a prefix unique to the run
 * and are deleted at the end. Prints figures; asserts nothing. BENCH_WEBHOOK_EVENTS (default
 * 2000) sets the number of alert events in section 2.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { noActions, type Alert, type AlertEvent } from '../src/alerts/alert.js';
import { MemoryDeliveryQueue, type DeliveryQueue } from '../src/alerts/delivery-queue.js';
import { alertId, summarize } from '../src/alerts/lifecycle.js';
import { RedisDeliveryQueue } from '../src/alerts/redis-delivery-queue.js';
import { WebhookDelivery } from '../src/alerts/webhook-delivery.js';
import { resolveWebhooks } from '../src/config/load.js';
import { pipelineSchema } from '../src/config/pipeline-schema.js';
import type { WebhookRoute } from '../src/config/webhook-schema.js';
import { systemClock } from '../src/shared/clock.js';
import { silentLogger } from '../src/shared/logger.js';

const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 2000);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const T0 = Date.now();

function alert(i: number): Alert {
  const series = `self-harm|region=R${i}`;
  const figures = { observed: 60, expected: 4, ratio: 15, z: 9, p: 1e-12, q: 1e-10 };
  const iso = new Date(T0).toISOString();
  const a: Alert = {
    id: alertId('high-harm', series, T0 + i), kind: 'spike', pipeline: 'high-harm', topic: 'self-harm', topic_name: 'Self-harm', dimension: `region=R${i}`, series,
    status: 'open', severity: 'critical', base_severity: 'critical', coordinated: false, opened_at: iso, updated_at: iso, resolved_at: null,
    window: { ...figures, start: iso, end: iso, seconds: 60 }, peak: { ...figures, at: iso },
    baseline: { seconds: 1800, mean_per_bucket: 0.6, bucket_seconds: 10, seasonal_factor: 1 }, distinct_authors: 40,
    top_terms: [{ term: 'kill myself', count: 60 }], sample_signal_ids: ['s1', 's2', 's3', 's4', 's5'], summary: '', list_version: 'abcdef012345',
    suggested_term: null, opened_observed: 60, significant_ticks: 1, quiet_ticks: 0, ...noActions(),
  };
  a.summary = summarize(a);
  return a;
}

function routesTo(urls: string[], formats: ('json' | 'slack')[]): WebhookRoute[] {
  const hooks = urls.map((url, i) => ({ id: `hook-${i}`, url, format: formats[i], secret: { env: 'S' } }));
  const { routes, problems } = resolveWebhooks(pipelineSchema.parse({ id: 'high-harm', alerts: { webhooks: hooks } }), '.', { S: 'bench-secret-0123456789abcdef' }, []);
  if (problems.length > 0) throw new Error(JSON.stringify(problems));
  return routes;
}

async function publishCost(): Promise<void> {
  const routes = routesTo(['http://127.0.0.1:9/a', 'http://127.0.0.1:9/b', 'http://127.0.0.1:9/c'], ['json', 'json', 'slack']);
  const stuck: DeliveryQueue = Object.assign(new MemoryDeliveryQueue(), { enqueue: () => new Promise<never>(() => {}) });
  const d = new WebhookDelivery({ queue: stuck, routes, clock: systemClock, logger: silentLogger, maxBuffered: 1_000_000 });
  const events: AlertEvent[] = Array.from({ length: 5000 }, (_, i) => ({ type: 'opened', alert: alert(i) }));
  for (const e of events.slice(0, 500)) await d.publish('alerts', e); // warm-up
  const started = performance.now();
  for (const e of events.slice(500)) await d.publish('alerts', e);
  const us = ((performance.now() - started) * 1000) / (events.length - 500);
  console.log(`publish (3 routes: 2 json, 1 slack): ${us.toFixed(1)} µs per alert event`);
}

async function throughput(name: string, queues: DeliveryQueue[]): Promise<void> {
  const seen = new Map<string, number>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const key = String(req.headers['idempotency-key']);
      seen.set(key, (seen.get(key) ?? 0) + 1);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const routes = routesTo([url], ['json']);
  const workers = queues.map((queue) => new WebhookDelivery({ queue, routes, clock: systemClock, logger: silentLogger, maxBuffered: EVENTS, pollMs: 50 }));
  for (let i = 0; i < EVENTS; i++) await workers[0]!.publish('alerts', { type: 'opened', alert: alert(i) });
  await workers[0]!.flushed();
  const started = performance.now();
  for (const w of workers) w.start();
  while (seen.size < EVENTS) await new Promise((r) => setTimeout(r, 5));
  const sec = (performance.now() - started) / 1000;
  for (const w of workers) await w.close();
  server.closeAllConnections();
  server.close();
  const twice = [...seen.values()].filter((n) => n > 1).length;
  if (name) console.log(`${name}: ${EVENTS} deliveries in ${sec.toFixed(2)} s = ${Math.round(EVENTS / sec)}/s; delivered more than once: ${twice}`);
}

async function main(): Promise<void> {
  await publishCost();
  // The first run also warms up the HTTP client (connections, JIT); its figure is not printed.
  await throughput('', [new MemoryDeliveryQueue({ maxPending: EVENTS })]);
  await throughput('memory queue, 1 worker', [new MemoryDeliveryQueue({ maxPending: EVENTS })]);
  const prefix = `bench${randomBytes(4).toString('hex')}`;
  const clients = [new Redis(REDIS_URL), new Redis(REDIS_URL)];
  try {
    await throughput('Redis queue, 1 worker', [new RedisDeliveryQueue(clients[0]!, `${prefix}a`, { maxPending: EVENTS })]);
    await throughput('Redis queue, 2 workers', clients.map((c) => new RedisDeliveryQueue(c, `${prefix}b`, { maxPending: EVENTS })));
  } finally {
    for (const p of [`${prefix}a`, `${prefix}b`]) {
      const keys = await clients[0]!.keys(`${p}:*`);
      if (keys.length > 0) await clients[0]!.del(...keys);
    }
    for (const c of clients) await c.quit();
  }
}

await main();
