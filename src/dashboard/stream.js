// Follows alerts as they open, update and resolve: the SSE stream GET /v1/alerts/stream read
// with fetch + ReadableStream (EventSource cannot send an Authorization header), resumed with
// Last-Event-ID after a drop. A server without the stream route is polled each second instead
// (GET /v1/alerts answers 304 through the browser cache while nothing changed).

import { api, ApiError, authHeaders } from './api.js';

const POLL_MS = 1000;
const LIST_LIMIT = 200;

/** Splits an SSE byte stream into events: { id, event, data }. */
export function createSseParser(onEvent) {
  let buffer = '';
  let pending = { id: undefined, event: 'message', data: [] };
  const line = (l) => {
    if (l === '') {
      if (pending.data.length > 0) onEvent({ id: pending.id, event: pending.event, data: pending.data.join('\n') });
      pending = { id: pending.id, event: 'message', data: [] };
      return;
    }
    if (l.startsWith(':')) return; // heartbeat comment
    const colon = l.indexOf(':');
    const field = colon < 0 ? l : l.slice(0, colon);
    const value = colon < 0 ? '' : l.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') pending.data.push(value);
    else if (field === 'event') pending.event = value;
    else if (field === 'id') pending.id = value;
  };
  return (text) => {
    buffer += text;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    for (const l of lines) line(l);
  };
}

/**
 * Calls onSnapshot(alerts) with the current list, then onEvent(type, alert) for each change;
 * onMode('live' | 'polling' | 'reconnecting' | 'stopped', detail) says how it is following.
 */
export function followAlerts({ onSnapshot, onEvent, onMode }) {
  const abort = new AbortController();
  let lastEventId;
  let stopped = false;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  const snapshot = async () => {
    const { alerts } = await api(`/v1/alerts?limit=${LIST_LIMIT}`, { signal: abort.signal });
    onSnapshot(alerts);
  };

  const poll = async () => {
    onMode('polling');
    while (!stopped) {
      try {
        await snapshot();
        onMode('polling');
      } catch (err) {
        if (stopped || (err instanceof ApiError && err.status === 401)) return;
        onMode('reconnecting', err.message);
      }
      await sleep(POLL_MS);
    }
  };

  const stream = async () => {
    const headers = authHeaders({ accept: 'text/event-stream' });
    if (lastEventId) headers['last-event-id'] = lastEventId;
    const res = await fetch('/v1/alerts/stream', { headers, signal: abort.signal, cache: 'no-store' });
    if (res.status === 401) return 'refused';
    // A server without the stream route answers 404, or 400 where /v1/alerts/:id takes the path.
    if (res.status === 404 || res.status === 400) return 'missing';
    if (!res.ok || !res.body) throw new Error(`the alert stream answered ${res.status}`);
    onMode('live');
    const decoder = new TextDecoder();
    const parse = createSseParser((ev) => {
      if (ev.id) lastEventId = ev.id;
      if (!['opened', 'updated', 'resolved'].includes(ev.event)) return;
      try {
        const body = JSON.parse(ev.data);
        if (body && body.alert) onEvent(ev.event, body.alert);
      } catch {
        /* a malformed event is skipped; the next snapshot has the alert */
      }
    });
    const reader = res.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return 'ended';
      parse(decoder.decode(value, { stream: true }));
    }
  };

  (async () => {
    let backoffMs = 1000;
    while (!stopped) {
      try {
        await snapshot();
        const how = await stream();
        if (how === 'missing') return poll();
        if (how === 'refused') return onMode('stopped');
        backoffMs = 1000;
      } catch (err) {
        if (stopped || err.name === 'AbortError') return;
        if (err instanceof ApiError && err.status === 401) return onMode('stopped');
        onMode('reconnecting', err.message);
      }
      if (stopped) return;
      onMode('reconnecting');
      await sleep(backoffMs);
      backoffMs = Math.min(backoffMs * 2, 15_000);
    }
  })();

  return {
    stop() {
      stopped = true;
      abort.abort();
    },
  };
}
