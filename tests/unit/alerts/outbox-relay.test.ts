import { describe, expect, it } from 'vitest';
import type { Alert, AlertEventType } from '../../../src/alerts/alert.js';
import type { AlertPublisher } from '../../../src/alerts/alert-store.js';
import { MemoryAlertStore } from '../../../src/alerts/memory-alert-store.js';
import { OutboxRelay } from '../../../src/alerts/outbox-relay.js';
import { silentLogger } from '../../../src/shared/logger.js';

const T0 = Date.UTC(2026, 10, 21, 12);

function alert(n: number): Alert {
  const iso = new Date(T0 + n).toISOString();
  return { id: `al_${n.toString(16).padStart(4, '0')}`, pipeline: 'p', series: `s${n}`, status: 'open', updated_at: iso, resolved_at: null } as Alert;
}

/** A publisher whose sends are settled by the test, one by one. */
function controlledPublisher() {
  const sends: { eventId: string; settle: (err?: Error) => void }[] = [];
  const publisher: AlertPublisher = {
    publish: (_topic, e: { type: AlertEventType; alert: Alert; eventId: string }) =>
      new Promise<void>((resolve, reject) => sends.push({ eventId: e.eventId, settle: (err) => (err ? reject(err) : resolve()) })),
    close: async () => undefined,
  };
  return { publisher, sends };
}

describe('OutboxRelay', () => {
  it('sends again an event whose publish failed, and removes each event once published', async () => {
    const store = new MemoryAlertStore();
    for (let i = 0; i < 3; i++) await store.save(alert(i), 'opened', 0);
    const { publisher, sends } = controlledPublisher();
    const relay = new OutboxRelay({ store, publisher, pipelines: [{ id: 'p', topic: 'alerts' }], logger: silentLogger, publishTimeoutMs: 60_000 });

    const first = relay.drain();
    await vitestWaitFor(() => sends.length === 1);
    sends[0]!.settle();
    await vitestWaitFor(() => sends.length === 2);
    sends[1]!.settle(new Error('broker unavailable'));
    await expect(first).rejects.toThrow('broker unavailable');
    expect((await store.pendingEvents('p', 10)).map((e) => e.alert.id)).toEqual([alert(1).id, alert(2).id]);

    const second = relay.drain();
    await vitestWaitFor(() => sends.length === 3);
    sends[2]!.settle();
    await vitestWaitFor(() => sends.length === 4);
    sends[3]!.settle();
    expect(await second).toBe(2);
    expect(sends.map((s) => s.eventId)).toEqual([`${alert(0).id}:opened:${T0}`, `${alert(1).id}:opened:${T0 + 1}`, `${alert(1).id}:opened:${T0 + 1}`, `${alert(2).id}:opened:${T0 + 2}`]);
    expect(await store.pendingEvents('p', 10)).toEqual([]);
  });

  it('does not send again an event whose publish outlived its timeout while that publish may still land', async () => {
    const store = new MemoryAlertStore();
    await store.save(alert(0), 'opened', 0);
    const { publisher, sends } = controlledPublisher();
    const relay = new OutboxRelay({ store, publisher, pipelines: [{ id: 'p', topic: 'alerts' }], logger: silentLogger, publishTimeoutMs: 20 });

    await expect(relay.drain()).rejects.toThrow(/no ack within 20 ms/);
    await expect(relay.drain()).rejects.toThrow(/no ack within 20 ms/);
    expect(sends).toHaveLength(1);
    expect(await store.pendingEvents('p', 10)).toHaveLength(1);
    sends[0]!.settle(); // it landed after all
    expect(await relay.drain()).toBe(1);
    expect(sends).toHaveLength(1);
    expect(await store.pendingEvents('p', 10)).toEqual([]);
  });
});

async function vitestWaitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(cond()).toBe(true);
}
