// The system panel: GET /v1/system every few seconds while the tab is shown.

import { api, explain } from './api.js';
import { $, ago, clear, fmt, h } from './dom.js';

const EVERY_MS = 5000;
let timer;

function row(label, value, note, id) {
  return h('div', { class: 'metric', dataset: { metric: id } }, h('dt', {}, label), h('dd', {}, h('span', { class: 'value' }, value), note ? h('span', { class: 'note' }, note) : null));
}

async function refresh() {
  try {
    const s = await api('/v1/system');
    $('#system-error').textContent = '';
    const ok = s.model.status === 'ok';
    clear(
      $('#system'),
      row('Processing rate', s.signals_per_sec === null ? 'not measured yet' : `${fmt(s.signals_per_sec)} signals/s`, 'over the last minute, this process', 'rate'),
      row('Consumer lag', s.consumer_lag === null ? 'n/a' : `${fmt(s.consumer_lag, 0)} records`, s.consumer_lag === null ? 'no Kafka consumer in this process' : 'behind the end of the signal partitions', 'lag'),
      row('Dead-lettered records', fmt(s.dead_lettered, 0), 'since this process started', 'dead'),
      h(
        'div',
        { class: `metric ${ok ? 'ok' : 'degraded'}`, dataset: { metric: 'model' } },
        h('dt', {}, 'Model status'),
        h('dd', {}, h('span', { class: 'value' }, h('span', { 'aria-hidden': 'true' }, ok ? '\u2714 ' : '\u26A0 '), ok ? 'OK' : 'Degraded'), h('span', { class: 'note' }, s.model.detail)),
      ),
      row('Last detection tick', s.last_tick_at ? new Date(s.last_tick_at).toLocaleString() : 'none yet', s.last_tick_at ? ago(s.last_tick_at) : 'in this process', 'tick'),
    );
    $('#system-updated').textContent = `Updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    $('#system-error').textContent = explain(err, 'reading the system status');
  }
}

export function showSystem(shown) {
  clearInterval(timer);
  if (!shown) return;
  void refresh();
  timer = setInterval(refresh, EVERY_MS);
}
