// One alert in detail: the volume chart (observed against the expected band), its figures,
// terms and hashtags, summary, and sample signals, blurred and redacted until revealed one at
// a time (the server decides who may reveal, and audits each reveal).

import uPlot from '/ui/vendor/uPlot.esm.js';
import { api, explain } from './api.js';
import { $, clear, fmt, h, severityBadge, statusBadge, time, toast } from './dom.js';
import { act, alerts, history, onAlertChange } from './feed.js';

const HOURS = 6;
let current; // { id, chart, unfollow }

/** Poisson-style band around an expected count, for series that come without one. */
function band(expected) {
  const spread = 2 * Math.sqrt(Math.max(expected, 1));
  return { lower: Math.max(0, expected - spread), upper: expected + spread };
}

/**
 * The series to chart: the detail route's buckets when the server has it, else what the alert
 * itself says (baseline, windows of each version seen in this tab, peak).
 */
function fallbackSeries(alert) {
  const points = new Map();
  const add = (iso, observed, expected) => {
    const t = Date.parse(iso);
    if (Number.isFinite(t)) points.set(t, { start: iso, observed, expected, ...band(expected) });
  };
  const w = alert.window;
  add(new Date(Date.parse(w.start) - alert.baseline.seconds * 1000).toISOString(), null, w.expected);
  add(w.start, null, w.expected);
  add(alert.peak.at, alert.peak.observed, alert.peak.expected);
  for (const v of history.get(alert.id) || [alert]) add(v.window.end, v.window.observed, v.window.expected);
  return [...points.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
}

function chartData(series) {
  const xs = series.map((p) => Date.parse(p.start) / 1000);
  return [xs, series.map((p) => p.lower), series.map((p) => p.upper), series.map((p) => p.expected), series.map((p) => p.observed)];
}

function drawChart(host, series) {
  const width = Math.max(280, Math.min(host.clientWidth || 600, 900));
  const opts = {
    width,
    height: 260,
    title: 'Signals per window: observed against the expected band',
    scales: { x: { time: true } },
    axes: [{}, { label: 'signals' }],
    series: [
      {},
      { label: 'Lower bound', stroke: '#6b7280', dash: [2, 4], width: 1 },
      { label: 'Upper bound', stroke: '#6b7280', dash: [2, 4], width: 1 },
      { label: 'Expected', stroke: '#1d4ed8', dash: [8, 4], width: 2 },
      // Dots mark each bucket while they can be told apart; hours of buckets read as a line.
      { label: 'Observed', stroke: '#b91c1c', width: 2, points: { show: series.length <= 60, size: 7 } },
    ],
    bands: [{ series: [2, 1], fill: 'rgba(29, 78, 216, 0.12)' }],
  };
  return new uPlot(opts, chartData(series), host);
}

function figure(term, value, note) {
  return [h('dt', {}, term), h('dd', {}, value, note ? h('span', { class: 'muted' }, ' ', note) : null)];
}

function terms(list) {
  const hashtags = list.filter((t) => t.term.startsWith('#'));
  const words = list.filter((t) => !t.term.startsWith('#'));
  const ul = (xs) => (xs.length === 0 ? h('p', { class: 'muted' }, 'none') : h('ul', { class: 'chips' }, ...xs.map((t) => h('li', {}, t.term, h('span', { class: 'count' }, ` ${t.count}`)))));
  return [h('h4', {}, 'Top terms'), ul(words), h('h4', {}, 'Top hashtags'), ul(hashtags)];
}

function samples(alertId, list) {
  if (!list) return h('p', { class: 'muted' }, 'Sample signals are not available on this server version.');
  if (list.length === 0) return h('p', { class: 'muted' }, 'No sample signals kept for this alert.');
  const items = list.map((s) => {
    const text = h('p', { class: 'sample-text redacted', 'aria-label': 'Sample text, redacted and blurred' }, s.text);
    const note = h('p', { class: 'error', role: 'alert' });
    const button = h('button', { type: 'button', class: 'reveal', 'aria-pressed': 'false' }, 'Reveal');
    const li = h('li', { class: 'sample', dataset: { sample: s.id } }, h('p', { class: 'muted' }, [s.surface, s.region, s.lang].filter(Boolean).join(' \u00B7 '), ' \u00B7 ', time(s.ts)), text, button, note);
    const hide = () => {
      text.textContent = s.text;
      text.classList.add('redacted');
      text.setAttribute('aria-label', 'Sample text, redacted and blurred');
      button.textContent = 'Reveal';
      button.setAttribute('aria-pressed', 'false');
    };
    li.hide = hide;
    button.addEventListener('click', async () => {
      if (button.getAttribute('aria-pressed') === 'true') return hide();
      note.textContent = '';
      try {
        const revealed = await api(`/v1/alerts/${encodeURIComponent(alertId)}/samples/${encodeURIComponent(s.id)}?reveal=1`);
        // One at a time: revealing this one hides any other.
        for (const other of li.parentElement.children) if (other !== li && other.hide) other.hide();
        text.textContent = revealed.text;
        text.classList.remove('redacted');
        text.removeAttribute('aria-label');
        button.textContent = 'Hide';
        button.setAttribute('aria-pressed', 'true');
      } catch (err) {
        note.textContent = err.status === 404 && err.code === 'NOT_FOUND' && !err.missing ? 'This sample has expired and is no longer kept.' : explain(err, 'revealing a sample');
      }
    });
    return li;
  });
  return [h('p', { class: 'help' }, 'Samples are redacted and blurred. Revealing one is recorded in the audit log.'), h('ul', { class: 'samples' }, ...items)];
}

/** Badges, summary and actions: what changes when someone acts on the alert. */
function statusPart(alert) {
  return [
    h('div', { class: 'meta' }, severityBadge(alert.severity), statusBadge(alert.status), alert.coordinated ? h('span', { class: 'flag' }, h('span', { 'aria-hidden': 'true' }, '\u29C9 '), 'Coordinated') : null),
    h('p', { class: 'summary' }, alert.summary),
    h(
      'div',
      { class: 'actions' },
      alert.status === 'open' ? h('button', { type: 'button', onclick: () => act(alert, 'ack') }, 'Acknowledge') : null,
      alert.status !== 'resolved' ? h('button', { type: 'button', onclick: () => act(alert, 'resolve') }, 'Resolve') : null,
    ),
  ];
}

/** Other series of the same topic in the same window, with their alert when they have one. */
function related(list) {
  if (!list || list.length === 0) return null;
  return [
    h('h3', {}, 'Related series'),
    h(
      'table',
      { class: 'related' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Dimension'), h('th', { scope: 'col' }, 'Observed'), h('th', { scope: 'col' }, 'Expected'), h('th', { scope: 'col' }, 'Ratio'), h('th', { scope: 'col' }, 'Alert'))),
      h(
        'tbody',
        {},
        ...list.map((r) =>
          h(
            'tr',
            {},
            h('td', {}, r.dimension),
            h('td', {}, fmt(r.observed, 0)),
            h('td', {}, fmt(r.expected)),
            h('td', {}, `\u00D7${fmt(r.ratio)}`),
            h('td', {}, r.alert_id ? h('button', { type: 'button', onclick: () => openDetail(r.alert_id) }, 'Open') : 'none'),
          ),
        ),
      ),
    ),
  ];
}

function render(panel, alert, detail) {
  const series = detail ? detail.series : fallbackSeries(alert);
  const w = alert.window;
  const chartHost = h('div', { class: 'chart', role: 'img', 'aria-label': `Chart of observed signals against the expected band over the last ${detail ? HOURS + ' hours' : 'baseline and windows'}` });
  const table = h(
    'details',
    { class: 'chart-table' },
    h('summary', {}, 'Chart figures as a table'),
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Start'), h('th', { scope: 'col' }, 'Observed'), h('th', { scope: 'col' }, 'Expected'), h('th', { scope: 'col' }, 'Band'))),
      h('tbody', {}, ...series.map((p) => h('tr', {}, h('td', {}, new Date(p.start).toLocaleString()), h('td', {}, p.observed === null ? '\u2013' : fmt(p.observed, 0)), h('td', {}, fmt(p.expected)), h('td', {}, `${fmt(p.lower)}\u2013${fmt(p.upper)}`)))),
    ),
  );
  clear(
    panel,
    h('div', { class: 'detail-head' }, h('h2', { id: 'detail-title' }, alert.topic_name, h('span', { class: 'dim' }, ' \u00B7 ', alert.dimension)), h('button', { type: 'button', class: 'close', onclick: closeDetail }, 'Close details')),
    h('div', { class: 'detail-status' }, ...statusPart(alert)),
    h('h3', {}, 'Volume'),
    detail ? null : h('p', { class: 'help' }, 'Series detail is not available on this server version: the chart shows the baseline and the windows this alert reported. Band: expected \u00B1 2\u221Aexpected.'),
    chartHost,
    h('p', { class: 'legend' }, h('span', { class: 'key observed' }, 'solid line: observed'), h('span', { class: 'key expected' }, 'dashed line: expected'), h('span', { class: 'key bandkey' }, 'shaded area between dotted lines: expected band')),
    table,
    h('h3', {}, 'Figures'),
    h(
      'dl',
      { class: 'figures' },
      figure('Ratio', `\u00D7${fmt(w.ratio)}`, `${fmt(w.observed, 0)} observed vs ${fmt(w.expected)} expected`),
      figure('Significance', `z ${fmt(w.z)}`, `p ${w.p.toExponential(1)}, q ${w.q.toExponential(1)}`),
      figure('Distinct authors', alert.distinct_authors === null ? 'unknown' : String(alert.distinct_authors), alert.distinct_authors === null ? '(signals carry no author ids)' : ''),
      figure('Coordinated', alert.coordinated ? 'Yes' : 'No', alert.coordinated ? '(few accounts behind much of the volume)' : ''),
      figure('Peak', `${fmt(alert.peak.observed, 0)} (\u00D7${fmt(alert.peak.ratio)})`, new Date(alert.peak.at).toLocaleString()),
      figure('Opened', time(alert.opened_at)),
      figure('List version', alert.list_version),
    ),
    ...terms(detail && detail.top_terms ? detail.top_terms : alert.top_terms),
    related(detail && detail.related),
    h('h3', {}, 'Sample signals'),
    samples(alert.id, detail ? detail.samples : null),
  );
  return drawChart(chartHost, series);
}

export function closeDetail() {
  if (!current) return;
  current.chart?.destroy();
  current.unfollow();
  const id = current.id;
  current = undefined;
  $('#detail').hidden = true;
  $('#view-alerts').classList.remove('with-detail');
  const back = document.querySelector(`#feed li[data-id="${CSS.escape(id)}"] [data-act="detail"]`);
  if (back) back.focus();
}

export async function openDetail(id) {
  closeDetail();
  const panel = $('#detail');
  panel.hidden = false;
  $('#view-alerts').classList.add('with-detail');
  clear(panel, h('p', { class: 'muted' }, 'Loading\u2026'));
  const state = { id, chart: undefined, unfollow: () => {} };
  current = state;
  let detail = null;
  let alert = alerts.get(id);
  try {
    detail = await api(`/v1/alerts/${encodeURIComponent(id)}/detail?hours=${HOURS}`);
    alert = detail.alert;
  } catch (err) {
    if (!err.missing) toast(explain(err, 'loading the alert detail'));
    try {
      alert = await api(`/v1/alerts/${encodeURIComponent(id)}`);
    } catch (err2) {
      if (!alert) return clear(panel, h('p', { class: 'error', role: 'alert' }, explain(err2, 'loading the alert')));
    }
  }
  if (current !== state) return;
  state.chart = render(panel, alert, detail);
  // Beside the feed the panel is in view already; above it (phone) it is scrolled to.
  const top = panel.getBoundingClientRect().top;
  if (top < 0 || top > window.innerHeight - 120) panel.scrollIntoView({ block: 'start' });
  panel.focus({ preventScroll: true });
  // The figures follow the alert as it updates; the samples stay as they are (no re-blur mid-read).
  state.unfollow = onAlertChange((a) => {
    if (a.id !== id || current !== state) return;
    if (detail) return clear(panel.querySelector('.detail-status'), ...statusPart(a));
    state.chart?.destroy();
    state.chart = render(panel, a, null);
  });
}

export function initDetail() {
  $('#detail').addEventListener('keydown', (e) => {
    if (e.key === 'Escape') closeDetail();
  });
}
