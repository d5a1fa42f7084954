// Topic lists: view, edit (the definition as JSON, checked by the server, problems shown next
// to the editor), compare the draft with the live version, dry-run text or signals against the
// draft or the live lists, save a new version, roll back; emerging terms with "add to list".

import { api, ApiError, explain } from './api.js';
import { $, clear, h, severityBadge, time, toast } from './dom.js';
import { alerts } from './feed.js';

let live; // { id, version, definition }
let topicsCache = [];

const pretty = (v) => JSON.stringify(v, null, 2);
const show = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

/** Changes from `before` to `after` by path; list items are compared as a set. */
export function diff(before, after, path = '') {
  const out = [];
  if (Array.isArray(before) && Array.isArray(after)) {
    const b = new Set(before.map((x) => JSON.stringify(x)));
    const a = new Set(after.map((x) => JSON.stringify(x)));
    for (const x of a) if (!b.has(x)) out.push({ path: `${path}[]`, kind: 'added', after: JSON.parse(x) });
    for (const x of b) if (!a.has(x)) out.push({ path: `${path}[]`, kind: 'removed', before: JSON.parse(x) });
    return out;
  }
  const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(before) && isObj(after)) {
    for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in before)) out.push({ path: p, kind: 'added', after: after[k] });
      else if (!(k in after)) out.push({ path: p, kind: 'removed', before: before[k] });
      else out.push(...diff(before[k], after[k], p));
    }
    return out;
  }
  if (JSON.stringify(before) !== JSON.stringify(after)) out.push({ path: path || '(definition)', kind: 'changed', before, after });
  return out;
}

function changesList(changes) {
  if (changes.length === 0) return h('p', { class: 'muted' }, 'No changes.');
  const sign = { added: '+ added', removed: '\u2212 removed', changed: '~ changed' };
  return h(
    'ul',
    { class: 'changes' },
    ...changes.map((c) =>
      h(
        'li',
        { class: `change ${c.kind}` },
        h('strong', {}, sign[c.kind] || c.kind),
        ' ',
        h('code', {}, c.path),
        c.kind === 'changed' ? [': ', h('code', {}, show(c.before)), ' \u2192 ', h('code', {}, show(c.after))] : [': ', h('code', {}, show(c.kind === 'added' ? c.after : c.before))],
      ),
    ),
  );
}

async function loadTopics() {
  const list = $('#topic-list');
  try {
    const { topics } = await api('/v1/topics');
    topicsCache = topics;
    $('#topics-error').textContent = '';
    clear(
      list,
      ...topics.map((t) =>
        h(
          'li',
          {},
          h(
            'button',
            { type: 'button', class: 'topic', dataset: { topic: t.id }, onclick: () => openTopic(t.id) },
            h('span', { class: 'name' }, t.name),
            severityBadge(t.severity),
            h('span', { class: 'muted' }, ` version ${t.version} \u00B7 ${t.counts.keywords} keywords, ${t.counts.hashtags} hashtags, ${t.counts.exemplars} exemplars`),
          ),
        ),
      ),
    );
  } catch (err) {
    $('#topics-error').textContent = explain(err, 'listing the topic lists');
  }
}

function parseDraft(textarea, errors) {
  try {
    const value = JSON.parse(textarea.value);
    return value;
  } catch (err) {
    showErrors(textarea, errors, [{ path: '(JSON)', message: err.message }]);
    return undefined;
  }
}

function showErrors(textarea, errors, list) {
  clear(errors, ...list.map((e) => h('li', {}, h('code', {}, e.path || '(definition)'), ': ', e.message)));
  errors.hidden = list.length === 0;
  textarea.setAttribute('aria-invalid', list.length > 0 ? 'true' : 'false');
  if (list.length > 0) textarea.focus();
}

/** Signals pasted as JSON lines, else the text as one signal. */
function dryRunBody(input) {
  const lines = input.split('\n').map((l) => l.trim()).filter(Boolean);
  const signals = [];
  for (const l of lines) {
    if (!l.startsWith('{')) return { text: input };
    try {
      signals.push(JSON.parse(l));
    } catch {
      return { text: input };
    }
  }
  return signals.length > 0 ? { signals } : { text: input };
}

function dryRunResults(results) {
  if (results.length === 0) return h('p', { class: 'muted' }, 'No signal in the input.');
  return h(
    'table',
    { class: 'dry-run' },
    h('caption', {}, 'Dry-run results (nothing was counted)'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Signal'), h('th', { scope: 'col' }, 'Topics hit'), h('th', { scope: 'col' }, 'Why'))),
    h(
      'tbody',
      {},
      ...results.map((r) =>
        h(
          'tr',
          { dataset: { signal: r.signal_id ?? '' } },
          h('td', {}, r.signal_id ?? `#${(r.index ?? 0) + 1}`),
          h('td', { class: 'hits' }, r.dead_letter ? `not scored: ingest would dead-letter it (${r.dead_letter.reason})` : r.hits.length === 0 ? 'no topic' : r.hits.map((x) => `${x.topic} (${x.stage}, score ${x.score.toFixed(2)})`).join(', ')),
          h('td', {}, r.hits.map((x) => (x.matched || []).map(show).join(', ')).filter(Boolean).join('; ')),
        ),
      ),
    ),
  );
}

export async function openTopic(id) {
  for (const b of document.querySelectorAll('#topic-list button.topic')) {
    if (b.dataset.topic === id) b.setAttribute('aria-current', 'true');
    else b.removeAttribute('aria-current');
  }
  const editor = $('#editor');
  editor.hidden = false;
  clear(editor, h('p', { class: 'muted' }, 'Loading\u2026'));
  try {
    live = await api(`/v1/topics/${encodeURIComponent(id)}`);
  } catch (err) {
    return clear(editor, h('p', { class: 'error', role: 'alert' }, explain(err, 'loading the topic')));
  }
  const textarea = h('textarea', { id: 'definition', rows: 18, spellcheck: 'false', 'aria-describedby': 'definition-help definition-errors' });
  textarea.value = pretty(live.definition);
  const errors = h('ul', { id: 'definition-errors', class: 'errors', role: 'alert', hidden: true });
  const changes = h('div', { class: 'diff', 'aria-live': 'polite' });
  const dryInput = h('textarea', { id: 'dry-input', rows: 4, spellcheck: 'false', 'aria-describedby': 'dry-help' });
  const useDraft = h('input', { type: 'checkbox', id: 'dry-draft' });
  const dryOut = h('div', { class: 'dry-out', 'aria-live': 'polite' });
  const versions = h('div', { class: 'versions' });

  const save = async () => {
    const draft = parseDraft(textarea, errors);
    if (draft === undefined) return;
    try {
      live = await api(`/v1/topics/${encodeURIComponent(id)}`, { method: 'PUT', body: { definition: draft, base_version: live.version } });
      showErrors(textarea, errors, []);
      textarea.value = pretty(live.definition);
      // Checks that do not refuse a change (false-positive risk, duplicates) are still worth reading.
      const warnings = live.warnings || [];
      clear(changes, ...(warnings.length > 0 ? [h('h4', {}, 'Saved, with warnings'), h('ul', { class: 'warnings' }, ...warnings.map((w) => h('li', {}, h('code', {}, w.path || '(definition)'), ': ', w.message)))] : []));
      toast(live.changed === false ? `No change: ${id} is already like this (version ${live.version}).` : `Saved ${id} as version ${live.version}.`);
      void loadVersions();
      void loadTopics();
      $('#editor-version').textContent = `live version ${live.version}`;
    } catch (err) {
      if (err instanceof ApiError && err.code === 'VALIDATION') {
        showErrors(textarea, errors, Array.isArray(err.details) && err.details.length > 0 ? err.details : [{ path: '(definition)', message: err.message }]);
      } else if (err instanceof ApiError && err.code === 'CONFLICT') {
        showErrors(textarea, errors, [{ path: '(version)', message: `${err.message}. Someone saved a newer version: copy your change, reload the topic and apply it again.` }]);
      } else toast(explain(err, 'saving the list'));
    }
  };

  const compare = () => {
    const draft = parseDraft(textarea, errors);
    if (draft === undefined) return;
    clear(changes, h('h4', {}, `Draft against live version ${live.version}`), changesList(diff(live.definition, draft)));
  };

  const dryRun = async () => {
    const body = dryRunBody(dryInput.value);
    if (useDraft.checked) {
      const draft = parseDraft(textarea, errors);
      if (draft === undefined) return;
      body.topic = { id, definition: draft };
    }
    try {
      const { results } = await api('/v1/dry-run', { method: 'POST', body });
      clear(dryOut, dryRunResults(results));
    } catch (err) {
      clear(dryOut, h('p', { class: 'error', role: 'alert' }, explain(err, 'the dry run')));
    }
  };

  const loadVersions = async () => {
    try {
      const { versions: list } = await api(`/v1/topics/${encodeURIComponent(id)}/versions`);
      const out = h('div', { class: 'diff', 'aria-live': 'polite' });
      clear(
        versions,
        h(
          'ul',
          { class: 'version-list' },
          ...list.map((v) =>
            h(
              'li',
              {},
              h('span', {}, `version ${v.version} \u00B7 `, time(v.at), ` \u00B7 ${v.by}`),
              String(v.version) === String(live.version)
                ? h('span', { class: 'muted' }, ' (live)')
                : [
                    h('button', { type: 'button', onclick: () => serverDiff(v.version, out) }, `Diff v${v.version} against live`),
                    h('button', { type: 'button', onclick: () => rollback(v.version) }, `Roll back to v${v.version}`),
                  ],
            ),
          ),
        ),
        out,
      );
    } catch (err) {
      clear(versions, h('p', { class: 'muted' }, explain(err, 'listing versions')));
    }
  };

  const serverDiff = async (from, out) => {
    try {
      const d = await api(`/v1/topics/${encodeURIComponent(id)}/diff?from=${encodeURIComponent(from)}`);
      clear(out, h('h4', {}, `Version ${d.from} \u2192 ${d.to}`), changesList(d.changes));
    } catch (err) {
      clear(out, h('p', { class: 'error' }, explain(err, 'the diff')));
    }
  };

  const rollback = async (version) => {
    if (!confirm(`Roll ${id} back to version ${version}? This saves a new version equal to it.`)) return;
    try {
      live = await api(`/v1/topics/${encodeURIComponent(id)}/rollback`, { method: 'POST', body: { version } });
      textarea.value = pretty(live.definition);
      $('#editor-version').textContent = `live version ${live.version}`;
      toast(`Rolled ${id} back: version ${live.version} is live.`);
      void loadVersions();
    } catch (err) {
      toast(explain(err, 'rolling back'));
    }
  };

  clear(
    editor,
    h('h3', { id: 'editor-title' }, `Edit ${id}`, ' ', h('span', { id: 'editor-version', class: 'muted' }, `live version ${live.version}`)),
    h('label', { for: 'definition' }, 'Definition (JSON)'),
    h('p', { id: 'definition-help', class: 'help' }, 'Terms, hashtags, exclusions, exemplars and thresholds. Saving checks it and, when valid, makes a new live version that every worker loads.'),
    textarea,
    errors,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', id: 'save', onclick: save }, 'Save as new version'),
      h('button', { type: 'button', id: 'compare', onclick: compare }, 'Compare with live'),
      h('button', { type: 'button', onclick: () => ((textarea.value = pretty(live.definition)), showErrors(textarea, errors, []), clear(changes)) }, 'Discard changes'),
    ),
    changes,
    h('h4', {}, 'Dry run'),
    h('label', { for: 'dry-input' }, 'Text, or signals as JSON lines'),
    h('p', { id: 'dry-help', class: 'help' }, 'Scores the input against the lists without counting anything.'),
    dryInput,
    h('label', { class: 'check' }, useDraft, ' Use the unsaved draft of this topic'),
    h('div', { class: 'actions' }, h('button', { type: 'button', id: 'dry-run', onclick: dryRun }, 'Dry run')),
    dryOut,
    h('h4', {}, 'Versions'),
    versions,
  );
  void loadVersions();
  textarea.focus();
}

/** Terms accepted from this tab (the alert that suggested one may still be open). */
const accepted = new Set();

/** Emerging terms: from /v1/emerging where the server has it, and from emerging-term alerts. */
async function loadEmerging() {
  const seen = new Map();
  for (const a of alerts.values()) if (a.kind === 'emerging_term' && a.suggested_term && a.status !== 'resolved') seen.set(a.suggested_term, { term: a.suggested_term, topic: a.topic });
  try {
    const body = await api('/v1/emerging');
    const list = Array.isArray(body) ? body : Object.values(body || {}).find(Array.isArray) || [];
    for (const e of list) {
      const term = e.term || e.hashtag;
      // Accepted since (an alert may still suggest it): nothing left to do about it.
      if (term && e.listed) seen.delete(term);
      else if (term) seen.set(term, { term, topic: e.topic || null, count: e.count });
    }
    $('#emerging-error').textContent = '';
  } catch (err) {
    if (!err.missing) $('#emerging-error').textContent = explain(err, 'listing emerging terms');
  }
  for (const term of accepted) seen.delete(term);
  const list = $('#emerging');
  if (seen.size === 0) return clear(list, h('li', { class: 'muted' }, 'No emerging term right now.'));
  clear(
    list,
    ...[...seen.values()].map((e) => {
      const select = h('select', { 'aria-label': `Topic list for ${e.term}` }, ...topicsCache.map((t) => h('option', { value: t.id, selected: t.id === e.topic }, t.name)));
      if (topicsCache.length === 0 && e.topic) select.append(h('option', { value: e.topic }, e.topic));
      const add = async () => {
        const kind = e.term.startsWith('#') ? 'hashtag' : 'keyword';
        try {
          await api(`/v1/topics/${encodeURIComponent(select.value)}/terms`, { method: 'POST', body: { term: e.term, kind } });
          accepted.add(e.term);
          toast(`Added ${e.term} to ${select.value} as a ${kind}.`);
          await loadTopics();
          await loadEmerging();
        } catch (err) {
          toast(explain(err, 'adding the term'));
        }
      };
      return h(
        'li',
        { dataset: { term: e.term } },
        h('code', {}, e.term),
        e.count === undefined ? null : h('span', { class: 'muted' }, ` seen in ${e.count} signals `),
        ' ',
        select,
        ' ',
        h('button', { type: 'button', onclick: add, 'aria-label': `Add to list: ${e.term}` }, 'Add to list'),
      );
    }),
  );
}

export async function showTopics() {
  await loadTopics();
  await loadEmerging();
}
