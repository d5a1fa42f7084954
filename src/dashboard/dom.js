// Small DOM helpers. Text from the API only ever goes in through textContent (never as markup).

/** h('button', { type: 'button', onclick }, 'Label', child...) */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k in node && typeof v !== 'string') node[k] = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

export const $ = (sel, root = document) => root.querySelector(sel);

const SEVERITY = {
  critical: { rank: 0, icon: '\u25B2\u25B2', label: 'Critical' },
  high: { rank: 1, icon: '\u25B2', label: 'High' },
  medium: { rank: 2, icon: '\u25C6', label: 'Medium' },
  low: { rank: 3, icon: '\u25BD', label: 'Low' },
};

export const severityRank = (s) => (SEVERITY[s] ? SEVERITY[s].rank : 9);

/** A severity badge: shape and word, colour only as a third cue. */
export function severityBadge(severity) {
  const s = SEVERITY[severity] || { icon: '?', label: severity };
  return h('span', { class: `badge sev-${severity}` }, h('span', { 'aria-hidden': 'true' }, s.icon + ' '), s.label);
}

const STATUS = {
  open: { icon: '\u25CF', label: 'Open' },
  acknowledged: { icon: '\u2713', label: 'Acknowledged' },
  resolved: { icon: '\u2714\u2714', label: 'Resolved' },
};

export function statusBadge(status) {
  const s = STATUS[status] || { icon: '', label: status };
  return h('span', { class: `status st-${status}` }, h('span', { 'aria-hidden': 'true' }, s.icon + ' '), s.label);
}

export function ago(iso, nowMs = Date.now()) {
  const ms = nowMs - Date.parse(iso);
  if (!Number.isFinite(ms)) return '';
  const s = Math.round(ms / 1000);
  if (s < 0) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function time(iso) {
  const d = new Date(iso);
  return h('time', { datetime: iso, title: d.toISOString() }, d.toLocaleString());
}

export function fmt(n, digits = 1) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '\u2013';
  return Math.abs(n) >= 100 ? String(Math.round(n)) : n.toFixed(digits).replace(/\.0+$/, '');
}

let toastTimer;
/** A short message in the polite live region (actions' outcomes). */
export function toast(message) {
  const t = $('#toast');
  t.textContent = message;
  t.classList.add('shown');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove('shown'), 5000);
}
