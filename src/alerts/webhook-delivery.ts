import type { WebhookRoute } from '../config/webhook-schema.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import { closeOnce, sleep } from '../shared/once.js';
import type { AlertEvent, AlertEventType } from './alert.js';
import type { AlertPublisher } from './alert-store.js';
import type { ClaimedDelivery, DeadPage, DeliveryQueue, DeliveryRecord } from './delivery-queue.js';
import { deliveriesFor, type DeliveryContent } from './webhook-payload.js';
import { SIGNATURE_HEADER, signatureHeader } from './webhook-signature.js';
import { readMetric, type MetricsRegistry } from '../shared/metrics.js';

/** One HTTP POST; resolves with the status, rejects on a network error or timeout. */
export type HttpSender = (request: { url: string; headers: Record<string, string>; body: string; timeoutMs: number }) => Promise<{ status: number; retryAfterSec?: number }>;

export interface WebhookDeliveryOptions {
  queue: DeliveryQueue;
  routes: readonly WebhookRoute[];
  clock: Clock;
  logger: Logger;
  /** Default: fetch. */
  send?: HttpSender;
  /** 0..1, for the backoff's jitter. Default Math.random. */
  random?: () => number;
  /** Deliveries sent at once by this process. */
  concurrency?: number;
  /** How often the queue is looked at for due deliveries (new ones wake it at once). */
  pollMs?: number;
  /** Accepted deliveries waiting to be queued at most (while the queue is unreachable); the oldest are dropped. */
  maxBuffered?: number;
}

/** Counters since start, for /metrics. */
export interface DeliveryStats {
  queued: number;
  duplicates: number;
  /** Not queued: the buffer or the queue was full. */
  dropped: number;
  delivered: number;
  failedAttempts: number;
  deadLettered: number;
  replayed: number;
}

/** Statuses retried like network errors; every other 3xx and 4xx is final (a wrong URL, a refused key). */
const RETRIABLE_4XX = new Set([408, 409, 425, 429]);
const SETTLE_MARGIN_MS = 30_000;
const REQUEUE_DELAY_MS = 1000;

const isFinal = (status: number) => (status >= 300 && status < 400) || (status >= 400 && status < 500 && !RETRIABLE_4XX.has(status));

/** Delay before the attempt after `attempt` failed ones: exponential, capped, with equal jitter (half to all of it). */
export function backoffMs(attempt: number, backoff: { initialMs: number; maxMs: number }, random: () => number): number {
  const full = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(full / 2 + random() * (full / 2));
}

function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d{1,6}$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - Date.now()) / 1000)) : undefined;
}

/** POST with fetch; redirects are not followed (a 3xx is a misconfigured URL), the body is discarded. */
export const fetchSender: HttpSender = async ({ url, headers, body, timeoutMs }) => {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    // Never the message of the cause: it may name the host, and the URL may carry a token.
    throw new Error(e.name === 'TimeoutError' ? `timeout after ${timeoutMs} ms` : `network error: ${e.cause?.code ?? 'fetch failed'}`);
  }
  await res.body?.cancel().catch(() => undefined);
  const retryAfterSec = parseRetryAfter(res.headers.get('retry-after'));
  return retryAfterSec === undefined ? { status: res.status } : { status: res.status, retryAfterSec };
};

/**
 * Webhook delivery of alert events. As an AlertPublisher it only renders the deliveries of an
 * event and buffers them (bounded): detection never waits for a receiver or for the queue.
 * A background loop moves the buffer into the durable queue and sends what is due, with
 * retries (exponential backoff with jitter) until a delivery succeeds or becomes a dead letter.
 */
export class WebhookDelivery implements AlertPublisher {
  readonly stats: DeliveryStats = { queued: 0, duplicates: 0, dropped: 0, delivered: 0, failedAttempts: 0, deadLettered: 0, replayed: 0 };
  private readonly routes: Map<string, WebhookRoute>;
  private readonly send: HttpSender;
  private readonly random: () => number;
  private readonly concurrency: number;
  private readonly pollMs: number;
  private readonly maxBuffered: number;
  private readonly leaseMs: number;
  private buffer: DeliveryContent[] = [];
  private flushing: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private lastCounts: { pending: number; dead: number } | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly opts: WebhookDeliveryOptions) {
    this.routes = new Map(opts.routes.map((r) => [`${r.pipeline}/${r.id}`, r]));
    this.send = opts.send ?? fetchSender;
    this.random = opts.random ?? Math.random;
    this.concurrency = opts.concurrency ?? 8;
    this.pollMs = opts.pollMs ?? 1000;
    this.maxBuffered = opts.maxBuffered ?? 1000;
    // A claim outlives the slowest attempt, so that a live worker always settles its own.
    this.leaseMs = Math.max(0, ...opts.routes.map((r) => r.timeoutMs)) + SETTLE_MARGIN_MS;
  }

  /** Takes an alert event: never throws, never waits for I/O. */
  async publish(_topic: string, event: { type: AlertEventType; alert: AlertEvent['alert'] }): Promise<void> {
    if (this.routes.size === 0) return;
    try {
      const deliveries = deliveriesFor(event, [...this.routes.values()], this.opts.clock.now());
      if (deliveries.length === 0) return;
      this.buffer.push(...deliveries);
      const excess = this.buffer.length - this.maxBuffered;
      if (excess > 0) {
        const lost = this.buffer.splice(0, excess);
        this.stats.dropped += lost.length;
        this.opts.logger.error({ deliveries: lost.map((d) => d.id) }, 'webhook delivery buffer full: oldest deliveries dropped');
      }
      this.flushing ??= this.flush().finally(() => (this.flushing = undefined));
    } catch (err) {
      this.opts.logger.error({ err, alert: event.alert.id }, 'rendering webhook deliveries failed');
    }
  }

  /** Moves the buffer into the queue; while the queue cannot be reached, tries again every second. */
  private async flush(): Promise<void> {
    while (this.buffer.length > 0) {
      // Out of the buffer while in flight, so that dropping the oldest never drops this one.
      const d = this.buffer.shift()!;
      try {
        const r = await this.opts.queue.enqueue(d, d.createdAtMs);
        if (r === 'queued') this.stats.queued++;
        else if (r === 'duplicate') this.stats.duplicates++;
        else {
          this.stats.dropped++;
          this.opts.logger.error({ delivery: d.id, webhook: d.webhook, alert: d.alertId }, 'webhook delivery queue full: delivery dropped');
        }
        this.wake?.();
      } catch (err) {
        this.buffer.unshift(d);
        this.opts.logger.warn({ err, waiting: this.buffer.length }, 'queueing webhook deliveries failed; retrying');
        if (this.abort.signal.aborted) return;
        await sleep(REQUEUE_DELAY_MS, this.abort.signal);
      }
    }
  }

  /** Waits until every accepted delivery is in the queue (tests, shutdown). */
  async flushed(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /** Starts sending: claims due deliveries until closed. */
  start(): void {
    this.loop ??= this.run();
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      let n = 0;
      try {
        n = await this.runDue();
      } catch (err) {
        this.opts.logger.warn({ err }, 'webhook delivery round failed');
      }
      if (n === 0 && !this.abort.signal.aborted) {
        this.lastCounts = await this.opts.queue.counts().catch(() => this.lastCounts);
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, this.pollMs);
          function done(): void {
            clearTimeout(t);
            resolve();
          }
          this.wake = done;
        });
        this.wake = undefined;
      }
    }
  }

  /** One round: claims what is due now (up to the concurrency) and attempts it. Returns how many. */
  async runDue(): Promise<number> {
    const claimed = await this.opts.queue.claim(this.opts.clock.now(), this.concurrency, this.leaseMs);
    await Promise.all(claimed.map((d) => this.attempt(d)));
    return claimed.length;
  }

  private async attempt(d: ClaimedDelivery): Promise<void> {
    const log = { delivery: d.id, pipeline: d.pipeline, webhook: d.webhook, alert: d.alertId, attempt: d.attempts };
    const route = this.routes.get(`${d.pipeline}/${d.webhook}`);
    if (!route) {
      await this.settleDead(d, `webhook "${d.webhook}" of pipeline "${d.pipeline}" is not configured`, log);
      return;
    }
    const timestampSec = Math.floor(this.opts.clock.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'surgewatch-webhooks/1',
      'idempotency-key': d.idempotencyKey,
      'x-surgewatch-event': d.event,
      'x-surgewatch-delivery': d.id,
      'x-surgewatch-attempt': String(d.attempts),
    };
    if (route.secret) headers[SIGNATURE_HEADER.toLowerCase()] = signatureHeader(route.secret.reveal(), timestampSec, d.body);

    let error: string;
    let final = false;
    let retryAfterSec: number | undefined;
    try {
      const res = await this.send({ url: route.url.reveal(), headers, body: d.body, timeoutMs: route.timeoutMs });
      if (res.status >= 200 && res.status < 300) {
        if (await this.opts.queue.complete(d)) this.stats.delivered++;
        this.opts.logger.debug(log, 'webhook delivered');
        return;
      }
      error = `HTTP ${res.status}`;
      final = isFinal(res.status);
      retryAfterSec = res.retryAfterSec;
    } catch (err) {
      error = (err as Error).message;
    }
    this.stats.failedAttempts++;
    if (final || d.attempts >= route.maxAttempts) {
      await this.settleDead(d, final ? `${error} (not retried)` : `${error} (after ${d.attempts} attempts)`, log);
      return;
    }
    const delay = Math.min(route.backoff.maxMs, Math.max(backoffMs(d.attempts, route.backoff, this.random), (retryAfterSec ?? 0) * 1000));
    await this.opts.queue.retry(d, this.opts.clock.now() + delay, error);
    this.opts.logger.info({ ...log, error, retryInMs: delay }, 'webhook attempt failed; will retry');
  }

  private async settleDead(d: ClaimedDelivery, error: string, log: Record<string, unknown>): Promise<void> {
    if (await this.opts.queue.kill(d, this.opts.clock.now(), error)) this.stats.deadLettered++;
    this.opts.logger.warn({ ...log, error }, 'webhook delivery is a dead letter');
  }

  /** Dead letters, newest first (admin API). */
  listDead(query: { limit: number; cursor?: string }): Promise<DeadPage> {
    return this.opts.queue.listDead(query);
  }

  /** Queues a dead letter again with fresh attempts (admin API); undefined when there is no such dead letter. */
  async replay(id: string): Promise<DeliveryRecord | undefined> {
    const r = await this.opts.queue.replay(id, this.opts.clock.now());
    if (r) {
      this.stats.replayed++;
      this.wake?.();
    }
    return r;
  }

  /** Registers the delivery figures: counters since start, and the queue's pending and dead deliveries as last seen by the loop. */
  registerMetrics(registry: MetricsRegistry): void {
    const outcomes = ['queued', 'duplicates', 'dropped', 'delivered', 'deadLettered', 'replayed'] as const;
    readMetric(registry, {
      type: 'counter',
      name: 'surgewatch_webhook_deliveries_total',
      help: 'Webhook deliveries by outcome since start.',
      labelNames: ['outcome'],
      read: () => outcomes.map((k) => [{ outcome: k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) }, this.stats[k]] as [{ outcome: string }, number]),
    });
    readMetric(registry, {
      type: 'counter',
      name: 'surgewatch_webhook_failed_attempts_total',
      help: 'Webhook attempts that failed (each retry counts).',
      labelNames: [],
      read: () => [[{}, this.stats.failedAttempts]],
    });
    readMetric(registry, {
      type: 'gauge',
      name: 'surgewatch_webhook_queue',
      help: 'Webhook deliveries pending and dead, as last seen by the sending loop.',
      labelNames: ['state'],
      read: () => (this.lastCounts ? [[{ state: 'pending' }, this.lastCounts.pending], [{ state: 'dead' }, this.lastCounts.dead]] : []),
    });
  }

  /** Stops claiming, lets attempts in flight settle, and queues what is still buffered. */
  close = closeOnce(async () => {
    this.abort.abort();
    this.wake?.();
    await this.loop;
    // A flush in progress gives up after its next failure; then one more try for what is left.
    await this.flushed();
    if (this.buffer.length > 0) await this.flush();
    if (this.buffer.length > 0) this.opts.logger.error({ lost: this.buffer.length }, 'webhook deliveries not queued at shutdown');
  });
}
