import { randomUUID } from 'node:crypto';
import type { Logger } from '../shared/logger.js';
import type { Lease } from '../windows/lease.js';
import { closeOnce, sleep, within } from '../shared/once.js';
import type { AlertPublisher, AlertStore, OutboxEvent } from './alert-store.js';

export interface OutboxRelayOptions {
  store: AlertStore;
  publisher: AlertPublisher;
  /** Each pipeline and the Kafka topic its alert events go to. */
  pipelines: readonly { id: string; topic: string }[];
  logger: Logger;
  /** A publish not acknowledged within this long counts as failed for now (default 5000). */
  publishTimeoutMs?: number;
  /** How often the outbox is looked at when nothing wakes the relay (default 1000). */
  idleMs?: number;
  /** Longest wait between attempts while publishing fails (default 30000). */
  maxBackoffMs?: number;
  /** Events read from the outbox at a time (default 100). */
  batchSize?: number;
  /** How long close() keeps publishing what is left (default: publishTimeoutMs). */
  closeGraceMs?: number;
  /**
   * Several processes relay one outbox: only the holder of a pipeline's lease ("relay:<pipeline>")
   * publishes its events, or each process would send every event. Without it, this relay assumes
   * it is the only one.
   */
  lease?: Lease;
}

class PublishTimeoutError extends Error {}

/**
 * Drains the alert outbox to the publisher (the Kafka alerts topic), oldest first, and removes
 * each event once published. Ticks only write to the outbox, so a slow or absent broker never
 * holds detection back; while publishing fails the relay retries with backoff, and nothing is
 * lost. Of several processes, one relays a pipeline's outbox at a time (see `lease`). An event is
 * published again only when its first send failed or outlived the process or its lease:
 * receivers drop copies by the event id.
 */
export class OutboxRelay {
  private readonly timeoutMs: number;
  private readonly idleMs: number;
  private readonly maxBackoffMs: number;
  private readonly batchSize: number;
  private wakeUp = new AbortController();
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private draining: Promise<number> | undefined;
  private stopped = false;
  /** A send that outlived its timeout: awaited (not sent again) before anything else goes out. */
  private inFlight: { event: OutboxEvent; pipeline: string; sent: Promise<void> } | undefined;
  private readonly owner = `${process.pid}-${randomUUID()}`;

  constructor(private readonly opts: OutboxRelayOptions) {
    this.timeoutMs = opts.publishTimeoutMs ?? 5000;
    this.idleMs = opts.idleMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000;
    this.batchSize = opts.batchSize ?? 100;
  }

  /** Starts draining in the background. */
  start(): void {
    this.loop ??= this.run();
  }

  /** New events are in the outbox: look now rather than at the next poll. */
  wake(): void {
    this.wakeUp.abort();
  }

  private async run(): Promise<void> {
    let backoffMs = 0;
    while (!this.stopped) {
      try {
        await this.drain();
        backoffMs = 0;
      } catch (err) {
        backoffMs = Math.min(this.maxBackoffMs, Math.max(250, backoffMs * 2));
        this.opts.logger.warn({ err, retryInMs: backoffMs }, 'publishing alert events failed; they stay in the outbox and are retried');
      }
      if (this.stopped) return;
      // A wake-up cuts an idle wait short, not a backoff: a failing broker is not hammered.
      const signal = this.wakeUp.signal;
      await sleep(backoffMs || this.idleMs, backoffMs ? this.stopping.signal : AbortSignal.any([signal, this.stopping.signal]));
      if (signal.aborted) this.wakeUp = new AbortController();
    }
  }

  /**
   * Publishes every event in the outbox now; resolves with how many went out, rejects on the
   * first failure (the failed event and those after it stay in the outbox). Calls are serialized.
   */
  drain(): Promise<number> {
    this.draining ??= this.drainOnce().finally(() => (this.draining = undefined));
    return this.draining;
  }

  private async drainOnce(): Promise<number> {
    let sent = 0;
    if (this.inFlight) {
      const { event, pipeline, sent: pending } = this.inFlight;
      try {
        await this.withTimeout(pending);
      } catch (err) {
        if (err instanceof PublishTimeoutError) throw err;
        this.inFlight = undefined; // it failed: it goes again below, from the outbox
      }
      if (this.inFlight) {
        this.inFlight = undefined;
        await this.opts.store.ackEvents(pipeline, [event]);
        sent++;
      }
    }
    for (const { id: pipeline, topic } of this.opts.pipelines) {
      if (!(await this.holdsLease(pipeline))) continue;
      for (;;) {
        const events = await this.opts.store.pendingEvents(pipeline, this.batchSize);
        if (events.length === 0) break;
        const done: OutboxEvent[] = [];
        try {
          for (const event of events) {
            if (!(await this.holdsLease(pipeline))) return sent;
            const publishing = this.opts.publisher.publish(topic, { type: event.type, alert: event.alert, eventId: event.eventId });
            try {
              await this.withTimeout(publishing);
            } catch (err) {
              if (err instanceof PublishTimeoutError) this.inFlight = { event, pipeline, sent: publishing };
              throw err;
            }
            done.push(event);
          }
        } finally {
          await this.opts.store.ackEvents(pipeline, done);
          sent += done.length;
        }
      }
    }
    return sent;
  }

  /** Takes or extends this relay's lease on a pipeline's outbox; true while it holds it. */
  private async holdsLease(pipeline: string): Promise<boolean> {
    if (!this.opts.lease) return true;
    // Longer than one publish may take, so a holder that is still sending keeps it.
    return (await this.opts.lease.acquire(`relay:${pipeline}`, this.owner, Math.max(3 * this.timeoutMs, 5000))) !== undefined;
  }

  private withTimeout(p: Promise<void>): Promise<void> {
    return within(p, this.timeoutMs, () => new PublishTimeoutError(`no ack within ${this.timeoutMs} ms`));
  }

  /** Stops the background loop after one last drain, given at most closeGraceMs; what is left stays in the outbox. */
  close = closeOnce(async () => {
    const graceMs = this.opts.closeGraceMs ?? this.timeoutMs;
    this.stopped = true;
    this.stopping.abort();
    await this.loop?.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([this.drain(), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    } catch (err) {
      this.opts.logger.warn({ err }, 'alert events left in the outbox at shutdown; the next process publishes them');
    } finally {
      clearTimeout(timer);
    }
    // The next relay need not wait for the lease to expire.
    for (const { id } of this.opts.pipelines) await this.opts.lease?.release(`relay:${id}`, this.owner).catch(() => undefined);
  });
}
