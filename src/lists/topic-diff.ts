import { termObject, type TopicDefinition } from '../config/topic-schema.js';

/**
 * One difference between two versions of a topic. List fields (terms, hashtags, exclusions,
 * exemplars, ...) are compared entry by entry, an entry named by its text: a term added or
 * removed is one change at path "terms"; a term whose weight, mode or language changed is
 * "changed" with both forms. Other fields are compared by value at their path
 * ("severity", "thresholds.lexicon").
 */
export interface TopicChange {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

/** What names an entry of a list field across versions. */
function entryName(field: string, entry: unknown): string {
  if (field === 'terms') return termObject(entry as TopicDefinition['terms'][number]).term.toLowerCase();
  if (field === 'exclusions') return (typeof entry === 'string' ? entry : (entry as { phrase: string }).phrase).toLowerCase();
  if (field === 'hashtags') return String(entry).replace(/^#+/, '').toLowerCase();
  return String(entry);
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function diffList(field: string, before: readonly unknown[], after: readonly unknown[], out: TopicChange[]): void {
  const index = (list: readonly unknown[]) => {
    const m = new Map<string, unknown>();
    for (const e of list) if (!m.has(entryName(field, e))) m.set(entryName(field, e), e);
    return m;
  };
  const a = index(before);
  const b = index(after);
  for (const [name, entry] of a) {
    const now = b.get(name);
    if (!b.has(name)) out.push({ path: field, kind: 'removed', before: entry });
    else if (!same(entry, now)) out.push({ path: field, kind: 'changed', before: entry, after: now });
  }
  for (const [name, entry] of b) if (!a.has(name)) out.push({ path: field, kind: 'added', after: entry });
}

function diffValue(path: string, before: unknown, after: unknown, out: TopicChange[]): void {
  if (same(before, after)) return;
  if (Array.isArray(before) || Array.isArray(after)) return diffList(path, Array.isArray(before) ? before : [], Array.isArray(after) ? after : [], out);
  const isObject = (v: unknown) => v !== null && typeof v === 'object';
  if (isObject(before) && isObject(after)) {
    const b = before as Record<string, unknown>;
    const a = after as Record<string, unknown>;
    for (const key of [...new Set([...Object.keys(b), ...Object.keys(a)])].sort()) diffValue(`${path}.${key}`, b[key], a[key], out);
    return;
  }
  if (before === undefined) out.push({ path, kind: 'added', after });
  else if (after === undefined) out.push({ path, kind: 'removed', before });
  else out.push({ path, kind: 'changed', before, after });
}

/** The changes that turn `before` into `after`, field by field in the schema's order. */
export function diffTopics(before: TopicDefinition, after: TopicDefinition): TopicChange[] {
  const out: TopicChange[] = [];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  for (const key of keys) diffValue(key, (before as Record<string, unknown>)[key], (after as Record<string, unknown>)[key], out);
  return out;
}
