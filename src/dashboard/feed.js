// The live alert feed: every alert seen (snapshot + stream events), filtered by topic, region
// and status, most severe first and most recent within a severity. Unacknowledged severe
// alerts carry a "Needs attention" mark (word and icon, not colour alone).

import { api, explain } from './api.js';
import { $, ago, clear, fmt, h, severityBadge, severityRank, statusBadge, toast } from './dom.js';

const FRESH_MS = 8000;

export const alerts = new Map();
/** Every version of each alert seen in this tab, oldest first (the chart's fallback series). */
export const history = new Map();
const freshUntil = new Map();
const freshLabel = new Map();
const listeners = new Set();

export const isUrgent = (a) => a.status === 'open' && (a.severity === 'critical' || a.severity === 'high');
const regionOf = (a) => (a.dimension.startsWith('region=') ? a.dimension.slice('region='.length) : null);

/** Calls fn(alert) whenever an alert changes (the detail panel follows its alert). */
export function onAlertChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** What the feed shows of an alert, but its age: equal strings need no new rendering. */
function visible(a) {
  const w = a.window;
  return JSON.stringify([a.severity, a.status, a.topic_name, a.dimension, a.coordinated, a.distinct_authors, a.summary, w.observed, w.expected, w.ratio, w.seconds]);
}

/** Adds or replaces an alert if this version is not older than the one held. */
export function upsert(alert, { fresh = false } = {}) {
  const held = alerts.get(alert.id);
  if (held && Date.parse(held.updated_at) > Date.parse(alert.updated_at)) return false;
  // Open alerts are saved at every tick; only what a reader would see counts as a change.
  const changed = !held || visible(held) !== visible(alert);
  alerts.set(alert.id, alert);
  const versions = history.get(alert.id) || [];
  if (!versions.some((v) => v.window.end === alert.window.end)) versions.push(alert);
  history.set(alert.id, versions);
  // Marked for a moment when it is new or its status or severity moved, not for figures that
  // drift at every tick.
  const moved = !held || held.status !== alert.status || held.severity !== alert.severity;
  if (fresh && moved) freshUntil.set(alert.id, Date.now() + FRESH_MS);
  if (fresh && moved) freshLabel.set(alert.id, !held ? 'New' : held.severity !== alert.severity ? `Severity now ${alert.severity}` : `Now ${alert.status}`);
  if (changed) for (const fn of listeners) fn(alert);
  return changed;
}

export function applySnapshot(list, { first }) {
  let changed = false;
  for (const a of list) changed = upsert(a, { fresh: !first }) || changed;
  if (changed || first) render();
}

export function applyEvent(_type, alert) {
  if (upsert(alert, { fresh: true })) render();
}

function filters() {
  const f = new FormData($('#filters'));
  return { topic: f.get('topic'), region: f.get('region'), status: f.get('status') };
}

function matches(a, f) {
  if (f.topic && a.topic !== f.topic) return false;
  if (f.region && regionOf(a) !== f.region) return false;
  if (f.status === 'active') return a.status !== 'resolved';
  if (f.status && a.status !== f.status) return false;
  return true;
}

function sorted(list) {
  return list.sort((x, y) => severityRank(x.severity) - severityRank(y.severity) || Date.parse(y.updated_at) - Date.parse(x.updated_at));
}

/** Keeps the filter choices in step with the alerts seen, without losing the current choice. */
function syncOptions(select, values, label) {
  const current = select.value;
  const want = [...values.entries()].sort((a, b) => a[1].localeCompare(b[1]));
  const have = [...select.options].slice(1).map((o) => o.value);
  if (have.join('\n') === want.map(([v]) => v).join('\n')) return;
  clear(select, h('option', { value: '' }, label), ...want.map(([v, text]) => h('option', { value: v }, text)));
  select.value = want.some(([v]) => v === current) ? current : '';
}

export async function act(alert, action) {
  const verb = action === 'ack' ? 'acknowledge' : 'resolve';
  try {
    const updated = await api(`/v1/alerts/${encodeURIComponent(alert.id)}/${action}`, { method: 'POST', body: {} });
    upsert(updated);
    render();
    toast(`${alert.topic_name} (${alert.dimension}): ${action === 'ack' ? 'acknowledged' : 'resolved'}.`);
  } catch (err) {
    toast(explain(err, `${verb} an alert`));
  }
}

function item(a, nowMs, openDetail) {
  const urgent = isUrgent(a);
  const fresh = (freshUntil.get(a.id) || 0) > nowMs;
  const titleId = `t-${a.id}`;
  const w = a.window;
  return h(
    'li',
    { class: `alert${urgent ? ' urgent' : ''}${fresh ? ' fresh' : ''}`, dataset: { id: a.id, status: a.status, severity: a.severity } },
    h(
      'article',
      { 'aria-labelledby': titleId },
      h(
        'div',
        { class: 'meta' },
        severityBadge(a.severity),
        statusBadge(a.status),
        urgent ? h('strong', { class: 'attention' }, h('span', { 'aria-hidden': 'true' }, '\u26A0 '), 'Needs attention') : null,
        fresh ? h('span', { class: 'new' }, freshLabel.get(a.id) || 'New') : null,
        a.coordinated ? h('span', { class: 'flag' }, h('span', { 'aria-hidden': 'true' }, '\u29C9 '), 'Coordinated') : null,
        h('span', { class: 'when' }, `updated ${ago(a.updated_at, nowMs)}`),
      ),
      h('h3', { id: titleId }, a.topic_name, h('span', { class: 'dim' }, ' \u00B7 ', a.dimension === 'all' ? 'all regions and surfaces' : a.dimension)),
      h(
        'p',
        { class: 'figs' },
        `${fmt(w.observed, 0)} signals in ${Math.round(w.seconds / 60) || '<1'} min vs ${fmt(w.expected)} expected (\u00D7${fmt(w.ratio)})`,
        a.distinct_authors === null ? '' : ` \u00B7 ${a.distinct_authors} accounts`,
      ),
      h('p', { class: 'summary' }, a.summary),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', dataset: { act: 'detail' }, onclick: () => openDetail(a.id), 'aria-describedby': titleId }, 'Details'),
        a.status === 'open' ? h('button', { type: 'button', dataset: { act: 'ack' }, onclick: () => act(a, 'ack'), 'aria-describedby': titleId }, 'Acknowledge') : null,
        a.status !== 'resolved' ? h('button', { type: 'button', dataset: { act: 'resolve' }, onclick: () => act(a, 'resolve'), 'aria-describedby': titleId }, 'Resolve') : null,
      ),
    ),
  );
}

let openDetailFn = () => {};

export function initFeed({ openDetail }) {
  openDetailFn = openDetail;
  $('#filters').addEventListener('change', render);
  // Freshness marks fade and "n min ago" moves on without any event.
  setInterval(render, 10_000);
}

export function render() {
  const feed = $('#feed');
  const f = filters();
  const all = [...alerts.values()];
  syncOptions($('#f-topic'), new Map(all.map((a) => [a.topic, a.topic_name])), 'All topics');
  syncOptions($('#f-region'), new Map(all.map(regionOf).filter(Boolean).map((r) => [r, r])), 'All regions');
  // Items whose content is unchanged are kept (their buttons stay put under the pointer and
  // keyboard focus); a moved or replaced one gets focus back where it was.
  const active = document.activeElement;
  const focus = feed.contains(active) && active.closest('li') ? { id: active.closest('li').dataset.id, act: active.dataset.act } : undefined;
  const shown = sorted(all.filter((a) => matches(a, f)));
  const nowMs = Date.now();
  const held = new Map([...feed.children].filter((li) => li.dataset.id).map((li) => [li.dataset.id, li]));
  const wanted = shown.map((a) => {
    const sig = visible(a) + ((freshUntil.get(a.id) || 0) > nowMs ? ' fresh' : '');
    const old = held.get(a.id);
    if (old && old.dataset.sig === sig) {
      old.querySelector('.when').textContent = `updated ${ago(a.updated_at, nowMs)}`;
      return old;
    }
    const li = item(a, nowMs, openDetailFn);
    li.dataset.sig = sig;
    return li;
  });
  if (wanted.length === 0) wanted.push(h('li', { class: 'empty' }, all.length === 0 ? 'No alerts yet. New ones appear here as they open.' : 'No alert matches these filters.'));
  const keep = new Set(wanted);
  for (const li of [...feed.children]) if (!keep.has(li)) li.remove();
  wanted.forEach((li, i) => {
    if (feed.children[i] !== li) feed.insertBefore(li, feed.children[i] || null);
  });
  if (focus && !feed.contains(document.activeElement)) {
    const li = feed.querySelector(`li[data-id="${CSS.escape(focus.id)}"]`);
    const target = li && (li.querySelector(`[data-act="${focus.act}"]`) || li.querySelector('button'));
    if (target) target.focus();
  }
  const urgent = shown.filter(isUrgent).length;
  $('#feed-count').textContent = `${shown.length} shown${urgent ? `, ${urgent} need${urgent === 1 ? 's' : ''} attention` : ''}`;
}
