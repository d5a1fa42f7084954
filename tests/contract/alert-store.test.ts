import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { describeContract, type ContractHooks } from '../_util/contract.js';
import { alertEventId, type Alert, type AlertStatus } from '../../src/alerts/alert.js';
import { iso, makeAlert, MIN, T0 } from '../_util/alerts.js';
import type { AlertStore } from '../../src/alerts/alert-store.js';
import { alertId } from '../../src/alerts/lifecycle.js';
import { acknowledge, addNote, assign, giveFeedback, resolve } from '../../src/alerts/alert-actions.js';
import { MemoryAlertStore } from '../../src/alerts/memory-alert-store.js';
import { RedisAlertStore } from '../../src/alerts/redis-alert-store.js';
import { ManualClock } from '../../src/shared/clock.js';
import { LeaseLostError } from '../../src/shared/errors.js';
import { createKeys, leaseKey } from '../../src/windows/keys.js';
import { MemoryLease, RedisLease, type Lease } from '../../src/windows/lease.js';
import { createTestRedis, deleteKeys, uniqueId } from '../_util/services.js';

/** The same alert, later, with a new status. */
function moved(a: Alert, status: AlertStatus, updatedMs: number): Alert {
  return { ...a, status, updated_at: iso(updatedMs), resolved_at: status === 'resolved' ? iso(updatedMs) : a.resolved_at };
}

const PIPELINES = ['high-harm', 'scams'] as const;
const ids = (alerts: Alert[]) => alerts.map((a) => a.id);


/** A store, and the lease its fenced writes are checked against. */
interface StoreHarness {
  store: AlertStore;
  lease: Lease;
  close(): Promise<void>;
}

const TICK = 'tick:high-harm';

/** The behaviour every AlertStore must show; run once per implementation. Pipelines: "high-harm" and "scams". */
function describeAlertStoreContract(name: string, factory: () => StoreHarness, hooks: ContractHooks = {}): void {
  describeContract(`${name} (AlertStore contract)`, factory, hooks, (current) => {
    let store: AlertStore;
    let lease: Lease;
    beforeEach(() => {
      ({ store, lease } = current());
    });

    describe('opening, fencing and the outbox', () => {
      it('opens an alert once: saving the same opening again (a retried tick) writes nothing and queues no second event', async () => {
        const a = makeAlert();
        expect(await store.save(a, 'opened', 600)).toBe(true);
        expect(await store.save({ ...a, summary: 'again' }, 'opened', 600)).toBe(false);
        expect(await store.get(a.id)).toEqual(a);
        expect((await store.pendingEvents('high-harm', 10)).map((e) => [e.type, e.alert.id])).toEqual([['opened', a.id]]);
      });

      it('does not open a second alert on a series that has one open', async () => {
        const first = makeAlert({ openedMs: T0 });
        const second = makeAlert({ openedMs: T0 + MIN });
        expect(first.id).not.toBe(second.id);
        await store.save(first, 'opened', 600);
        expect(await store.save(second, 'opened', 600)).toBe(false);
        expect(ids(await store.listOpen('high-harm'))).toEqual([first.id]);
        expect(await store.get(second.id)).toBeUndefined();
        // Once resolved, the series can open again.
        await store.save(moved(first, 'resolved', T0 + 2 * MIN), 'resolved', 0);
        expect(await store.save(second, 'opened', 600)).toBe(true);
        expect(ids(await store.listOpen('high-harm'))).toEqual([second.id]);
      });

      it('writes under a fence only while the lease holds its token', async () => {
        const stale = (await lease.acquire(TICK, 'worker-a', 30_000))!;
        const a = makeAlert();
        expect(await store.save(a, 'opened', 600, { lease: TICK, token: stale })).toBe(true);
        // The lease moves: the old holder's writes are refused, and nothing of them lands.
        await lease.release(TICK, 'worker-a');
        const fresh = (await lease.acquire(TICK, 'worker-b', 30_000))!;
        const update = moved(a, 'open', T0 + MIN);
        await expect(store.save(update, 'updated', 600, { lease: TICK, token: stale })).rejects.toMatchObject({ code: 'LEASE_LOST' });
        await expect(store.save(makeAlert({ series: 'extremism' }), 'opened', 600, { lease: TICK, token: stale })).rejects.toBeInstanceOf(LeaseLostError);
        expect(await store.get(a.id)).toEqual(a);
        expect(await store.listOpen('high-harm')).toEqual([a]);
        expect((await store.pendingEvents('high-harm', 10)).map((e) => e.type)).toEqual(['opened']);
        // The new holder writes.
        expect(await store.save(update, 'updated', 600, { lease: TICK, token: fresh })).toBe(true);
        expect(await store.get(a.id)).toEqual(update);
      });

      it('refuses a fenced write once the lease is released', async () => {
        const token = (await lease.acquire(TICK, 'worker-a', 30_000))!;
        await lease.release(TICK, 'worker-a');
        await expect(store.save(makeAlert(), 'opened', 600, { lease: TICK, token })).rejects.toMatchObject({ code: 'LEASE_LOST' });
        expect(await store.list({ limit: 10 })).toEqual({ alerts: [], nextCursor: null });
      });

      it('keeps every event in the outbox, oldest first with a stable id, until acknowledged', async () => {
        const a = makeAlert();
        const b = makeAlert({ pipeline: 'scams', series: 'scams-fraud' });
        await store.save(a, 'opened', 600);
        await store.save(b, 'opened', 600);
        await store.save(moved(a, 'open', T0 + MIN), undefined, 600); // no event
        await store.save(moved(a, 'resolved', T0 + 2 * MIN), 'resolved', 600);

        const pending = await store.pendingEvents('high-harm', 10);
        expect(pending.map((e) => [e.type, e.alert.status, e.eventId])).toEqual([
          ['opened', 'open', alertEventId(a, 'opened')],
          ['resolved', 'resolved', alertEventId(moved(a, 'resolved', T0 + 2 * MIN), 'resolved')],
        ]);
        expect(new Set(pending.map((e) => e.eventId)).size).toBe(2);
        expect((await store.pendingEvents('high-harm', 1)).map((e) => e.type)).toEqual(['opened']);
        // Reading does not consume; acknowledging does, and only what was acknowledged.
        expect(await store.pendingEvents('high-harm', 10)).toEqual(pending);
        await store.ackEvents('high-harm', pending.slice(0, 1));
        expect((await store.pendingEvents('high-harm', 10)).map((e) => e.eventId)).toEqual([pending[1]!.eventId]);
        expect((await store.pendingEvents('scams', 10)).map((e) => e.alert.id)).toEqual([b.id]);
      });
    });

    describe("people's actions", () => {
      /** The alert as the next detection tick computes it, from a snapshot taken before any action. */
      const ticked = (snapshot: Alert, ms: number): Alert => ({ ...snapshot, updated_at: iso(ms), window: { ...snapshot.window, observed: 90 }, significant_ticks: snapshot.significant_ticks + 1 });

      it('acknowledges an open alert: status, who and when, an "updated" event; acknowledging again changes nothing', async () => {
        const a = makeAlert();
        await store.save(a, 'opened', 600);
        const r = await store.act(a.id, acknowledge('ana', T0 + MIN), 600);
        expect(r?.outcome.kind).toBe('changed');
        const stored = await store.get(a.id);
        expect(stored).toMatchObject({ status: 'acknowledged', acknowledged_at: iso(T0 + MIN), acknowledged_by: 'ana', updated_at: iso(T0 + MIN) });
        expect(ids(await store.listOpen('high-harm'))).toEqual([a.id]);
        expect(ids((await store.list({ limit: 10, status: 'acknowledged' })).alerts)).toEqual([a.id]);
        expect((await store.act(a.id, acknowledge('bo', T0 + 2 * MIN), 600))?.outcome.kind).toBe('unchanged');
        expect((await store.get(a.id))?.acknowledged_by).toBe('ana');
        const pending = await store.pendingEvents('high-harm', 10);
        expect(pending.map((e) => [e.type, e.alert.status])).toEqual([
          ['opened', 'open'],
          ['updated', 'acknowledged'],
        ]);
      });

      it('refuses to acknowledge a resolved alert and writes nothing', async () => {
        const a = makeAlert();
        await store.save(a, 'opened', 600);
        await store.act(a.id, resolve('ana', T0 + MIN, 'duplicate of an earlier alert'), 600);
        const r = await store.act(a.id, acknowledge('bo', T0 + 2 * MIN), 600);
        expect(r?.outcome).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/resolved .* by ana/) });
        expect(await store.get(a.id)).toMatchObject({ status: 'resolved', resolved_by: 'ana', acknowledged_by: null, notes: [{ by: 'ana', text: 'duplicate of an earlier alert' }] });
        expect((await store.pendingEvents('high-harm', 10)).map((e) => e.type)).toEqual(['opened', 'resolved']);
      });

      it('keeps assignments, notes and feedback in order, each version after the previous one even within one millisecond', async () => {
        const a = makeAlert();
        await store.save(a, 'opened', 600);
        const at = T0 + MIN;
        await store.act(a.id, assign('lead', at, 'ana'), 600);
        await store.act(a.id, addNote('ana', at, 'checking the region'), 600);
        await store.act(a.id, assign('lead', at, 'bo'), 600);
        await store.act(a.id, giveFeedback('bo', at, 'false_alarm', 'a meme, not self-harm'), 600);
        const stored = (await store.get(a.id))!;
        expect(stored.assignee).toBe('bo');
        expect(stored.assignments.map((x) => x.assignee)).toEqual(['ana', 'bo']);
        expect(stored.notes).toEqual([{ at: iso(at + 1), by: 'ana', text: 'checking the region' }]);
        expect(stored.feedback).toEqual([{ at: iso(at + 3), by: 'bo', verdict: 'false_alarm', note: 'a meme, not self-harm' }]);
        const events = await store.pendingEvents('high-harm', 10);
        expect(new Set(events.map((e) => e.eventId)).size).toBe(5);
      });

      it('returns undefined for an unknown alert', async () => {
        expect(await store.act(alertId('high-harm', 'self-harm', T0 + 7), acknowledge('ana', T0), 600)).toBeUndefined();
      });

      it('a detection save from an older snapshot keeps the acknowledgement, assignee, notes and feedback', async () => {
        const a = makeAlert();
        await store.save(a, 'opened', 600);
        const [snapshot] = await store.listOpen('high-harm');
        await store.act(a.id, acknowledge('ana', T0 + MIN), 600);
        await store.act(a.id, assign('ana', T0 + MIN, 'bo'), 600);
        await store.act(a.id, addNote('bo', T0 + MIN, 'on it'), 600);
        await store.act(a.id, giveFeedback('bo', T0 + MIN, 'true_trend', null), 600);
        expect(await store.save(ticked(snapshot!, T0 + 2 * MIN), 'updated', 600)).toBe(true);
        expect(await store.get(a.id)).toMatchObject({
          status: 'acknowledged',
          acknowledged_by: 'ana',
          assignee: 'bo',
          notes: [{ text: 'on it' }],
          feedback: [{ verdict: 'true_trend' }],
          window: { observed: 90 },
          significant_ticks: 2,
          updated_at: iso(T0 + 2 * MIN),
        });
        // Detection resolving later keeps them too, and says nobody resolved it by hand.
        const [again] = await store.listOpen('high-harm');
        await store.save(moved(again!, 'resolved', T0 + 3 * MIN), 'resolved', 600);
        expect(await store.get(a.id)).toMatchObject({ status: 'resolved', resolved_by: null, acknowledged_by: 'ana', notes: [{ text: 'on it' }] });
      });

      it('a manual resolve sticks: a detection save from an older snapshot writes nothing, and the cooldown holds', async () => {
        const a = makeAlert();
        await store.save(a, 'opened', 600);
        const [snapshot] = await store.listOpen('high-harm');
        await store.act(a.id, resolve('ana', T0 + MIN), 600);
        expect(await store.save(ticked(snapshot!, T0 + 2 * MIN), 'updated', 600)).toBe(false);
        expect(await store.save({ ...snapshot!, quiet_ticks: 1 }, undefined, 600)).toBe(false);
        expect(await store.get(a.id)).toMatchObject({ status: 'resolved', resolved_by: 'ana', resolved_at: iso(T0 + MIN), window: { observed: 50 } });
        expect(await store.listOpen('high-harm')).toEqual([]);
        expect(await store.inCooldown('high-harm', a.series, T0 + 5 * MIN)).toBe(true);
        expect(await store.inCooldown('high-harm', a.series, T0 + MIN + 600_000)).toBe(false);
        expect((await store.pendingEvents('high-harm', 10)).map((e) => [e.type, e.alert.resolved_by])).toEqual([
          ['opened', null],
          ['resolved', 'ana'],
        ]);
      });

      it('loses no action when many land at once', async () => {
        const a = makeAlert();
        await store.save(a, 'opened', 600);
        await Promise.all([
          ...Array.from({ length: 12 }, (_, i) => store.act(a.id, addNote(`analyst-${i}`, T0 + MIN, `note ${i}`), 600)),
          store.act(a.id, acknowledge('ana', T0 + MIN), 600),
          ...Array.from({ length: 5 }, (_, i) => store.save(ticked(a, T0 + MIN + i), 'updated', 600)),
        ]);
        const stored = (await store.get(a.id))!;
        expect(stored.notes.map((n) => n.text).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `note ${i}`).sort());
        expect(stored).toMatchObject({ status: 'acknowledged', acknowledged_by: 'ana', significant_ticks: 2 });
      });
    });

    describe('get', () => {
      it('returns a saved alert as it was saved', async () => {
        const a = makeAlert({ series: 'self-harm|region=US-TX' });
        await store.save(a, 'opened', 600);
        expect(await store.get(a.id)).toEqual(a);
      });

      it('returns the latest saved version', async () => {
        const a = makeAlert();
        await store.save(a, 'opened', 600);
        const acked = moved(a, 'acknowledged', T0 + MIN);
        await store.save(acked, 'updated', 600);
        expect(await store.get(a.id)).toEqual(acked);
        expect(ids((await store.list({ limit: 10 })).alerts)).toEqual([a.id]);
      });

      it('returns undefined for an unknown id', async () => {
        await store.save(makeAlert(), 'opened', 600);
        expect(await store.get(alertId('high-harm', 'self-harm', T0 + 1))).toBeUndefined();
        expect(await store.get('not-an-alert-id')).toBeUndefined();
      });
    });

    describe('list', () => {
      let all: Alert[];

      /** Eight alerts over two pipelines, topics, dimensions and every status. */
      async function saveMix(): Promise<void> {
        all = [
          makeAlert({ series: 'self-harm', openedMs: T0 + 1 * MIN }),
          makeAlert({ series: 'self-harm|region=US-TX', openedMs: T0 + 2 * MIN, status: 'acknowledged' }),
          makeAlert({ series: 'self-harm|region=GB', openedMs: T0 + 3 * MIN, status: 'resolved' }),
          makeAlert({ series: 'extremism|region=US-TX', openedMs: T0 + 4 * MIN, severity: 'high' }),
          makeAlert({ series: 'extremism', openedMs: T0 + 5 * MIN, status: 'resolved', severity: 'high', kind: 'emerging_term' }),
          makeAlert({ pipeline: 'scams', series: 'scams-fraud', openedMs: T0 + 6 * MIN }),
          makeAlert({ pipeline: 'scams', series: 'scams-fraud|region=US-TX', openedMs: T0 + 7 * MIN, status: 'resolved' }),
          makeAlert({ series: 'self-harm|surface=live', openedMs: T0 + 8 * MIN }),
        ];
        // Saved out of order: the order of a list comes from updated_at, not from insertion.
        for (const i of [3, 0, 7, 5, 1, 6, 4, 2]) await store.save(all[i]!, 'opened', 600);
      }
      const newestFirst = (pick: (a: Alert) => boolean) => ids(all.filter(pick).reverse());

      it('lists newest update first', async () => {
        await saveMix();
        const page = await store.list({ limit: 50 });
        expect(ids(page.alerts)).toEqual(newestFirst(() => true));
        expect(page.nextCursor).toBeNull();
      });

      it('orders by the latest update, not by when the alert opened', async () => {
        await saveMix();
        const bumped = moved(all[0]!, 'open', T0 + 30 * MIN);
        await store.save(bumped, 'updated', 600);
        expect(ids((await store.list({ limit: 2 })).alerts)).toEqual([bumped.id, all[7]!.id]);
      });

      it.each([
        ['status', { status: 'resolved' as const }, (a: Alert) => a.status === 'resolved'],
        ['topic', { topic: 'self-harm' }, (a: Alert) => a.topic === 'self-harm'],
        ['pipeline', { pipeline: 'scams' }, (a: Alert) => a.pipeline === 'scams'],
        ['dimension', { dimension: 'region=US-TX' }, (a: Alert) => a.dimension === 'region=US-TX'],
        ['severity', { severity: 'high' as const }, (a: Alert) => a.severity === 'high'],
        ['kind', { kind: 'emerging_term' as const }, (a: Alert) => a.kind === 'emerging_term'],
        ['sinceMs (inclusive)', { sinceMs: T0 + 5 * MIN }, (a: Alert) => Date.parse(a.updated_at) >= T0 + 5 * MIN],
        ['untilMs (exclusive)', { untilMs: T0 + 5 * MIN }, (a: Alert) => Date.parse(a.updated_at) < T0 + 5 * MIN],
        ['a time range', { sinceMs: T0 + 2 * MIN, untilMs: T0 + 6 * MIN }, (a: Alert) => Date.parse(a.updated_at) >= T0 + 2 * MIN && Date.parse(a.updated_at) < T0 + 6 * MIN],
        ['several filters at once', { topic: 'self-harm', status: 'open' as const }, (a: Alert) => a.topic === 'self-harm' && a.status === 'open'],
      ])('filters by %s', async (_, filter, pick) => {
        await saveMix();
        const expected = newestFirst(pick);
        expect(expected.length).toBeGreaterThan(0);
        expect(expected.length).toBeLessThan(all.length);
        expect(ids((await store.list({ limit: 50, ...filter })).alerts)).toEqual(expected);
      });

      it('returns nothing for a pipeline it does not know', async () => {
        await saveMix();
        expect(await store.list({ limit: 50, pipeline: 'nope' })).toEqual({ alerts: [], nextCursor: null });
      });

      it('pages through every alert exactly once, in order, including alerts updated in the same millisecond', async () => {
        const saved: Alert[] = [];
        for (let i = 0; i < 25; i++) {
          const pipeline = PIPELINES[i % 2]!;
          // Groups of three share an update time, so paging must break ties by id.
          const a = makeAlert({ pipeline, series: `topic-${i}`, openedMs: T0 + i, updatedMs: T0 + Math.floor(i / 3) * MIN });
          saved.push(a);
          await store.save(a, 'opened', 600);
        }
        const expected = ids((await store.list({ limit: 100 })).alerts);
        expect([...expected].sort()).toEqual(ids(saved).sort());

        const pages: string[][] = [];
        let cursor: string | undefined;
        do {
          const page = await store.list({ limit: 7, ...(cursor && { cursor }) });
          pages.push(ids(page.alerts));
          cursor = page.nextCursor ?? undefined;
        } while (cursor && pages.length < 10);
        expect(pages.map((p) => p.length)).toEqual([7, 7, 7, 4]);
        expect(pages.flat()).toEqual(expected);
      });

      it('pages through a time range with a cursor, never past its end', async () => {
        for (let i = 0; i < 20; i++) await store.save(makeAlert({ series: `topic-${i}`, openedMs: T0 + i * MIN }), 'opened', 600);
        const range = { sinceMs: T0 + 3 * MIN, untilMs: T0 + 15 * MIN };
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.list({ limit: 5, ...range, ...(cursor && { cursor }) });
          seen.push(...ids(page.alerts));
          cursor = page.nextCursor ?? undefined;
          pages++;
        } while (cursor && pages < 10);
        expect(seen).toEqual(Array.from({ length: 12 }, (_, k) => makeAlert({ series: `topic-${14 - k}`, openedMs: T0 + (14 - k) * MIN }).id));
        expect(pages).toBe(3);
      });

      it('pages through a filtered list', async () => {
        for (let i = 0; i < 25; i++) {
          const status: AlertStatus = i % 3 === 0 ? 'resolved' : 'open';
          await store.save(makeAlert({ series: `topic-${i}`, openedMs: T0 + i * MIN, status }), 'opened', 600);
        }
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.list({ limit: 7, status: 'open', ...(cursor && { cursor }) });
          expect(page.alerts.every((a) => a.status === 'open')).toBe(true);
          seen.push(...ids(page.alerts));
          cursor = page.nextCursor ?? undefined;
          pages++;
        } while (cursor && pages < 10);
        expect(pages).toBe(3); // 16 open alerts: 7 + 7 + 2
        expect(seen).toEqual(ids((await store.list({ limit: 100, status: 'open' })).alerts));
        expect(new Set(seen).size).toBe(16);
      });
    });

    describe('open alerts', () => {
      it("lists a pipeline's open and acknowledged alerts, not resolved ones", async () => {
        const open = makeAlert({ series: 'self-harm' });
        const acked = makeAlert({ series: 'self-harm|region=US-TX', status: 'acknowledged' });
        const resolvedLater = makeAlert({ series: 'extremism' });
        const otherPipeline = makeAlert({ pipeline: 'scams', series: 'scams-fraud' });
        for (const a of [open, acked, resolvedLater, otherPipeline]) await store.save(a, 'opened', 600);
        await store.save(moved(resolvedLater, 'resolved', T0 + 10 * MIN), 'resolved', 600);

        expect(ids(await store.listOpen('high-harm')).sort()).toEqual([open.id, acked.id].sort());
        expect(ids(await store.listOpen('scams'))).toEqual([otherPipeline.id]);
      });

      it('shows the latest version of an open alert', async () => {
        const a = makeAlert();
        await store.save(a, 'opened', 600);
        const acked = moved(a, 'acknowledged', T0 + MIN);
        await store.save(acked, 'updated', 600);
        expect(await store.listOpen('high-harm')).toEqual([acked]);
      });
    });

    describe('cooldown', () => {
      it('holds from the resolve time for cooldownSec, in event time', async () => {
        const a = makeAlert({ series: 'self-harm|region=US-TX' });
        await store.save(a, 'opened', 600);
        expect(await store.inCooldown('high-harm', a.series, T0 + MIN)).toBe(false);

        const resolvedAt = T0 + 20 * MIN;
        await store.save(moved(a, 'resolved', resolvedAt), 'resolved', 600);
        expect(await store.inCooldown('high-harm', a.series, resolvedAt)).toBe(true);
        expect(await store.inCooldown('high-harm', a.series, resolvedAt + 600_000 - 1)).toBe(true);
        expect(await store.inCooldown('high-harm', a.series, resolvedAt + 600_000)).toBe(false);
        expect(await store.inCooldown('high-harm', a.series, resolvedAt + 24 * 60 * MIN)).toBe(false);
      });

      it('covers only the resolved series of that pipeline', async () => {
        const a = makeAlert({ series: 'self-harm' });
        await store.save(moved(a, 'resolved', T0), 'resolved', 600);
        expect(await store.inCooldown('high-harm', 'self-harm', T0 + MIN)).toBe(true);
        expect(await store.inCooldown('high-harm', 'self-harm|region=US-TX', T0 + MIN)).toBe(false);
        expect(await store.inCooldown('scams', 'self-harm', T0 + MIN)).toBe(false);
      });

      it('does not start when cooldownSec is 0', async () => {
        const a = makeAlert();
        await store.save(moved(a, 'resolved', T0), 'resolved', 0);
        expect(await store.inCooldown('high-harm', a.series, T0)).toBe(false);
      });
    });

    describe('the event stream (for streaming readers)', () => {
      const both = [...PIPELINES];

      it('starts empty, then reads every event after a position in order, published or not, across pipelines', async () => {
        const start = await store.eventHeads(both);
        expect(start).toEqual({ 'high-harm': '0-0', scams: '0-0' });
        const a = makeAlert();
        const b = makeAlert({ pipeline: 'scams', series: 'scams-fraud' });
        await store.save(a, 'opened', 600);
        await store.save(b, 'opened', 600);
        await store.save(moved(a, 'open', T0 + MIN), undefined, 600); // no event
        await store.save(moved(a, 'acknowledged', T0 + 2 * MIN), 'updated', 600);
        await store.save(moved(a, 'resolved', T0 + 3 * MIN), 'resolved', 600);
        // Publishing (draining the outbox) does not take events off the stream.
        await store.ackEvents('high-harm', await store.pendingEvents('high-harm', 10));

        const all = await store.readEvents(start, 100);
        // In order within each pipeline (two pipelines' events within one millisecond have no order between them).
        const harm = all.filter((e) => e.pipeline === 'high-harm');
        const scams = all.filter((e) => e.pipeline === 'scams');
        expect(all).toHaveLength(4);
        expect(harm.map((e) => [e.type, e.alert.id, e.alert.status])).toEqual([
          ['opened', a.id, 'open'],
          ['updated', a.id, 'acknowledged'],
          ['resolved', a.id, 'resolved'],
        ]);
        expect(scams.map((e) => [e.type, e.alert.id])).toEqual([['opened', b.id]]);
        expect(harm[0]!.eventId).toBe(alertEventId(a, 'opened'));
        expect(all[0]!.eventId).toBe(harm[0]!.eventId);

        // The heads are the newest positions: nothing after them.
        const heads = await store.eventHeads(both);
        expect(heads).toEqual({ 'high-harm': harm[2]!.position, scams: scams[0]!.position });
        expect(await store.readEvents(heads, 100)).toEqual([]);

        // Resuming after an event gives exactly the ones that follow it, pipeline by pipeline.
        const resumed = await store.readEvents({ 'high-harm': harm[1]!.position, scams: scams[0]!.position }, 100);
        expect(resumed.map((e) => e.eventId)).toEqual([harm[2]!.eventId]);
        // Only the cursor's pipelines are read, and at most `limit` events.
        expect((await store.readEvents({ scams: '0-0' }, 100)).map((e) => e.alert.id)).toEqual([b.id]);
        expect((await store.readEvents(start, 2)).map((e) => e.eventId)).toEqual(all.slice(0, 2).map((e) => e.eventId));
      });

      it('wakes a waiting reader when an event is saved, and tells a timeout or an abort apart from it', async () => {
        const heads = await store.eventHeads(both);
        expect(await store.waitForEvents(heads, 50)).toBe(false);
        const aborted = new AbortController();
        const waiting = store.waitForEvents(heads, 60_000, aborted.signal);
        aborted.abort();
        expect(await waiting).toBe(false);

        const woken = store.waitForEvents(heads, 60_000);
        await store.save(makeAlert({ pipeline: 'scams', series: 'scams-fraud' }), 'opened', 600);
        expect(await woken).toBe(true);
        // An event already there answers at once.
        expect(await store.waitForEvents(heads, 60_000)).toBe(true);
        expect((await store.readEvents(heads, 10)).map((e) => e.type)).toEqual(['opened']);
      });
    });
  });
}

describeAlertStoreContract('MemoryAlertStore', () => {
  const lease = new MemoryLease(new ManualClock(T0));
  const store = new MemoryAlertStore({ fenceCheck: lease.holds });
  return { store, lease, close: () => store.close() };
});

{
  const redis = createTestRedis();
  let prefixes: string[] = [];
  describeAlertStoreContract(
    'RedisAlertStore',
    () => {
      const prefix = uniqueId('swa');
      prefixes.push(prefix);
      const store = new RedisAlertStore(redis, prefix, PIPELINES, new Map([['high-harm', 7 * 86_400]]));
      return { store, lease: new RedisLease(redis, (name) => leaseKey(prefix, name)), close: () => store.close() };
    },
    {
      afterEach: async () => {
        for (const p of prefixes) await deleteKeys(redis, p);
        prefixes = [];
      },
      afterAll: async () => {
        await redis.quit();
      },
    },
  );
}

describe('RedisAlertStore (Redis only)', () => {
  const redis = createTestRedis();
  let prefix: string;
  let store: RedisAlertStore;

  beforeEach(() => {
    prefix = uniqueId('swr');
    store = new RedisAlertStore(redis, prefix, PIPELINES, new Map([['high-harm', 7 * 86_400]]));
  });
  afterEach(async () => {
    await store.close();
    await deleteKeys(redis, prefix);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('gives every alert key a TTL', async () => {
    const a = makeAlert({ series: 'self-harm' });
    const b = makeAlert({ series: 'self-harm|region=US-TX' });
    const c = makeAlert({ pipeline: 'scams', series: 'scams-fraud' });
    for (const x of [a, b, c]) await store.save(x, 'opened', 600);
    await store.save(moved(a, 'resolved', T0 + MIN), 'resolved', 600);
    await store.save(moved(b, 'acknowledged', T0 + MIN), undefined, 600);

    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    // Per pipeline: alert JSON, index, open hash, event stream; plus the cooldown marker.
    expect(keys.length).toBeGreaterThanOrEqual(9);
    const ttls = await Promise.all(keys.map(async (key) => [key, await redis.ttl(key)] as const));
    expect(ttls.filter(([, ttl]) => ttl <= 0)).toEqual([]);
  });

  /** Counts the alert bodies a call reads from Redis. */
  async function alertsRead<T>(fn: () => Promise<T>): Promise<{ result: T; read: number }> {
    const mget = vi.spyOn(redis, 'mget');
    try {
      const result = await fn();
      const read = mget.mock.calls.reduce((n, args) => n + (Array.isArray(args[0]) ? args[0].length : args.length), 0);
      return { result, read };
    } finally {
      mget.mockRestore();
    }
  }

  it('reads only the alerts of the filtered topic, status or dimension, however many others there are', async () => {
    // Three old scam alerts, then 300 newer self-harm ones in other regions: a filter on the
    // scams must not walk the self-harm alerts.
    const scams = [0, 1, 2].map((i) => makeAlert({ series: `scams-fraud|region=R${i}`, openedMs: T0 + i * MIN }));
    for (const a of scams) await store.save(a, 'opened', 600);
    await store.save(moved(scams[1]!, 'resolved', T0 + 5 * MIN), 'resolved', 600);
    for (let i = 0; i < 300; i++) await store.save(makeAlert({ series: `self-harm|region=X${i}`, openedMs: T0 + 10 * MIN + i * 1000 }), 'opened', 600);

    const byTopic = await alertsRead(() => store.list({ limit: 50, topic: 'scams-fraud' }));
    expect(ids(byTopic.result.alerts).sort()).toEqual(ids(scams).sort());
    expect(byTopic.read).toBe(3);
    const byBoth = await alertsRead(() => store.list({ limit: 50, topic: 'scams-fraud', status: 'resolved' }));
    expect(ids(byBoth.result.alerts)).toEqual([scams[1]!.id]);
    expect(byBoth.read).toBe(1);
    const byDimension = await alertsRead(() => store.list({ limit: 50, dimension: 'region=R2' }));
    expect(ids(byDimension.result.alerts)).toEqual([scams[2]!.id]);
    expect(byDimension.read).toBe(1);
    // A status change moves the alert between status indexes: nothing stale is served.
    expect(ids((await store.list({ limit: 50, status: 'open', topic: 'scams-fraud' })).alerts).sort()).toEqual([scams[0]!.id, scams[2]!.id].sort());
  });

  it('indexes alerts saved before the filter indexes existed, once, on the first filtered query', async () => {
    const a = makeAlert({ series: 'self-harm|region=GB' });
    const b = makeAlert({ series: 'extremism', status: 'resolved' });
    await store.save(a, 'opened', 600);
    await store.save(b, 'opened', 600);
    // As an older surgewatch left them: alerts and the main index only.
    const k = createKeys(prefix, 'high-harm');
    await redis.del(k.alertIndexesReady, k.alertsByTopic('self-harm'), k.alertsByTopic('extremism'), k.alertsByStatus('open'), k.alertsByStatus('resolved'), k.alertsByDimension('region=GB'), k.alertsByDimension('all'));
    const fresh = new RedisAlertStore(redis, prefix, PIPELINES, new Map([['high-harm', 7 * 86_400]]));
    expect(ids((await fresh.list({ limit: 10, topic: 'self-harm' })).alerts)).toEqual([a.id]);
    expect(ids((await fresh.list({ limit: 10, status: 'resolved' })).alerts)).toEqual([b.id]);
    expect(ids((await fresh.list({ limit: 10, dimension: 'all' })).alerts)).toEqual([b.id]);
    expect(await redis.exists(k.alertIndexesReady)).toBe(1);
  });

  it('reads an alert stored before the people fields existed, and acts on it', async () => {
    const a = makeAlert();
    const old: Record<string, unknown> = { ...a };
    for (const f of ['acknowledged_at', 'acknowledged_by', 'assignee', 'assignments', 'resolved_by', 'notes', 'feedback', 'escalations']) delete old[f];
    const k = createKeys(prefix, 'high-harm');
    await redis.set(k.alert(a.id), JSON.stringify(old), 'EX', 3600);
    await redis.zadd(k.alertIndex, T0, a.id);
    await redis.hset(k.openAlerts, a.series, a.id);
    expect(await store.get(a.id)).toEqual(a);
    expect(await store.listOpen('high-harm')).toEqual([a]);
    expect((await store.list({ limit: 5 })).alerts).toEqual([a]);
    await store.act(a.id, acknowledge('ana', T0 + MIN), 600);
    expect(await store.get(a.id)).toMatchObject({ status: 'acknowledged', acknowledged_by: 'ana', notes: [], feedback: [] });
  });

  it('appends each saved event to the pipeline event stream, and nothing for a save without one', async () => {
    const events = createKeys(prefix, 'high-harm').alertEvents;
    const a = makeAlert();
    await store.save(a, 'opened', 600);
    expect(await redis.xlen(events)).toBe(1);
    await store.save(moved(a, 'open', T0 + MIN), undefined, 600);
    expect(await redis.xlen(events)).toBe(1);
    await store.save(moved(a, 'resolved', T0 + 2 * MIN), 'resolved', 600);
    expect(await redis.xlen(events)).toBe(2);

    const entries = await redis.xrange(events, '-', '+');
    // Each entry's fields come as [name, value, name, value, ...].
    const fields = entries.map(([, f]) => Object.fromEntries(Array.from({ length: f.length / 2 }, (_, i) => [f[2 * i]!, f[2 * i + 1]!])));
    expect(fields.map((f) => [f.type, f.id])).toEqual([
      ['opened', a.id],
      ['resolved', a.id],
    ]);
    expect((JSON.parse(fields[1]!.alert!) as Alert).status).toBe('resolved');
  });
});
