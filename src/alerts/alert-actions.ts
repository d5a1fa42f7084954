import type { Alert, AlertEventType, FeedbackVerdict } from './alert.js';

/**
 * What people do with an alert (acknowledge, assign, resolve, note, judge), as pure steps over
 * the stored version, and how a detection save combines with them. The stores apply both
 * atomically (compare-and-set on the stored version), so that neither side erases the other.
 */

/** The result of an action on the latest stored version. */
export type ActionOutcome =
  | { kind: 'changed'; alert: Alert; event: AlertEventType }
  /** Nothing to write (e.g. acknowledging an acknowledged alert): no event either. */
  | { kind: 'unchanged' }
  /** Not allowed in the alert's state (e.g. acknowledging a resolved alert). */
  | { kind: 'refused'; reason: string };

/** One action; the store calls it with the latest version (again, if that changed meanwhile). */
export type AlertAction = (current: Alert) => ActionOutcome;

/** Bounds on what one alert keeps, so that its stored JSON stays small. */
export const actionLimits = { notes: 200, feedback: 100, assignments: 100, noteChars: 4000 } as const;

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The update time of a new version: now, but always after the previous one, so that each
 * version's event id (id:type:updated ms) is distinct and the index order follows the writes.
 */
function nextUpdate(current: Alert, nowMs: number): string {
  return iso(Math.max(nowMs, Date.parse(current.updated_at) + 1));
}

function withNote(a: Alert, by: string, at: string, text: string | undefined): Alert | undefined {
  if (text === undefined) return a;
  if (a.notes.length >= actionLimits.notes) return undefined;
  return { ...a, notes: [...a.notes, { at, by, text }] };
}

const tooManyNotes = { kind: 'refused', reason: `the alert holds ${actionLimits.notes} notes, the most it keeps` } as const;

function resolvedBy(a: Alert): string {
  return `it was resolved at ${a.resolved_at ?? a.updated_at} ${a.resolved_by ? `by ${a.resolved_by}` : 'by detection (volume back near its baseline)'}`;
}

export function acknowledge(by: string, nowMs: number, note?: string): AlertAction {
  return (current) => {
    if (current.status === 'resolved') return { kind: 'refused', reason: `cannot acknowledge a resolved alert: ${resolvedBy(current)}` };
    if (current.status === 'acknowledged' && note === undefined) return { kind: 'unchanged' };
    const at = nextUpdate(current, nowMs);
    const acked: Alert =
      current.status === 'acknowledged'
        ? { ...current, updated_at: at }
        : { ...current, status: 'acknowledged', updated_at: at, acknowledged_at: current.acknowledged_at ?? at, acknowledged_by: current.acknowledged_by ?? by };
    const alert = withNote(acked, by, at, note);
    return alert ? { kind: 'changed', alert, event: 'updated' } : tooManyNotes;
  };
}

export function assign(by: string, nowMs: number, assignee: string | null): AlertAction {
  return (current) => {
    if (current.assignee === assignee) return { kind: 'unchanged' };
    const at = nextUpdate(current, nowMs);
    const assignments = [...current.assignments, { at, by, assignee }].slice(-actionLimits.assignments);
    return { kind: 'changed', alert: { ...current, updated_at: at, assignee, assignments }, event: 'updated' };
  };
}

/** A person's resolve: it sticks (detection does not reopen or rewrite a resolved alert). */
export function resolve(by: string, nowMs: number, note?: string): AlertAction {
  return (current) => {
    if (current.status === 'resolved') return { kind: 'refused', reason: `the alert is resolved already: ${resolvedBy(current)}` };
    const at = nextUpdate(current, nowMs);
    const alert = withNote({ ...current, status: 'resolved', updated_at: at, resolved_at: at, resolved_by: by }, by, at, note);
    return alert ? { kind: 'changed', alert, event: 'resolved' } : tooManyNotes;
  };
}

export function addNote(by: string, nowMs: number, text: string): AlertAction {
  return (current) => {
    const at = nextUpdate(current, nowMs);
    const alert = withNote({ ...current, updated_at: at }, by, at, text);
    return alert ? { kind: 'changed', alert, event: 'updated' } : tooManyNotes;
  };
}

export function giveFeedback(by: string, nowMs: number, verdict: FeedbackVerdict, note: string | null): AlertAction {
  return (current) => {
    if (current.feedback.length >= actionLimits.feedback) return { kind: 'refused', reason: `the alert holds ${actionLimits.feedback} feedback entries, the most it keeps` };
    const at = nextUpdate(current, nowMs);
    return { kind: 'changed', alert: { ...current, updated_at: at, feedback: [...current.feedback, { at, by, verdict, note }] }, event: 'updated' };
  };
}

/**
 * A detection save (the ticker's new figures) over the stored version: the people fields stay
 * as stored (the ticker worked from an older snapshot), an acknowledgement keeps its status, and
 * a resolved alert is not touched at all (undefined: nothing to save), so a person's resolve
 * sticks. The update time never goes back; with an event it moves past the stored one.
 */
export function mergeDetection(stored: Alert | undefined, incoming: Alert, withEvent: boolean): Alert | undefined {
  if (!stored) return incoming;
  if (stored.status === 'resolved') return undefined;
  const storedMs = Date.parse(stored.updated_at);
  const incomingMs = Date.parse(incoming.updated_at);
  const updatedMs = incomingMs > storedMs ? incomingMs : withEvent ? storedMs + 1 : storedMs;
  return {
    ...incoming,
    status: incoming.status === 'resolved' ? 'resolved' : stored.status === 'acknowledged' ? 'acknowledged' : incoming.status,
    updated_at: iso(updatedMs),
    acknowledged_at: stored.acknowledged_at,
    acknowledged_by: stored.acknowledged_by,
    assignee: stored.assignee,
    assignments: stored.assignments,
    resolved_by: stored.resolved_by,
    notes: stored.notes,
    feedback: stored.feedback,
  };
}
